package dns

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// fact is one compared property of a plugin. canon is what is compared,
// show what is displayed (the value as written, or "X (default)").
type fact struct {
	canon, show string
	note        string // how it was compared, when that is not obvious
}

type facts map[string]fact

// pluginFacts breaks a plugin instance into the properties compared, with
// defaults folded in only where the plugin's README documents them (CoreDNS
// repository, plugin/<name>/README.md), so that writing a default explicitly
// is not drift:
//
//   - cache: max TTL 3600 (success) / 1800 (denial), or the cache TTL
//     argument; capacity 9984 each, compared after rounding down to a
//     multiple of 256 as the cache does; MINTTL 5; prefetch DURATION 1m and
//     PERCENTAGE 10%; serve_stale DURATION 1h and REFRESH_MODE immediate;
//     servfail 5s; ZONES default to the block's zones; disable without ZONES
//     means all zones.
//   - forward: policy random; expire 10s; max_fails 2; health_check 0.5s,
//     recursion desired, domain "."; max_idle_conns 0; max_connect_attempts
//     0; doh_method POST. Upstreams are compared as a set under random and
//     round_robin (which only spread load) and as a list under sequential
//     (where the first is preferred). Upstream addresses are normalized
//     (dns:// dropped, port 53 or the transport's port added); a file such as
//     /etc/resolv.conf stays a distinct value, since its content is the
//     node's.
//   - kubernetes: pods disabled; ttl 5; ZONES default to the block's zones;
//     fallthrough without ZONES means all the plugin's zones.
//   - health: address :8080. ready: :8181. prometheus: localhost:9153.
//   - reload: interval 30s, jitter 15s, and jitter capped at half the
//     interval as the plugin does.
//   - loadbalance: policy round_robin.
//   - hosts: file /etc/hosts; ttl 3600; reload 5s; ZONES default to the
//     block's zones; inline entries compared per name as sets of addresses.
//   - bind: addresses as a set.
//
// Zone lists (ZONES, fallthrough, cache disable) are compared restricted to
// scope, the zones being compared (see compareServers). Durations compare by
// value (60s equals 1m). Options driftgate has no model of are compared as
// written, in order.
func pluginFacts(name string, d Directive, scope []string) facts {
	switch name {
	case "cache":
		return cacheFacts(d, scope)
	case "forward":
		return forwardFacts(d)
	case "kubernetes":
		return kubernetesFacts(d, scope)
	case "health":
		return addressFacts(d, ":8080", map[string]func(facts, Directive){
			"lameduck": func(f facts, s Directive) { f.put("lameduck", durCanon(first(s.Args)), strings.Join(s.Args, " ")) },
		})
	case "ready":
		return addressFacts(d, ":8181", nil)
	case "prometheus":
		return addressFacts(d, "localhost:9153", nil)
	case "reload":
		return reloadFacts(d)
	case "loadbalance":
		return loadbalanceFacts(d)
	case "hosts":
		return hostsFacts(d, scope)
	case "bind":
		f := facts{}
		f.set("addresses", d.Args, func(s string) string { return canonHostPort(s, "") })
		genericBlock(f, d.Block)
		return f
	}
	f := facts{}
	f.put("args", strings.Join(d.Args, " "), strings.Join(d.Args, " "))
	genericBlock(f, d.Block)
	return f
}

func (f facts) put(key, canon, show string) { f[key] = fact{canon: canon, show: show} }

// def records an option that has a documented default: absent, it compares
// as the default and shows "X (default)".
func (f facts) def(key string, raw []string, dflt string, canon func(string) string) {
	if len(raw) == 0 {
		f[key] = fact{canon: canon(dflt), show: dflt + " (default)"}
		return
	}
	f[key] = fact{canon: canon(raw[0]), show: raw[0]}
}

// set records an unordered list.
func (f facts) set(key string, vals []string, canon func(string) string) {
	c := make([]string, 0, len(vals))
	for _, v := range vals {
		c = append(c, canon(v))
	}
	sort.Strings(c)
	c = compactStrings(c)
	f[key] = fact{canon: strings.Join(c, " "), show: strings.Join(c, " ")}
}

// flag records an option without arguments that is either on or absent.
func (f facts) flag(key string) { f.put(key, "on", "on") }

// zones records a ZONES list. Without ZONES a plugin takes the block's
// zones, which within the compared scope are the scope itself. A list is
// compared restricted to the scope (see compareServers) and shown as
// written. It returns the restricted list, for options defaulting to it.
func (f facts) zones(key string, args, scope []string) []string {
	if len(args) == 0 {
		f[key] = fact{canon: strings.Join(scope, " "), show: strings.Join(scope, " ") + " (default: the server block's zones)"}
		return scope
	}
	z := make([]string, 0, len(args))
	for _, a := range args {
		z = append(z, zoneArg(a))
	}
	sort.Strings(z)
	z = compactStrings(z)
	in := restrictZones(z, scope)
	f.put(key, strings.Join(in, " "), strings.Join(z, " "))
	return in
}

// restrictZones keeps the part of zone list l that falls within scope: the
// zones of l inside a scope zone, and the scope zones inside a zone of l.
func restrictZones(l, scope []string) []string {
	var out []string
	for _, x := range l {
		for _, z := range scope {
			if isSubdomain(x, z) {
				out = append(out, x)
				break
			}
		}
	}
	for _, z := range scope {
		for _, x := range l {
			if isSubdomain(z, x) {
				out = append(out, z)
				break
			}
		}
	}
	sort.Strings(out)
	return compactStrings(out)
}

// isSubdomain reports whether child is parent or below it; both normalized.
func isSubdomain(child, parent string) bool {
	return parent == "." || child == parent || strings.HasSuffix(child, "."+parent)
}

// genericBlock records sub-directives driftgate has no model of, as written
// and in order: for plugins it does not know, order may matter (acl rules
// are evaluated in order, for one).
func genericBlock(f facts, block []Directive) {
	if len(block) == 0 {
		return
	}
	lines := make([]string, 0, len(block))
	for _, b := range block {
		lines = append(lines, render(b))
	}
	s := strings.Join(lines, "; ")
	f.put("block", s, s)
}

// option records one unknown sub-directive of a known plugin. Repeating it
// keeps every occurrence, in order.
func (f facts) option(s Directive) {
	key := "option " + s.Name
	v := render(Directive{Name: "", Args: s.Args, Block: s.Block})
	v = strings.TrimSpace(v)
	if old, ok := f[key]; ok {
		v = old.canon + "; " + v
	}
	f.put(key, v, v)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func argN(s []string, i int) []string {
	if i < len(s) {
		return s[i : i+1]
	}
	return nil
}

func durCanon(s string) string {
	if d, err := time.ParseDuration(s); err == nil {
		return d.String()
	}
	return s
}

func intCanon(s string) string {
	if n, err := strconv.Atoi(s); err == nil {
		return strconv.Itoa(n)
	}
	return s
}

func ident(s string) string { return s }

// cacheFacts: see pluginFacts. Source: coredns plugin/cache/README.md.
func cacheFacts(d Directive, scope []string) facts {
	f := facts{}
	args := d.Args
	var ttl []string
	if len(args) > 0 {
		if _, err := strconv.Atoi(args[0]); err == nil {
			ttl, args = args[:1], args[1:]
		}
	}
	f.zones("zones", args, scope)
	var succ, den []string
	disable := map[string][]string{}
	for _, s := range d.Block {
		switch s.Name {
		case "success":
			succ = s.Args
		case "denial":
			den = s.Args
		case "prefetch":
			dur, pct := "1m (default)", "10% (default)"
			if len(s.Args) > 1 {
				dur = s.Args[1]
			}
			if len(s.Args) > 2 {
				pct = s.Args[2]
			}
			show := fmt.Sprintf("%s, duration %s, percentage %s", first(s.Args), dur, pct)
			canon := fmt.Sprintf("%s %s %s", intCanon(first(s.Args)), durCanon(strings.TrimSuffix(dur, " (default)")),
				strings.TrimSuffix(pct, " (default)"))
			f[s.Name] = fact{canon: canon, show: show}
		case "serve_stale":
			dur, mode := "1h (default)", "immediate (default)"
			if len(s.Args) > 0 {
				dur = s.Args[0]
			}
			if len(s.Args) > 1 {
				mode = s.Args[1]
			}
			f[s.Name] = fact{
				canon: durCanon(strings.TrimSuffix(dur, " (default)")) + " " + strings.TrimSuffix(mode, " (default)"),
				show:  dur + ", refresh " + mode,
			}
		case "servfail":
			f.def("servfail", s.Args, "5s", durCanon)
		case "disable":
			if len(s.Args) == 0 {
				f.option(s)
				continue
			}
			z := []string{"(all zones)"}
			if len(s.Args) > 1 {
				z = s.Args[1:]
			}
			disable[s.Args[0]] = append(disable[s.Args[0]], z...)
		case "keepttl":
			f.flag(s.Name)
		default:
			f.option(s)
		}
	}
	if _, ok := f["servfail"]; !ok {
		f.def("servfail", nil, "5s", durCanon)
	}
	for _, kind := range []struct {
		name       string
		args       []string
		defaultTTL string
	}{{"success", succ, "3600"}, {"denial", den, "1800"}} {
		f.def(kind.name+" > capacity", argN(kind.args, 0), "9984", capacityCanon)
		switch {
		case len(kind.args) > 1:
			f.def(kind.name+" > ttl", kind.args[1:2], "", intCanon)
		case ttl != nil:
			f.def(kind.name+" > ttl", ttl, "", intCanon)
		default:
			f.def(kind.name+" > ttl", nil, kind.defaultTTL, intCanon)
		}
		f.def(kind.name+" > minttl", argN(kind.args, 2), "5", intCanon)
	}
	for kind, z := range disable {
		if slices.Contains(z, "(all zones)") {
			f.put("disable "+kind, "(all zones)", "(all zones)")
			continue
		}
		norm := make([]string, 0, len(z))
		for _, s := range z {
			norm = append(norm, zoneArg(s))
		}
		sort.Strings(norm)
		norm = compactStrings(norm)
		f.put("disable "+kind, strings.Join(restrictZones(norm, scope), " "), strings.Join(norm, " "))
	}
	return f
}

// capacityCanon rounds a cache capacity down to a multiple of 256: "the
// actual cache size used will be rounded down to the nearest number divisible
// by 256" (plugin/cache/README.md), so 10000 and 9984 are the same cache.
func capacityCanon(s string) string {
	n, err := strconv.Atoi(s)
	if err != nil {
		return s
	}
	return strconv.Itoa(n / 256 * 256)
}

// forwardFacts: see pluginFacts. Source: coredns plugin/forward/README.md.
func forwardFacts(d Directive) facts {
	f := facts{}
	if len(d.Args) == 0 {
		f.put("args", "", "")
		return f
	}
	f.put("from", zoneArg(d.Args[0]), zoneArg(d.Args[0]))
	var policy []string
	for _, s := range d.Block {
		switch s.Name {
		case "except":
			cur := strings.Fields(f["except"].canon)
			for _, a := range s.Args {
				cur = append(cur, zoneArg(a))
			}
			f.set("except", cur, ident)
		case "force_tcp", "prefer_udp", "failfast_all_unhealthy_upstreams", "next_on_nodata":
			f.flag(s.Name)
		case "expire":
			f.def(s.Name, s.Args, "10s", durCanon)
		case "max_fails":
			f.def(s.Name, s.Args, "2", intCanon)
		case "max_idle_conns", "max_connect_attempts":
			f.def(s.Name, s.Args, "0", intCanon)
		case "max_concurrent":
			f.put(s.Name, intCanon(first(s.Args)), strings.Join(s.Args, " "))
		case "doh_method":
			f.def(s.Name, s.Args, "POST", strings.ToUpper)
		case "policy":
			policy = s.Args
		case "health_check":
			rest := s.Args
			if len(rest) > 0 && rest[0] != "no_rec" && rest[0] != "domain" {
				f.def("health_check", rest[:1], "0.5s", durCanon)
				rest = rest[1:]
			}
			for i := 0; i < len(rest); i++ {
				switch {
				case rest[i] == "no_rec":
					f.flag("health_check > no_rec")
				case rest[i] == "domain" && i+1 < len(rest):
					f.def("health_check > domain", rest[i+1:i+2], ".", fqdn)
					i++
				}
			}
		case "next", "failover":
			up := make([]string, len(s.Args))
			for i, a := range s.Args {
				up[i] = strings.ToUpper(a)
			}
			f.set(s.Name, up, ident)
		case "tls", "tls_servername":
			v := strings.Join(s.Args, " ")
			f.put(s.Name, v, v)
		case "resolver":
			c := make([]string, len(s.Args))
			for i, a := range s.Args {
				c[i] = canonHostPort(a, "53")
			}
			f.put(s.Name, strings.Join(c, " "), strings.Join(s.Args, " "))
		default:
			f.option(s)
		}
	}
	for key, dflt := range map[string]string{"expire": "10s", "max_fails": "2", "max_idle_conns": "0",
		"max_connect_attempts": "0", "doh_method": "POST", "health_check": "0.5s", "health_check > domain": "."} {
		if _, ok := f[key]; !ok {
			canon := ident
			switch key {
			case "expire", "health_check":
				canon = durCanon
			case "health_check > domain":
				canon = fqdn
			}
			f.def(key, nil, dflt, canon)
		}
	}
	f.def("policy", policy, "random", strings.ToLower)

	up := make([]string, 0, len(d.Args)-1)
	for _, a := range d.Args[1:] {
		up = append(up, canonHostPort(a, "53"))
	}
	show := strings.Join(d.Args[1:], " ")
	if f["policy"].canon == "sequential" {
		f["upstreams"] = fact{canon: strings.Join(up, " "), show: show, note: "compared in order: policy sequential prefers the first"}
	} else {
		sort.Strings(up)
		f["upstreams"] = fact{canon: strings.Join(compactStrings(up), " "), show: show,
			note: "compared as a set: policy " + f["policy"].canon + " does not prefer any"}
	}
	return f
}

// kubernetesFacts: see pluginFacts. Source: coredns plugin/kubernetes/README.md.
func kubernetesFacts(d Directive, scope []string) facts {
	f := facts{}
	zones := f.zones("zones", d.Args, scope)
	for _, s := range d.Block {
		switch s.Name {
		case "pods":
			f.def("pods", s.Args, "disabled", strings.ToLower)
		case "ttl":
			f.def("ttl", s.Args, "5", intCanon)
		case "fallthrough":
			fallthroughFact(f, s, zones)
		case "namespaces":
			f.set("namespaces", s.Args, ident)
		case "endpoint_pod_names", "noendpoints":
			f.flag(s.Name)
		case "resyncperiod", "startup_timeout":
			f.put(s.Name, durCanon(first(s.Args)), strings.Join(s.Args, " "))
		default:
			f.option(s)
		}
	}
	if _, ok := f["pods"]; !ok {
		f.def("pods", nil, "disabled", strings.ToLower)
	}
	if _, ok := f["ttl"]; !ok {
		f.def("ttl", nil, "5", intCanon)
	}
	return f
}

// fallthroughFact: without ZONES, fallthrough covers every zone the plugin
// is authoritative for (kubernetes and hosts READMEs).
func fallthroughFact(f facts, s Directive, pluginZones []string) {
	if len(s.Args) == 0 {
		f["fallthrough"] = fact{canon: strings.Join(pluginZones, " "), show: "(all of the plugin's zones)"}
		return
	}
	z := make([]string, 0, len(s.Args))
	for _, a := range s.Args {
		z = append(z, zoneArg(a))
	}
	sort.Strings(z)
	z = compactStrings(z)
	f["fallthrough"] = fact{canon: strings.Join(restrictZones(z, pluginZones), " "), show: strings.Join(z, " ")}
}

// addressFacts covers plugins taking one optional listen address.
func addressFacts(d Directive, dflt string, sub map[string]func(facts, Directive)) facts {
	f := facts{}
	f.def("address", d.Args, dflt, func(s string) string { return canonHostPort(s, "") })
	if len(d.Args) > 1 {
		f.put("args", strings.Join(d.Args[1:], " "), strings.Join(d.Args[1:], " "))
	}
	for _, s := range d.Block {
		if fn, ok := sub[s.Name]; ok {
			fn(f, s)
		} else {
			f.option(s)
		}
	}
	return f
}

// reloadFacts: source coredns plugin/reload/README.md ("Default INTERVAL is
// 30s, default JITTER is 15s"; "If JITTER is more than half of INTERVAL, it
// will be set to half of INTERVAL").
func reloadFacts(d Directive) facts {
	f := facts{}
	f.def("interval", argN(d.Args, 0), "30s", durCanon)
	f.def("jitter", argN(d.Args, 1), "15s", durCanon)
	iv, err1 := time.ParseDuration(strings.TrimSuffix(f["interval"].show, " (default)"))
	jt, err2 := time.ParseDuration(strings.TrimSuffix(f["jitter"].show, " (default)"))
	if err1 == nil && err2 == nil && jt > iv/2 {
		j := f["jitter"]
		j.canon = (iv / 2).String()
		j.show += fmt.Sprintf(" (capped to %s)", iv/2)
		f["jitter"] = j
	}
	if len(d.Args) > 2 {
		f.put("args", strings.Join(d.Args[2:], " "), strings.Join(d.Args[2:], " "))
	}
	genericBlock(f, d.Block)
	return f
}

// loadbalanceFacts: source coredns plugin/loadbalance/README.md
// (round_robin "is the default load balancing policy").
func loadbalanceFacts(d Directive) facts {
	f := facts{}
	f.def("policy", argN(d.Args, 0), "round_robin", ident)
	if len(d.Args) > 1 {
		f.put("args", strings.Join(d.Args[1:], " "), strings.Join(d.Args[1:], " "))
	}
	for _, s := range d.Block {
		f.option(s)
	}
	return f
}

// hostsFacts: see pluginFacts. Source: coredns plugin/hosts/README.md.
func hostsFacts(d Directive, scope []string) facts {
	f := facts{}
	f.def("file", argN(d.Args, 0), "/etc/hosts", ident)
	var zoneArgs []string
	if len(d.Args) > 1 {
		zoneArgs = d.Args[1:]
	}
	zones := f.zones("zones", zoneArgs, scope)
	entries := map[string][]string{}
	for _, s := range d.Block {
		switch s.Name {
		case "ttl":
			f.def("ttl", s.Args, "3600", intCanon)
		case "reload":
			f.def("reload", s.Args, "5s", durCanon)
		case "no_reverse", "fallthrough_unsupported":
			f.flag(s.Name)
		case "fallthrough":
			fallthroughFact(f, s, zones)
		default:
			ip, err := netip.ParseAddr(s.Name)
			if err != nil || len(s.Args) == 0 {
				f.option(s)
				continue
			}
			for _, n := range s.Args {
				entries[fqdn(n)] = append(entries[fqdn(n)], ip.String())
			}
		}
	}
	for _, k := range []struct{ key, dflt string }{{"ttl", "3600"}, {"reload", "5s"}} {
		if _, ok := f[k.key]; !ok {
			canon := intCanon
			if k.key == "reload" {
				canon = durCanon
			}
			f.def(k.key, nil, k.dflt, canon)
		}
	}
	for name, ips := range entries {
		f.set("entries > "+name, ips, ident)
	}
	return f
}

// rewriteRules renders each rewrite rule canonically, in order. Defaults
// folded (coredns plugin/rewrite/README.md): the processing mode defaults
// to stop ("Default behaviour for not specifying this rule processing mode
// is stop"), and a name rule without a match type is exact ("If the match
// type is omitted, the exact match type is being assumed").
func rewriteRules(ds []Directive) []string {
	rules := make([]string, 0, len(ds))
	for _, d := range ds {
		args := d.Args
		mode := "stop"
		if len(args) > 0 && (args[0] == "stop" || args[0] == "continue") {
			mode, args = args[0], args[1:]
		}
		rule := mode + " " + strings.Join(rewriteNameDefault(args), " ")
		if len(d.Block) > 0 {
			lines := make([]string, 0, len(d.Block))
			for _, b := range d.Block {
				lines = append(lines, strings.Join(rewriteNameDefault(append([]string{b.Name}, b.Args...)), " "))
			}
			rule = strings.TrimSpace(rule) + " {" + strings.Join(lines, "; ") + "}"
		}
		rules = append(rules, strings.TrimSpace(rule))
	}
	return rules
}

var rewriteMatchTypes = map[string]bool{"exact": true, "prefix": true, "suffix": true, "substring": true, "regex": true}

func rewriteNameDefault(args []string) []string {
	if len(args) >= 3 && args[0] == "name" && !rewriteMatchTypes[args[1]] {
		return append([]string{"name", "exact"}, args[1:]...)
	}
	return args
}
