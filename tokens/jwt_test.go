package tokens

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwtKeys are the keys the JWT tests sign with, made once per test.
type jwtKeys struct {
	rsa, rsa2 *rsa.PrivateKey
	ec        *ecdsa.PrivateKey
	ed        ed25519.PrivateKey
}

func newJWTKeys(t *testing.T) jwtKeys {
	t.Helper()
	var k jwtKeys
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	return k
}

// publicPEM returns the PKIX PEM of a public key.
func publicPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// sign returns a JWT of claims signed with method and key.
func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestJWTTokenApi checks signatures, algorithms, times and claims.
func TestJWTTokenApi(t *testing.T) {
	keys := newJWTKeys(t)
	dir := t.TempDir()
	secret := []byte("a shared secret of 32 bytes....!")
	hsFile := writeFile(t, dir, "hs.key", string(secret)+"\n")
	jwkFile := writeFile(t, dir, "jwk.key", base64.RawURLEncoding.EncodeToString(secret))
	rsaPEM := publicPEM(t, &keys.rsa.PublicKey)
	rsaFile := writeFile(t, dir, "rsa.pem", rsaPEM)
	rsaPrivFile := writeFile(t, dir, "rsa-priv.pem", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(keys.rsa)})))
	ecFile := writeFile(t, dir, "ec.pem", publicPEM(t, &keys.ec.PublicKey))
	edFile := writeFile(t, dir, "ed.pem", publicPEM(t, keys.ed.Public()))

	now := time.Now()
	ok := jwt.MapClaims{"host": "10.0.0.1", "port": 5900}
	with := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range ok {
			c[k] = v
		}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, ok)
	want := tcp("10.0.0.1:5900")

	tests := []struct {
		name, keyFile, token string
		want                 Target
		wantErr              string // "" = none; else a substring of an ErrNotFound error
	}{
		{"HS256", hsFile, sign(t, jwt.SigningMethodHS256, secret, ok), want, ""},
		{"HS512", hsFile, sign(t, jwt.SigningMethodHS512, secret, ok), want, ""},
		{"HS256 with the file's exact bytes", hsFile, sign(t, jwt.SigningMethodHS256, append(secret, '\n'), ok), want, ""},
		{"HS256 JWK k (websockify)", jwkFile, sign(t, jwt.SigningMethodHS256, secret, ok), want, ""},
		{"RS256", rsaFile, sign(t, jwt.SigningMethodRS256, keys.rsa, ok), want, ""},
		{"PS384", rsaFile, sign(t, jwt.SigningMethodPS384, keys.rsa, ok), want, ""},
		{"RS256, private key file", rsaPrivFile, sign(t, jwt.SigningMethodRS256, keys.rsa, ok), want, ""},
		{"ES256", ecFile, sign(t, jwt.SigningMethodES256, keys.ec, ok), want, ""},
		{"EdDSA", edFile, sign(t, jwt.SigningMethodEdDSA, keys.ed, ok), want, ""},
		{"port as string", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"port": "5900"})), want, ""},
		{"IPv6 host", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"host": "::1"})), tcp("[::1]:5900"), ""},
		{"bracketed IPv6 host", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"host": "[::1]"})), tcp("[::1]:5900"), ""},
		{"unix socket", hsFile, sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"host": "unix_socket", "port": "/run/x.sock"}), unix("/run/x.sock"), ""},
		{"within leeway", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"exp": now.Add(-10 * time.Second).Unix()})), want, ""},
		{"nbf within leeway", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"nbf": now.Add(10 * time.Second).Unix()})), want, ""},
		{"valid window", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"nbf": now.Add(-time.Hour).Unix(), "exp": now.Add(time.Hour).Unix()})), want, ""},

		{"expired", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})), Target{}, "expired"},
		{"not yet valid", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()})), Target{}, "not valid yet"},
		{"wrong secret", hsFile, sign(t, jwt.SigningMethodHS256, []byte("another secret"), ok), Target{}, "signature is invalid"},
		{"wrong RSA key", rsaFile, sign(t, jwt.SigningMethodRS256, keys.rsa2, ok), Target{}, "verification error"},
		{"alg none, HMAC key", hsFile, none, Target{}, `"none" not allowed`},
		{"alg none, RSA key", rsaFile, none, Target{}, `"none" not allowed`},
		{"HS256 with the RSA public key as secret", rsaFile, sign(t, jwt.SigningMethodHS256, []byte(rsaPEM), ok), Target{}, `"HS256" not allowed with this RSA 2048-bit key`},
		{"ES256 against an RSA key", rsaFile, sign(t, jwt.SigningMethodES256, keys.ec, ok), Target{}, `"ES256" not allowed`},
		{"RS256 against an HMAC key", hsFile, sign(t, jwt.SigningMethodRS256, keys.rsa, ok), Target{}, `"RS256" not allowed`},
		{"missing host", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"host": nil})), Target{}, `no string "host"`},
		{"missing port", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"port": nil})), Target{}, `no "port"`},
		{"port out of range", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"port": 70000})), Target{}, "out of range"},
		{"port fraction", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"port": 59.5})), Target{}, "out of range"},
		{"port with colon", hsFile, sign(t, jwt.SigningMethodHS256, secret, with(jwt.MapClaims{"port": "1:2"})), Target{}, "not a number"},
		{"garbage", hsFile, "not-a-jwt", Target{}, "malformed"},
		{"empty", hsFile, "", Target{}, "malformed"},
		{"JWE", hsFile, "a.b.c.d.e", Target{}, "JWE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestSource(t, "JWTTokenApi", tt.keyFile, Options{ReloadInterval: -1})
			got, err := s.Lookup(context.Background(), tt.token)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %+v, %v; want ErrNotFound containing %q", got, err, tt.wantErr)
			}
		})
	}
}

// TestJWTLeeway: a negative Leeway allows no skew, as websockify.
func TestJWTLeeway(t *testing.T) {
	dir := t.TempDir()
	secret := []byte("secret")
	p := writeFile(t, dir, "k", string(secret))
	tok := sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"host": "h", "port": 1, "exp": time.Now().Add(-10 * time.Second).Unix()})
	for _, tt := range []struct {
		leeway time.Duration
		wantOK bool
	}{{0, true}, {time.Minute, true}, {-1, false}, {time.Second, false}} {
		s, _ := newTestSource(t, "JWTTokenApi", p, Options{Leeway: tt.leeway, ReloadInterval: -1})
		_, err := s.Lookup(context.Background(), tok)
		if (err == nil) != tt.wantOK {
			t.Errorf("Leeway %v: got %v, want success %t", tt.leeway, err, tt.wantOK)
		}
	}
}

// TestJWTKeyFile checks key file errors and reloading.
func TestJWTKeyFile(t *testing.T) {
	dir := t.TempDir()
	lf, _ := testLog(t)
	for _, tt := range []struct{ name, content, want string }{
		{"empty", " \n", "empty key file"},
		{"broken PEM", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "PEM block"},
		{"PEM without key", "-----BEGIN NOTHING-----\nAAAA\n-----END NOTHING-----\n", "without a public key"},
		{"PEM garbage", "-----BEGIN", "without a public key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New("JWTTokenApi", writeFile(t, dir, "k", tt.content), Options{LoggerFactory: lf})
			if err == nil {
				s.Close()
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "tokens: JWTTokenApi key") {
				t.Errorf("got %q, want an error containing %q", err, tt.want)
			}
		})
	}

	t.Run("reload", func(t *testing.T) {
		p := writeFile(t, dir, "reload.key", "first secret")
		s, log := newTestSource(t, "JWTTokenApi", p, Options{ReloadInterval: 20 * time.Millisecond})
		claims := jwt.MapClaims{"host": "h", "port": 1}
		first := sign(t, jwt.SigningMethodHS256, []byte("first secret"), claims)
		second := sign(t, jwt.SigningMethodHS256, []byte("second secret"), claims)
		if !resolvesTo(s, first, tcp("h:1")) {
			t.Fatal("token signed with the first secret: want h:1")
		}
		writeFile(t, dir, "reload.key", "second secret")
		eventually(t, reloadWait, "accepting the new secret", func() bool { return resolvesTo(s, second, tcp("h:1")) })
		if !notFound(s, first) {
			t.Error("token signed with the old secret: got accepted, want ErrNotFound")
		}
		// A broken key file keeps the key in use.
		writeFile(t, dir, "reload.key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
		eventually(t, reloadWait, "logging the broken key file", func() bool { return strings.Contains(log.String(), "keeping the key loaded before") })
		if !resolvesTo(s, second, tcp("h:1")) {
			t.Error("after a broken key file: want the second secret still accepted")
		}
		if err := s.(Reloader).Reload(); err == nil || !strings.Contains(err.Error(), "keeping the key loaded before") {
			t.Errorf("Reload: got %v, want the broken file reported", err)
		}
	})
}
