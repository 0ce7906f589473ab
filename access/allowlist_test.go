package access

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// allowListParseCases seed FuzzParseAllowList too. want is String() of the
// single parsed rule, or "" for an error containing wantErr.
var allowListParseCases = []struct {
	spec, want, wantErr string
}{
	{"10.0.0.0/8:5900-5999", "10.0.0.0/8:5900-5999", ""},
	{"10.1.2.3/8:5900", "10.0.0.0/8:5900-5900", ""},
	{"127.0.0.1:22", "127.0.0.1/32:22-22", ""},
	{" 127.0.0.1:22 ", "127.0.0.1/32:22-22", ""},
	{"[::1]:5900", "::1/128:5900-5900", ""},
	{"::1/128:5900-5910", "::1/128:5900-5910", ""},
	{"[2001:db8::/32]:22", "2001:db8::/32:22-22", ""},
	{"0.0.0.0/0:5900", "0.0.0.0/0:5900-5900", ""},
	{"::/0:*", "::/0:1-65535", ""},
	{"10.0.0.1:*", "10.0.0.1/32:1-65535", ""},
	{"10.0.0.1:1-65535", "10.0.0.1/32:1-65535", ""},
	{"::ffff:10.0.0.0/104:80", "10.0.0.0/8:80-80", ""},
	{"[::ffff:127.0.0.1]:80", "127.0.0.1/32:80-80", ""},
	{"", "", "missing :PORTS"},
	{"10.0.0.0/8", "", "missing :PORTS"},
	{"::1/128", "", "missing :PORTS"},
	{"127.0.0.1", "", "missing :PORTS"},
	{"::1:5900", "", "put an IPv6 address in brackets"},
	{"[::1]", "", "want [ADDRESS]:PORTS"},
	{"[::1:5900", "", "missing ]"},
	{":22", "", "missing address"},
	{"localhost:22", "", "not an IP address or CIDR"},
	{"10.0.0.0/33:22", "", "not a CIDR"},
	{"10.0.0.0/8:0", "", "bad port \"0\""},
	{"10.0.0.0/8:65536", "", "bad port"},
	{"10.0.0.0/8:-5", "", "bad port \"\""},
	{"10.0.0.0/8:5-", "", "bad port \"\""},
	{"10.0.0.0/8:5999-5900", "", "backwards"},
	{"10.0.0.0/8:ssh", "", "bad port \"ssh\""},
	{"10.0.0.0/8:22,23", "", "bad port"},
	{"[fe80::1%eth0]:22", "", "zones are not supported"},
}

func TestParseAllowList(t *testing.T) {
	for _, tt := range allowListParseCases {
		t.Run(tt.spec, func(t *testing.T) {
			a, err := ParseAllowList([]string{tt.spec})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				if want := "access: --allow-target " + strconv.Quote(tt.spec) + ": "; !strings.HasPrefix(err.Error(), want) {
					t.Errorf("got error %q, want it to start %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := a.String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseAllowListEmpty(t *testing.T) {
	a, err := ParseAllowList(nil)
	if a != nil || err != nil {
		t.Fatalf("got %v, %v, want nil, nil", a, err)
	}
	if !a.Allowed(netip.MustParseAddr("192.0.2.1"), 1) || a.String() != "any" {
		t.Error("got a nil AllowList refusing, want it to allow everything")
	}
	if err := a.Control("tcp4", "192.0.2.1:1", nil); err != nil {
		t.Errorf("got Control error %v from a nil AllowList, want nil", err)
	}
}

func TestAllowed(t *testing.T) {
	a, err := ParseAllowList([]string{"10.0.0.0/8:5900-5999", "127.0.0.1:22", "[::1]:5900", "2001:db8::/32:*"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip   string
		port uint16
		want bool
	}{
		{"10.0.0.1", 5900, true},
		{"10.255.255.255", 5999, true},
		{"10.0.0.1", 5899, false},
		{"10.0.0.1", 6000, false},
		{"11.0.0.1", 5900, false},
		{"::ffff:10.0.0.1", 5950, true},
		{"127.0.0.1", 22, true},
		{"127.0.0.2", 22, false},
		{"127.0.0.1", 23, false},
		{"::1", 5900, true},
		{"::1", 22, false},
		{"fe80::1%eth0", 5900, false},
		{"2001:db8:1::5", 1, true},
		{"2001:db9::5", 1, false},
	}
	for _, tt := range tests {
		if got := a.Allowed(netip.MustParseAddr(tt.ip), tt.port); got != tt.want {
			t.Errorf("Allowed(%s, %d): got %v, want %v", tt.ip, tt.port, got, tt.want)
		}
	}
	if a.Allowed(netip.Addr{}, 5900) {
		t.Error("Allowed(invalid): got true, want false")
	}
}

func TestControlUnit(t *testing.T) {
	a, err := ParseAllowList([]string{"127.0.0.1:22"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		network, address string
		wantErr          bool
	}{
		{"tcp4", "127.0.0.1:22", false},
		{"tcp6", "[::ffff:127.0.0.1]:22", false},
		{"tcp4", "127.0.0.1:23", true},
		{"udp4", "127.0.0.1:23", true},
		{"tcp", "not-an-address", true},
		{"unix", "/run/vnc.sock", false},
	}
	for _, tt := range tests {
		err := a.Control(tt.network, tt.address, nil)
		if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrTargetNotAllowed)) {
			t.Errorf("Control(%s, %s): got %v, want error %v wrapping ErrTargetNotAllowed", tt.network, tt.address, err, tt.wantErr)
		}
	}
}

// listen opens a loopback listener closed at the end of the test.
func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return ln, port
}

// TestControlDial uses Control in a real net.Dialer against loopback
// listeners, recording the addresses the dialer actually checked.
func TestControlDial(t *testing.T) {
	_, allowedPort := listen(t)
	_, otherPort := listen(t)
	tests := []struct {
		name      string
		specs     []string
		addr      string
		wantErr   bool
		wantCheck string // an address Control must have seen
	}{
		{"allowed port", []string{"127.0.0.1:" + allowedPort}, "127.0.0.1:" + allowedPort, false, "127.0.0.1:" + allowedPort},
		{"other port", []string{"127.0.0.1:" + allowedPort}, "127.0.0.1:" + otherPort, true, "127.0.0.1:" + otherPort},
		{"name resolved inside", []string{"127.0.0.0/8:" + allowedPort}, "localhost:" + allowedPort, false, "127.0.0.1:" + allowedPort},
		{"name resolved outside", []string{"10.0.0.0/8:" + allowedPort, "[::1]:1"}, "localhost:" + allowedPort, true, "127.0.0.1:" + allowedPort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAllowList(tt.specs)
			if err != nil {
				t.Fatal(err)
			}
			var (
				mu      sync.Mutex
				checked []string
			)
			d := net.Dialer{Timeout: 5 * time.Second, Control: func(network, address string, c syscall.RawConn) error {
				mu.Lock()
				checked = append(checked, address)
				mu.Unlock()
				return a.Control(network, address, c)
			}}
			conn, err := d.DialContext(context.Background(), "tcp", tt.addr)
			if err == nil {
				conn.Close()
			}
			if tt.wantErr != (err != nil) {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrTargetNotAllowed) {
				t.Errorf("got error %v, want one wrapping ErrTargetNotAllowed", err)
			}
			mu.Lock()
			defer mu.Unlock()
			found := false
			for _, c := range checked {
				found = found || c == tt.wantCheck
			}
			if !found {
				t.Errorf("got Control called with %q, want it to see %q", checked, tt.wantCheck)
			}
		})
	}
}
