package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"wsbridge/internal/testpeer"
)

// tlsEcho starts a TLS echo target with a certificate for target.test and
// 127.0.0.1: it copies until the client's close_notify or FIN, then
// half-closes.
func tlsEcho(t *testing.T, ca *testCA) string {
	cert := ca.server(t, "target.test", "127.0.0.1").tlsCert(t)
	conf := &tls.Config{Certificates: []tls.Certificate{cert}}
	return testpeer.TCP(t, func(c *net.TCPConn) {
		tc := tls.Server(c, conf)
		tc.SetDeadline(time.Now().Add(20 * time.Second))
		if err := tc.Handshake(); err != nil {
			return
		}
		io.Copy(tc, tc)
		tc.CloseWrite()
		c.CloseWrite()
	})
}

func TestTargetTLS(t *testing.T) {
	ca := newCA(t, "target CA")
	addr := tlsEcho(t, ca)
	caFile := writeFile(t, t.TempDir(), "ca.pem", ca.pem)
	dialer := &net.Dialer{}

	for _, tc := range []struct {
		name    string
		cfg     TargetConfig
		wantErr func(error) bool // nil: the echo must work
	}{
		{"CA and server name", TargetConfig{Enabled: true, CAFile: caFile, ServerName: "target.test"}, nil},
		{"CA, name from the address", TargetConfig{Enabled: true, CAFile: caFile}, nil},
		{"insecure", TargetConfig{Enabled: true, Insecure: true}, nil},
		{"system roots", TargetConfig{Enabled: true, ServerName: "target.test"}, isErr[x509.UnknownAuthorityError]},
		{"wrong server name", TargetConfig{Enabled: true, CAFile: caFile, ServerName: "other.test"}, isErr[x509.HostnameError]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs *testpeer.Output
			tc.cfg.LoggerFactory, logs = testLogs(t)
			tt, err := NewTargetTLS(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tc.cfg.Insecure && !strings.Contains(logs.String(), "--target-insecure") {
				t.Errorf("no warning logged for --target-insecure")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := tt.Wrap(dialer.DialContext)(ctx, "tcp", addr)
			if tc.wantErr != nil {
				if err == nil {
					c.Close()
					t.Fatalf("dial succeeded, want an error")
				}
				if !strings.HasPrefix(err.Error(), "tlsconf: target "+addr+": ") {
					t.Errorf("error %q lacks the prefix", err)
				}
				if !tc.wantErr(err) {
					t.Errorf("got %v (%T), want another kind", err, errors.Unwrap(err))
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := io.WriteString(c, "hello over TLS"); err != nil {
				t.Fatal(err)
			}
			cw, ok := c.(interface{ CloseWrite() error })
			if !ok {
				t.Fatalf("%T has no CloseWrite", c)
			}
			if err := cw.CloseWrite(); err != nil {
				t.Fatalf("CloseWrite: %v", err)
			}
			// The echo ends only when our half-close reached it.
			got, err := io.ReadAll(c)
			if err != nil || string(got) != "hello over TLS" {
				t.Errorf("echo: got %q, %v; want %q, EOF", got, err, "hello over TLS")
			}
		})
	}
}

func TestTargetTLSHandshakeBoundedByContext(t *testing.T) {
	silent := testpeer.TCP(t, func(c *net.TCPConn) { io.Copy(io.Discard, c) })
	lf, _ := testLogs(t)
	tt, err := NewTargetTLS(TargetConfig{Enabled: true, Insecure: true, LoggerFactory: lf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = tt.Wrap((&net.Dialer{}).DialContext)(ctx, "tcp", silent)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestTargetTLSDisabledAndErrors(t *testing.T) {
	tt, err := NewTargetTLS(TargetConfig{})
	if tt != nil || err != nil {
		t.Fatalf("disabled: got %v, %v; want nil, nil", tt, err)
	}
	called := false
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		called = true
		return nil, errors.New("x")
	}
	tt.Wrap(dial)(context.Background(), "tcp", "h:1")
	if !called {
		t.Errorf("nil TargetTLS did not pass the dial through")
	}

	caFile := writeFile(t, t.TempDir(), "ca.pem", newCA(t, "CA").pem)
	for _, tc := range []struct {
		cfg  TargetConfig
		flag string
	}{
		{TargetConfig{CAFile: caFile}, "--target-ca"},
		{TargetConfig{ServerName: "x.test"}, "--target-server-name"},
		{TargetConfig{Insecure: true}, "--target-insecure"},
		{TargetConfig{Enabled: true, Insecure: true, CAFile: caFile}, "--target-insecure"},
		{TargetConfig{Enabled: true, CAFile: caFile + ".missing"}, "--target-ca"},
		{TargetConfig{Enabled: true, ServerName: "x.test:443"}, "--target-server-name"},
	} {
		if _, err := NewTargetTLS(tc.cfg); err == nil || !strings.HasPrefix(err.Error(), "tlsconf: "+tc.flag) {
			t.Errorf("NewTargetTLS(%+v): got %v, want an error naming %s", tc.cfg, err, tc.flag)
		}
	}

	tt, err = NewTargetTLS(TargetConfig{Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	unixDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		t.Errorf("dialled %s without a server name", addr)
		return nil, errors.New("unexpected")
	}
	if _, err := tt.Wrap(unixDial)(context.Background(), "unix", "/run/vnc.sock"); err == nil || !strings.Contains(err.Error(), "--target-server-name") {
		t.Errorf("unix target without a server name: got %v", err)
	}
}

// isErr reports whether err wraps an E.
func isErr[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}
