package dns

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// transportPorts are CoreDNS's server transports and their default ports
// (coredns plugin/pkg/transport/transport.go; prefixes parsed as in
// plugin/pkg/parse/transport.go).
var transportPorts = map[string]string{
	"dns":    "53",
	"tls":    "853",
	"quic":   "853",
	"grpc":   "443",
	"https":  "443",
	"https3": "443",
}

// splitTransport splits a "tls://..." prefix off s; no prefix means dns,
// CoreDNS's default.
func splitTransport(s string) (transport, rest string) {
	if i := strings.Index(s, "://"); i > 0 {
		t := strings.ToLower(s[:i])
		if _, ok := transportPorts[t]; ok || t == "unix" {
			return t, s[i+3:]
		}
	}
	return "dns", s
}

// normalizeKey normalizes a server block key the way CoreDNS's
// core/dnsserver normalizeZone and plugin.SplitHostPort do, so that keys
// CoreDNS treats as the same server compare equal:
//   - the zone is lowercased and made fully qualified: `Cluster.Local` and
//     `cluster.local.` are both `cluster.local.`, and `.` is the root;
//   - the port defaults by transport (53 for plain DNS, 853 for tls:// and
//     quic://, 443 for grpc://, https://, https3://) and is written
//     without leading zeros;
//   - dns:// is dropped, being the default; other transports stay in the
//     key, since `tls://.:853` is a different listener from `.:53`;
//   - a reverse CIDR key such as `10.0.0.0/8` becomes the reverse zone
//     CoreDNS serves (`10.in-addr.arpa.`) when the mask is on an octet (v4)
//     or nibble (v6) boundary; other masks stay as the canonical CIDR, since
//     CoreDNS then serves the enclosing zone filtered to the network.
//
// Keys holding a template placeholder are kept verbatim (apart from the
// port), so the placeholder stays readable in paths and reports.
func normalizeKey(raw string) (string, error) {
	trans, rest := splitTransport(raw)
	if trans == "unix" {
		return raw, nil
	}
	host, port := rest, ""
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		if i == len(rest)-1 {
			return "", fmt.Errorf("server key %q: expecting a port after the last colon", raw)
		}
		if p, err := strconv.Atoi(rest[i+1:]); err == nil {
			host, port = rest[:i], strconv.Itoa(p)
		}
	}
	if port == "" {
		port = transportPorts[trans]
	}
	zone, err := normalizeZone(host)
	if err != nil {
		return "", fmt.Errorf("server key %q: %w", raw, err)
	}
	key := zone + ":" + port
	if trans != "dns" {
		key = trans + "://" + key
	}
	return key, nil
}

// normalizeZone normalizes a zone name (no port, no transport) as above.
func normalizeZone(host string) (string, error) {
	if hasPlaceholder(host) {
		return host, nil
	}
	if len(host) > 255 {
		return "", fmt.Errorf("zone is too long: %d > 255", len(host))
	}
	if strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' }) {
		return "", fmt.Errorf("zone %q is not a valid domain name", host)
	}
	if p, err := netip.ParsePrefix(host); err == nil {
		return reverseZone(p.Masked()), nil
	}
	// As dns.IsDomainName, which CoreDNS applies: no empty label (so no
	// "a..b" or ".a"), labels of at most 63 bytes.
	if host != "" && host != "." {
		for _, l := range strings.Split(strings.TrimSuffix(host, "."), ".") {
			if l == "" || len(l) > 63 {
				return "", fmt.Errorf("zone %q is not a valid domain name", host)
			}
		}
	}
	return fqdn(host), nil
}

// fqdn lowercases and fully qualifies a domain name, as plugin.Name.Normalize.
func fqdn(s string) string {
	if hasPlaceholder(s) {
		return s
	}
	s = strings.ToLower(s)
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// zoneArg normalizes a zone given as a plugin argument (cache ZONES,
// kubernetes ZONES, forward FROM, fallthrough ZONES...). Plugins accept the
// same forms as server keys and strip any port and transport
// (plugin.Host.Normalize), so only the zone is kept.
func zoneArg(s string) string {
	_, rest := splitTransport(s)
	if i := strings.LastIndex(rest, ":"); i >= 0 && i < len(rest)-1 {
		if _, err := strconv.Atoi(rest[i+1:]); err == nil {
			rest = rest[:i]
		}
	}
	z, err := normalizeZone(rest)
	if err != nil {
		return s
	}
	return z
}

// reverseZone is the in-addr.arpa / ip6.arpa zone of a prefix on an octet
// (v4) or nibble (v6) boundary; other prefixes keep their CIDR form.
func reverseZone(p netip.Prefix) string {
	addr := p.Addr()
	if addr.Is4() {
		if p.Bits()%8 != 0 {
			return p.String()
		}
		b := addr.As4()
		labels := make([]string, 0, 4)
		for i := p.Bits()/8 - 1; i >= 0; i-- {
			labels = append(labels, strconv.Itoa(int(b[i])))
		}
		return strings.Join(append(labels, "in-addr", "arpa"), ".") + "."
	}
	if p.Bits()%4 != 0 {
		return p.String()
	}
	b := addr.As16()
	labels := make([]string, 0, 32)
	for i := p.Bits()/4 - 1; i >= 0; i-- {
		nibble := b[i/2] >> 4
		if i%2 == 1 {
			nibble = b[i/2] & 0xf
		}
		labels = append(labels, strconv.FormatUint(uint64(nibble), 16))
	}
	return strings.Join(append(labels, "ip6", "arpa"), ".") + "."
}

// zoneOfKey is the zone part of a normalized key (no transport, no port).
func zoneOfKey(key string) string {
	_, rest := splitTransport(key)
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		return rest[:i]
	}
	return rest
}

// canonHostPort normalizes a network address such as an upstream or a
// listen address: IPs in canonical form (IPv6 bracketed), hostnames
// lowercased, the default port added when missing, a dns:// prefix dropped.
// Anything else (a file path like /etc/resolv.conf, a placeholder) is kept
// as written, so it only ever equals itself.
func canonHostPort(s, defaultPort string) string {
	if hasPlaceholder(s) || strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
		return s
	}
	trans, rest := splitTransport(s)
	port := defaultPort
	if trans != "dns" {
		port = transportPorts[trans]
	}
	host := rest
	if h, p, err := net.SplitHostPort(rest); err == nil {
		host, port = h, p
		if n, err := strconv.Atoi(p); err == nil {
			port = strconv.Itoa(n)
		}
	}
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		host = a.String()
	} else {
		host = strings.ToLower(host)
	}
	out := net.JoinHostPort(host, port)
	if port == "" {
		out = host
	}
	if trans != "dns" {
		out = trans + "://" + out
	}
	return out
}
