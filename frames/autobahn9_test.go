package frames

import (
	"fmt"
	"strings"
	"testing"
)

// Autobahn group 9: large messages, many fragments, chopped writes and many
// small messages. Autobahn times these against a live server; here they
// check that sizes up to 16 MiB and fragments down to 64 bytes reassemble
// exactly. -short divides the sizes by 16, the race detector by 4. Each
// case is built just before it runs, so that memory stays at one case's.
func TestAutobahnLimits(t *testing.T) {
	scale := 1
	if raceEnabled {
		scale = 4
	}
	if testing.Short() {
		scale = 16
	}
	const mib = 1 << 20
	// add sends payload as one message in fragments of frag bytes.
	add := func(id string, chop int, op Opcode, payload string, frag int) {
		var frames [][]byte
		for rest, first := payload, true; first || len(rest) > 0; first = false {
			n := min(frag, len(rest))
			fop := op
			if !first {
				fop = OpContinuation
			}
			frames = append(frames, cframe(n == len(rest), fop, rest[:n]))
			rest = rest[n:]
		}
		c := ok(id, chop, frames, msg(op, payload))
		c.big = true
		runAutobahn(t, []abCase{c})
	}
	sizes := []int{64 << 10, 256 << 10, 1 * mib, 4 * mib, 8 * mib, 16 * mib}
	for i, n := range sizes {
		n /= scale
		add(fmt.Sprintf("9.1.%d", i+1), 0, OpText, strings.Repeat("*", n), n)
		add(fmt.Sprintf("9.2.%d", i+1), 0, OpBinary, strings.Repeat("\xfe", n), n)
	}
	for i, frag := range []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 * mib, 4 * mib} {
		n := 4 * mib / scale
		add(fmt.Sprintf("9.3.%d", i+1), 0, OpText, strings.Repeat("*", n), frag)
		add(fmt.Sprintf("9.4.%d", i+1), 0, OpBinary, strings.Repeat("\xfe", n), frag)
	}
	for i, chop := range []int{64, 128, 256, 512, 1024, 2048} {
		n := 1 * mib / scale
		add(fmt.Sprintf("9.5.%d", i+1), chop, OpText, strings.Repeat("*", n), n)
		add(fmt.Sprintf("9.6.%d", i+1), chop, OpBinary, strings.Repeat("\xfe", n), n)
	}
	// 9.7, 9.8: 1000 round trips of small messages.
	for i, n := range []int{0, 16, 64, 256, 1 << 10, 4 << 10} {
		for j, op := range []Opcode{OpText, OpBinary} {
			p := strings.Repeat("*", n)
			var frames [][]byte
			var events []event
			for range 1000 {
				frames = append(frames, cframe(true, op, p))
				events = append(events, msg(op, p))
			}
			c := ok(fmt.Sprintf("9.%d.%d", 7+j, i+1), 0, frames, events...)
			c.big = true
			runAutobahn(t, []abCase{c})
		}
	}
}
