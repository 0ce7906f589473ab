package tlsconf

import (
	"crypto/tls"
	"fmt"
)

// parseMinVersion maps --ssl-version to the lowest TLS version served.
//
// websockify's "default" leaves the minimum to OpenSSL (TLS 1.2 on current
// distributions, TLS 1.0 on old ones); wsbridge pins it to TLS 1.2, which
// every browser of the last decade speaks. tlsv1_1 is the only way down.
func parseMinVersion(s string) (uint16, error) {
	switch s {
	case "", "default", "tlsv1_2":
		return tls.VersionTLS12, nil
	case "tlsv1_1":
		return tls.VersionTLS11, nil
	case "tlsv1_3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("tlsconf: --ssl-version %q: want default, tlsv1_1, tlsv1_2 or tlsv1_3", s)
}
