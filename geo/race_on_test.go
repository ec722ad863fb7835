//go:build race

package geo

// raceEnabled shrinks the heaviest tests under the race detector, which
// slows them about tenfold.
const raceEnabled = true
