//go:build !race

package tunnel

// bpTotal is how much the backpressure tests send.
const bpTotal = 256 << 20
