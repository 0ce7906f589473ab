package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"wsbridge/client"
)

// clientUsage is `wsbridge client --help`.
const clientUsage = `Usage: wsbridge client [options] ws[s]://host[:port]/path

Carries a byte stream over a binary WebSocket to a wsbridge (or websockify)
server: stdin goes to the server, what the server sends goes to stdout. The
end of stdin closes the sending half (the server's target sees a FIN) and
output keeps flowing until the server closes. As an ssh ProxyCommand:

  ssh -o ProxyCommand='wsbridge client wss://gw.example/ssh' user@host

With --listen, accepts TCP connections on ADDR instead, one WebSocket each.
A tunnel is never redialled: a dropped one ends with a non-zero exit.

Options:
  --listen ADDR         accept local TCP connections on ADDR ("listening on"
                        is printed to stderr with the port)
  --subprotocol NAME    offer NAME instead of "binary" ("" offers none)
  --header 'Name: value'
                        add a request header (repeatable), e.g. Authorization
  --ca FILE             trust the CA certificates in FILE (PEM) for wss://
  --cert FILE, --key FILE
                        present this client certificate (mTLS)
  --insecure            do not verify the server's certificate (labs only)
  --heartbeat N         ping every N seconds (or a duration, "500ms"); drop
                        the tunnel after two periods without a frame
  --connect-timeout D   limit on dialling and handshakes (default 30s)
  --compress            offer permessage-deflate (useful for text and
                        uncompressed protocols on slow links, not for ssh,
                        whose bytes are encrypted)

HTTPS_PROXY, HTTP_PROXY and NO_PROXY select a proxy (CONNECT), as for curl.
`

// runClient is `wsbridge client [options] URL`.
func runClient(ctx context.Context, e runEnv) error {
	var (
		o    clientOptions
		help bool
	)
	fs := flag.NewFlagSet("wsbridge client", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.listen, "listen", "", "")
	fs.StringVar(&o.subprotocol, "subprotocol", client.Subprotocol, "")
	fs.Func("header", "", func(v string) error { o.headers = append(o.headers, v); return nil })
	fs.StringVar(&o.ca, "ca", "", "")
	fs.StringVar(&o.cert, "cert", "", "")
	fs.StringVar(&o.key, "key", "", "")
	fs.BoolVar(&o.insecure, "insecure", false, "")
	fs.Func("heartbeat", "", func(v string) error { return parseSeconds(v, &o.heartbeat) })
	fs.DurationVar(&o.timeout, "connect-timeout", client.DefaultTimeout, "")
	fs.BoolVar(&o.compress, "compress", false, "")
	fs.BoolVar(&help, "help", false, "")
	fs.BoolVar(&help, "h", false, "")
	// Options may come after the URL too.
	var pos []string
	for args := e.Args; ; {
		if err := fs.Parse(args); err != nil {
			return usagef("wsbridge client: %w", err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if help {
		_, err := io.WriteString(e.Stdout, clientUsage)
		return err
	}
	if len(pos) != 1 {
		return usagef("wsbridge client: want one ws:// or wss:// URL, got %d arguments", len(pos))
	}
	d, err := o.dialer(envMap(e.Env))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.listen != "" {
		return listenClient(ctx, d, o.listen, pos[0], e)
	}
	c, err := d.Dial(ctx, pos[0])
	if err != nil {
		return err
	}
	return c.Pipe(ctx, e.Stdout, os.Stdin)
}

// listenClient is the --listen mode: one tunnel per accepted connection.
func listenClient(ctx context.Context, d *client.Dialer, addr, url string, e runEnv) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("wsbridge client: %w", err)
	}
	fmt.Fprintf(e.Stderr, "wsbridge client: listening on %s\n", ln.Addr())
	if e.Ready != nil {
		e.Ready(ln.Addr())
	}
	// report runs on the connections' goroutines; each line is one Write.
	report := func(from net.Addr, err error) {
		if err != nil {
			fmt.Fprintf(e.Stderr, "wsbridge client: connection from %s: %v\n", from, err)
		}
	}
	return d.Serve(ctx, ln, url, report)
}

// clientOptions are the flags of `wsbridge client`.
type clientOptions struct {
	listen, subprotocol string
	headers             []string
	ca, cert, key       string
	insecure, compress  bool
	heartbeat, timeout  time.Duration
}

// dialer builds the client.Dialer the options describe.
func (o *clientOptions) dialer(env map[string]string) (*client.Dialer, error) {
	d := &client.Dialer{
		Header:       http.Header{},
		Subprotocols: []string{},
		Heartbeat:    o.heartbeat,
		Timeout:      o.timeout,
		Proxy:        client.ProxyFromEnvironment(func(k string) string { return env[k] }),
	}
	if o.compress {
		ext, err := newDeflate(0)
		if err != nil {
			return nil, fmt.Errorf("wsbridge client: %w", err)
		}
		d.Deflate = ext
	}
	if o.subprotocol != "" {
		d.Subprotocols = []string{o.subprotocol}
	}
	for _, h := range o.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, usagef("wsbridge client: --header %q: want \"Name: value\"", h)
		}
		d.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if o.ca == "" && o.cert == "" && o.key == "" && !o.insecure {
		return d, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: o.insecure} // #nosec G402 -- --insecure is the user's choice
	if o.ca != "" {
		pem, err := os.ReadFile(o.ca)
		if err != nil {
			return nil, fmt.Errorf("wsbridge client: --ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("wsbridge client: --ca %s: no PEM certificate in it", o.ca)
		}
	}
	if (o.cert == "") != (o.key == "") {
		return nil, usagef("wsbridge client: --cert and --key go together")
	}
	if o.cert != "" {
		pair, err := tls.LoadX509KeyPair(o.cert, o.key)
		if err != nil {
			return nil, fmt.Errorf("wsbridge client: --cert/--key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	d.TLSConfig = cfg
	return d, nil
}

// parseSeconds reads a number of seconds (websockify's --heartbeat) or a
// Go duration.
func parseSeconds(v string, d *time.Duration) error {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 {
			return errors.New("negative")
		}
		*d = time.Duration(f * float64(time.Second))
		return nil
	}
	var err error
	*d, err = time.ParseDuration(v)
	return err
}
