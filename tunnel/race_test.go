//go:build race

package tunnel

// bpTotal is how much the backpressure tests send: the race detector slows
// the masking loops about twentyfold, so 64 MiB here.
const bpTotal = 64 << 20
