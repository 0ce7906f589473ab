package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestVerifyClient(t *testing.T) {
	ca, other := newCA(t, "client CA"), newCA(t, "other CA")
	dir := t.TempDir()
	srvCert := writeFile(t, dir, "srv.pem", ca.server(t, "localhost").combined())
	caFile := writeFile(t, dir, "ca.pem", ca.pem)
	alice := ca.issue(t, leafSpec{cn: "alice", dns: []string{"alice.example"}, emails: []string{"alice@example.com"},
		uris: []string{"spiffe://example/alice"}, client: true})
	mallory := other.issue(t, leafSpec{cn: "alice", client: true})

	lf, _ := testLogs(t)
	p := newProvider(t, Config{Certs: []string{srvCert}, VerifyClient: true, CAFile: caFile, SSLOnly: true, LoggerFactory: lf})
	addr := serve(t, p, nil, 0, nil)
	if got := p.TLSConfig().ClientAuth; got != tls.RequireAndVerifyClientCert {
		t.Errorf("ClientAuth = %v, want RequireAndVerifyClientCert", got)
	}

	client := func(certs ...tls.Certificate) *tls.Config {
		return &tls.Config{RootCAs: ca.pool(), ServerName: "localhost", Certificates: certs}
	}
	for _, tc := range []struct {
		name string
		conf *tls.Config
	}{
		{"no client certificate", client()},
		{"certificate from another CA", client(mallory.tlsCert(t))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// With TLS 1.3 the client learns of the refusal on its
			// first read, so make a request.
			if body, err := get(t, "https://"+addr+"/", tc.conf); err == nil {
				t.Errorf("got %q, want a failed handshake", body)
			}
		})
	}

	t.Run("right certificate", func(t *testing.T) {
		body, err := get(t, "https://"+addr+"/", client(alice.tlsCert(t)))
		if err != nil {
			t.Fatal(err)
		}
		want := "names=alice,alice.example,alice@example.com,spiffe://example/alice"
		if !strings.HasSuffix(body, want) {
			t.Errorf("got %q, want suffix %q", body, want)
		}
	})

	t.Run("VerifiedChains", func(t *testing.T) {
		chains := make(chan int, 1)
		addr := serve(t, p, nil, 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chains <- len(r.TLS.VerifiedChains)
		}))
		if _, err := get(t, "https://"+addr+"/", client(alice.tlsCert(t))); err != nil {
			t.Fatal(err)
		}
		if <-chains == 0 {
			t.Errorf("r.TLS.VerifiedChains is empty")
		}
	})
}

func TestPeerNames(t *testing.T) {
	ca := newCA(t, "CA")
	bob := ca.issue(t, leafSpec{cn: "bob", dns: []string{"bob", "bob.example"}, client: true})
	for _, tc := range []struct {
		name string
		cs   *tls.ConnectionState
		want []string
	}{
		{"nil", nil, nil},
		{"plain-ish", &tls.ConnectionState{}, nil},
		{"unverified", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{bob.leaf}}, nil},
		{"verified", &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{bob.leaf, ca.cert}}}, []string{"bob", "bob.example"}},
	} {
		if got := PeerNames(tc.cs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: PeerNames = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestVerifyClientACMEChallenge: a CA's TLS-ALPN-01 check, which carries
// no client certificate, is served without client authentication.
func TestVerifyClientACMEChallenge(t *testing.T) {
	ca := newCA(t, "CA")
	caFile := writeFile(t, t.TempDir(), "ca.pem", ca.pem)
	lf, _ := testLogs(t)
	p := newProvider(t, Config{ACMEDomains: []string{"a.test"}, ACMECache: t.TempDir(), VerifyClient: true, CAFile: caFile, LoggerFactory: lf})
	conf := p.TLSConfig()
	if conf.ClientAuth != tls.RequireAndVerifyClientCert || conf.GetConfigForClient == nil {
		t.Fatalf("ClientAuth %v, GetConfigForClient set %v", conf.ClientAuth, conf.GetConfigForClient != nil)
	}
	for _, tc := range []struct {
		protos []string
		want   tls.ClientAuthType
	}{
		{[]string{"acme-tls/1"}, tls.NoClientCert},
		{[]string{"http/1.1"}, tls.RequireAndVerifyClientCert},
		{[]string{"http/1.1", "acme-tls/1"}, tls.RequireAndVerifyClientCert},
		{nil, tls.RequireAndVerifyClientCert},
	} {
		got, err := conf.GetConfigForClient(&tls.ClientHelloInfo{SupportedProtos: tc.protos})
		if err != nil {
			t.Fatal(err)
		}
		auth := conf.ClientAuth
		if got != nil {
			auth = got.ClientAuth
		}
		if auth != tc.want {
			t.Errorf("ALPN %q: ClientAuth %v, want %v", tc.protos, auth, tc.want)
		}
	}
}
