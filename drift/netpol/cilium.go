package netpol

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	labelsel "k8s.io/apimachinery/pkg/selection"
)

// Cilium's cilium.io/v2 CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy
// are read into the model as Cilium enforces them. The semantics below follow
// the Cilium documentation (docs.cilium.io, security/policy: intro, layer3,
// layer4, deny, kubernetes) and the agent's code that the documentation
// leaves implicit, read at cilium/cilium: pkg/policy/api/rule_validation.go
// (Rule.Sanitize: validation and the enableDefaultDeny default),
// pkg/policy/repository.go (computePolicyEnforcementAndRules: when an endpoint
// is in default deny), pkg/policy/rule.go (mergeIngress: an empty L3 with
// toPorts selects every peer, without toPorts nothing),
// pkg/k8s/apis/cilium.io/utils/utils.go (getEndpointSelector: the namespace a
// peer selector is confined to) and pkg/labels (label sources).
//
//   - Each rule of spec and specs is a policy of its own. Its allow rules sit
//     in the default tier at NetworkPolicy's order, so they union with
//     NetworkPolicy's; its deny rules sit in a second entry at the very front
//     of the default tier, because "deny policies take precedence over allow
//     policies, regardless of whether they are a Cilium Network Policy, a
//     Clusterwide Cilium Network Policy or even a Kubernetes Network Policy"
//     (deny.rst).
//   - A rule enforces a direction when it has a non-empty ingress or
//     ingressDeny list (egress, egressDeny): `ingress: []` and an absent list
//     do nothing, `ingress: [{}]` enforces and allows nothing, and so does a
//     deny-only rule. enableDefaultDeny defaults to exactly that condition;
//     set to false the rule still applies but does not isolate (the agent
//     then adds an allow-all behind it).
//   - A rule without L3 peers but with toPorts allows every peer on those
//     ports; a rule with neither allows nothing. fromEndpoints: [{}] in a
//     CiliumNetworkPolicy selects the pods of its namespace, in a
//     CiliumClusterwideNetworkPolicy every pod.
//   - CIDR peers (fromCIDR, toCIDRSet, ...) never match pods or nodes
//     ("CIDR-based selectors do not match in-cluster entities", layer3.rst), so
//     they match external addresses only, 0.0.0.0/0 included.
//   - What the model has no endpoint or no layer for is kept as normalized
//     text (opaque): DNS names, L7 rules, entities other than world, cluster
//     and all, nodes, services, cloud groups, CIDR groups, authentication,
//     TLS and listeners. Host policies (nodeSelector) apply to no pod and
//     are compared by text alone.

// ciliumClusterwide reports whether obj is a CiliumClusterwideNetworkPolicy.
func ciliumClusterwide(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	return kind == "CiliumClusterwideNetworkPolicy"
}

// parseCiliumPolicy reads a CiliumNetworkPolicy or
// CiliumClusterwideNetworkPolicy: spec and every entry of specs.
func parseCiliumPolicy(obj map[string]any, pc *parseContext) ([]*policy, error) {
	clusterwide := ciliumClusterwide(obj)
	c := ciliumParser{api: apiCiliumNetworkPolicy, name: nameOf(obj)}
	if clusterwide {
		c.api = apiCiliumClusterwideNetworkPolicy
	} else {
		c.namespace = namespaceOf(obj)
	}
	if c.name == "" {
		return nil, fmt.Errorf("metadata.name is missing")
	}
	var out []*policy
	specCount := 0
	if raw, ok := obj["spec"]; ok && raw != nil {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("spec: want an object, got %T", raw)
		}
		ps, f, err := c.parseRule(m, "spec", c.name)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
		if f != nil {
			pc.addForeign(*f)
		}
		specCount++
	}
	specs, err := sliceAt(obj, "specs")
	if err != nil {
		return nil, err
	}
	for i, raw := range specs {
		path := fmt.Sprintf("specs[%d]", i)
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: want an object, got %T", path, raw)
		}
		ps, f, err := c.parseRule(m, path, fmt.Sprintf("%s (%s)", c.name, path))
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
		if f != nil {
			pc.addForeign(*f)
		}
		specCount++
	}
	if specCount == 0 {
		// The agent refuses such an object: "empty policy".
		return nil, fmt.Errorf("spec or specs is required")
	}
	return out, nil
}

// ciliumParser reads the rules of one policy object.
type ciliumParser struct {
	api api
	// namespace is the object's namespace, empty for the clusterwide kind.
	namespace, name string
}

// ciliumRuleFields are the fields of a Cilium rule (spec or specs entry).
var ciliumRuleFields = []string{"endpointSelector", "nodeSelector", "ingress", "ingressDeny", "egress", "egressDeny", "enableDefaultDeny", "description", "labels"}

// parseRule reads one rule into its allow entry and, when it has deny rules,
// its deny entry; a host policy (nodeSelector) becomes a foreign entry instead.
func (c *ciliumParser) parseRule(spec map[string]any, path, name string) ([]*policy, *foreign, error) {
	if err := onlyFields(spec, path, ciliumRuleFields); err != nil {
		return nil, nil, err
	}
	if d, ok := spec["description"]; ok && d != nil {
		if _, ok := d.(string); !ok {
			return nil, nil, fmt.Errorf("%s.description: want a string, got %T", path, d)
		}
	}
	_, hasEP := present(spec, "endpointSelector")
	_, hasNode := present(spec, "nodeSelector")
	switch {
	case hasEP && hasNode:
		return nil, nil, fmt.Errorf("%s: endpointSelector and nodeSelector are mutually exclusive", path)
	case !hasEP && !hasNode:
		return nil, nil, fmt.Errorf("%s: one of endpointSelector or nodeSelector is required", path)
	case hasNode && c.api == apiCiliumNetworkPolicy:
		return nil, nil, fmt.Errorf("%s.nodeSelector: only a CiliumClusterwideNetworkPolicy may select nodes", path)
	}
	// The CRD requires at least one rule section to be present, even empty.
	if !slices.ContainsFunc([]string{"ingress", "ingressDeny", "egress", "egressDeny"}, func(k string) bool { _, ok := present(spec, k); return ok }) {
		return nil, nil, fmt.Errorf("%s: one of ingress, ingressDeny, egress or egressDeny is required", path)
	}
	sections := map[string][]map[string]any{}
	for _, k := range []string{"ingress", "ingressDeny", "egress", "egressDeny"} {
		list, err := sliceAt(spec, k)
		if err != nil {
			return nil, nil, fmt.Errorf("%s.%w", path, err)
		}
		for i, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, nil, fmt.Errorf("%s.%s[%d]: want an object, got %T", path, k, i, item)
			}
			sections[k] = append(sections[k], m)
		}
	}
	// Rule.Sanitize: a direction is enforced when the rule has allow or
	// deny rules for it, and enableDefaultDeny defaults to that.
	ingressOn := len(sections["ingress"])+len(sections["ingressDeny"]) > 0
	egressOn := len(sections["egress"])+len(sections["egressDeny"]) > 0
	defaultDeny, err := mapAt(spec, "enableDefaultDeny")
	if err != nil {
		return nil, nil, fmt.Errorf("%s.%w", path, err)
	}
	if err := onlyFields(defaultDeny, path+".enableDefaultDeny", []string{"ingress", "egress"}); err != nil {
		return nil, nil, err
	}
	denyIngress, err := boolAt(defaultDeny, "ingress", ingressOn)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.enableDefaultDeny.%w", path, err)
	}
	denyEgress, err := boolAt(defaultDeny, "egress", egressOn)
	if err != nil {
		return nil, nil, fmt.Errorf("%s.enableDefaultDeny.%w", path, err)
	}

	host := hasNode
	rules := map[string][]rule{}
	for _, k := range []string{"ingress", "ingressDeny", "egress", "egressDeny"} {
		d := ciliumDirection{ingress: k == "ingress" || k == "ingressDeny", deny: strings.HasSuffix(k, "Deny"), host: host}
		for i, m := range sections[k] {
			r, err := c.parseCiliumRule(m, d)
			if err != nil {
				return nil, nil, fmt.Errorf("%s.%s[%d]%w", path, k, i, err)
			}
			rules[k] = append(rules[k], r)
		}
	}

	if host {
		// A host policy applies to nodes, which the model has no endpoint
		// for; it is compared by its text, without its description.
		if _, err := parseCiliumSelector(spec["nodeSelector"], path+".nodeSelector", selectorContext{}); err != nil {
			return nil, nil, err
		}
		f := &foreign{
			id:      apiNames[c.api] + c.qualified(name),
			ingress: ingressOn,
			egress:  egressOn,
			global:  true,
			what:    "Cilium host policy " + canonicalJSON(withoutKeys(spec, "description", "labels")),
		}
		return nil, f, nil
	}

	sel, err := parseCiliumSelector(spec["endpointSelector"], path+".endpointSelector", selectorContext{namespace: c.namespace, subject: true})
	if err != nil {
		return nil, nil, err
	}
	if sel.nonPod != "" && !sel.all {
		// Selecting a reserved identity (reserved:host, reserved:ingress,
		// ...) makes the rule apply to endpoints that are not pods.
		f := &foreign{
			id:      apiNames[c.api] + c.qualified(name),
			ingress: ingressOn,
			egress:  egressOn,
			global:  true,
			what:    "Cilium policy for non-pod endpoints " + canonicalJSON(withoutKeys(spec, "description", "labels")),
		}
		return nil, f, nil
	}
	subject := selection{namespace: c.namespace, pods: sel.m, cilium: true}
	allow := &policy{
		api: c.api, namespace: c.namespace, name: name,
		tier: defaultTier, order: networkPolicyOrder, subject: subject,
		ingress: ingressOn, egress: egressOn,
		ingressRules: rules["ingress"], egressRules: rules["egress"],
		ingressOpen: !denyIngress, egressOpen: !denyEgress,
	}
	out := []*policy{allow}
	if len(rules["ingressDeny"])+len(rules["egressDeny"]) > 0 {
		// The deny rules go first of all; they never isolate by
		// themselves (the allow entry does that for both).
		out = append(out, &policy{
			api: c.api, namespace: c.namespace, name: name,
			tier: defaultTier, order: math.Inf(-1), subject: subject,
			ingress: len(rules["ingressDeny"]) > 0, egress: len(rules["egressDeny"]) > 0,
			ingressRules: rules["ingressDeny"], egressRules: rules["egressDeny"],
			ingressOpen: true, egressOpen: true,
		})
	}
	return out, nil, nil
}

// qualified names a rule as findings do.
func (c *ciliumParser) qualified(name string) string {
	if c.namespace == "" {
		return name
	}
	return c.namespace + "/" + name
}

// ciliumDirection is the section a rule is read from.
type ciliumDirection struct {
	ingress, deny bool
	// host is set for the rules of a host policy, which may not carry L7
	// rules.
	host bool
}

func (d ciliumDirection) String() string {
	s := "egress"
	if d.ingress {
		s = "ingress"
	}
	if d.deny {
		return "Deny " + s
	}
	return "Allow " + s
}

// peer returns the name of a peer field in this direction: fromX or toX.
func (d ciliumDirection) peer(x string) string {
	if d.ingress {
		return "from" + x
	}
	return "to" + x
}

// fields lists what a rule of this section may hold, as the CRD does.
func (d ciliumDirection) fields() []string {
	var fs []string
	for _, x := range []string{"Endpoints", "Requires", "CIDR", "CIDRSet", "Entities", "Nodes", "Groups"} {
		fs = append(fs, d.peer(x))
	}
	if !d.ingress {
		fs = append(fs, "toServices")
		if !d.deny {
			fs = append(fs, "toFQDNs")
		}
	}
	fs = append(fs, "toPorts", "icmps")
	if !d.deny {
		fs = append(fs, "authentication")
	}
	return fs
}

// parseCiliumRule reads one rule of a section. Errors start with the field
// path below the rule (".toPorts[0]...") or ": ".
func (c *ciliumParser) parseCiliumRule(m map[string]any, d ciliumDirection) (rule, error) {
	if err := onlyFields(m, "", d.fields()); err != nil {
		return rule{}, err
	}
	r := rule{action: actionAllow}
	if d.deny {
		r.action = actionDeny
	}
	lists := map[string][]any{}
	for _, f := range d.fields() {
		if f == "authentication" {
			continue
		}
		l, err := sliceAt(m, f)
		if err != nil {
			return rule{}, fmt.Errorf(".%w", err)
		}
		lists[f] = l
	}
	// Rule sanitizing in the agent rejects a rule that mixes two kinds of
	// L3 peer ("Combining FromEndpoints and FromCIDR is not supported yet").
	var l3 []string
	for _, x := range []string{"Endpoints", "CIDR", "CIDRSet", "Entities", "Nodes", "Groups", "Services", "FQDNs"} {
		if len(lists[d.peer(x)]) > 0 {
			l3 = append(l3, d.peer(x))
		}
	}
	if len(l3) > 1 {
		return rule{}, fmt.Errorf(": %s and %s cannot be combined in one rule", l3[0], l3[1])
	}
	hasPorts, hasICMP := len(lists["toPorts"]) > 0, len(lists["icmps"]) > 0
	if hasICMP && hasPorts {
		return rule{}, fmt.Errorf(": icmps and toPorts cannot be combined in one rule")
	}
	if len(lists["toServices"]) > 0 && hasPorts {
		return rule{}, fmt.Errorf(": toServices and toPorts cannot be combined in one rule")
	}

	// wide collects the peers the model has no endpoint for, which can only
	// widen the rule; narrows records the conditions that can only narrow
	// it. Both are what the model cannot decide.
	var conds []opaque
	var wide []string
	widens := func(what string) { wide = append(wide, what) }
	narrows := func(what string, eff effect) { conds = append(conds, opaque{what: what, effect: eff}) }

	// Peers. Without any L3 field the rule selects every peer when it has
	// ports, and none otherwise (pkg/policy/rule.go, mergeIngress).
	switch {
	case len(l3) == 1:
		r.peers = []peer{}
	case hasPorts:
		r.peers = nil
	default:
		r.peers = []peer{}
	}
	for i, raw := range lists[d.peer("Endpoints")] {
		sel, err := parseCiliumSelector(raw, fmt.Sprintf(".%s[%d]", d.peer("Endpoints"), i), selectorContext{namespace: c.namespace})
		if err != nil {
			return rule{}, err
		}
		if sel.nonPod != "" {
			widens(fmt.Sprintf("%s %s endpoints %s", d, d.toFrom(), sel.text))
		}
		if sel.m != nil {
			r.peers = append(r.peers, peer{workloads: &selection{namespace: sel.namespace, pods: sel.m, cilium: true}})
		}
		if sel.all {
			r.peers = append(r.peers, peer{world: true})
		}
	}
	for i, raw := range lists[d.peer("CIDR")] {
		s, _ := raw.(string)
		p, err := parseCiliumCIDR(s)
		if err != nil {
			return rule{}, fmt.Errorf(".%s[%d]: %w", d.peer("CIDR"), i, err)
		}
		r.peers = append(r.peers, peer{block: &ipBlock{cidr: p}})
	}
	for i, raw := range lists[d.peer("CIDRSet")] {
		path := fmt.Sprintf(".%s[%d]", d.peer("CIDRSet"), i)
		pe, what, err := parseCiliumCIDRRule(raw, path)
		if err != nil {
			return rule{}, err
		}
		if what != "" {
			widens(fmt.Sprintf("%s %s %s", d, d.toFrom(), what))
		}
		if pe != nil {
			r.peers = append(r.peers, *pe)
		}
	}
	var entities []string
	for i, raw := range lists[d.peer("Entities")] {
		e, _ := raw.(string)
		pes, unmodelled, err := ciliumEntity(e)
		if err != nil {
			return rule{}, fmt.Errorf(".%s[%d]: %w", d.peer("Entities"), i, err)
		}
		r.peers = append(r.peers, pes...)
		if unmodelled {
			entities = append(entities, e)
		}
	}
	if len(entities) > 0 {
		slices.Sort(entities)
		widens(fmt.Sprintf("%s %s entities %s", d, d.toFrom(), strings.Join(slices.Compact(entities), ", ")))
	}
	for _, x := range []string{"Nodes", "Groups", "Services"} {
		f := d.peer(x)
		for i, raw := range lists[f] {
			if _, ok := raw.(map[string]any); !ok {
				return rule{}, fmt.Errorf(".%s[%d]: want an object, got %T", f, i, raw)
			}
		}
		if len(lists[f]) > 0 {
			widens(fmt.Sprintf("%s %s %s %s", d, d.toFrom(), f, canonicalJSON(lists[f])))
		}
	}
	if fq := lists["toFQDNs"]; len(fq) > 0 {
		names, err := ciliumFQDNs(fq)
		if err != nil {
			return rule{}, err
		}
		widens(fmt.Sprintf("%s to domain names %s", d, strings.Join(names, ", ")))
	}
	for i, raw := range lists[d.peer("Requires")] {
		if _, err := parseCiliumSelector(raw, fmt.Sprintf(".%s[%d]", d.peer("Requires"), i), selectorContext{namespace: c.namespace}); err != nil {
			return rule{}, err
		}
	}
	if req := lists[d.peer("Requires")]; len(req) > 0 {
		// fromRequires narrows every rule of the policies selecting the
		// endpoint, not just this one, so which way it moves a deny is
		// not known either.
		narrows(fmt.Sprintf("%s requiring %s %s", d, d.peer("Requires"), canonicalJSON(req)), d.effect(false))
	}

	// Ports. icmps alone allows ICMP only, which the model has no port for.
	if hasICMP {
		r.ports = []portSpec{}
		for i, raw := range lists["icmps"] {
			if _, ok := raw.(map[string]any); !ok {
				return rule{}, fmt.Errorf(".icmps[%d]: want an object, got %T", i, raw)
			}
		}
	}
	peersText := canonicalJSON(l3Fields(m, d))
	for i, raw := range lists["toPorts"] {
		path := fmt.Sprintf(".toPorts[%d]", i)
		pr, ok := raw.(map[string]any)
		if !ok {
			return rule{}, fmt.Errorf("%s: want an object, got %T", path, raw)
		}
		ports, err := c.parsePortRule(pr, path, d, peersText, narrows)
		if err != nil {
			return rule{}, err
		}
		if r.ports == nil {
			r.ports = []portSpec{}
		}
		r.ports = append(r.ports, ports...)
	}
	if a, ok := present(m, "authentication"); ok {
		am, ok := a.(map[string]any)
		if !ok {
			return rule{}, fmt.Errorf(".authentication: want an object, got %T", a)
		}
		if err := onlyFields(am, ".authentication", []string{"mode"}); err != nil {
			return rule{}, err
		}
		switch mode, _ := am["mode"].(string); mode {
		case "disabled":
		case "required", "test-always-fail":
			narrows(fmt.Sprintf("%s %s %s on %s only with authentication %s", d, d.toFrom(), peersText, portsText(r.ports), mode), effectRestricts)
		default:
			return rule{}, fmt.Errorf(".authentication.mode: %q is not disabled, required or test-always-fail", mode)
		}
	}
	for _, w := range wide {
		conds = append(conds, opaque{what: w + " on " + portsText(r.ports), effect: d.effect(true)})
	}
	r.opaque = conds
	return r, nil
}

// toFrom is the preposition for peers of this direction.
func (d ciliumDirection) toFrom() string {
	if d.ingress {
		return "from"
	}
	return "to"
}

// effect is the effect of an undecidable condition on a rule of this section:
// one that can only add peers (wide) widens an allow and narrows a deny, one
// that can only remove traffic from the rule does the opposite.
func (d ciliumDirection) effect(wide bool) effect {
	if wide != d.deny {
		return effectAllows
	}
	return effectRestricts
}

// l3Fields returns the peer fields of a rule, for the text of conditions
// that depend on them.
func l3Fields(m map[string]any, d ciliumDirection) map[string]any {
	out := map[string]any{}
	for _, x := range []string{"Endpoints", "Requires", "CIDR", "CIDRSet", "Entities", "Nodes", "Groups", "Services", "FQDNs"} {
		if v, ok := present(m, d.peer(x)); ok {
			out[d.peer(x)] = v
		}
	}
	return out
}

// parsePortRule reads one toPorts entry: its ports, and its L7 rules, SNI,
// TLS and listener as conditions.
func (c *ciliumParser) parsePortRule(pr map[string]any, path string, d ciliumDirection, peersText string, narrows func(string, effect)) ([]portSpec, error) {
	fields := []string{"ports"}
	if !d.deny {
		fields = append(fields, "rules", "serverNames", "listener", "originatingTLS", "terminatingTLS")
	}
	if err := onlyFields(pr, path, fields); err != nil {
		return nil, err
	}
	list, err := sliceAt(pr, "ports")
	if err != nil {
		return nil, fmt.Errorf("%s.%w", path, err)
	}
	if len(list) > 40 {
		return nil, fmt.Errorf("%s.ports: %d ports, at most 40 are allowed", path, len(list))
	}
	rules, err := mapAt(pr, "rules")
	if err != nil {
		return nil, fmt.Errorf("%s.%w", path, err)
	}
	var l7 []string
	for _, k := range []string{"http", "kafka", "dns", "l7proto"} {
		if _, ok := present(rules, k); ok {
			l7 = append(l7, k)
		}
	}
	if err := onlyFields(rules, path+".rules", []string{"http", "kafka", "dns", "l7proto", "l7"}); err != nil {
		return nil, err
	}
	if _, ok := present(rules, "l7"); ok && len(l7) == 0 {
		return nil, fmt.Errorf("%s.rules.l7: needs l7proto", path)
	}
	if len(l7) > 1 {
		return nil, fmt.Errorf("%s.rules: %s and %s cannot be combined", path, l7[0], l7[1])
	}
	dns := slices.Contains(l7, "dns")
	switch {
	case len(l7) > 0 && d.host:
		return nil, fmt.Errorf("%s.rules: host policies do not support L7 rules", path)
	case dns && d.ingress:
		return nil, fmt.Errorf("%s.rules.dns: DNS rules are not allowed on ingress", path)
	case dns && len(list) == 0:
		return nil, fmt.Errorf("%s.rules.dns: DNS rules need port 53 in ports", path)
	}
	var out []portSpec
	for i, raw := range list {
		ppath := fmt.Sprintf("%s.ports[%d]", path, i)
		pm, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: want an object, got %T", ppath, raw)
		}
		ps, zero, err := parseCiliumPort(pm, ppath)
		if err != nil {
			return nil, err
		}
		if len(l7) > 0 && zero {
			return nil, fmt.Errorf("%s.port: L7 rules cannot be used with port 0", ppath)
		}
		if len(l7) > 0 && !dns && (len(ps) != 1 || ps[0].protocol != "TCP") {
			return nil, fmt.Errorf("%s.protocol: L7 rules apply to TCP only (except DNS rules)", ppath)
		}
		if dns && ps[0].hi > ps[0].lo {
			return nil, fmt.Errorf("%s.endPort: DNS rules do not support port ranges", ppath)
		}
		out = append(out, ps...)
	}
	text := fmt.Sprintf("%s %s %s on %s", d, d.toFrom(), peersText, portsText(out))
	if len(l7) > 0 {
		narrows(fmt.Sprintf("%s only for %s rules %s", text, l7[0], canonicalJSON(rules)), effectRestricts)
	}
	if sn, ok := present(pr, "serverNames"); ok {
		names, ok := sn.([]any)
		if !ok {
			return nil, fmt.Errorf("%s.serverNames: want a list, got %T", path, sn)
		}
		var ss []string
		for i, n := range names {
			s, _ := n.(string)
			if s == "" {
				return nil, fmt.Errorf("%s.serverNames[%d]: empty server name", path, i)
			}
			ss = append(ss, strings.ToLower(s))
		}
		if len(l7) > 0 {
			if _, ok := present(pr, "terminatingTLS"); !ok {
				return nil, fmt.Errorf("%s.serverNames: L7 rules with server names need terminatingTLS", path)
			}
		}
		if len(ss) > 0 {
			slices.Sort(ss)
			narrows(fmt.Sprintf("%s only for TLS server names %s", text, strings.Join(slices.Compact(ss), ", ")), effectRestricts)
		}
	}
	if l, ok := present(pr, "listener"); ok {
		if d.ingress {
			return nil, fmt.Errorf("%s.listener: listeners are not allowed on ingress", path)
		}
		if len(l7) > 0 {
			return nil, fmt.Errorf("%s.listener: a listener cannot be combined with L7 rules", path)
		}
		narrows(fmt.Sprintf("%s through Envoy listener %s", text, canonicalJSON(l)), effectUnknown)
	}
	for _, k := range []string{"originatingTLS", "terminatingTLS"} {
		if t, ok := present(pr, k); ok {
			narrows(fmt.Sprintf("%s with %s %s", text, k, canonicalJSON(t)), effectUnknown)
		}
	}
	return out, nil
}

// ciliumProtocols maps a port's protocol to the model's: empty and ANY are
// every protocol.
func ciliumProtocols(p string) ([]string, bool) {
	switch p {
	case "", "ANY":
		return protocols, true
	case "TCP", "UDP", "SCTP":
		return []string{p}, true
	}
	return nil, false
}

// ianaSvcName matches the port names the agent treats as names, not numbers
// (pkg/iana): at most 15 characters of letters, digits and inner single
// dashes, with at least one letter.
var ianaSvcName = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9]|-[a-zA-Z0-9])*$`)

// parseCiliumPort reads one PortProtocol; zero reports port 0, which the
// agent reads as every port.
func parseCiliumPort(pm map[string]any, path string) ([]portSpec, bool, error) {
	if err := onlyFields(pm, path, []string{"port", "endPort", "protocol"}); err != nil {
		return nil, false, err
	}
	port, ok := pm["port"].(string)
	if !ok || port == "" {
		return nil, false, fmt.Errorf("%s.port: required, as a string", path)
	}
	proto, _ := pm["protocol"].(string)
	protos, ok := ciliumProtocols(proto)
	if !ok {
		return nil, false, fmt.Errorf("%s.protocol: %q is not TCP, UDP, SCTP or ANY", path, proto)
	}
	end, _, err := intAt(pm, "endPort")
	if err != nil {
		return nil, false, fmt.Errorf("%s.%w", path, err)
	}
	if end < 0 || end > 65535 {
		return nil, false, fmt.Errorf("%s.endPort: %d is outside 0-65535", path, end)
	}
	var out []portSpec
	if len(port) <= 15 && ianaSvcName.MatchString(port) && strings.ContainsFunc(port, isLetter) {
		// Named ports compare case-insensitively in the agent; endPort
		// does not apply to them.
		for _, p := range protos {
			out = append(out, portSpec{protocol: p, name: strings.ToLower(port)})
		}
		return out, false, nil
	}
	// The agent parses numbers with strconv.ParseUint(port, 0, 16).
	n, err := strconv.ParseUint(port, 0, 16)
	if err != nil {
		return nil, false, fmt.Errorf("%s.port: %q is neither a port number nor a port name", path, port)
	}
	lo, hi := int32(n), int32(n)
	if n == 0 {
		// Port 0 is the wildcard port.
		lo, hi = 1, 65535
	} else if int32(end) > lo {
		// An endPort not above port is ignored, as by the agent.
		hi = int32(end)
	}
	for _, p := range protos {
		out = append(out, portSpec{protocol: p, lo: lo, hi: hi})
	}
	return out, n == 0, nil
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// portsText renders a rule's ports for condition texts, sorted.
func portsText(ports []portSpec) string {
	if ports == nil {
		return "any port"
	}
	var ss []string
	for _, p := range ports {
		switch {
		case p.name != "":
			ss = append(ss, p.protocol+"/"+p.name)
		case p.lo == p.hi:
			ss = append(ss, fmt.Sprintf("%s/%d", p.protocol, p.lo))
		default:
			ss = append(ss, fmt.Sprintf("%s/%d-%d", p.protocol, p.lo, p.hi))
		}
	}
	slices.Sort(ss)
	ss = slices.Compact(ss)
	if len(ss) == 0 {
		return "no port"
	}
	return strings.Join(ss, ", ")
}

// parseCiliumCIDR reads a fromCIDR or toCIDR entry. The CRD checks the
// cidr format; the agent accepts a bare address too, as a host route.
func parseCiliumCIDR(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("missing")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
	}
	return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked(), nil
}

// parseCiliumCIDRRule reads a fromCIDRSet or toCIDRSet entry: a CIDR with
// except ranges, or a reference to CiliumCIDRGroups, whose addresses are not
// known here (what describes it).
func parseCiliumCIDRRule(raw any, path string) (*peer, string, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, "", fmt.Errorf("%s: want an object, got %T", path, raw)
	}
	if err := onlyFields(m, path, []string{"cidr", "cidrGroupRef", "cidrGroupSelector", "except"}); err != nil {
		return nil, "", err
	}
	var set []string
	for _, k := range []string{"cidr", "cidrGroupRef", "cidrGroupSelector"} {
		if _, ok := present(m, k); ok {
			set = append(set, k)
		}
	}
	if len(set) != 1 {
		return nil, "", fmt.Errorf("%s: exactly one of cidr, cidrGroupRef or cidrGroupSelector is required", path)
	}
	except, err := sliceAt(m, "except")
	if err != nil {
		return nil, "", fmt.Errorf("%s.%w", path, err)
	}
	if set[0] != "cidr" {
		if _, err := parseCiliumSelector(m["cidrGroupSelector"], path+".cidrGroupSelector", selectorContext{plain: true}); set[0] == "cidrGroupSelector" && err != nil {
			return nil, "", err
		}
		if ref, ok := m["cidrGroupRef"]; ok {
			if s, _ := ref.(string); s == "" {
				return nil, "", fmt.Errorf("%s.cidrGroupRef: want a name", path)
			}
		}
		return nil, "CIDR groups " + canonicalJSON(m), nil
	}
	s, _ := m["cidr"].(string)
	// CIDRRule.sanitize: only address/length notation here.
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return nil, "", fmt.Errorf("%s.cidr: %q is not a CIDR", path, s)
	}
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked()
	b := &ipBlock{cidr: p}
	empty := false
	for i, raw := range except {
		es, _ := raw.(string)
		ex, err := netip.ParsePrefix(es)
		if err != nil {
			return nil, "", fmt.Errorf("%s.except[%d]: %q is not a CIDR", path, i, es)
		}
		ex = netip.PrefixFrom(ex.Addr().Unmap(), ex.Bits()).Masked()
		// The agent only checks that the except address lies in the CIDR.
		if ex.Addr().Is4() != p.Addr().Is4() || !p.Contains(ex.Addr()) {
			return nil, "", fmt.Errorf("%s.except[%d]: %s is not inside %s", path, i, ex, p)
		}
		if ex.Bits() <= p.Bits() {
			empty = true // the exception covers the whole CIDR
			continue
		}
		b.except = append(b.except, ex)
	}
	if empty {
		return nil, "", nil
	}
	return &peer{block: b}, "", nil
}

// ciliumEntity maps an entity to the model's peers, reporting whether it also
// names endpoints the model does not have (the host, nodes, ...).
// Entity meanings: layer3.rst, "Entities based".
func ciliumEntity(e string) ([]peer, bool, error) {
	switch e {
	case "world":
		return []peer{{world: true}}, false, nil
	case "world-ipv4":
		return []peer{{block: &ipBlock{cidr: netip.MustParsePrefix("0.0.0.0/0")}}}, false, nil
	case "world-ipv6":
		return []peer{{block: &ipBlock{cidr: netip.MustParsePrefix("::/0")}}}, false, nil
	case "cluster":
		// Every pod of the cluster, plus the host, remote nodes, health,
		// init and unmanaged endpoints.
		return []peer{{workloads: &selection{}}}, true, nil
	case "all":
		return []peer{{workloads: &selection{}, world: true}}, true, nil
	case "none":
		return nil, false, nil
	case "host", "remote-node", "kube-apiserver", "health", "init", "ingress", "unmanaged":
		return nil, true, nil
	}
	return nil, false, fmt.Errorf("unsupported entity %q", e)
}

// fqdnName and fqdnPattern are the CRD's patterns for toFQDNs.
var (
	fqdnName    = regexp.MustCompile(`^([-a-zA-Z0-9_]+[.]?)+$`)
	fqdnPattern = regexp.MustCompile(`^([-a-zA-Z0-9_*]+[.]?)+$`)
)

// ciliumFQDNs reads toFQDNs into sorted, normalized names: lower case, no
// trailing dot, patterns as written.
func ciliumFQDNs(list []any) ([]string, error) {
	var out []string
	for i, raw := range list {
		path := fmt.Sprintf(".toFQDNs[%d]", i)
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: want an object, got %T", path, raw)
		}
		if err := onlyFields(m, path, []string{"matchName", "matchPattern"}); err != nil {
			return nil, err
		}
		name, hasName := m["matchName"].(string)
		pattern, hasPattern := m["matchPattern"].(string)
		switch {
		case hasName == hasPattern:
			return nil, fmt.Errorf("%s: exactly one of matchName or matchPattern is required", path)
		case hasName && (len(name) > 255 || !fqdnName.MatchString(name)):
			return nil, fmt.Errorf("%s.matchName: %q is not a DNS name", path, name)
		case hasPattern && (len(pattern) > 255 || !fqdnPattern.MatchString(pattern)):
			return nil, fmt.Errorf("%s.matchPattern: %q is not a DNS name pattern", path, pattern)
		case hasName:
			out = append(out, strings.ToLower(strings.TrimSuffix(name, ".")))
		default:
			out = append(out, "pattern "+strings.ToLower(strings.TrimSuffix(pattern, ".")))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// selectorContext says where an endpoint selector is read.
type selectorContext struct {
	// namespace is the CiliumNetworkPolicy's namespace, empty for the
	// clusterwide kind.
	namespace string
	// subject is set for endpointSelector, peers otherwise.
	subject bool
	// plain is set for selectors over other objects' labels (CIDR
	// groups), which only need to be valid.
	plain bool
}

// ciliumSelector is an endpoint selector read into the model.
type ciliumSelector struct {
	// m matches Cilium's view of a pod's labels (see ciliumLabels); a
	// selector no pod can match is labels.Nothing.
	m matcher
	// namespace confines a peer selector of a namespaced policy.
	namespace string
	// all is set by reserved:all, which selects every endpoint, external
	// ones included.
	all bool
	// nonPod names a reserved or other non-Kubernetes label the selector
	// requires, so it selects endpoints that are not pods.
	nonPod string
	// text is the selector, normalized.
	text string
}

// podSources are the label sources a selector key may name and still match
// a pod's labels: Kubernetes (k8s) and any source (any, or none given).
var podSources = map[string]bool{"k8s": true, "any": true, "": true}

// ciliumLabelKey splits a selector key into its source and key as the agent
// does (pkg/labels, ParseSource): "k8s:app" is app from Kubernetes, "$host"
// and "reserved.host" are reserved:host, a key without a source matches any.
func ciliumLabelKey(k string) (source, key string) {
	if strings.HasPrefix(k, "$") {
		return "reserved", k[1:]
	}
	if src, key, ok := strings.Cut(k, ":"); ok {
		return src, key
	}
	if key, ok := strings.CutPrefix(k, "reserved."); ok {
		return "reserved", key
	}
	return "", k
}

// parseCiliumSelector reads an endpoint selector. Keys of pod sources lose
// their source prefix; requirements on labels of other sources, which no pod
// carries, are decided at once: In and Exists match nothing, NotIn and
// DoesNotExist everything.
func parseCiliumSelector(raw any, path string, sc selectorContext) (ciliumSelector, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return ciliumSelector{}, fmt.Errorf("%s: want an object, got %T", path, raw)
	}
	if err := onlyFields(m, path, []string{"matchLabels", "matchExpressions"}); err != nil {
		return ciliumSelector{}, err
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ls); err != nil {
		return ciliumSelector{}, fmt.Errorf("%s: %w", path, err)
	}
	reqs := slices.Clone(ls.MatchExpressions)
	keys := make([]string, 0, len(ls.MatchLabels))
	for k := range ls.MatchLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		reqs = append(reqs, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: []string{ls.MatchLabels[k]}})
	}
	out := ciliumSelector{}
	var kept []labels.Requirement
	nothing := false
	hasNamespace, hasNamespaceLabels, hasReserved := false, false, false
	for i, r := range reqs {
		src, key := ciliumLabelKey(r.Key)
		where := fmt.Sprintf("%s.matchExpressions[%d]", path, i)
		if i >= len(ls.MatchExpressions) {
			where = fmt.Sprintf("%s.matchLabels[%q]", path, r.Key)
		}
		if src == "reserved" {
			hasReserved = true
		}
		if !podSources[src] {
			if src == "reserved" && key == "all" && i >= len(ls.MatchExpressions) {
				// EndpointSelector.Matches: reserved:all selects every
				// endpoint, whatever else the selector says.
				out.all = true
				continue
			}
			switch r.Operator {
			case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpExists:
				nothing = true
				if out.nonPod == "" {
					out.nonPod = src + ":" + key
				}
			case metav1.LabelSelectorOpNotIn, metav1.LabelSelectorOpDoesNotExist:
			default:
				return ciliumSelector{}, fmt.Errorf("%s.operator: %q is not In, NotIn, Exists or DoesNotExist", where, r.Operator)
			}
			continue
		}
		if key == ciliumNamespaceLabel {
			if sc.subject && src == "k8s" && i >= len(ls.MatchExpressions) {
				// The agent overwrites this match with the policy's own
				// namespace (ParseToCiliumRule).
				continue
			}
			hasNamespace = true
		}
		if strings.HasPrefix(key, ciliumNamespaceLabels) {
			hasNamespaceLabels = true
		}
		op, ok := map[metav1.LabelSelectorOperator]labelsel.Operator{
			metav1.LabelSelectorOpIn:           labelsel.In,
			metav1.LabelSelectorOpNotIn:        labelsel.NotIn,
			metav1.LabelSelectorOpExists:       labelsel.Exists,
			metav1.LabelSelectorOpDoesNotExist: labelsel.DoesNotExist,
		}[r.Operator]
		if !ok {
			return ciliumSelector{}, fmt.Errorf("%s.operator: %q is not In, NotIn, Exists or DoesNotExist", where, r.Operator)
		}
		req, err := labels.NewRequirement(key, op, r.Values)
		if err != nil {
			return ciliumSelector{}, fmt.Errorf("%s: %w", where, err)
		}
		kept = append(kept, *req)
	}
	sel := labels.NewSelector().Add(kept...)
	out.text = "{" + sel.String() + "}"
	if out.nonPod != "" {
		out.text = "{" + out.nonPod + "; " + sel.String() + "}"
	}
	switch {
	case out.all:
		out.m, out.text, out.nonPod = labels.Everything(), "{reserved:all}", "reserved:all"
		return out, nil
	case nothing:
		out.m = ciliumNothing{}
	default:
		out.m = sel
	}
	// getEndpointSelector: a peer selector of a namespaced policy stays in
	// the policy's namespace unless it names the namespace, selects by
	// namespace labels, or names a reserved label.
	if !sc.subject && !sc.plain && sc.namespace != "" && !hasNamespace && !hasNamespaceLabels && !hasReserved {
		out.namespace = sc.namespace
	}
	return out, nil
}

// ciliumNothing matches no pod: the selector requires a label only
// endpoints other than pods have.
type ciliumNothing struct{}

func (ciliumNothing) Matches(labels.Labels) bool { return false }
func (ciliumNothing) String() string             { return "<no pod>" }

// onlyFields rejects fields a schema does not have: kubectl's default
// strict field validation refuses them, and a misspelt rule field read as
// absent would change what the policy allows.
func onlyFields(m map[string]any, path string, allowed []string) error {
	var bad []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	if path == "" {
		return fmt.Errorf(": unknown field %q", bad[0])
	}
	return fmt.Errorf("%s: unknown field %q", path, bad[0])
}

// present returns m[key] and whether it is set to something other than null.
func present(m map[string]any, key string) (any, bool) {
	v, ok := m[key]
	return v, ok && v != nil
}

// boolAt returns m[key] as a boolean, def when absent.
func boolAt(m map[string]any, key string, def bool) (bool, error) {
	switch v := m[key].(type) {
	case nil:
		return def, nil
	case bool:
		return v, nil
	default:
		return false, fmt.Errorf("%s: want true or false, got %T", key, v)
	}
}

// withoutKeys returns m without the given keys.
func withoutKeys(m map[string]any, without ...string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if !slices.Contains(without, k) {
			out[k] = v
		}
	}
	return out
}

// canonicalJSON renders decoded YAML or JSON canonically: encoding/json
// sorts map keys.
func canonicalJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}
