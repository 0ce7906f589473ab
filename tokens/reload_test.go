package tokens

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// reloadWait bounds how long a change may take to show with a 20 ms poll.
const reloadWait = 5 * time.Second

// TestReloadPolling: edits show within a bounded wait, without Reload.
func TestReloadPolling(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "tokens", "a: h:1\nb: h:2\n")
	s, _ := newTestSource(t, "TokenFile", p, Options{ReloadInterval: 20 * time.Millisecond})
	if !resolvesTo(s, "a", tcp("h:1")) {
		t.Fatal("Lookup(a): want h:1 before any change")
	}

	writeFile(t, dir, "tokens", "a: h:1\nc: h:3\n")
	eventually(t, reloadWait, "resolving the added token c", func() bool { return resolvesTo(s, "c", tcp("h:3")) })
	if !notFound(s, "b") {
		t.Errorf("Lookup(b): got found, want ErrNotFound after its line was removed")
	}

	// Same size, written at once: the racy window must catch it even when
	// the timestamp did not tick.
	writeFile(t, dir, "tokens", "a: h:9\nc: h:3\n")
	eventually(t, reloadWait, "resolving a to its new target", func() bool { return resolvesTo(s, "a", tcp("h:9")) })

	// Replaced by rename, the way editors and config tools save.
	tmp := writeFile(t, dir, "tokens.tmp", "a: h:8\nc: h:3\n")
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, reloadWait, "resolving a after a rename", func() bool { return resolvesTo(s, "a", tcp("h:8")) })
}

// TestReloadKeepsUnreadable: a file that cannot be read keeps its targets.
func TestReloadKeepsUnreadable(t *testing.T) {
	t.Run("single file removed", func(t *testing.T) {
		dir := t.TempDir()
		p := writeFile(t, dir, "tokens", "a: h:1\n")
		s, log := newTestSource(t, "TokenFile", p, Options{ReloadInterval: 20 * time.Millisecond})
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		eventually(t, reloadWait, "logging the missing file", func() bool { return strings.Contains(log.String(), "no such file") })
		if !resolvesTo(s, "a", tcp("h:1")) {
			t.Error("Lookup(a): want h:1 kept after the file went away")
		}
		writeFile(t, dir, "tokens", "b: h:2\n")
		eventually(t, reloadWait, "resolving b once the file is back", func() bool { return resolvesTo(s, "b", tcp("h:2")) })
		if !notFound(s, "a") {
			t.Error("Lookup(a): got found, want ErrNotFound once the file is back without it")
		}
	})

	t.Run("directory entry broken", func(t *testing.T) {
		dir := t.TempDir()
		a := writeFile(t, dir, "a", "a: h:1\n")
		writeFile(t, dir, "b", "b: h:2\n")
		s, log := newTestSource(t, "TokenFile", dir, Options{ReloadInterval: 20 * time.Millisecond})
		// a becomes a dangling symlink: listed, but unreadable.
		if err := os.Remove(a); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(dir, "missing"), a); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, "c", "c: h:3\n")
		eventually(t, reloadWait, "resolving c from a new file", func() bool { return resolvesTo(s, "c", tcp("h:3")) })
		if !strings.Contains(log.String(), "tokens: "+a+": ") {
			t.Errorf("log lacks the error for %s; got:\n%s", a, log)
		}
		if !resolvesTo(s, "a", tcp("h:1")) {
			t.Error("Lookup(a): want h:1 kept while its file is unreadable")
		}
		// A file removed from the directory takes its tokens with it.
		if err := os.Remove(filepath.Join(dir, "b")); err != nil {
			t.Fatal(err)
		}
		eventually(t, reloadWait, "dropping b with its file", func() bool { return notFound(s, "b") })
	})

	t.Run("permission denied", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads files whatever their mode; the dangling symlink case covers unreadable files")
		}
		dir := t.TempDir()
		p := writeFile(t, dir, "tokens", "a: h:1\n")
		s, log := newTestSource(t, "TokenFile", p, Options{ReloadInterval: 20 * time.Millisecond})
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		eventually(t, reloadWait, "logging the unreadable file", func() bool { return strings.Contains(log.String(), "permission denied") })
		if !resolvesTo(s, "a", tcp("h:1")) {
			t.Error("Lookup(a): want h:1 kept while the file is unreadable")
		}
	})
}

// TestReloadForced: Reload re-reads without polling and reports problems.
func TestReloadForced(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "tokens", "a: h:1\n")
	s, _ := newTestSource(t, "TokenFile", p, Options{ReloadInterval: -1})
	r, ok := s.(Reloader)
	if !ok {
		t.Fatalf("%T does not implement Reloader", s)
	}
	writeFile(t, dir, "tokens", "b: h:2\nbroken\n")
	err := r.Reload()
	if err == nil || !strings.Contains(err.Error(), "1 lines skipped") {
		t.Errorf("Reload: got %v, want an error counting 1 skipped line", err)
	}
	if !resolvesTo(s, "b", tcp("h:2")) || !notFound(s, "a") {
		t.Error("after Reload: want b resolved and a gone")
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Reload of a removed file: got %v, want an error wrapping os.ErrNotExist", err)
	}
	if !resolvesTo(s, "b", tcp("h:2")) {
		t.Error("after a failed Reload: want b kept")
	}
}

// TestReloadUnchanged: polls of an unchanged file publish nothing.
func TestReloadUnchanged(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "tokens", "a: h:1\n")
	s, log := newTestSource(t, "TokenFile", p, Options{ReloadInterval: -1})
	fs := s.(*fileSource)
	before := fs.table.Load()
	for range 5 {
		if err := fs.load(false); err != nil {
			t.Fatalf("load: %v", err)
		}
	}
	if fs.table.Load() != before {
		t.Error("got a new table after polls of an unchanged file, want the same")
	}
	if n := strings.Count(log.String(), "tokens from"); n != 1 {
		t.Errorf("got %d table loads logged, want 1", n)
	}
}

// TestReloadConcurrent: lookups racing with reloads see an old or a new
// table, never a mix or a torn one (run under -race).
func TestReloadConcurrent(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "tokens", "a: h:1000\nb: h:1\n")
	s, _ := newTestSource(t, "TokenFile", p, Options{ReloadInterval: time.Millisecond})
	r := s.(Reloader)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ta, erra := s.Lookup(t.Context(), "a")
				if erra != nil || !strings.HasPrefix(ta.Addr, "h:") {
					t.Errorf("Lookup(a) = %+v, %v; want h:N", ta, erra)
					return
				}
			}
		})
	}
	for i := 1001; i <= 1030; i++ {
		// Written and renamed, as config tools should: a poll between
		// a truncate and a write would see a file without a.
		tmp := writeFile(t, dir, "tokens.tmp", "a: h:"+strconv.Itoa(i)+"\nb: h:1\n")
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
		if err := r.Reload(); err != nil {
			t.Errorf("Reload: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	if !resolvesTo(s, "a", tcp("h:1030")) {
		t.Error("Lookup(a): want h:1030 after the last Reload")
	}
}
