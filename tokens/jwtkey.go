package tokens

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// jwtKey is a parsed JWTTokenApi key file: the keys a token may be signed
// with and the algorithms allowed for them. The algorithms follow from the
// key type alone, never from the token, so a token cannot pick HMAC to have
// a public key used as its secret, nor "none".
type jwtKey struct {
	kind string // "RSA", "EC P-256", "Ed25519", "HMAC": for logs
	algs []string
	keys jwt.VerificationKeySet
}

// parseJWTKey parses a key file as websockify does: a PEM key first (public
// key, certificate or private key, whose public half is used), and failing
// that an HMAC secret. A file that looks like PEM but does not parse is an
// error, never a secret. An HMAC token verifies with any of: the file's
// bytes, those bytes with surrounding white space trimmed (a secret written
// by echo ends in a newline), or the base64url decoding of the trimmed text,
// which is websockify's form (a JWK "oct" key's "k" value).
func parseJWTKey(data []byte) (*jwtKey, error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return parsePEMKey(data)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty key file")
	}
	k := &jwtKey{kind: "HMAC", algs: []string{"HS256", "HS384", "HS512"}}
	k.keys.Keys = append(k.keys.Keys, data)
	if !bytes.Equal(trimmed, data) {
		k.keys.Keys = append(k.keys.Keys, trimmed)
	}
	dec, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(string(trimmed), "="))
	if err == nil && len(dec) > 0 {
		k.keys.Keys = append(k.keys.Keys, dec)
	}
	return k, nil
}

// parsePEMKey returns the public key in the first PEM block that holds one.
func parsePEMKey(data []byte) (*jwtKey, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("PEM file without a public key, certificate or private key")
		}
		pub, err := pemPublicKey(block)
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: %w", block.Type, err)
		}
		if pub != nil {
			return publicJWTKey(pub)
		}
	}
}

// pemPublicKey returns the public key of a PEM block, nil for a block type
// that holds none (parameters, for instance).
func pemPublicKey(block *pem.Block) (any, error) {
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		if s, ok := k.(interface{ Public() crypto.PublicKey }); ok {
			return s.Public(), nil
		}
		return nil, fmt.Errorf("unsupported private key %T", k)
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		return &k.PublicKey, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		return &k.PublicKey, nil
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("encrypted private keys are not supported; give the public key")
	}
	return nil, nil
}

// publicJWTKey returns the jwtKey for a public key, with the algorithms its
// type allows.
func publicJWTKey(pub any) (*jwtKey, error) {
	k := &jwtKey{keys: jwt.VerificationKeySet{Keys: []jwt.VerificationKey{pub}}}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		k.kind = fmt.Sprintf("RSA %d-bit", p.N.BitLen())
		k.algs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case *ecdsa.PublicKey:
		k.kind = "EC " + p.Curve.Params().Name
		switch p.Curve {
		case elliptic.P256():
			k.algs = []string{"ES256"}
		case elliptic.P384():
			k.algs = []string{"ES384"}
		case elliptic.P521():
			k.algs = []string{"ES512"}
		default:
			return nil, fmt.Errorf("unsupported EC curve %s", p.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		k.kind = "Ed25519"
		k.algs = []string{"EdDSA"}
	default:
		return nil, fmt.Errorf("unsupported public key %T", pub)
	}
	return k, nil
}
