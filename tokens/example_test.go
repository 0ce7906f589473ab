package tokens_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"

	"wsbridge/tokens"
)

// A bridge resolves each upgrade request's token to its target.
func Example() {
	dir, err := os.MkdirTemp("", "tokens")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "targets")
	os.WriteFile(file, []byte("vm1: 10.0.0.5:5901\nv6: ::1:5900\nsock: unix_socket:/run/vnc/vm3.sock\n"), 0o600)

	src, err := tokens.New("TokenFile", file, tokens.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()

	for _, url := range []string{"/?token=vm1", "/websockify?token=v6", "/?token=sock", "/?token=vm2", "/"} {
		tok, ok := tokens.FromRequest(httptest.NewRequest("GET", url, nil), false)
		if !ok {
			fmt.Printf("%s: no token\n", url)
			continue
		}
		t, err := src.Lookup(context.Background(), tok)
		switch {
		case errors.Is(err, tokens.ErrNotFound):
			fmt.Printf("%s: unknown token\n", url)
		case err != nil:
			fmt.Printf("%s: %v\n", url, err)
		default:
			fmt.Printf("%s: %s %s\n", url, t.Network, t.Addr)
		}
	}
	// Output:
	// /?token=vm1: tcp 10.0.0.5:5901
	// /websockify?token=v6: tcp [::1]:5900
	// /?token=sock: unix /run/vnc/vm3.sock
	// /?token=vm2: unknown token
	// /: no token
}
