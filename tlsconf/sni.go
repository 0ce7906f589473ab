package tlsconf

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"strings"
)

// certSet is one generation of file certificates, swapped whole on reload
// so a handshake never sees half of one.
type certSet struct {
	list   []*tls.Certificate            // load order; list[0] is the default
	byName map[string][]*tls.Certificate // lower-case DNS name or "*.suffix"
	digest [sha256.Size]byte             // of the files it came from
}

// newCertSet indexes certs by the DNS names of their leaves (the subject
// Common Name when there are none). When several certificates claim a name
// the earlier one is preferred, unless the client cannot use it (an ECDSA
// certificate for a client offering only RSA, say).
func newCertSet(certs []*tls.Certificate, digest [sha256.Size]byte) *certSet {
	s := &certSet{list: certs, byName: map[string][]*tls.Certificate{}, digest: digest}
	for _, c := range certs {
		for _, name := range certNames(c) {
			s.byName[name] = append(s.byName[name], c)
		}
	}
	return s
}

// certNames returns the lower-case names c is chosen for.
func certNames(c *tls.Certificate) []string {
	if c.Leaf == nil {
		return nil
	}
	names := c.Leaf.DNSNames
	if len(names) == 0 && c.Leaf.Subject.CommonName != "" {
		names = []string{c.Leaf.Subject.CommonName}
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.ToLower(strings.TrimSuffix(n, ".")))
	}
	return out
}

// choose picks the certificate for a ClientHello: an exact match for the
// SNI name, then a wildcard for its parent, then the default.
func (s *certSet) choose(hello *tls.ClientHelloInfo) *tls.Certificate {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name != "" {
		if c := pick(hello, s.byName[name]); c != nil {
			return c
		}
		if i := strings.IndexByte(name, '.'); i > 0 {
			if c := pick(hello, s.byName["*"+name[i:]]); c != nil {
				return c
			}
		}
	}
	return s.list[0]
}

// pick returns the first candidate the client supports, or the first.
func pick(hello *tls.ClientHelloInfo, cands []*tls.Certificate) *tls.Certificate {
	for _, c := range cands {
		if hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	if len(cands) > 0 {
		return cands[0]
	}
	return nil
}

// describe summarises the set for the log: names, serial, expiry.
func (s *certSet) describe() string {
	var b strings.Builder
	for i, c := range s.list {
		if i > 0 {
			b.WriteString("; ")
		}
		if c.Leaf == nil {
			b.WriteString("?")
			continue
		}
		fmt.Fprintf(&b, "%s serial %x until %s", strings.Join(certNames(c), ","),
			c.Leaf.SerialNumber, c.Leaf.NotAfter.UTC().Format("2006-01-02"))
	}
	return b.String()
}
