package tokens

import (
	"reflect"
	"strings"
	"testing"
)

// TestSplitSourceArgs follows websockify 0.13's parse_source_args.
func TestSplitSourceArgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"a:b:c:d", []string{"a", "b", "c", "d"}},
		{`a:"b:c":d`, []string{"a", "b:c", "d"}},
		{"host:::pass", []string{"host", "", "", "pass"}},
		{"host::::ns", []string{"host", "", "", "", "ns"}},
		{`host::::"first-ns:second-ns"`, []string{"host", "", "", "", "first-ns:second-ns"}},
		{`"::1":6380`, []string{"::1", "6380"}},
		{"a:", []string{"a", ""}},
		{"", []string{""}},
		{`a:"b`, []string{"a", `"b`}},
		{`a:"b:c`, []string{"a", `"b`, "c"}},
		{`a:""`, []string{"a", `""`}},
		{`"a"b:c`, []string{`"a"b`, "c"}},
		{`"a:b"c:d`, []string{`"a`, `b"c`, "d"}},
		{`a:"p:w""`, []string{"a", `"p`, `w""`}},
	}
	for _, tt := range tests {
		if got := splitSourceArgs(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitSourceArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestParseRedisSource checks defaults, fields and errors (which must not
// repeat the password).
func TestParseRedisSource(t *testing.T) {
	tests := []struct {
		in      string
		want    redisConfig
		wantErr string
	}{
		{"my-redis-host", redisConfig{addr: "my-redis-host:6379"}, ""},
		{"h:6380", redisConfig{addr: "h:6380"}, ""},
		{"h::3", redisConfig{addr: "h:6379", db: 3}, ""},
		{"h:::verysecretpass", redisConfig{addr: "h:6379", password: "verysecretpass"}, ""},
		{"h::::ns", redisConfig{addr: "h:6379", namespace: "ns"}, ""},
		{`h::::"a:b"`, redisConfig{addr: "h:6379", namespace: "a:b"}, ""},
		{"h:6380:1:pw:ns", redisConfig{addr: "h:6380", db: 1, password: "pw", namespace: "ns"}, ""},
		{`"::1":6380`, redisConfig{addr: "[::1]:6380"}, ""},
		{`h:1:2:"p:w"`, redisConfig{addr: "h:1", db: 2, password: "p:w"}, ""},
		{"", redisConfig{}, "empty host"},
		{":6379", redisConfig{}, "empty host"},
		{"h:x", redisConfig{}, "not a decimal"},
		{"h:0", redisConfig{}, "out of range"},
		{"h:1:x:secretpw", redisConfig{}, "db"},
		{"h:1:-1:secretpw", redisConfig{}, "db"},
		{"h:1:2:secretpw:ns:extra", redisConfig{}, "6 fields"},
	}
	for _, tt := range tests {
		got, err := parseRedisSource(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseRedisSource(%q): got %+v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			} else if strings.Contains(err.Error(), "secretpw") {
				t.Errorf("parseRedisSource(%q): error %q repeats the password", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseRedisSource(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// TestParseRedisValue covers the JSON and plain value forms.
func TestParseRedisValue(t *testing.T) {
	tests := []struct {
		in      string
		want    Target
		wantErr string
	}{
		{`{"host": "127.0.0.1:5000"}`, tcp("127.0.0.1:5000"), ""},
		{` {"host":"h:1","other":2} ` + "\n", tcp("h:1"), ""},
		{`{"host": "[::1]:5900"}`, tcp("[::1]:5900"), ""},
		{"127.0.0.1:5000", tcp("127.0.0.1:5000"), ""},
		{"h:1\n", tcp("h:1"), ""},
		{"[::1]:5900", tcp("[::1]:5900"), ""},
		{"unix_socket:/run/x", unix("/run/x"), ""},
		{`{"host": "unix_socket:/run/x"}`, unix("/run/x"), ""},
		{`{"host": 5}`, Target{}, "not a string"},
		{`{"port": 5}`, Target{}, "without a \"host\""},
		{`{"host": "h:1"`, Target{}, "bad JSON"},
		{"h", Target{}, "want host:port"},
		{"h:1 x", Target{}, "not a decimal"},
		{"", Target{}, "want host:port"},
	}
	for _, tt := range tests {
		got, err := parseRedisValue(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseRedisValue(%q): got %+v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseRedisValue(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}
