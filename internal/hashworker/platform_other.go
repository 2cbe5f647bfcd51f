//go:build !linux

package hashworker

import "os"

// pollableStdio returns stdin and stdout as they are.
func pollableStdio() (stdin, stdout *os.File, err error) { return os.Stdin, os.Stdout, nil }

// lowerPriority does nothing: only Linux is known to nice a Go process's
// every thread this way, so elsewhere the hash process keeps normal priority.
func lowerPriority() error { return nil }
