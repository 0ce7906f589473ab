package tokens

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"wsbridge/internal/testpeer"
)

// redisServer is a redis-server process started by a test (see
// testpeer.RedisProcess: a free loopback port, no persistence, killed at
// cleanup; skipped without redis-server unless CI=true).
type redisServer struct {
	addr string
	proc *testpeer.Process
}

func startRedis(t *testing.T, args ...string) *redisServer {
	t.Helper()
	addr, proc := testpeer.RedisProcess(t, args...)
	return &redisServer{addr: addr, proc: proc}
}

// kill stops the server and waits for it; it may be called more than once.
func (s *redisServer) kill() {
	s.proc.Cmd.Process.Kill()
	<-s.proc.Exited
}

// set stores key=value in db of the server.
func (s *redisServer) set(t *testing.T, password string, db int, key, value string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.addr, Password: password, DB: db, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Set(ctx, key, value, 0).Err(); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
}

// TestTokenRedis runs lookups against a real redis-server.
func TestTokenRedis(t *testing.T) {
	srv := startRedis(t)
	srv.set(t, "", 0, "plain", "10.0.0.1:5900")
	srv.set(t, "", 0, "json", `{"host": "10.0.0.2:5901"}`)
	srv.set(t, "", 0, "v6", "[::1]:5902")
	srv.set(t, "", 0, "junk", "no port here")
	srv.set(t, "", 0, "sp ace", "h:1")
	srv.set(t, "", 0, "ns:tok", "10.0.0.3:5903")
	srv.set(t, "", 0, "a:b:tok", "10.0.0.4:5904")
	srv.set(t, "", 2, "indb2", "10.0.0.5:5905")
	c := redis.NewClient(&redis.Options{Addr: srv.addr, Protocol: 2, DisableIdentity: true})
	if err := c.RPush(context.Background(), "list", "x").Err(); err != nil {
		t.Fatal(err)
	}
	c.Close()

	tests := []struct {
		name, source, token string
		want                Target
		wantErr             string // "" = none, "notfound", or a substring
	}{
		{"plain", srv.addr, "plain", tcp("10.0.0.1:5900"), ""},
		{"JSON", srv.addr, "json", tcp("10.0.0.2:5901"), ""},
		{"IPv6", srv.addr, "v6", tcp("[::1]:5902"), ""},
		{"space in token", srv.addr, "sp ace", tcp("h:1"), ""},
		{"missing key", srv.addr, "nope", Target{}, "notfound"},
		{"bad value", srv.addr, "junk", Target{}, "bad value"},
		{"wrong type", srv.addr, "list", Target{}, "WRONGTYPE"},
		{"namespace", srv.addr + ":0::ns", "tok", tcp("10.0.0.3:5903"), ""},
		{"namespace hides bare key", srv.addr + ":0::ns", "plain", Target{}, "notfound"},
		{"quoted namespace", srv.addr + `:::"a:b"`, "tok", tcp("10.0.0.4:5904"), ""},
		{"db number", srv.addr + ":2", "indb2", tcp("10.0.0.5:5905"), ""},
		{"other db", srv.addr + ":0", "indb2", Target{}, "notfound"},
		{"dotted plugin name", srv.addr, "plain", tcp("10.0.0.1:5900"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plugin := "TokenRedis"
			if tt.name == "dotted plugin name" {
				plugin = "websockify.token_plugins.TokenRedis"
			}
			s, _ := newTestSource(t, plugin, tt.source, Options{RedisTimeout: 5 * time.Second})
			got, err := s.Lookup(context.Background(), tt.token)
			checkLookup(t, got, err, tt.want, tt.wantErr)
		})
	}
}

// checkLookup compares a lookup result with want and wantErr ("" = no
// error, "notfound" = ErrNotFound, else a substring of an error that is
// neither ErrNotFound nor ErrUnavailable).
func checkLookup(t *testing.T, got Target, err error, want Target, wantErr string) {
	t.Helper()
	switch wantErr {
	case "":
		if err != nil || got != want {
			t.Errorf("got %+v, %v; want %+v", got, err, want)
		}
	case "notfound":
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("got %+v, %v; want ErrNotFound", got, err)
		}
	default:
		if err == nil || !strings.Contains(err.Error(), wantErr) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
			t.Errorf("got %+v, %v; want an error containing %q, neither ErrNotFound nor ErrUnavailable", got, err, wantErr)
		}
	}
}

// TestTokenRedisPassword: the password field authenticates; a wrong or
// missing one makes the backend unavailable, not the token unknown.
func TestTokenRedisPassword(t *testing.T) {
	srv := startRedis(t, "--requirepass", "s3cret")
	srv.set(t, "s3cret", 0, "tok", "10.0.0.1:5900")
	tests := []struct {
		name, source string
		wantErr      bool
	}{
		{"right", srv.addr + ":0:s3cret", false},
		{"right, default db", srv.addr + "::s3cret", false},
		{"wrong", srv.addr + ":0:wr0ngpw", true},
		{"none", srv.addr, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestSource(t, "TokenRedis", tt.source, Options{RedisTimeout: 5 * time.Second})
			got, err := s.Lookup(context.Background(), "tok")
			if !tt.wantErr {
				if err != nil || got != tcp("10.0.0.1:5900") {
					t.Errorf("got %+v, %v; want 10.0.0.1:5900", got, err)
				}
				return
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(err.Error(), "tokens: redis "+srv.addr+": ") {
				t.Errorf("got %+v, %v; want ErrUnavailable starting %q", got, err, "tokens: redis "+srv.addr+": ")
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "wr0ngpw") {
				t.Errorf("error %q may repeat the password", err)
			}
		})
	}
}

// TestTokenRedisDown: a dead server or one that never answers fails with
// ErrUnavailable within RedisTimeout.
func TestTokenRedisDown(t *testing.T) {
	const timeout = 300 * time.Millisecond
	const slack = 2 * time.Second // scheduling on a loaded machine

	t.Run("killed", func(t *testing.T) {
		srv := startRedis(t)
		srv.set(t, "", 0, "tok", "10.0.0.1:5900")
		s, _ := newTestSource(t, "TokenRedis", srv.addr, Options{RedisTimeout: timeout})
		if got, err := s.Lookup(context.Background(), "tok"); err != nil || got != tcp("10.0.0.1:5900") {
			t.Fatalf("before kill: got %+v, %v; want 10.0.0.1:5900", got, err)
		}
		if err := s.(Checker).Check(context.Background()); err != nil {
			t.Fatalf("check before kill: %v", err)
		}
		srv.kill()
		if err := s.(Checker).Check(context.Background()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("check after kill: got %v, want ErrUnavailable", err)
		}
		for i := range 3 { // pooled connection, then fresh dials
			start := time.Now()
			_, err := s.Lookup(context.Background(), "tok")
			took := time.Since(start)
			t.Logf("lookup %d after kill: %v (%v)", i, err, took)
			if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
				t.Fatalf("lookup %d after kill: got %v, want ErrUnavailable", i, err)
			}
			if want := "tokens: redis " + srv.addr + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got error %q, want prefix %q", err, want)
			}
			if took > timeout+slack {
				t.Errorf("lookup %d took %v, want at most about %v", i, took, timeout)
			}
		}
	})

	t.Run("never answers", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		// Accept connections and hold them silent; the goroutine ends when
		// the listener closes, and the held conns are closed after it.
		var held []net.Conn
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				held = append(held, c)
			}
		})
		t.Cleanup(func() {
			l.Close()
			wg.Wait()
			for _, c := range held {
				c.Close()
			}
		})
		s, _ := newTestSource(t, "TokenRedis", l.Addr().String(), Options{RedisTimeout: timeout})
		start := time.Now()
		_, err = s.Lookup(context.Background(), "tok")
		took := time.Since(start)
		t.Logf("silent server: %v (%v)", err, took)
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v, want ErrUnavailable", err)
		}
		if !strings.Contains(err.Error(), "no answer within") {
			t.Errorf("got error %q, want it to say there was no answer in time", err)
		}
		if took > timeout+slack {
			t.Errorf("lookup took %v, want at most about %v", took, timeout)
		}
	})

	t.Run("caller cancels", func(t *testing.T) {
		s, _ := newTestSource(t, "TokenRedis", "127.0.0.1:1", Options{RedisTimeout: timeout})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Lookup(ctx, "tok")
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
			t.Errorf("got %v, want context.Canceled and not ErrUnavailable", err)
		}
	})
}
