//go:build !race

package hashworker

const raceEnabled = false
