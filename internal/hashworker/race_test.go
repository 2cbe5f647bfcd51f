//go:build race

package hashworker

// raceEnabled: the race detector keeps shadow memory for the heap, so a
// process's RSS says little about its own use.
const raceEnabled = true
