package redisstore

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want target
	}{
		{"redis://localhost:6379", target{topology: single, addrs: []string{"localhost:6379"}}},
		{"redis://localhost", target{topology: single, addrs: []string{"localhost:6379"}}},
		{"redis://127.0.0.1:6380/", target{topology: single, addrs: []string{"127.0.0.1:6380"}}},
		{"redis://user:s3cret@10.0.0.1:6379/3", target{topology: single, addrs: []string{"10.0.0.1:6379"},
			username: "user", password: "s3cret", db: 3}},
		{"redis://:s3cret@h:1", target{topology: single, addrs: []string{"h:1"}, password: "s3cret"}},
		{"redis://u:p%40ss%2Fw%3Ard@h:1", target{topology: single, addrs: []string{"h:1"}, username: "u", password: "p@ss/w:rd"}},
		{"redis://u:p@ss@h:1", target{topology: single, addrs: []string{"h:1"}, username: "u", password: "p@ss"}},
		{"redis://[::1]:6379/1", target{topology: single, addrs: []string{"[::1]:6379"}, db: 1}},
		{"redis://[::1]", target{topology: single, addrs: []string{"[::1]:6379"}}},
		{"REDIS://h:1", target{topology: single, addrs: []string{"h:1"}}},
		{"rediss://u:s3cret@redis.example.com:6380/2", target{topology: single, tls: true,
			addrs: []string{"redis.example.com:6380"}, username: "u", password: "s3cret", db: 2}},
		{"redis-cluster://h1:7000,h2:7001,h3:7002", target{topology: cluster,
			addrs: []string{"h1:7000", "h2:7001", "h3:7002"}}},
		{"redis-cluster://u:s3cret@h1:7000/", target{topology: cluster, addrs: []string{"h1:7000"},
			username: "u", password: "s3cret"}},
		{"rediss-cluster://h1:7000,[::1]:7001,h3", target{topology: cluster, tls: true,
			addrs: []string{"h1:7000", "[::1]:7001", "h3:6379"}}},
		{"redis-sentinel://s1:26379,s2:26380/mymaster", target{topology: sentinel,
			addrs: []string{"s1:26379", "s2:26380"}, master: "mymaster"}},
		{"redis-sentinel://u:s3cret@s1,s2/mymaster?db=4", target{topology: sentinel,
			addrs: []string{"s1:26379", "s2:26379"}, master: "mymaster", username: "u", password: "s3cret", db: 4}},
		{"rediss-sentinel://s1:26379/mymaster?sentinel_username=su&sentinel_password=sp", target{topology: sentinel,
			tls: true, addrs: []string{"s1:26379"}, master: "mymaster", sentinelUsername: "su", sentinelPassword: "sp"}},
	} {
		got, err := parseURL(tc.url)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseURL(%q) =\n%+v, %v; want\n%+v", tc.url, got, err, tc.want)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, url := range []string{
		"",
		"s3cret",
		"localhost:6379",
		"user:s3cret@localhost:6379",
		"http://user:s3cret@localhost:6379",
		"unix:///tmp/redis.sock",
		"redis://",
		"redis://user:s3cret@",
		"redis://user:s3cret@/0",
		"redis://user:s3cret@h:port",
		"redis://user:s3cret@h:0",
		"redis://user:s3cret@h:65536",
		"redis://user:s3cret@h:6379:1",
		"redis://user:s3cret@::1",
		"redis://user:s3/cret@h:6379",   // an unescaped '/' in the password
		"redis://user:s3cret%zz@h:6379", // a bad escape
		"redis://user:s3cret@h:6379/db",
		"redis://user:s3cret@h:6379/-1",
		"redis://user:s3cret@h:6379/0/1",
		"redis://user:s3cret@h1:6379,h2:6379",
		"redis://user:s3cret@h:6379?db=1",
		"redis://user:s3cret@h:6379#s3cret",
		"redis://user:s3cret@h 1:6379",
		"redis-cluster://user:s3cret@h1:7000,,h2:7001",
		"redis-cluster://user:s3cret@h1:7000,h2:7001/0",
		"redis-cluster://user:s3cret@h1:7000?read_only=true",
		"redis-sentinel://user:s3cret@s1:26379",
		"redis-sentinel://user:s3cret@s1:26379/",
		"redis-sentinel://user:s3cret@s1:26379/a/b",
		"redis-sentinel://user:s3cret@s1:26379/m?db=x",
		"redis-sentinel://user:s3cret@s1:26379/m?db=1&db=2",
		"redis-sentinel://user:s3cret@s1:26379/m?password=s3cret",
		"redis-sentinel://user:s3cret@s1:26379/m?sentinel_password=%zz",
		"redis+sentinel://user:s3cret@s1:26379/m",
	} {
		_, err := parseURL(url)
		if err == nil {
			t.Errorf("parseURL(%q) succeeded", url)
		} else if strings.Contains(err.Error(), "s3") {
			t.Errorf("parseURL(%q) error %q repeats the password", url, err)
		}
	}
}
