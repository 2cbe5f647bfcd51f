//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package sqlstore

import "context"

// lockFile does not lock where there is no flock: there, processes that
// open a new SQLite file at the same moment may fail to migrate it.
func lockFile(context.Context, string) (unlock func(), err error) {
	return func() {}, nil
}
