package redisstore

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// topology is the kind of Redis deployment a URL names.
type topology int

const (
	single topology = iota + 1
	cluster
	sentinel
)

// target is what a Redis URL says: where to connect and as whom. Its password
// fields never appear in an error message.
type target struct {
	topology topology
	tls      bool
	addrs    []string // one for single; seeds for cluster; sentinels for sentinel
	username string
	password string
	db       int
	master   string // sentinel only

	// Sentinels may have credentials of their own, given as query
	// parameters; the URL's userinfo is for the data nodes.
	sentinelUsername string
	sentinelPassword string
}

// schemes maps each accepted scheme to its topology and whether it uses TLS.
var schemes = map[string]struct {
	topology topology
	tls      bool
}{
	"redis":           {single, false},
	"rediss":          {single, true},
	"redis-cluster":   {cluster, false},
	"rediss-cluster":  {cluster, true},
	"redis-sentinel":  {sentinel, false},
	"rediss-sentinel": {sentinel, true},
}

// errScheme lists the forms, since the scheme cannot be echoed safely (a URL
// typed without one starts with its credentials).
var errScheme = errors.New("URL scheme must be redis://, rediss://, redis-cluster://, " +
	"rediss-cluster://, redis-sentinel:// or rediss-sentinel://")

// parseURL reads one of
//
//	redis[s]://[user:pass@]host:port[/db]
//	redis[s]-cluster://[user:pass@]host1:port1,host2:port2,...
//	redis[s]-sentinel://[user:pass@]host1:port1,host2:port2/MASTERNAME[?db=N]
//
// A missing port means 6379 (26379 for sentinels). Error messages name the
// part that is wrong but never repeat the URL, which may hold a password.
func parseURL(raw string) (target, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	kind, known := schemes[strings.ToLower(scheme)]
	if !ok || !known {
		return target{}, errScheme
	}
	t := target{topology: kind.topology, tls: kind.tls}
	if strings.ContainsAny(rest, "# \t\r\n") {
		return target{}, errors.New("URL must not contain a fragment or white space")
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, pathQuery := rest[:end], rest[end:]
	path, rawQuery, _ := strings.Cut(pathQuery, "?")

	hosts := authority
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		var err error
		if t.username, t.password, err = userinfo(authority[:at]); err != nil {
			return target{}, err
		}
		hosts = authority[at+1:]
	}
	var err error
	if t.addrs, err = addrs(hosts, t.topology); err != nil {
		return target{}, err
	}
	if t.topology == single && len(t.addrs) > 1 {
		return target{}, errors.New("redis:// takes one host; use redis-cluster:// or redis-sentinel:// for several")
	}
	if err := t.setPath(path); err != nil {
		return target{}, err
	}
	if err := t.setQuery(rawQuery); err != nil {
		return target{}, err
	}
	return t, nil
}

func userinfo(s string) (user, pass string, err error) {
	user, pass, _ = strings.Cut(s, ":")
	if user, err = url.PathUnescape(user); err != nil {
		return "", "", errors.New("URL has a malformed user name (percent-encode special characters)")
	}
	if pass, err = url.PathUnescape(pass); err != nil {
		return "", "", errors.New("URL has a malformed password (percent-encode special characters)")
	}
	return user, pass, nil
}

// addrs splits a comma-separated host list into host:port addresses.
func addrs(s string, topo topology) ([]string, error) {
	defaultPort := "6379"
	if topo == sentinel {
		defaultPort = "26379"
	}
	if s == "" {
		return nil, errors.New("URL has no host")
	}
	parts := strings.Split(s, ",")
	out := make([]string, 0, len(parts))
	for i, p := range parts {
		addr, ok := hostPort(p, defaultPort)
		if !ok {
			// The host list is not echoed: with an unescaped '/' in the
			// password, what was parsed as hosts may be part of it.
			return nil, fmt.Errorf("URL host %d of %d is not a valid host:port", i+1, len(parts))
		}
		out = append(out, addr)
	}
	return out, nil
}

// hostPort checks one host[:port], adding defaultPort when there is none.
func hostPort(p, defaultPort string) (string, bool) {
	host, port, err := net.SplitHostPort(p)
	if err != nil {
		// No port: a name, an IPv4 address or a bracketed IPv6 address.
		bracketed := strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]")
		if !bracketed && strings.Contains(p, ":") {
			return "", false
		}
		host, port = strings.TrimSuffix(strings.TrimPrefix(p, "["), "]"), defaultPort
	}
	n, err := strconv.Atoi(port)
	if host == "" || strings.ContainsAny(host, "[]@/") || err != nil || n < 1 || n > 65535 {
		return "", false
	}
	return net.JoinHostPort(host, port), true
}

func (t *target) setPath(path string) error {
	path = strings.TrimPrefix(path, "/")
	switch t.topology {
	case single:
		if path == "" {
			return nil
		}
		db, err := strconv.Atoi(path)
		if err != nil || db < 0 {
			return errors.New("URL path must be a database number, as in redis://host:6379/0")
		}
		t.db = db
	case cluster:
		if path != "" {
			return errors.New("a cluster URL takes no path: Redis Cluster has database 0 only")
		}
	case sentinel:
		if path == "" || strings.Contains(path, "/") {
			return errors.New("a sentinel URL needs the master name as its path, as in redis-sentinel://h1:26379,h2:26379/mymaster")
		}
		master, err := url.PathUnescape(path)
		if err != nil || master == "" {
			return errors.New("URL has a malformed master name")
		}
		t.master = master
	}
	return nil
}

// setQuery accepts db, sentinel_username and sentinel_password on sentinel
// URLs and nothing anywhere else, so a misspelt option is an error rather
// than silently ignored.
func (t *target) setQuery(raw string) error {
	if raw == "" {
		return nil
	}
	if t.topology != sentinel {
		return errors.New("URL takes no query parameters (only redis-sentinel:// takes ?db=N)")
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return errors.New("URL has a malformed query")
	}
	for name, vs := range q {
		if len(vs) != 1 {
			return fmt.Errorf("URL query parameter %q is given %d times", name, len(vs))
		}
		switch v := vs[0]; name {
		case "db":
			db, err := strconv.Atoi(v)
			if err != nil || db < 0 {
				return errors.New("URL query parameter db must be a database number")
			}
			t.db = db
		case "sentinel_username":
			t.sentinelUsername = v
		case "sentinel_password":
			t.sentinelPassword = v
		default:
			return fmt.Errorf("URL has an unknown query parameter %q (known: db, sentinel_username, sentinel_password)", name)
		}
	}
	return nil
}
