package access

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"wsbridge/internal/testpeer"
)

// testCA is a throwaway certificate authority.
type testCA struct{ *testpeer.CA }

func newTestCA(t *testing.T) testCA { return testCA{testpeer.NewCA(t, "wsbridge test CA")} }

// issueClient mints a client certificate with the given CN and SANs.
func (ca testCA) issueClient(t *testing.T, cn string, dns, emails []string) tls.Certificate {
	t.Helper()
	return ca.Sign(t, &x509.Certificate{
		Subject:        pkix.Name{CommonName: cn},
		DNSNames:       dns,
		EmailAddresses: emails,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// TestClientCertCNAuthTLS runs real TLS handshakes: the server verifies
// client certificates from the test CA when given, and the handler builds
// ClientCertCNAuth from the names in the query.
func TestClientCertCNAuthTLS(t *testing.T) {
	ca := newTestCA(t)
	alice := ca.issueClient(t, "alice", []string{"alice.example.com"}, []string{"alice@example.com"})
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)

	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := NewAuth("ClientCertCNAuth", r.URL.Query().Get("names"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if err := a.Authenticate(r); err != nil {
			d, _ := errors.AsType[*Denied](err)
			w.WriteHeader(d.Status)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	ts.TLS = &tls.Config{ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven}
	ts.StartTLS()
	defer ts.Close()

	withCert := ts.Client()
	tr := withCert.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{alice}
	withCert = &http.Client{Transport: tr}
	noCert := ts.Client()
	defer tr.CloseIdleConnections()
	defer noCert.CloseIdleConnections()

	tests := []struct {
		name       string
		client     *http.Client
		names      string
		spoof      string // SSL_CLIENT_S_DN_CN header to send
		wantStatus int
	}{
		{"CN listed", withCert, "bob alice", "", 200},
		{"CN not listed", withCert, "bob", "", 403},
		{"CN case differs", withCert, "Alice", "", 403},
		{"DNS SAN any case", withCert, "ALICE.example.com", "", 200},
		{"email SAN", withCert, "alice@example.com", "", 200},
		{"header spoof without cert", noCert, "alice", "alice", 403},
		{"header spoof with other cert", withCert, "bob", "bob", 403},
		{"no cert", noCert, "alice", "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", ts.URL+"/?names="+url.QueryEscape(tt.names), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.spoof != "" {
				req.Header.Set("SSL_CLIENT_S_DN_CN", tt.spoof)
				req.Header.Set("Ssl-Client-S-Dn-Cn", tt.spoof)
			}
			resp, err := tt.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
		})
	}
}

// TestClientCertCNAuthState covers TLS states a handshake test cannot
// reach easily: plain HTTP and a certificate presented but not verified.
func TestClientCertCNAuthState(t *testing.T) {
	ca := newTestCA(t)
	alice := ca.issueClient(t, "alice", nil, nil)
	a, err := NewAuth("ClientCertCNAuth", "alice")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		state      *tls.ConnectionState
		wantStatus int
	}{
		{"plain HTTP", nil, 403},
		{"unverified peer cert", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{alice.Leaf}}, 403},
		{"empty chain", &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{}}}, 403},
		{"verified", &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{alice.Leaf, ca.Cert}}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.TLS = tt.state
			r.Header.Set("SSL_CLIENT_S_DN_CN", "alice")
			if status, _ := authStatus(t, a, r); status != tt.wantStatus {
				t.Errorf("got status %d, want %d", status, tt.wantStatus)
			}
		})
	}
}
