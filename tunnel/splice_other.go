//go:build !linux

package tunnel

// newSplicePath: splice(2) is Linux only; elsewhere the down path copies.
func (p *pair) newSplicePath(*copyPath) downPath { return nil }
