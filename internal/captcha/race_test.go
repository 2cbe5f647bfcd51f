//go:build race

package captcha

// raceEnabled: under the race detector sync.Pool drops a quarter of what it
// is given, on purpose, so pooled objects are allocated again now and then.
const raceEnabled = true
