// Command tlsbench measures bulk throughput through bridges and relays
// behind TLS (wss://), each in its own process, side by side: what
// wsbench does for plain ws://, which it cannot do over TLS.
//
//	go run ./internal/tlsbench [-bytes 1GiB] [-size 64KiB] [-repeat 3] NAME=MODE:CMD ...
//
// MODE is wss (a WebSocket client speaks wss:// to a bridge), tls (bytes
// straight over TLS, for a TLS-terminating TCP relay: the crypto alone),
// or ws and tcp, the same without TLS, to show what TLS adds within one
// run. CMD is run by sh in a process group of its own; {port} is where it
// must listen on 127.0.0.1, {port2} a second free port it may use
// inside, {target} the backend, {cert}/{key} the PEM certificate and key
// and {pem} the two in one file. Every system gets the same client, the
// same backend and a fresh process for each round; the bridge's CPU is
// that of its whole process group (/proc), read before and after each
// transfer. Each round moves -bytes up (client to backend, in -size
// messages) and then down (backend to client); every byte is checked.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	fs := flag.NewFlagSet("tlsbench", flag.ExitOnError)
	bytes, size := byteSize(1<<30), byteSize(64<<10)
	fs.Var(&bytes, "bytes", "bytes each way per round (KiB, MiB, GiB suffixes)")
	fs.Var(&size, "size", "message size up, and the client's read size down")
	repeat := fs.Int("repeat", 3, "rounds per system, interleaved; the median is reported")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: tlsbench [flags] NAME=MODE:CMD ...")
		fs.PrintDefaults()
	}
	fs.Parse(os.Args[1:])
	systems, err := parseSystems(fs.Args())
	if err != nil || len(systems) == 0 {
		fmt.Fprintln(os.Stderr, "tlsbench:", err)
		fs.Usage()
		os.Exit(2)
	}
	if size <= 0 || size > 16<<20 || bytes <= 0 {
		fmt.Fprintln(os.Stderr, "tlsbench: -size must be 1 B to 16 MiB and -bytes positive")
		os.Exit(2)
	}
	res, err := run(systems, int64(bytes), int(size), *repeat, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsbench:", err)
		os.Exit(1)
	}
	printTable(os.Stdout, systems, res, int64(bytes))
}

// byteSize is a flag of a byte count, with an optional KiB, MiB or GiB.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	mult := int64(1)
	for suf, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if t, ok := strings.CutSuffix(s, suf); ok {
			s, mult = t, m
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v > (1<<50)/mult {
		return fmt.Errorf("%q: want a positive count of bytes, with KiB, MiB or GiB", s)
	}
	*b = byteSize(v * mult)
	return nil
}

// system is one bridge or relay under test.
type system struct {
	name, mode, cmd string
}

// parseSystems reads NAME=MODE:CMD arguments.
func parseSystems(args []string) ([]system, error) {
	var out []system
	for _, a := range args {
		name, rest, ok := strings.Cut(a, "=")
		mode, cmd, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 || name == "" || cmd == "" || !slices.Contains([]string{"wss", "tls", "ws", "tcp"}, mode) {
			return nil, fmt.Errorf("%q: want NAME=MODE:CMD, MODE one of wss, tls, ws, tcp", a)
		}
		out = append(out, system{name, mode, cmd})
	}
	return out, nil
}

// result is one round of one system.
type result struct {
	mbps   [2]float64 // up, down
	cpu    [2]float64 // bridge CPU-seconds, up, down
	suite  string
	errStr string
}

// run measures every system repeat times, interleaved, and returns their
// rounds by name. It logs each figure to log as it comes.
func run(systems []system, n int64, size, repeat int, log io.Writer) (map[string][]result, error) {
	dir, err := os.MkdirTemp("", "tlsbench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	files, cliConf, err := writeCert(dir)
	if err != nil {
		return nil, err
	}
	be, err := startBackend(n)
	if err != nil {
		return nil, err
	}
	defer be.close()
	res := make(map[string][]result)
	for r := range repeat {
		// Interleaved, in turn reversed: no system always goes first.
		order := slices.Clone(systems)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, sys := range order {
			var rr result
			for i, dirn := range []string{"up", "down"} {
				mbps, cpu, suite, err := round(sys, dirn, be, files, cliConf, n, size)
				if err != nil {
					rr.errStr = fmt.Sprintf("%s: %v", dirn, err)
					break
				}
				rr.mbps[i], rr.cpu[i], rr.suite = mbps, cpu, suite
				fmt.Fprintf(log, "round %d %-16s %-4s %7.0f MB/s  %.2f CPU-s per GB  %s\n",
					r+1, sys.name, dirn, mbps, cpu/(float64(n)/1e9), suite)
			}
			if rr.errStr != "" {
				fmt.Fprintf(log, "round %d %-16s FAIL %s\n", r+1, sys.name, rr.errStr)
			}
			res[sys.name] = append(res[sys.name], rr)
		}
	}
	return res, nil
}

// round starts sys, moves n bytes one way through it and stops it.
func round(sys system, dirn string, be *backend, files certFiles, cliConf *tls.Config, n int64, size int) (mbps, cpu float64, suite string, err error) {
	target := be.sink.Addr().String()
	for len(be.sinkDone) > 0 {
		<-be.sinkDone // a report left by an earlier, failed round
	}
	if dirn == "down" {
		target = be.source.Addr().String()
	}
	ports, err := freePorts(2)
	if err != nil {
		return 0, 0, "", err
	}
	cmd := expand(sys.cmd, map[string]string{
		"port": strconv.Itoa(ports[0]), "port2": strconv.Itoa(ports[1]), "target": target,
		"cert": files.cert, "key": files.key, "pem": files.pem,
	})
	p, err := startProc(cmd)
	if err != nil {
		return 0, 0, "", err
	}
	defer p.stop()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	if err := p.waitListening(addr, 20*time.Second); err != nil {
		return 0, 0, "", err
	}
	conn, err := dialClient(sys.mode, addr, cliConf)
	if err != nil {
		return 0, 0, "", err
	}
	defer conn.Close()
	suite = conn.suite
	c0, err := p.cpu()
	if err != nil {
		return 0, 0, "", err
	}
	t0 := time.Now()
	if dirn == "up" {
		err = conn.sendAll(n, size, be.sinkDone)
	} else {
		err = conn.receiveAll(n, size)
	}
	el := time.Since(t0)
	if err != nil {
		return 0, 0, "", err
	}
	c1, err := p.cpu()
	if err != nil {
		return 0, 0, "", err
	}
	return float64(n) / el.Seconds() / 1e6, c1 - c0, suite, nil
}

// expand replaces {name} in s by vars[name].
func expand(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// freePorts returns n ports free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	var out []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer ln.Close()
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// certFiles names the PEM files of the server's certificate.
type certFiles struct{ cert, key, pem string }

// writeCert writes a fresh self-signed certificate for 127.0.0.1 to dir
// and returns a client configuration that trusts it.
func writeCert(dir string) (certFiles, *tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certFiles{}, nil, fmt.Errorf("key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tlsbench"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return certFiles{}, nil, fmt.Errorf("certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return certFiles{}, nil, fmt.Errorf("key: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	f := certFiles{filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "both.pem")}
	for path, b := range map[string][]byte{f.cert: certPEM, f.key: keyPEM, f.pem: append(slices.Clone(certPEM), keyPEM...)} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return certFiles{}, nil, fmt.Errorf("write certificate: %w", err)
		}
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		return certFiles{}, nil, fmt.Errorf("certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return f, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}, nil
}

// errShort reports a transfer that ended before all its bytes.
var errShort = errors.New("transfer ended early")
