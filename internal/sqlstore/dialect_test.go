package sqlstore

import (
	"strings"
	"testing"
)

func TestPostgresDSN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, dsn, name string
	}{
		{
			"postgres://signup:hunter2@db:5432/signup",
			"postgres://signup:hunter2@db:5432/signup?connect_timeout=2",
			"postgres://signup@db:5432/signup",
		},
		{
			"postgresql://db/signup?sslmode=verify-full&connect_timeout=10",
			"postgresql://db/signup?sslmode=verify-full&connect_timeout=10", // kept as given
			"postgresql://db/signup",
		},
		{
			"postgres://db/signup?password=hunter2",
			"postgres://db/signup?connect_timeout=2&password=hunter2",
			"postgres://db/signup",
		},
	}
	for _, tt := range tests {
		dsn, name, err := postgresDSN(tt.url)
		if err != nil || dsn != tt.dsn || name != tt.name {
			t.Errorf("postgresDSN(%q) = %q, %q, %v; want %q, %q", tt.url, dsn, name, err, tt.dsn, tt.name)
		}
		if strings.Contains(name, "hunter2") {
			t.Errorf("name %q shows the password", name)
		}
	}
}
