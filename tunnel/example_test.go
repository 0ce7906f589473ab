package tunnel_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"wsbridge/tunnel"
)

// ExampleNew bridges WebSockets on an http.Server to a VNC server, as
// websockify 6080 localhost:5900 does, and shuts down in order.
func ExampleNew() {
	bridge, err := tunnel.New(tunnel.Config{
		Target:      "127.0.0.1:5900",
		Heartbeat:   30 * time.Second, // drops clients that vanished silently
		IdleTimeout: time.Hour,
		// Fallback: the page handler for plain HTTP requests; nil gives 405.
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // ":6080" in real life
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &http.Server{
		Handler: bridge, // any path upgrades: ws://host:6080/websockify
		// Hijacking clears deadlines, so only this bounds a client that
		// never finishes its request.
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)

	// A plain request is not an upgrade.
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status)

	// On SIGTERM: stop accepting, then send every session Close 1001 and
	// wait for them (http.Server.Shutdown does not see hijacked conns).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println(srv.Shutdown(ctx), bridge.Shutdown(ctx))
	// Output:
	// 405 Method Not Allowed
	// <nil> <nil>
}
