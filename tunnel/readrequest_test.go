package tunnel

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// Request heads as clients send them: wsbench (gobwas/ws) and Chromium.
const (
	headTool = "GET /?token=abc HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n"
	headBrowser = "GET /websockify?token=vnc%2D1 HTTP/1.1\r\nHost: example.com:6080\r\nConnection: Upgrade\r\n" +
		"Pragma: no-cache\r\nCache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 " +
		"(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\nUpgrade: websocket\r\nOrigin: https://example.com\r\n" +
		"Sec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
		"Sec-WebSocket-Protocol: binary\r\n\r\n"
)

// readRequest is what the loop did before parseUpgrade, and still does
// when parseUpgrade declines: http.ReadRequest on the head, which must
// leave nothing unread.
func readRequest(head []byte) (*http.Request, error) {
	br := bufio.NewReaderSize(bytes.NewReader(head), max(len(head), 16))
	r, err := http.ReadRequest(br)
	if err == nil && br.Buffered() > 0 {
		err = io.ErrShortBuffer // bytes after the head: not one request head
	}
	return r, err
}

// sameAsReadRequest fails t if parseUpgrade took head but http.ReadRequest
// refuses it or makes another request of it.
func sameAsReadRequest(t *testing.T, head []byte) bool {
	t.Helper()
	got := parseUpgrade(head)
	if got == nil {
		return false
	}
	want, err := readRequest(head)
	if err != nil {
		t.Fatalf("parseUpgrade took %q, http.ReadRequest refuses it: %v", head, err)
	}
	if !reflect.DeepEqual(*got, *want) {
		t.Fatalf("parseUpgrade(%q):\n got %#v\nwant %#v", head, *got, *want)
	}
	return true
}

func TestParseUpgrade(t *testing.T) {
	for _, head := range []string{
		headTool,
		headBrowser,
		// Pragma: no-cache without Cache-Control gains one, as net/http does.
		"GET / HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n",
		"GET /a%20b/c?x=1&y=%zz HTTP/1.1\r\nhost:h:1\r\nconnection:  keep-alive, close \t\r\nX-Empty:\r\nx-two: 1\r\nX-Two: 2\r\n\r\n",
		"GET //x HTTP/1.1\r\nHost: [::1]:80\r\nA: b\tc\r\n\r\n",
	} {
		if !sameAsReadRequest(t, []byte(head)) {
			t.Errorf("parseUpgrade declined %q", head)
		}
	}
	// What it leaves to http.ReadRequest. Some of these net/http takes,
	// some it refuses; parseUpgrade only has to decline them.
	for name, head := range map[string]string{
		"bare LF":               "GET / HTTP/1.1\nHost: h\n\n",
		"folded line":           "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
		"space before colon":    "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
		"non-ASCII value":       "GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n",
		"control in value":      "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n",
		"CR in value":           "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
		"two Hosts":             "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"no Host":               "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
		"absolute form":         "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
		"asterisk":              "GET * HTTP/1.1\r\nHost: h\r\n\r\n",
		"HTTP/1.0":              "GET / HTTP/1.0\r\nHost: h\r\n\r\n",
		"HTTP/2.0":              "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
		"POST":                  "POST / HTTP/1.1\r\nHost: h\r\n\r\n",
		"lower-case method":     "get / HTTP/1.1\r\nHost: h\r\n\r\n",
		"Content-Length":        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
		"Transfer-Encoding":     "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
		"Trailer":               "GET / HTTP/1.1\r\nHost: h\r\nTrailer: X\r\n\r\n",
		"space in target":       "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
		"two spaces":            "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
		"control in target":     "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
		"bytes after the head":  "GET / HTTP/1.1\r\nHost: h\r\n\r\nx",
		"no empty line":         "GET / HTTP/1.1\r\nHost: h\r\n",
		"empty name":            "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n",
		"no colon":              "GET / HTTP/1.1\r\nHost: h\r\nX\r\n\r\n",
		"leading space on line": "GET / HTTP/1.1\r\n Host: h\r\n\r\n",
	} {
		if parseUpgrade([]byte(head)) != nil {
			t.Errorf("%s: parseUpgrade took %q", name, head)
		}
	}
}

// FuzzParseUpgrade: whatever parseUpgrade takes, http.ReadRequest takes
// too and makes the same request of.
func FuzzParseUpgrade(f *testing.F) {
	f.Add([]byte(headTool))
	f.Add([]byte(headBrowser))
	f.Add([]byte("GET /a%20b?x=%zz HTTP/1.1\r\nhost:h\r\nConnection: close\r\nPragma: no-cache\r\nX: \t\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"))
	f.Fuzz(func(t *testing.T, head []byte) {
		sameAsReadRequest(t, head)
	})
}

// FuzzParseUpgradeFields builds heads from a target, a header and a Host
// value, to reach deeper into what parseUpgrade takes than mutations of
// whole heads do.
func FuzzParseUpgradeFields(f *testing.F) {
	f.Add("/?token=a%2Fb", "Sec-WebSocket-Protocol", " binary, base64 ", "h:80")
	f.Add("/x?y", "pragma", "no-cache", "[::1]:1")
	f.Add("//a/../b", "Connection", "Upgrade, close", "")
	f.Fuzz(func(t *testing.T, target, name, value, host string) {
		sameAsReadRequest(t, []byte("GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\n"+name+":"+value+"\r\n\r\n"))
	})
}

// BenchmarkParseUpgrade: the loop's fast path against http.ReadRequest,
// as the loop called it, on the heads wsbench and Chromium send.
func BenchmarkParseUpgrade(b *testing.B) {
	for _, h := range []struct{ name, head string }{{"tool", headTool}, {"browser", headBrowser}} {
		head := []byte(h.head)
		b.Run("parseUpgrade/"+h.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(head)))
			for b.Loop() {
				if r := parseUpgrade(head); r == nil || !strings.HasPrefix(r.Host, "127.0.0.1") && !strings.HasPrefix(r.Host, "example") {
					b.Fatal("declined")
				}
			}
		})
		b.Run("ReadRequest/"+h.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(head)))
			for b.Loop() {
				if r, err := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(head), len(head))); err != nil || r.Host == "" {
					b.Fatal(err)
				}
			}
		})
	}
}
