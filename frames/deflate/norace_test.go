//go:build !race

package deflate

// raceEnabled reports whether the race detector is on; the largest tests
// shrink under it.
const raceEnabled = false
