//go:build race

package engine

// raceEnabled scales long randomized tests down under the race detector.
const raceEnabled = true
