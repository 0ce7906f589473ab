//go:build !amd64 || purego

package frames

// maskBlocks leaves all of b to Mask's word loop where there is no vector
// code.
func maskBlocks(b []byte, key uint64) int { return 0 }
