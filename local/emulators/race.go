//go:build race

package emulators

// raceEnabled makes functions built for a race-enabled test binary race-enabled too, which
// also lets them reuse the packages the test build already compiled.
const raceEnabled = true
