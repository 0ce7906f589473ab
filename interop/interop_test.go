package interop

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/logging"

	"wsbridge/echo"
	"wsbridge/frames/deflate"
	"wsbridge/internal/testpeer"
	"wsbridge/tlsconf"
	"wsbridge/tunnel"
)

// needNodeWS returns the path of node, skipping the test outside CI when
// node or the npm ws package is missing; in CI (CI=true) it fails instead.
func needNodeWS(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("node_modules", "ws", "package.json"))
	}
	if err != nil {
		msg := "needs node and npm ws: run `npm ci --prefix interop` (.ci/run does): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}

// serve runs h on a loopback HTTP server until the test ends.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// runNode runs wsclient.mjs in the given mode against url, with env
// added to its environment.
func runNode(t *testing.T, node, mode, url string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "wsclient.mjs", mode, url)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("node wsclient.mjs %s:\n%s", mode, out.String())
	if err != nil {
		t.Fatalf("ws client (%s): %v", mode, err)
	}
	if !bytes.Contains(out.Bytes(), []byte("\nPASS")) {
		t.Fatalf("ws client (%s) did not report PASS", mode)
	}
}

func quietLogger() logging.LoggerFactory {
	return &logging.DefaultLoggerFactory{Writer: io.Discard, DefaultLogLevel: logging.LogLevelError, ScopeLevels: map[string]logging.LogLevel{}}
}

// TestWSEcho points npm ws at the message-preserving echo server built on
// frames/: types, sizes, fragmentation, pings, close echo, and the close
// codes for malformed frames.
func TestWSEcho(t *testing.T) {
	node := needNodeWS(t)
	addr := serve(t, &echo.Handler{})
	runNode(t, node, "echo", "ws://"+addr+"/")
}

// TestWSDeflate points npm ws with perMessageDeflate on at the echo server
// with permessage-deflate: for each of ws's parameters (and for a server
// that wants no context takeover either way) the agreed parameters as ws
// reads them, then messages of many sizes and both types echoed byte-exact,
// compressed, also fragmented with a ping between the fragments.
func TestWSDeflate(t *testing.T) {
	node := needNodeWS(t)
	tests := []struct {
		name   string
		ws     string // ws's perMessageDeflate options
		server deflate.Options
		want   string // the parameters ws agrees to
	}{
		{"default", `{}`, deflate.Options{}, `{}`},
		{"threshold 0", `{"threshold":0}`, deflate.Options{}, `{}`},
		{"serverNoContextTakeover", `{"serverNoContextTakeover":true}`, deflate.Options{}, `{"server_no_context_takeover":true}`},
		{"clientNoContextTakeover", `{"clientNoContextTakeover":true,"threshold":0}`, deflate.Options{}, `{"client_no_context_takeover":true}`},
		{"serverMaxWindowBits 8", `{"serverMaxWindowBits":8}`, deflate.Options{}, `{"server_max_window_bits":8}`},
		{"serverMaxWindowBits 11", `{"serverMaxWindowBits":11}`, deflate.Options{}, `{"server_max_window_bits":11}`},
		{"clientMaxWindowBits 9", `{"clientMaxWindowBits":9,"threshold":0}`, deflate.Options{}, `{"client_max_window_bits":9}`},
		{"all", `{"serverNoContextTakeover":true,"clientNoContextTakeover":true,"serverMaxWindowBits":10,"clientMaxWindowBits":12}`, deflate.Options{},
			`{"server_no_context_takeover":true,"client_no_context_takeover":true,"server_max_window_bits":10,"client_max_window_bits":12}`},
		{"server without takeover", `{}`, deflate.Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true},
			`{"server_no_context_takeover":true,"client_no_context_takeover":true}`},
		{"server windows", `{}`, deflate.Options{ServerMaxWindowBits: 9, ClientMaxWindowBits: 10, Level: 6},
			`{"server_max_window_bits":9,"client_max_window_bits":10}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ext, err := deflate.New(tt.server)
			if err != nil {
				t.Fatal(err)
			}
			addr := serve(t, &echo.Handler{Deflate: ext})
			runNode(t, node, "deflate", "ws://"+addr+"/", "WS_DEFLATE="+tt.ws, "WS_DEFLATE_WANT="+tt.want)
		})
	}
}

// TestWSBridge points npm ws at the bridge in front of a TCP echo target.
func TestWSBridge(t *testing.T) {
	node := needNodeWS(t)
	target := testpeer.TCP(t, testpeer.Echo)
	addr := serveTunnel(t, tunnel.Config{Target: target})
	runNode(t, node, "bridge", "ws://"+addr+"/websockify")
}

// serveTunnel runs a tunnel.Server for cfg on loopback until the test ends.
func serveTunnel(t *testing.T, cfg tunnel.Config) string {
	t.Helper()
	cfg.LoggerFactory = quietLogger()
	srv, err := tunnel.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return addr
}

// TestWSBridgeDeflate points npm ws with perMessageDeflate on at the
// bridge configured as wsbridge runs by default (no context takeover
// either way, small messages uncompressed, adaptive), for several of ws's
// offers.
func TestWSBridgeDeflate(t *testing.T) {
	node := needNodeWS(t)
	target := testpeer.TCP(t, testpeer.Echo)
	ext, err := deflate.New(deflate.Options{ServerNoContextTakeover: true, ClientNoContextTakeover: true, Threshold: 64, Adaptive: true})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTunnel(t, tunnel.Config{Target: target, Deflate: ext})
	both := `"server_no_context_takeover":true,"client_no_context_takeover":true`
	for _, tc := range []struct{ name, ws, want string }{
		{"default", `{}`, `{` + both + `}`},
		{"serverMaxWindowBits 10", `{"serverMaxWindowBits":10}`, `{` + both + `,"server_max_window_bits":10}`},
		{"clientMaxWindowBits 9", `{"clientMaxWindowBits":9}`, `{` + both + `,"client_max_window_bits":9}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runNode(t, node, "bridge-deflate", "ws://"+addr+"/websockify", "WS_DEFLATE="+tc.ws, "WS_DEFLATE_WANT="+tc.want)
		})
	}
}

// TestWSBridgeTLS runs the bridge checks over wss://: the same-port TLS
// listener from tlsconf, a certificate from a test CA, and npm ws verifying
// it strictly.
func TestWSBridgeTLS(t *testing.T) {
	node := needNodeWS(t)
	target := testpeer.TCP(t, testpeer.Echo)
	ca := testpeer.NewCA(t, "interop CA")
	_, certFile, keyFile := ca.Issue(t, "bridge.test", x509.ExtKeyUsageServerAuth)
	prov, err := tlsconf.New(tlsconf.Config{Certs: []string{certFile}, Key: keyFile, LoggerFactory: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prov.Close() })
	srv, err := tunnel.New(tunnel.Config{Target: target, LoggerFactory: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { // ends when hs is closed below
		defer close(done)
		hs.Serve(prov.Listener(ln, 5*time.Second))
	}()
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	runNode(t, node, "bridge", "wss://"+ln.Addr().String()+"/websockify", "WS_CA="+ca.File(t), "WS_SERVERNAME=bridge.test")
}
