//go:build !race

package frames

// raceEnabled reports whether the race detector is on; the largest tests
// shrink under it, since it slows memory access by an order of magnitude.
const raceEnabled = false
