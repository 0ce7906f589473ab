package tokens

import (
	"strconv"
	"strings"
	"testing"
)

// TestParseTokenFile checks each TokenFile format rule of websockify
// 0.10–0.13 on one line, and the differences we document.
func TestParseTokenFile(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		token   string // "" = the line yields no entry
		want    Target
		wantErr string // substring of the line error, "" = none
	}{
		{"plain", "vm1: 10.0.0.5:5901", "vm1", tcp("10.0.0.5:5901"), ""},
		{"tab separator", "vm2:\t192.168.1.7:5900", "vm2", tcp("192.168.1.7:5900"), ""},
		{"more blanks after separator", "vm3:   h:1", "vm3", tcp("h:1"), ""},
		{"leading and trailing blanks", "  \tvm4: h:2 \t", "vm4", tcp("h:2"), ""},
		{"comment", "# vm: h:1", "", Target{}, ""},
		{"indented comment", "   # vm: h:1", "", Target{}, ""},
		{"blank line", "   \t ", "", Target{}, ""},
		{"no space after colon", "tok:host:5900", "", Target{}, "syntax error: want"},
		{"two separators", "a: b: h:1", "", Target{}, "found 2"},
		{"inline comment is part of the target", "t: h:5900 # x", "", Target{}, "bad target"},
		{"spaces in token", "sp ace: h:1", "sp ace", tcp("h:1"), ""},
		{"space before colon stays in token", "vm1 : h:1", "vm1 ", tcp("h:1"), ""},
		{"case kept", "VM1: h:1", "VM1", tcp("h:1"), ""},
		{"token with colon", "a:b: h:1", "a:b", tcp("h:1"), ""},
		{"empty token", ": h:1", "", Target{}, "empty token"},
		{"IPv6 bare", "v6: fd00::12:5900", "v6", tcp("[fd00::12]:5900"), ""},
		{"IPv6 loopback bare", "v6: ::1:5900", "v6", tcp("[::1]:5900"), ""},
		{"IPv6 bracketed", "v6: [::1]:5900", "v6", tcp("[::1]:5900"), ""},
		{"IPv6 half bracket", "v6: [::1:5900", "", Target{}, "bad target"},
		{"unix socket", "sock: unix_socket:/run/vnc/vm3.sock", "sock", unix("/run/vnc/vm3.sock"), ""},
		{"unix socket path with colon", "sock: unix_socket:/run/a:b", "sock", unix("/run/a:b"), ""},
		{"unix socket empty", "sock: unix_socket:", "", Target{}, "without a path"},
		{"no port", "t: host", "", Target{}, "want host:port"},
		{"empty port", "t: host:", "", Target{}, "empty port"},
		{"port 0", "t: h:0", "", Target{}, "out of range"},
		{"port 65536", "t: h:65536", "", Target{}, "out of range"},
		{"port 65535", "t: h:65535", "t", tcp("h:65535"), ""},
		{"port leading zeros", "t: h:05900", "t", tcp("h:5900"), ""},
		{"port sign", "t: h:+5900", "", Target{}, "not a decimal"},
		{"port name", "t: h:vnc", "", Target{}, "not a decimal"},
		{"empty host", "t: :5900", "", Target{}, "empty host"},
		{"separator is NBSP (Python \\s)", "t:\u00a0h:1", "t", tcp("h:1"), ""},
		{"separator is U+001F (Python \\s)", "t:\x1fh:1", "t", tcp("h:1"), ""},
		{"separator is vertical tab", "t:\vh:1", "t", tcp("h:1"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, errs := parseTokenFile("f", []byte(tt.line+"\n"))
			var gotErr string
			if len(errs) > 0 {
				gotErr = errs[0].Error()
			}
			switch {
			case tt.wantErr == "" && gotErr != "":
				t.Fatalf("got error %q, want none", gotErr)
			case tt.wantErr != "" && !strings.Contains(gotErr, tt.wantErr):
				t.Fatalf("got error %q, want one containing %q", gotErr, tt.wantErr)
			case tt.wantErr != "" && !strings.HasPrefix(gotErr, "tokens: f:1: "):
				t.Fatalf("got error %q, want prefix %q", gotErr, "tokens: f:1: ")
			}
			if tt.token == "" {
				if len(entries) != 0 {
					t.Fatalf("got %d entries %+v, want none", len(entries), entries)
				}
				return
			}
			if len(entries) != 1 {
				t.Fatalf("got %d entries, want 1", len(entries))
			}
			if e := entries[0]; e.token != tt.token || e.target != tt.want {
				t.Errorf("got %q → %+v, want %q → %+v", e.token, e.target, tt.token, tt.want)
			}
		})
	}
}

// TestParseTokenFileLines checks line numbering, line endings and that a
// broken line drops nothing else.
func TestParseTokenFileLines(t *testing.T) {
	data := "# header\r\n\r\na: h:1\rbroken\nb: h:2\n\nc:h:3\nd: h:4"
	entries, errs := parseTokenFile("dir/f", []byte(data))
	var got []string
	for _, e := range entries {
		got = append(got, e.token+"@"+strconv.Itoa(e.line))
	}
	if want := "a@3 b@5 d@8"; strings.Join(got, " ") != want {
		t.Errorf("got entries %q, want %q", strings.Join(got, " "), want)
	}
	var gotErrs []string
	for _, e := range errs {
		gotErrs = append(gotErrs, e.Error()[:len("tokens: dir/f:N:")])
	}
	if want := "tokens: dir/f:4:|tokens: dir/f:7:"; strings.Join(gotErrs, "|") != want {
		t.Errorf("got errors %q, want %q", strings.Join(gotErrs, "|"), want)
	}
	for _, e := range errs {
		for _, secret := range []string{"broken", "c:h"} {
			if strings.Contains(e.Error(), secret) {
				t.Errorf("error %q repeats the line (which holds the token)", e)
			}
		}
	}
}

// TestParseTarget covers target forms shared by all plugins.
func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    Target
		wantErr bool
	}{
		{"h:1", tcp("h:1"), false},
		{"10.0.0.1:5900", tcp("10.0.0.1:5900"), false},
		{"[fe80::1%eth0]:5900", tcp("[fe80::1%eth0]:5900"), false},
		{"fe80::1%eth0:5900", tcp("[fe80::1%eth0]:5900"), false},
		{"[h]:1", tcp("h:1"), false},
		{"unix_socket:/x", unix("/x"), false},
		{"unix_socket:rel/x", unix("rel/x"), false},
		{"unix_socket:/a\x00b", Target{}, true},
		{"h h:1", Target{}, true},
		{"h\x00:1", Target{}, true},
		{"[]:1", Target{}, true},
		{"h]:1", Target{}, true},
		{"h:99999999999999999999", Target{}, true},
		{"", Target{}, true},
	}
	for _, tt := range tests {
		got, err := parseTarget(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v, error %t", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
