//go:build !linux

package tunnel

import "net"

// readWaiter is a no-op outside Linux: the target pump then holds its
// buffer while blocked in Read.
type readWaiter struct{}

func newReadWaiter(net.Conn) *readWaiter { return &readWaiter{} }

func (*readWaiter) wait() error { return nil }
