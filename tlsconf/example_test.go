package tlsconf_test

import (
	"context"
	"log"
	"net"
	"net/http"
	"time"

	"wsbridge/tlsconf"
)

// A bridge serving TLS and plain HTTP on one port, as websockify does with
// --cert, re-reading the certificate when it changes.
func ExampleProvider_Listener() {
	p, err := tlsconf.New(tlsconf.Config{Certs: []string{"self.pem"}, MinVersion: "tlsv1_2"})
	if err != nil {
		log.Fatal(err) // e.g. "tlsconf: --cert self.pem: ..."
	}
	defer p.Close()

	ln, err := net.Listen("tcp", ":6080")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Handler:           p.HTTPHandler(http.NotFoundHandler()),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Fatal(srv.Serve(p.Listener(ln, 3*time.Second)))
}

// TLS towards a target with a private CA (--ssl-target --target-ca).
func ExampleTargetTLS_Wrap() {
	t, err := tlsconf.NewTargetTLS(tlsconf.TargetConfig{Enabled: true, CAFile: "vnc-ca.pem"})
	if err != nil {
		log.Fatal(err)
	}
	dial := t.Wrap((&net.Dialer{Timeout: 5 * time.Second}).DialContext)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dial(ctx, "tcp", "vnc.internal:5901")
	if err != nil {
		log.Fatal(err) // e.g. "tlsconf: target vnc.internal:5901: tls: failed to verify certificate: ..."
	}
	defer c.Close()
}
