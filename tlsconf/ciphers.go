package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// parseCiphers maps --ssl-ciphers to cipher suite IDs for TLS 1.0–1.2.
// An empty string means Go's defaults (nil).
//
// The list is separated by ':' (also ',' or spaces, as OpenSSL allows) and
// each item is an OpenSSL name (ECDHE-RSA-AES128-GCM-SHA256) or a Go/IANA
// name (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), case-insensitively. OpenSSL
// keywords and operators (HIGH, !aNULL, +AES, @STRENGTH) are not
// supported: Go has no such algebra, and guessing could enable more than
// the operator meant. Suites Go lists as insecure (RC4, 3DES, CBC-SHA256,
// RSA key exchange) and TLS 1.3 suites are refused: Go does not let TLS 1.3
// suites be chosen, so they would silently do nothing. Go picks the order
// itself, so the order of the list does not matter.
func parseCiphers(s string) ([]uint16, error) {
	items := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' })
	if len(items) == 0 {
		if strings.TrimSpace(s) != "" {
			return nil, fmt.Errorf("tlsconf: --ssl-ciphers %q: no cipher names", s)
		}
		return nil, nil
	}
	var ids []uint16
	for _, item := range items {
		id, err := cipherID(item)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: --ssl-ciphers %q: %w", item, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// cipherID resolves one name against Go's secure and insecure lists.
func cipherID(name string) (uint16, error) {
	for _, cs := range tls.CipherSuites() {
		if !nameMatches(cs, name) {
			continue
		}
		if len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13 {
			return 0, fmt.Errorf("TLS 1.3 suites cannot be chosen (Go enables all three); the list applies to TLS 1.2 and lower")
		}
		return cs.ID, nil
	}
	for _, cs := range tls.InsecureCipherSuites() {
		if nameMatches(cs, name) {
			return 0, fmt.Errorf("insecure cipher suite (%s), refused", cs.Name)
		}
	}
	if strings.ContainsAny(name[:1], "!+-@") || strings.Contains(name, "+") || isOpenSSLKeyword(name) {
		return 0, fmt.Errorf("OpenSSL keywords and operators are not supported; list cipher names")
	}
	return 0, fmt.Errorf("unknown cipher suite (want names such as ECDHE-RSA-AES128-GCM-SHA256)")
}

func nameMatches(cs *tls.CipherSuite, name string) bool {
	return strings.EqualFold(cs.Name, name) || strings.EqualFold(openSSLName(cs.ID), name)
}

// isOpenSSLKeyword reports whether name is one of OpenSSL's cipher string
// keywords, to give a clearer error than "unknown".
func isOpenSSLKeyword(name string) bool {
	name, _, _ = strings.Cut(strings.TrimLeft(name, "!+-@"), "=")
	switch strings.ToUpper(name) {
	case "ALL", "DEFAULT", "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT", "HIGH", "MEDIUM", "LOW",
		"SECLEVEL", "STRENGTH", "AES", "AESGCM", "CHACHA20", "ECDHE", "EECDH", "ECDSA", "RSA",
		"ANULL", "ENULL", "NULL", "MD5", "SHA1", "SHA", "SHA256", "SHA384", "KRSA", "AECDH",
		"TLSV1.2", "TLSV1", "SSLV3", "PSK", "SRP", "DSS", "CAMELLIA", "ARIA", "EXP", "EXPORT":
		return true
	}
	return false
}

// openSSLName is the OpenSSL name of each suite Go implements for TLS 1.2
// and lower ("" for others). From OpenSSL's ssl/s3_lib.c.
func openSSLName(id uint16) string {
	switch id {
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:
		return "ECDHE-ECDSA-AES128-SHA"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:
		return "ECDHE-ECDSA-AES256-SHA"
	case tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:
		return "ECDHE-RSA-AES128-SHA"
	case tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:
		return "ECDHE-RSA-AES256-SHA"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-ECDSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-ECDSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-RSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-RSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
		return "ECDHE-RSA-CHACHA20-POLY1305"
	case tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		return "ECDHE-ECDSA-CHACHA20-POLY1305"
	// Insecure in Go's judgement; named so the error can say so.
	case tls.TLS_RSA_WITH_RC4_128_SHA:
		return "RC4-SHA"
	case tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA:
		return "DES-CBC3-SHA"
	case tls.TLS_RSA_WITH_AES_128_CBC_SHA:
		return "AES128-SHA"
	case tls.TLS_RSA_WITH_AES_256_CBC_SHA:
		return "AES256-SHA"
	case tls.TLS_RSA_WITH_AES_128_CBC_SHA256:
		return "AES128-SHA256"
	case tls.TLS_RSA_WITH_AES_128_GCM_SHA256:
		return "AES128-GCM-SHA256"
	case tls.TLS_RSA_WITH_AES_256_GCM_SHA384:
		return "AES256-GCM-SHA384"
	case tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA:
		return "ECDHE-ECDSA-RC4-SHA"
	case tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA:
		return "ECDHE-RSA-RC4-SHA"
	case tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA:
		return "ECDHE-RSA-DES-CBC3-SHA"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256:
		return "ECDHE-ECDSA-AES128-SHA256"
	case tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:
		return "ECDHE-RSA-AES128-SHA256"
	}
	return ""
}
