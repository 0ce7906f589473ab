package record

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"wsbridge/internal/testpeer"
)

// pythonEscaped is what websockify writes for bytes 0…255: Python's
// bytes.decode('latin1').encode('unicode_escape') with ' escaped.
const pythonEscaped = `\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_` + "`" + `abcdefghijklmnopqrstuvwxyz{|}~\x7f\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf\xd0\xd1\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xdb\xdc\xdd\xde\xdf\xe0\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xeb\xec\xed\xee\xef\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff`

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestEscapeMatchesWebsockify(t *testing.T) {
	if got := string(AppendEscaped(nil, allBytes())); got != pythonEscaped {
		t.Errorf("escaped bytes 0-255:\ngot  %s\nwant %s", got, pythonEscaped)
	}
}

// decodeWithNode evaluates a recording as JavaScript, the way noVNC's
// playback loads it, and returns each entry as its direction mark and its
// bytes (every character a Latin-1 byte).
func decodeWithNode(t *testing.T, path string) []entry {
	t.Helper()
	node := testpeer.Need(t, "node", "nodejs")
	script := `const fs = require('fs');
eval(fs.readFileSync(process.argv[1], 'latin1') + '; globalThis.d = VNC_frame_data;');
const out = globalThis.d.map(s => s === 'EOF' ? {dir: 'EOF'} :
  {dir: s[0], ms: Number(s.slice(1, s.indexOf(s[0], 1))), data: Buffer.from(s.slice(s.indexOf(s[0], 1) + 1), 'latin1').toString('base64')});
console.log(JSON.stringify(out));`
	out, err := exec.Command(node, "-e", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("node could not load %s: %v\n%s", path, err, out)
	}
	var es []entry
	if err := json.Unmarshal(out, &es); err != nil {
		t.Fatalf("node output %q: %v", out, err)
	}
	return es
}

type entry struct {
	Dir  string `json:"dir"`
	Ms   int64  `json:"ms"`
	Data []byte `json:"data"`
}

// TestRecordingLoadsInJavaScript: a recording is valid JavaScript whose
// entries give back exactly the recorded bytes, in order, with their
// directions.
func TestRecordingLoadsInJavaScript(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "session")
	r, err := Open(prefix, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != prefix+".7" {
		t.Errorf("name %q, want %s.7", r.Name(), prefix)
	}
	chunks := [][]byte{[]byte("RFB 003.008\n"), allBytes(), []byte("it's \\ 'quoted'"), {}, bytes.Repeat([]byte{0xff, 0}, 5000)}
	for i, c := range chunks {
		if i%2 == 0 {
			r.ToClient(c)
		} else {
			r.FromClient(c)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(prefix + ".7")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600: recordings hold passwords", fi.Mode().Perm())
	}
	es := decodeWithNode(t, prefix+".7")
	if len(es) != len(chunks)+1 || es[len(es)-1].Dir != "EOF" {
		t.Fatalf("got %d entries (%+v), want %d and 'EOF'", len(es), es, len(chunks)+1)
	}
	for i, c := range chunks {
		want := "{"
		if i%2 == 1 {
			want = "}"
		}
		if es[i].Dir != want || !bytes.Equal(es[i].Data, c) || es[i].Ms < 0 {
			t.Errorf("entry %d: got %s %dms %q, want %s %q", i, es[i].Dir, es[i].Ms, es[i].Data, want, c)
		}
	}
}

// TestRecordingLimit: past the limit chunks are dropped, the file stays
// loadable and says it was truncated.
func TestRecordingLimit(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "rec")
	const limit = 10_000
	r, err := Open(prefix, 1, limit)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 { // both directions at once, as the pumps record
		wg.Go(func() {
			for range 100 {
				r.ToClient(bytes.Repeat([]byte("a"), 500))
				r.FromClient(bytes.Repeat([]byte("b"), 500))
			}
		})
	}
	wg.Wait()
	if !r.Truncated() {
		t.Error("not truncated after 400 kB into a 10 kB limit")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(prefix + ".1")
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > limit+200 {
		t.Errorf("file is %d bytes, want about the %d limit", len(data), limit)
	}
	if !strings.Contains(string(data), "'EOF'];\n// truncated") {
		t.Errorf("file does not end with EOF and the truncation note:\n%s", data[max(0, len(data)-200):])
	}
	es := decodeWithNode(t, prefix+".1")
	if len(es) < 10 || es[len(es)-1].Dir != "EOF" {
		t.Errorf("truncated recording: %d entries, want many and a final 'EOF'", len(es))
	}
}

func TestOpenError(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing", "dir", "rec"), 1, 0); err == nil || !strings.HasPrefix(err.Error(), "record: ") {
		t.Errorf("Open in a missing directory: got %v, want a record: error", err)
	}
}
