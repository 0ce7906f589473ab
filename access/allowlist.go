package access

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
)

// AllowList is the set of targets the bridge may dial (--allow-target,
// repeatable). A nil *AllowList allows everything, which is what no
// --allow-target means.
type AllowList struct {
	rules []targetRule
}

// targetRule is one parsed spec: an address range and a port range.
type targetRule struct {
	prefix    netip.Prefix
	low, high uint16
}

// ParseAllowList parses --allow-target specs, each CIDR:PORTS:
//
//	10.0.0.0/8:5900-5999     a network and a port range
//	127.0.0.1:22             a bare IPv4 address is a /32
//	[::1]:5900               IPv6 goes in brackets...
//	::1/128:5900-5910        ...unless it has a prefix length
//	[2001:db8::/32]:22       (brackets around a prefix work too)
//	0.0.0.0/0:5900           any IPv4 address, one port
//
// PORTS is a port, a range LOW-HIGH, or * for any (as is 1-65535). Host
// names are not accepted: the check is on addresses, after resolution. An
// IPv4-mapped IPv6 range (::ffff:10.0.0.0/104) is stored as the IPv4 range.
// No specs gives a nil *AllowList (allow everything); a bad spec is an
// error naming it.
func ParseAllowList(specs []string) (*AllowList, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	a := &AllowList{rules: make([]targetRule, 0, len(specs))}
	for _, spec := range specs {
		r, err := parseTargetRule(strings.TrimSpace(spec))
		if err != nil {
			return nil, fmt.Errorf("access: --allow-target %q: %w", spec, err)
		}
		a.rules = append(a.rules, r)
	}
	return a, nil
}

// parseTargetRule parses one spec; errors are worded to follow the spec.
func parseTargetRule(spec string) (targetRule, error) {
	var host, ports string
	if rest, ok := strings.CutPrefix(spec, "["); ok {
		h, after, ok := strings.Cut(rest, "]")
		if !ok {
			return targetRule{}, errors.New("missing ]")
		}
		p, ok := strings.CutPrefix(after, ":")
		if !ok {
			return targetRule{}, errors.New("want [ADDRESS]:PORTS")
		}
		host, ports = h, p
	} else {
		i := strings.LastIndexByte(spec, ':')
		if i < 0 || i < strings.IndexByte(spec, '/') {
			return targetRule{}, errors.New("missing :PORTS (use :* for any port)")
		}
		host, ports = spec[:i], spec[i+1:]
		if !strings.Contains(host, "/") && strings.Contains(host, ":") {
			return targetRule{}, fmt.Errorf("put an IPv6 address in brackets: [%s]:%s", host, ports)
		}
	}
	prefix, err := parsePrefix(host)
	if err != nil {
		return targetRule{}, err
	}
	low, high, err := parsePorts(ports)
	if err != nil {
		return targetRule{}, err
	}
	return targetRule{prefix: prefix, low: low, high: high}, nil
}

// parsePrefix parses a CIDR or a bare address (a single-address prefix),
// unmapping IPv4-mapped IPv6. Zones are refused.
func parsePrefix(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, errors.New("missing address")
	}
	if !strings.Contains(s, "/") {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR: %q", s)
		}
		if ip.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("zones are not supported: %q", s)
		}
		ip = ip.Unmap()
		return netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not a CIDR: %q", s)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// parsePorts parses "N", "LOW-HIGH" or "*" into an inclusive range.
func parsePorts(s string) (low, high uint16, err error) {
	if s == "*" {
		return 1, 65535, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	if low, err = parsePort(lo); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return low, low, nil
	}
	if high, err = parsePort(hi); err != nil {
		return 0, 0, err
	}
	if low > high {
		return 0, 0, fmt.Errorf("port range %d-%d is backwards", low, high)
	}
	return low, high, nil
}

// parsePort parses a decimal port 1-65535.
func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad port %q (want 1-65535, LOW-HIGH or *)", s)
	}
	return uint16(n), nil
}

// Allowed reports whether ip:port may be dialled. A nil AllowList allows
// everything; otherwise an invalid ip is refused. IPv4-mapped IPv6
// addresses are unmapped and zones dropped before matching.
func (a *AllowList) Allowed(ip netip.Addr, port uint16) bool {
	if a == nil {
		return true
	}
	ip = ip.Unmap().WithZone("")
	for _, r := range a.rules {
		if port >= r.low && port <= r.high && r.prefix.Contains(ip) {
			return true
		}
	}
	return false
}

// Control is a net.Dialer Control function. It runs after name resolution,
// once for each address the dialer tries, so it checks the address really
// dialled: a host name that resolves outside the list is refused, as is a
// name that resolves to a different address on the next lookup (DNS
// rebinding). A refusal wraps ErrTargetNotAllowed. Non-IP networks (unix
// sockets, whose paths come from the operator, not the client) pass. A nil
// AllowList allows everything.
func (a *AllowList) Control(network, address string, _ syscall.RawConn) error {
	if a == nil {
		return nil
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
	default:
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrTargetNotAllowed, address, err)
	}
	if !a.Allowed(ap.Addr(), ap.Port()) {
		return fmt.Errorf("%w: %s", ErrTargetNotAllowed, address)
	}
	return nil
}

// String returns the rules in spec form, for logs.
func (a *AllowList) String() string {
	if a == nil {
		return "any"
	}
	var b strings.Builder
	for i, r := range a.rules {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d-%d", r.prefix, r.low, r.high)
	}
	return b.String()
}
