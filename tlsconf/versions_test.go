package tlsconf

import (
	"crypto/tls"
	"slices"
	"testing"
	"time"
)

func TestMinVersion(t *testing.T) {
	ca, cert := sameDirCert(t)
	for _, tc := range []struct {
		flag       string
		clientMin  uint16
		clientMax  uint16
		wantOK     bool
		wantNegVer uint16
	}{
		{"", tls.VersionTLS10, tls.VersionTLS11, false, 0},
		{"default", tls.VersionTLS10, tls.VersionTLS11, false, 0},
		{"default", tls.VersionTLS12, tls.VersionTLS12, true, tls.VersionTLS12},
		{"tlsv1_2", tls.VersionTLS11, tls.VersionTLS11, false, 0},
		{"tlsv1_2", tls.VersionTLS12, tls.VersionTLS13, true, tls.VersionTLS13},
		{"tlsv1_1", tls.VersionTLS11, tls.VersionTLS11, true, tls.VersionTLS11},
		{"tlsv1_3", tls.VersionTLS12, tls.VersionTLS12, false, 0},
		{"tlsv1_3", tls.VersionTLS12, tls.VersionTLS13, true, tls.VersionTLS13},
	} {
		t.Run(tc.flag+"/"+tls.VersionName(tc.clientMax), func(t *testing.T) {
			lf, _ := testLogs(t)
			p := newProvider(t, Config{Certs: []string{cert}, MinVersion: tc.flag, SSLOnly: true, LoggerFactory: lf})
			addr := serve(t, p, nil, 5*time.Second, nil)
			c, err := handshake(addr, &tls.Config{RootCAs: ca.pool(), ServerName: "localhost", MinVersion: tc.clientMin, MaxVersion: tc.clientMax})
			if !tc.wantOK {
				if err == nil {
					c.Close()
					t.Fatalf("handshake with a client limited to %s succeeded, want failure", tls.VersionName(tc.clientMax))
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer c.Close()
			if got := c.ConnectionState().Version; got != tc.wantNegVer {
				t.Errorf("negotiated %s, want %s", tls.VersionName(got), tls.VersionName(tc.wantNegVer))
			}
		})
	}
}

func TestCipherRestriction(t *testing.T) {
	ca, cert := sameDirCert(t) // ECDSA certificate
	for _, flag := range []string{
		"ECDHE-ECDSA-AES128-GCM-SHA256",
		"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
		"ECDHE-RSA-AES128-GCM-SHA256:ecdhe-ecdsa-aes128-gcm-sha256",
	} {
		t.Run(flag, func(t *testing.T) {
			lf, _ := testLogs(t)
			p := newProvider(t, Config{Certs: []string{cert}, Ciphers: flag, LoggerFactory: lf})
			if got := p.TLSConfig().CipherSuites; !slices.Contains(got, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) ||
				slices.Contains(got, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384) {
				t.Fatalf("CipherSuites = %#04x", got)
			}
			addr := serve(t, p, nil, 5*time.Second, nil)
			client := func(suite uint16, maxVer uint16) (*tls.Conn, error) {
				return handshake(addr, &tls.Config{RootCAs: ca.pool(), ServerName: "localhost", MaxVersion: maxVer, CipherSuites: []uint16{suite}})
			}

			c, err := client(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.VersionTLS12)
			if err != nil {
				t.Fatalf("TLS 1.2 with a listed suite: %v", err)
			}
			if got := c.ConnectionState().CipherSuite; got != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
				t.Errorf("suite %s, want ECDHE-ECDSA-AES128-GCM-SHA256", tls.CipherSuiteName(got))
			}
			c.Close()

			if c, err := client(tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.VersionTLS12); err == nil {
				c.Close()
				t.Errorf("TLS 1.2 offering only an unlisted suite succeeded, want failure")
			}

			// TLS 1.3 ignores the list (documented).
			c, err = client(tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.VersionTLS13)
			if err != nil {
				t.Fatalf("TLS 1.3: %v", err)
			}
			c.Close()
		})
	}
}

func TestParseCiphers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []uint16
	}{
		{"", nil},
		{"ECDHE-RSA-AES128-GCM-SHA256", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}},
		{"ECDHE-RSA-CHACHA20-POLY1305:TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
			[]uint16{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}},
		{"ECDHE-ECDSA-AES128-SHA, ECDHE-RSA-AES256-SHA",
			[]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA}},
	} {
		got, err := parseCiphers(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseCiphers(%q) = %#04x, %v; want %#04x", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"HIGH:!aNULL:!MD5", "DEFAULT", "ECDHE+AESGCM", "@SECLEVEL=1", "RC4-SHA", "DES-CBC3-SHA",
		"AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA256", "TLS_AES_128_GCM_SHA256",
		"DHE-RSA-AES128-GCM-SHA256", "nonsense", ":::",
	} {
		if got, err := parseCiphers(bad); err == nil {
			t.Errorf("parseCiphers(%q) = %#04x, want an error", bad, got)
		}
	}
}

// FuzzParseCiphers: never panics, and whatever it accepts is a secure
// TLS 1.2 suite.
func FuzzParseCiphers(f *testing.F) {
	for _, s := range []string{"", "ECDHE-RSA-AES128-GCM-SHA256", "HIGH:!aNULL", "RC4-SHA",
		"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,ECDHE-RSA-AES256-SHA", "@STRENGTH", "!", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseCiphers(s)
		if err != nil {
			return
		}
		for _, id := range ids {
			ok := false
			for _, cs := range tls.CipherSuites() {
				ok = ok || (cs.ID == id && slices.Contains(cs.SupportedVersions, tls.VersionTLS12))
			}
			if !ok {
				t.Errorf("parseCiphers(%q) accepted %#04x", s, id)
			}
		}
	})
}
