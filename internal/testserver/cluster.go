package testserver

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// RedisCluster is a Redis Cluster of three masters and no replicas, every
// node on 127.0.0.1 (its bus on port+10000).
type RedisCluster struct {
	// Addrs lists the masters as "127.0.0.1:port", in slot order: the first
	// serves slots 0-5460, the second 5461-10922, the third 10923-16383.
	// A cluster client needs only one of them to discover the rest.
	Addrs []string

	nodes []*Redis
}

var sharedCluster shared[*RedisCluster]

// SharedRedisCluster returns the test binary's Redis Cluster, started on first
// use and stopped by Main. It returns once every node reports
// cluster_state:ok with all 16384 slots assigned.
func SharedRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	return sharedCluster.get(t, "redis cluster", func() (*RedisCluster, func() error, error) {
		c, err := startRedisCluster()
		if err != nil {
			return nil, nil, err
		}
		return c, c.close, nil
	})
}

func startRedisCluster() (*RedisCluster, error) {
	cli, err := lookBinary("redis-cli")
	if err != nil {
		return nil, err
	}
	c := &RedisCluster{nodes: make([]*Redis, 3)}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Go(func() { c.nodes[i], errs[i] = startRedis(true) })
	}
	wg.Wait()
	for _, n := range c.nodes {
		if n != nil {
			c.Addrs = append(c.Addrs, n.Addr)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, c.close())
	}
	if err := c.create(cli); err != nil {
		return nil, errors.Join(err, c.close())
	}
	return c, nil
}

// create joins the nodes into one cluster and waits until every node agrees
// it is whole.
func (c *RedisCluster) create(cli string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*readyTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("testserver: redis-cli --cluster create: %w\n%s", err, out)
	}
	for _, n := range c.nodes {
		err := n.proc.waitReady(func() error {
			info, err := redisDo(n.Addr, "CLUSTER", "INFO")
			if err != nil {
				return err
			}
			for _, want := range []string{"cluster_state:ok", "cluster_slots_assigned:16384", "cluster_known_nodes:3"} {
				if !strings.Contains(info, want+"\r\n") {
					return fmt.Errorf("cluster info lacks %s:\n%s", want, info)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%w\nredis-cli --cluster create said:\n%s", err, out)
		}
	}
	return nil
}

// close stops every node and removes their folders.
func (c *RedisCluster) close() error {
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		if n != nil {
			wg.Go(func() { errs[i] = n.close() })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}
