//go:build !race

package emulators

// raceEnabled makes functions built for a race-enabled test binary race-enabled too.
const raceEnabled = false
