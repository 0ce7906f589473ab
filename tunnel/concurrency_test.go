package tunnel

import (
	"bytes"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"wsbridge/frames"
)

// TestManyConnections echoes a message through 1000 sessions, at most
// `parallel` at a time, each with its own TCP connection to an echo target.
func TestManyConnections(t *testing.T) {
	const total, parallel = 1000, 100
	tgt := startTarget(t, echoTarget)
	cfg := Config{Target: tgt.addr, LoggerFactory: quietLogger()}
	rec := hooks(&cfg)
	b := startBridge(t, cfg, nil)

	start := time.Now()
	sem := make(chan struct{}, parallel)
	errs := make(chan error, total)
	var wg sync.WaitGroup
	for i := range total {
		sem <- struct{}{}
		wg.Go(func() { // one client; ends after its close handshake
			defer func() { <-sem }()
			if err := echoOnce(b.addr, uint64(i)); err != nil {
				errs <- fmt.Errorf("connection %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 10 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Fatalf("%d of %d connections failed", n, total)
	}
	for i := range total {
		recv(t, rec.ends, fmt.Sprintf("OnSessionEnd %d", i))
	}
	if got := b.Active(); got != 0 {
		t.Errorf("got %d active sessions after all ended, want 0", got)
	}
	if got := len(rec.starts); got != total {
		t.Errorf("got %d OnSessionStart calls, want %d", got, total)
	}
	t.Logf("%d sessions in %v", total, time.Since(start))
}

// echoOnce sends a random message through a new session and checks that it
// comes back, then closes.
func echoOnce(addr string, seed uint64) error {
	c, resp, err := tryDialWS(addr)
	if err != nil {
		return err
	}
	if resp.StatusCode != 101 {
		return fmt.Errorf("got status %d, want 101", resp.StatusCode)
	}
	defer c.conn.Close()
	rng := mrand.New(mrand.NewPCG(seed, 9))
	msg := randBytes(seed, rng.IntN(4096)+1)
	if _, err := c.sendMessage(msg, rng, 1500, 0.1); err != nil {
		return err
	}
	var got bytes.Buffer
	if err := c.readN(&got, int64(len(msg))); err != nil {
		return err
	}
	if !bytes.Equal(got.Bytes(), msg) {
		return fmt.Errorf("got %d B back, want the %d B sent", got.Len(), len(msg))
	}
	if err := c.wr.WriteClose(frames.CloseNormal, ""); err != nil {
		return err
	}
	code, _, err := c.readUntilClose(&got)
	if err != nil || code != frames.CloseNormal {
		return fmt.Errorf("got Close %d (%v), want 1000", code, err)
	}
	return nil
}
