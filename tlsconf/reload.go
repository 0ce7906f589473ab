package tlsconf

import (
	"crypto/sha256"
	"crypto/tls"
	"time"
)

// Reload re-reads the certificate files now, as on SIGHUP. If any file is
// missing or broken, the certificates in use stay and the error is logged
// and returned. Handshakes already done keep their certificate; new ones
// see the new files. With ACME, Reload does nothing and returns nil:
// autocert renews by itself.
func (p *Provider) Reload() error {
	if p.src == nil {
		return nil
	}
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	return p.reload(true)
}

// poll checks the files every interval until Close. A change of content
// (or a file added to or removed from a directory) reloads them; a broken
// state is logged once, not on every tick, and retried.
func (p *Provider) poll(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		p.reloadMu.Lock()
		p.reload(false) // logs its own errors
		p.reloadMu.Unlock()
	}
}

// reload reads the files and swaps in the new set. Unless forced it does
// nothing when their digest is unchanged. Callers hold reloadMu.
func (p *Provider) reload(force bool) error {
	files, sum, err := p.src.read()
	if err == nil {
		if !force && sum == p.certs.Load().digest {
			p.failed = ""
			return nil
		}
		var set *certSet
		if set, err = p.load(files, sum); err == nil {
			p.certs.Store(set)
			p.failed = ""
			p.log.Infof("tlsconf: reloaded certificates: %s", set.describe())
			return nil
		}
	}
	if force || err.Error() != p.failed {
		p.log.Errorf("%v; keeping the previous certificates", err)
	}
	p.failed = err.Error()
	return err
}

// load parses files into a certificate set.
func (p *Provider) load(files []pemFile, sum [sha256.Size]byte) (*certSet, error) {
	certs := make([]*tls.Certificate, 0, len(files))
	for _, f := range files {
		c, err := f.parse()
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	set := newCertSet(certs, sum)
	p.expiryWarnings(set, time.Now())
	return set, nil
}
