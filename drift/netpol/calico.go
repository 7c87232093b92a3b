package netpol

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/driftgate/driftgate/drift/netpol/calicosel"
)

// Calico policies (projectcalico.org/v3 NetworkPolicy and
// GlobalNetworkPolicy, and the crd.projectcalico.org/v1 objects Calico
// stores them as when it runs without its API server) are read the way
// libcalico-go hands them to Felix (syncersv1/updateprocessors) and Felix
// renders them (calc, rules). Where that differs from what the API server
// would accept, the API server's validation (validator/v3 and the CRDs' CEL
// rules) decides what is an error:
//
//   - A policy sits in its spec.tier ("default" when absent) at its order
//     (absent: after every other), ties broken by name. The built-in tiers
//     default, kube-admin and kube-baseline have fixed orders and actions;
//     any other tier needs its Tier object (see calicoTier).
//   - types defaults as Calico documents: Egress alone when the policy has
//     egress rules and no ingress rules, Ingress and Egress when it has
//     both, Ingress otherwise. A crd.projectcalico.org/v1 object without
//     types was not written through Calico's API, and Felix reads it as
//     both directions. Rules of a direction the policy does not govern are
//     never evaluated.
//   - Rules are evaluated in order; Allow and Deny decide, Pass hands over
//     to the next tier, Log goes on. A tier that selected a workload for a
//     direction denies what its rules left undecided, unless the Tier's
//     defaultAction is Pass.
//   - For an ingress rule the source is the peer and the destination the
//     workload the policy protects; for an egress rule the reverse. The
//     peer's side becomes the rule's peers, the local side restricts the
//     rule to the local workloads it matches.
//   - Only TCP, UDP and SCTP are modelled. A rule that can only match other
//     protocols (ICMP, a protocol number such as 47) matches nothing of the
//     model, so it never decides a modelled connection; notProtocol takes
//     its protocol out of the three.
//   - nets match any address, a pod's too, but the model cannot know pod
//     addresses: a 0.0.0.0/0 or ::/0 net matches every pod and external
//     address, any other net only the external addresses inside it, as
//     with NetworkPolicy's ipBlock. On the local side, where a net can only
//     ever match a pod, a net other than /0 is a condition the model cannot
//     decide (an opaque one).
//   - A selector matches workloads and Calico NetworkSets and
//     GlobalNetworkSets (whose nets become external peers), each as Felix
//     labels them (see calicoLabels and networkSetMatches).
//   - What no object decides is opaque: source ports (the model has
//     destination ports only), Service peers (the model does not know
//     Service endpoints), http matches, and IPv6-only rules towards pods.
//
// StagedNetworkPolicy and StagedGlobalNetworkPolicy are never enforced
// (Felix only logs what they would do), so they are not read at all, like
// every kind Build does not know. GlobalNetworkPolicies with doNotTrack or
// preDNAT apply only to host endpoints (Felix puts them in the untracked and
// pre-DNAT tables of host interfaces, never in a workload's chains), which
// the model does not have: they become foreign entries for the whole
// environment, compared by text.

// calicoPolicyFields and the others are the fields of each Calico policy kind's spec, so an
// unknown one, which might change what the policy means, is an error.
var (
	calicoPolicyFields = []string{
		"tier", "order", "ingress", "egress", "selector", "types",
		"serviceAccountSelector", "performanceHints",
	}
	calicoGlobalPolicyFields = append(slices.Clone(calicoPolicyFields),
		"namespaceSelector", "doNotTrack", "preDNAT", "applyOnForward")
	calicoRuleFields = []string{
		"action", "ipVersion", "protocol", "icmp", "notProtocol", "notICMP",
		"source", "destination", "http", "metadata",
	}
	calicoEntityRuleFields = []string{
		"nets", "selector", "namespaceSelector", "services", "ports",
		"notNets", "notSelector", "notPorts", "serviceAccounts",
	}
)

// calicoMetadataAnnotation holds the v3 metadata (the real name) on
// crd.projectcalico.org/v1 objects that Calico 3.29 and 3.30 wrote.
const calicoMetadataAnnotation = "projectcalico.org/metadata"

// parseCalicoPolicy reads one Calico NetworkPolicy or GlobalNetworkPolicy.
func parseCalicoPolicy(obj map[string]any, pc *parseContext) ([]*policy, error) {
	kind, _ := obj["kind"].(string)
	global := kind == "GlobalNetworkPolicy"
	p := &policy{api: apiCalicoNetworkPolicy}
	if global {
		p.api = apiCalicoGlobalNetworkPolicy
	} else {
		p.namespace = namespaceOf(obj)
	}
	spec, err := mapAt(obj, "spec")
	if err != nil {
		return nil, err
	}
	known := calicoPolicyFields
	if global {
		known = calicoGlobalPolicyFields
	}
	if err := unknownFields(spec, known); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	tierName, err := stringAt(spec, "tier")
	if err != nil {
		return nil, fmt.Errorf("spec.%w", err)
	}
	if tierName == "" {
		tierName = defaultTier.name
	}
	if p.name, err = calicoPolicyName(obj, apiGroup(obj), tierName); err != nil {
		return nil, err
	}
	if p.tier, err = calicoTier(tierName, pc); err != nil {
		return nil, fmt.Errorf("spec.tier: %w", err)
	}
	p.order = lastOrder
	if o, ok, err := floatAt(spec, "order"); err != nil {
		return nil, fmt.Errorf("spec.%w", err)
	} else if ok {
		p.order = o
	}

	b := &calicoRules{namespace: p.namespace, pc: pc}
	if p.subject, err = b.subject(spec, global); err != nil {
		return nil, err
	}
	ingress, err := sliceAt(spec, "ingress")
	if err != nil {
		return nil, fmt.Errorf("spec.%w", err)
	}
	egress, err := sliceAt(spec, "egress")
	if err != nil {
		return nil, fmt.Errorf("spec.%w", err)
	}
	if p.ingress, p.egress, err = calicoTypes(spec, len(ingress) > 0, len(egress) > 0); err != nil {
		return nil, fmt.Errorf("spec.%w", err)
	}
	if types, _ := sliceAt(spec, "types"); len(types) == 0 && apiGroup(obj) == "crd.projectcalico.org" {
		// Calico's API server and clients store types defaulted; an object
		// written straight to the CRD without them reaches Felix empty,
		// which reads that as both directions (policy_sorter.go,
		// "back compatibility").
		p.ingress, p.egress = true, true
	}

	host, err := hostOnly(spec, egress, p.egress)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	for _, dir := range []struct {
		name  string
		items []any
		on    bool
		rules *[]rule
	}{{"ingress", ingress, p.ingress, &p.ingressRules}, {"egress", egress, p.egress, &p.egressRules}} {
		for i, item := range dir.items {
			r, err := b.rule(item, dir.name == "ingress")
			if err != nil {
				return nil, fmt.Errorf("spec.%s[%d]: %w", dir.name, i, err)
			}
			// Felix only reads the rules of the directions the policy
			// governs; the others are validated and dropped.
			if dir.on {
				*dir.rules = append(*dir.rules, r)
			}
		}
	}
	if host {
		text, err := json.Marshal(spec)
		if err != nil {
			return nil, fmt.Errorf("spec: %w", err)
		}
		f := foreign{id: p.id(), ingress: p.ingress, egress: p.egress, global: true,
			what: "Calico host endpoint policy " + string(text)}
		pc.addForeign(f)
		return nil, nil
	}
	return []*policy{p}, nil
}

// hostOnly validates doNotTrack, preDNAT and applyOnForward as Calico's CRD
// rules do, and reports whether the policy applies to host endpoints only.
// applyOnForward alone changes nothing for workloads.
func hostOnly(spec map[string]any, egress []any, governsEgress bool) (bool, error) {
	flags := map[string]bool{}
	for _, f := range []string{"doNotTrack", "preDNAT", "applyOnForward"} {
		switch v := spec[f].(type) {
		case nil:
		case bool:
			flags[f] = v
		default:
			return false, fmt.Errorf("%s: want a boolean, got %T", f, v)
		}
	}
	switch {
	case flags["doNotTrack"] && flags["preDNAT"]:
		return false, fmt.Errorf("preDNAT and doNotTrack cannot both be true")
	case (flags["doNotTrack"] || flags["preDNAT"]) && !flags["applyOnForward"]:
		return false, fmt.Errorf("applyOnForward must be true if either preDNAT or doNotTrack is true")
	case flags["preDNAT"] && (len(egress) > 0 || governsEgress):
		return false, fmt.Errorf("a preDNAT policy cannot have egress rules or the Egress type")
	}
	return flags["doNotTrack"] || flags["preDNAT"], nil
}

// calicoPolicyName returns the policy's name as Calico's API shows it. The
// crd.projectcalico.org/v1 objects of default-tier policies were stored as
// "default.<name>" (and Calico 3.29-3.30 kept the real name in an
// annotation); libcalico-go reads them back without the prefix.
func calicoPolicyName(obj map[string]any, group, tierName string) (string, error) {
	name := nameOf(obj)
	if name == "" {
		return "", fmt.Errorf("metadata.name is missing")
	}
	if group != "crd.projectcalico.org" {
		return name, nil
	}
	meta, _ := obj["metadata"].(map[string]any)
	annotations, err := stringMapAt(meta, "annotations")
	if err != nil {
		return "", fmt.Errorf("metadata.%w", err)
	}
	if a := annotations[calicoMetadataAnnotation]; a != "" {
		var m struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal([]byte(a), &m); err != nil {
			return "", fmt.Errorf("metadata.annotations[%s]: %w", calicoMetadataAnnotation, err)
		}
		if m.Name != "" {
			return m.Name, nil
		}
	}
	if tierName == defaultTier.name {
		return strings.TrimPrefix(name, "default."), nil
	}
	return name, nil
}

// calicoTier resolves a policy's tier. default, kube-admin and kube-baseline
// always exist with fixed orders and default actions (Calico's CRD rules
// refuse any other), so they are the model's own tiers. Any other tier needs
// its Tier object: Calico's API server refuses a policy in a tier that does
// not exist, and Felix, given one anyway through the CRDs, enforces it after
// every tier that exists. A snapshot without the Tier most likely just did
// not read it, and the tier's order decides which policies win, so guessing
// would be a silent wrong answer: it is an error.
func calicoTier(name string, pc *parseContext) (tier, error) {
	switch name {
	case defaultTier.name:
		return defaultTier, nil
	case adminTier.name:
		return adminTier, nil
	case baselineTier.name:
		return baselineTier, nil
	}
	if t, ok := pc.tiers[name]; ok {
		return t, nil
	}
	return tier{}, fmt.Errorf("tier %q has no Tier object, so its order is unknown (Calico refuses policies in a tier that does not exist)", name)
}

// calicoTypes reads spec.types, or defaults it as Calico documents: Ingress
// unless the policy has egress rules only; Egress when it has egress rules.
func calicoTypes(spec map[string]any, hasIngress, hasEgress bool) (ingress, egress bool, err error) {
	types, err := sliceAt(spec, "types")
	if err != nil {
		return false, false, err
	}
	if len(types) == 0 {
		return hasIngress || !hasEgress, hasEgress, nil
	}
	if len(types) > 2 {
		return false, false, fmt.Errorf("types: at most 2 items, got %d", len(types))
	}
	for i, t := range types {
		var seen *bool
		switch t {
		case "Ingress":
			seen = &ingress
		case "Egress":
			seen = &egress
		default:
			return false, false, fmt.Errorf("types[%d]: %v is not Ingress or Egress", i, t)
		}
		if *seen {
			return false, false, fmt.Errorf("types[%d]: %v is given twice", i, t)
		}
		*seen = true
	}
	return ingress, egress, nil
}

// calicoRules reads the subject and rules of one policy.
type calicoRules struct {
	// namespace is the policy's, empty for a GlobalNetworkPolicy.
	namespace string
	pc        *parseContext
}

// calicoSelector parses the selector at m[key]; absent or empty is nil.
// global() is valid only in a rule's namespaceSelector.
func calicoSelector(m map[string]any, key string, globalOK bool) (*calicosel.Selector, error) {
	s, err := stringAt(m, key)
	if err != nil || s == "" {
		return nil, err
	}
	sel, err := calicosel.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %q: %w", key, s, err)
	}
	if sel.HasGlobal() && (!globalOK || !sel.IsGlobal()) {
		if globalOK {
			return nil, fmt.Errorf("%s: %q: global() must be the whole namespaceSelector", key, s)
		}
		return nil, fmt.Errorf("%s: %q: global() can only be used in a rule's namespaceSelector", key, s)
	}
	return &sel, nil
}

// asMatcher returns s as a matcher, nil when it is absent or matches all.
func asMatcher(s *calicosel.Selector) matcher {
	if s == nil || s.All() {
		return nil
	}
	return *s
}

// subject reads the workloads a policy applies to: its selector within its
// namespace, or for a GlobalNetworkPolicy within the namespaces its
// namespaceSelector picks, and with the service accounts its
// serviceAccountSelector picks.
func (b *calicoRules) subject(spec map[string]any, global bool) (selection, error) {
	sel, err := calicoSelector(spec, "selector", false)
	if err != nil {
		return selection{}, fmt.Errorf("spec.%w", err)
	}
	sa, err := calicoSelector(spec, "serviceAccountSelector", false)
	if err != nil {
		return selection{}, fmt.Errorf("spec.%w", err)
	}
	s := selection{namespace: b.namespace, pods: asMatcher(sel), serviceAccounts: asMatcher(sa), calico: true}
	if global {
		ns, err := calicoSelector(spec, "namespaceSelector", false)
		if err != nil {
			return selection{}, fmt.Errorf("spec.%w", err)
		}
		s.namespaces = asMatcher(ns)
	}
	return s, nil
}

// calicoEntity is a rule's source or destination.
type calicoEntity struct {
	nets, notNets                []netip.Prefix
	selector, notSelector, nsSel *calicosel.Selector
	saNames                      []string
	saSelector                   *calicosel.Selector
	hasSA                        bool
	ports, notPorts              []calicoPort
	service                      string
}

// calicoPort is one ports entry: a range, or a name when name is set.
type calicoPort struct {
	name   string
	lo, hi int32
}

// selects reports whether the entity says which endpoints it matches, by
// anything but nets.
func (e *calicoEntity) selects() bool {
	return e.selector != nil || e.nsSel != nil || e.hasSA
}

// parseEntity reads a source or destination.
func parseEntity(v any) (*calicoEntity, error) {
	m, ok := v.(map[string]any)
	if v == nil {
		m, ok = map[string]any{}, true
	}
	if !ok {
		return nil, fmt.Errorf("want an object, got %T", v)
	}
	if err := unknownFields(m, calicoEntityRuleFields); err != nil {
		return nil, err
	}
	e := &calicoEntity{}
	var err error
	if e.nets, err = calicoNets(m, "nets"); err != nil {
		return nil, err
	}
	if e.notNets, err = calicoNets(m, "notNets"); err != nil {
		return nil, err
	}
	for _, n := range e.notNets {
		if n.Bits() == 0 {
			return nil, fmt.Errorf("notNets: %s matches every address, so the rule could match nothing", n)
		}
	}
	if e.selector, err = calicoSelector(m, "selector", false); err != nil {
		return nil, err
	}
	if e.notSelector, err = calicoSelector(m, "notSelector", false); err != nil {
		return nil, err
	}
	if e.nsSel, err = calicoSelector(m, "namespaceSelector", true); err != nil {
		return nil, err
	}
	if sa, ok := m["serviceAccounts"]; ok && sa != nil {
		sam, ok := sa.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("serviceAccounts: want an object, got %T", sa)
		}
		if err := unknownFields(sam, []string{"names", "selector"}); err != nil {
			return nil, fmt.Errorf("serviceAccounts: %w", err)
		}
		names, err := sliceAt(sam, "names")
		if err != nil {
			return nil, fmt.Errorf("serviceAccounts.%w", err)
		}
		for i, n := range names {
			s, ok := n.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("serviceAccounts.names[%d]: want a name, got %v", i, n)
			}
			e.saNames = append(e.saNames, s)
		}
		if e.saSelector, err = calicoSelector(sam, "selector", false); err != nil {
			return nil, fmt.Errorf("serviceAccounts.%w", err)
		}
		// An empty serviceAccounts match adds nothing to the selector
		// libcalico-go builds (parseServiceAccounts).
		e.hasSA = len(e.saNames) > 0 || e.saSelector != nil
	}
	if e.ports, err = calicoPorts(m, "ports"); err != nil {
		return nil, err
	}
	if e.notPorts, err = calicoPorts(m, "notPorts"); err != nil {
		return nil, err
	}
	if svc, ok := m["services"]; ok && svc != nil {
		sm, ok := svc.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("services: want an object, got %T", svc)
		}
		if err := unknownFields(sm, []string{"name", "namespace"}); err != nil {
			return nil, fmt.Errorf("services: %w", err)
		}
		name, err := stringAt(sm, "name")
		if err != nil {
			return nil, fmt.Errorf("services.%w", err)
		}
		ns, err := stringAt(sm, "namespace")
		if err != nil {
			return nil, fmt.Errorf("services.%w", err)
		}
		if name == "" {
			return nil, fmt.Errorf("services: must name a Service")
		}
		switch {
		case e.nsSel != nil:
			return nil, fmt.Errorf("services: cannot be combined with namespaceSelector")
		case e.hasSA || m["serviceAccounts"] != nil:
			return nil, fmt.Errorf("services: cannot be combined with serviceAccounts")
		case e.selector != nil || e.notSelector != nil:
			return nil, fmt.Errorf("services: cannot be combined with selector or notSelector")
		case e.nets != nil || e.notNets != nil:
			return nil, fmt.Errorf("services: cannot be combined with nets or notNets")
		case e.ports != nil || e.notPorts != nil:
			return nil, fmt.Errorf("services: cannot be combined with ports or notPorts")
		}
		e.service = ns + "/" + name
	}
	return e, nil
}

// calicoNets reads a nets list: CIDRs, or bare addresses as Felix reads
// them (ParseCIDROrIP).
func calicoNets(m map[string]any, key string) ([]netip.Prefix, error) {
	list, err := sliceAt(m, key)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for i, n := range list {
		s, _ := n.(string)
		p, err := parseCalicoNet(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// calicoPorts reads a ports list: numbers, "lo:hi" ranges and port names
// (numorstring.PortFromString).
func calicoPorts(m map[string]any, key string) ([]calicoPort, error) {
	list, err := sliceAt(m, key)
	if err != nil {
		return nil, err
	}
	var out []calicoPort
	for i, v := range list {
		p, err := calicoPortOf(v)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func calicoPortOf(v any) (calicoPort, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	default:
		n, _, err := intAt(map[string]any{"port": v}, "port")
		if err != nil {
			return calicoPort{}, err
		}
		s = strconv.FormatInt(n, 10)
	}
	num := func(t string) (int32, bool) {
		n, err := strconv.ParseUint(t, 10, 16)
		return int32(n), err == nil && t != "" && strings.Trim(t, "0123456789") == ""
	}
	lo, ok := num(s)
	hi := lo
	if !ok {
		a, b, isRange := strings.Cut(s, ":")
		var okA, okB bool
		lo, okA = num(a)
		hi, okB = num(b)
		if !isRange || !okA || !okB {
			if strings.Trim(s, "0123456789:") == "" {
				return calicoPort{}, fmt.Errorf("%q is not a port, a range lo:hi or a port name", s)
			}
			if errs := validation.IsValidPortName(s); len(errs) > 0 {
				return calicoPort{}, fmt.Errorf("port name %q: %s", s, strings.Join(errs, "; "))
			}
			return calicoPort{name: s}, nil
		}
	}
	if lo < 1 || hi < 1 {
		return calicoPort{}, fmt.Errorf("%q: port numbers are 1-65535", s)
	}
	if hi < lo {
		return calicoPort{}, fmt.Errorf("%q: the range ends before it starts", s)
	}
	return calicoPort{lo: lo, hi: hi}, nil
}

// calicoProtocol is a rule's protocol or notProtocol.
type calicoProtocol struct {
	// text is the protocol as Calico names it, or its number.
	text string
	// model is TCP, UDP or SCTP, or empty for a protocol not modelled.
	model string
}

// parseCalicoProtocol reads a protocol: one of Calico's names, or a number
// 1-255 (numorstring.Protocol).
func parseCalicoProtocol(v any) (calicoProtocol, error) {
	s, isString := v.(string)
	if !isString {
		n, _, err := intAt(map[string]any{"protocol": v}, "protocol")
		if err != nil {
			return calicoProtocol{}, err
		}
		s = strconv.FormatInt(n, 10)
	}
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		if n == 0 {
			return calicoProtocol{}, fmt.Errorf("protocol number 0 is invalid")
		}
		byNumber := map[uint64]string{6: "TCP", 17: "UDP", 132: "SCTP"}
		return calicoProtocol{text: s, model: byNumber[n]}, nil
	}
	switch s {
	case "TCP", "UDP", "SCTP":
		return calicoProtocol{text: s, model: s}, nil
	case "ICMP", "ICMPv6", "UDPLite":
		return calicoProtocol{text: s}, nil
	}
	return calicoProtocol{}, fmt.Errorf("%q is not TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255", s)
}

// icmp reports whether p is ICMP or ICMPv6.
func (p *calicoProtocol) icmp() bool {
	return p != nil && (p.text == "ICMP" || p.text == "ICMPv6" || p.text == "1" || p.text == "58")
}

// rule reads one rule. ingress says which side is the peer: the source of
// an ingress rule, the destination of an egress rule.
func (b *calicoRules) rule(item any, ingress bool) (rule, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return rule{}, fmt.Errorf("want an object, got %T", item)
	}
	if err := unknownFields(m, calicoRuleFields); err != nil {
		return rule{}, err
	}
	var r rule
	switch a := m["action"]; a {
	case "Allow":
		r.action = actionAllow
	case "Deny":
		r.action = actionDeny
	case "Pass":
		r.action = actionPass
	case "Log":
		r.action = actionLog
	case nil:
		return rule{}, fmt.Errorf("action is required (Allow, Deny, Pass or Log)")
	default:
		return rule{}, fmt.Errorf("action: %v is not Allow, Deny, Pass or Log", a)
	}
	dirName := map[bool]string{true: "ingress", false: "egress"}[ingress]

	var proto, notProto *calicoProtocol
	for _, f := range []struct {
		key string
		out **calicoProtocol
	}{{"protocol", &proto}, {"notProtocol", &notProto}} {
		if v, ok := m[f.key]; ok && v != nil {
			p, err := parseCalicoProtocol(v)
			if err != nil {
				return rule{}, fmt.Errorf("%s: %w", f.key, err)
			}
			*f.out = &p
		}
	}
	ipVersion, hasIPVersion, err := intAt(m, "ipVersion")
	if err != nil {
		return rule{}, err
	}
	if hasIPVersion && ipVersion != 4 && ipVersion != 6 {
		return rule{}, fmt.Errorf("ipVersion: %d is not 4 or 6", ipVersion)
	}
	for _, p := range []*calicoProtocol{proto, notProto} {
		if p == nil || !hasIPVersion {
			continue
		}
		if (p.text == "ICMP" || p.text == "1") && ipVersion != 4 || (p.text == "ICMPv6" || p.text == "58") && ipVersion != 6 {
			return rule{}, fmt.Errorf("protocol %s does not match ipVersion %d", p.text, ipVersion)
		}
	}
	for _, key := range []string{"icmp", "notICMP"} {
		if err := validICMP(m, key, proto); err != nil {
			return rule{}, err
		}
	}
	if proto != nil && notProto != nil && proto.text == notProto.text {
		// The rule then matches nothing; Calico accepts it, so it is kept.
		proto = &calicoProtocol{text: proto.text}
	}

	src, err := parseEntity(m["source"])
	if err != nil {
		return rule{}, fmt.Errorf("source: %w", err)
	}
	dst, err := parseEntity(m["destination"])
	if err != nil {
		return rule{}, fmt.Errorf("destination: %w", err)
	}
	if err := validNetFamilies(src, dst, ipVersion, hasIPVersion); err != nil {
		return rule{}, err
	}
	remote, local, peerName, localName := src, dst, "source", "destination"
	if !ingress {
		remote, local, peerName, localName = dst, src, "destination", "source"
	}
	if local.service != "" {
		return rule{}, fmt.Errorf("%s.services: not allowed in an %s rule's %s", localName, dirName, localName)
	}
	if strings.HasPrefix(remote.service, "/") {
		// A namespaced policy's Service is in its namespace; a global
		// one must say.
		if b.namespace == "" {
			return rule{}, fmt.Errorf("%s.services: must name the Service's namespace", peerName)
		}
		remote.service = b.namespace + remote.service
	}
	// Ports: without a protocol only named ports are valid; a protocol
	// without ports (ICMP) allows none.
	for _, f := range []struct {
		name  string
		ports []calicoPort
	}{{"source.ports", src.ports}, {"source.notPorts", src.notPorts}, {"destination.ports", dst.ports}, {"destination.notPorts", dst.notPorts}} {
		if len(f.ports) == 0 {
			continue
		}
		if proto == nil && slices.ContainsFunc(f.ports, func(p calicoPort) bool { return p.name == "" }) {
			return rule{}, fmt.Errorf("%s: numeric ports need a protocol (TCP, UDP or SCTP)", f.name)
		}
		if proto != nil && !proto.supportsPorts() {
			return rule{}, fmt.Errorf("%s: protocol %s has no ports", f.name, proto.text)
		}
	}
	if v, ok := m["http"]; ok && v != nil {
		o, err := httpOpaque(v, r.action, proto, ingress)
		if err != nil {
			return rule{}, fmt.Errorf("http: %w", err)
		}
		r.opaque = append(r.opaque, o)
	}

	say := func(what string) string { return "Calico " + r.action.String() + " " + dirName + " " + what }
	opq := func(what string, matchesMore bool) {
		if r.action == actionLog {
			return
		}
		r.opaque = append(r.opaque, opaque{what: say(what), effect: ruleEffect(r.action, matchesMore)})
	}

	// The destination's ports are the model's ports, whichever side the
	// destination is; source ports are not modelled.
	protos := modelProtocols(proto, notProto)
	r.ports, r.notPorts = portSpecs(dst.ports, protos, proto != nil || notProto != nil), portSpecs(dst.notPorts, protos, false)
	if len(src.ports) > 0 || len(src.notPorts) > 0 {
		opq("from source ports "+calicoPortsText(src.ports)+" except "+calicoPortsText(src.notPorts), false)
	}

	var v6Pods bool
	r.peers, r.notPeers, v6Pods = b.peers(remote, ipVersion)
	if v6Pods {
		// The model gives pods IPv4 addresses only; whether they have
		// IPv6 ones too no object says.
		opq("over IPv6 with pods", true)
	}
	if remote.service != "" {
		opq(map[bool]string{true: "from", false: "to"}[ingress]+" Service "+remote.service, true)
	}
	r.local = b.local(local)
	if slices.ContainsFunc(local.nets, func(p netip.Prefix) bool { return p.Bits() == 0 }) {
		// A /0 matches every pod.
	} else if local.nets != nil {
		r.peers = []peer{}
		opq("with the protected pod's address in "+prefixesText(local.nets), true)
	}
	if local.notNets != nil {
		opq("with the protected pod's address not in "+prefixesText(local.notNets), false)
	}
	return r, nil
}

// supportsPorts reports whether a rule of protocol p may name ports.
func (p *calicoProtocol) supportsPorts() bool {
	switch p.text {
	case "TCP", "UDP", "SCTP", "6", "17", "132":
		return true
	}
	return false
}

// ruleEffect says how a rule that really matches more (or less) than the
// model lets it can move what the environment allows.
func ruleEffect(a action, matchesMore bool) effect {
	switch {
	case a == actionAllow && matchesMore, a == actionDeny && !matchesMore:
		return effectAllows
	case a == actionDeny && matchesMore, a == actionAllow && !matchesMore:
		return effectRestricts
	}
	return effectUnknown
}

// validICMP validates icmp or notICMP: they need an ICMP protocol, and a
// code needs a type.
func validICMP(m map[string]any, key string, proto *calicoProtocol) error {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	im, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: want an object, got %T", key, v)
	}
	if err := unknownFields(im, []string{"type", "code"}); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if !proto.icmp() {
		return fmt.Errorf("%s: needs protocol ICMP or ICMPv6", key)
	}
	t, hasType, err := intAt(im, "type")
	if err != nil {
		return fmt.Errorf("%s.%w", key, err)
	}
	c, hasCode, err := intAt(im, "code")
	if err != nil {
		return fmt.Errorf("%s.%w", key, err)
	}
	switch {
	case hasType && (t < 0 || t > 254):
		return fmt.Errorf("%s.type: %d is outside 0-254", key, t)
	case hasCode && (c < 0 || c > 255):
		return fmt.Errorf("%s.code: %d is outside 0-255", key, c)
	case hasCode && !hasType:
		return fmt.Errorf("%s: a code needs a type", key)
	}
	return nil
}

// validNetFamilies applies Calico's rule validation of nets: one address
// family per rule, and the family of ipVersion when it is set.
func validNetFamilies(src, dst *calicoEntity, ipVersion int64, hasIPVersion bool) error {
	var v4, v6 bool
	for _, f := range []struct {
		name string
		nets []netip.Prefix
	}{{"source.nets", src.nets}, {"source.notNets", src.notNets}, {"destination.nets", dst.nets}, {"destination.notNets", dst.notNets}} {
		for _, n := range f.nets {
			is4 := n.Addr().Is4()
			if hasIPVersion && (is4 != (ipVersion == 4)) {
				return fmt.Errorf("%s: %s does not match ipVersion %d", f.name, n, ipVersion)
			}
			v4, v6 = v4 || is4, v6 || !is4
			if v4 && v6 {
				return fmt.Errorf("%s: a rule cannot mix IPv4 and IPv6 nets", f.name)
			}
		}
	}
	return nil
}

// modelProtocols returns the modelled protocols a rule matches.
func modelProtocols(proto, notProto *calicoProtocol) []string {
	out := slices.Clone(protocols)
	if proto != nil {
		out = nil
		if proto.model != "" {
			out = []string{proto.model}
		}
	}
	if notProto != nil && notProto.model != "" {
		out = slices.DeleteFunc(out, func(p string) bool { return p == notProto.model })
	}
	return out
}

// portSpecs turns ports into the model's, one per modelled protocol (a named
// port without a protocol matches that name on any protocol, as Felix's
// named-port IP sets do). No ports is nil (every port) unless restricted
// says the protocols alone restrict the rule.
func portSpecs(ports []calicoPort, protos []string, restricted bool) []portSpec {
	if len(ports) == 0 && !restricted {
		return nil
	}
	out := []portSpec{}
	for _, pr := range protos {
		if len(ports) == 0 {
			out = append(out, portSpec{protocol: pr, lo: 1, hi: 65535})
		}
		for _, p := range ports {
			out = append(out, portSpec{protocol: pr, name: p.name, lo: p.lo, hi: p.hi})
		}
	}
	return out
}

// peers turns the peer side of a rule into the model's peers, as
// libcalico-go's GetEntityRuleSelector and Felix's rule matching read it:
// every field given must match (selector, namespaces and service accounts
// as one selector, nets by address), and notSelector and notNets take
// endpoints out.
// v6Pods reports that the rule matches pods over IPv6 only, which the model
// leaves out (see rule).
func (b *calicoRules) peers(e *calicoEntity, ipVersion int64) (peers, notPeers []peer, v6Pods bool) {
	if e.service != "" {
		return []peer{}, nil, false
	}
	// A namespaced policy limits the selector to its namespace as soon as
	// any selector field is used, notSelector included.
	scoped := e.selects() || b.namespace != "" && e.notSelector != nil
	hasAll := slices.ContainsFunc(e.nets, func(p netip.Prefix) bool { return p.Bits() == 0 })
	family := func(p netip.Prefix) bool {
		return ipVersion == 0 || p.Addr().Is4() == (ipVersion == 4)
	}
	switch {
	case !scoped && e.nets == nil:
		if ipVersion != 0 {
			peers = []peer{{block: &ipBlock{cidr: familyPrefix(ipVersion)}}}
			if ipVersion == 4 {
				peers = append(peers, peer{workloads: &selection{}})
			}
			v6Pods = ipVersion == 6
		}
	case !scoped:
		peers = []peer{}
		if hasAll && ipVersion != 6 {
			peers = append(peers, peer{workloads: &selection{}})
		}
		v6Pods = hasAll && ipVersion == 6
		for _, n := range e.nets {
			peers = append(peers, peer{block: &ipBlock{cidr: n}})
		}
	default:
		peers = []peer{}
		if w := b.workloads(e); w != nil && (e.nets == nil || hasAll) {
			if ipVersion == 6 {
				v6Pods = true
			} else {
				peers = append(peers, peer{workloads: w})
			}
		}
		for _, set := range b.pc.networkSets {
			if !b.networkSetMatches(e, set) {
				continue
			}
			for _, sn := range set.nets {
				if !family(sn) {
					continue
				}
				if e.nets == nil {
					peers = append(peers, setPeers(sn)...)
					continue
				}
				for _, n := range e.nets {
					if x, ok := intersect(sn, n); ok {
						peers = append(peers, setPeers(x)...)
					}
				}
			}
		}
	}
	for _, n := range e.notNets {
		notPeers = append(notPeers, peer{block: &ipBlock{cidr: n}})
	}
	if e.notSelector != nil {
		// Felix matches notSelector as written, in every namespace.
		notPeers = append(notPeers, peer{workloads: &selection{pods: asMatcher(e.notSelector), calico: true}})
		for _, set := range b.pc.networkSets {
			if e.notSelector.Matches(networkSetLabels(set, b.pc)) {
				for _, sn := range set.nets {
					notPeers = append(notPeers, setPeers(sn)...)
				}
			}
		}
	}
	return peers, notPeers, v6Pods
}

// setPeers returns the peers of one network set net: its addresses, and
// every pod too when it is a /0, since Calico matches nets against any
// address.
func setPeers(n netip.Prefix) []peer {
	out := []peer{{block: &ipBlock{cidr: n}}}
	if n.Bits() == 0 {
		out = append(out, peer{workloads: &selection{}})
	}
	return out
}

// familyPrefix is the whole address space of an IP version.
func familyPrefix(ipVersion int64) netip.Prefix {
	if ipVersion == 6 {
		return netip.MustParsePrefix("::/0")
	}
	return netip.MustParsePrefix("0.0.0.0/0")
}

// intersect returns the smaller of two nested prefixes.
func intersect(a, b netip.Prefix) (netip.Prefix, bool) {
	switch {
	case containsPrefix(a, b):
		return b, true
	case containsPrefix(b, a):
		return a, true
	}
	return netip.Prefix{}, false
}

// workloads returns the workloads an entity's selector fields pick, nil for
// none: within the policy's namespace, or within the namespaces its
// namespaceSelector picks (global() picks only non-namespaced endpoints, so
// no workload).
func (b *calicoRules) workloads(e *calicoEntity) *selection {
	s := &selection{namespace: b.namespace, pods: asMatcher(e.selector), serviceAccounts: asMatcher(e.saSelector), serviceAccountNames: e.saNames, calico: true}
	if e.nsSel != nil {
		if e.nsSel.IsGlobal() {
			return nil
		}
		s.namespace, s.namespaces = "", asMatcher(e.nsSel)
	}
	return s
}

// local returns the local workloads an entity restricts a rule to, or nil
// for all of them. The policy's subject already lies in its namespace.
func (b *calicoRules) local(e *calicoEntity) *selection {
	if !e.selects() && e.notSelector == nil {
		return nil
	}
	s := b.workloads(e)
	if s == nil {
		// global() matches no workload.
		none, _ := calicosel.Parse("!all()")
		return &selection{pods: none, calico: true}
	}
	s.namespace = ""
	if e.notSelector != nil {
		pods := "all()"
		if e.selector != nil {
			pods = e.selector.String()
		}
		combined, err := calicosel.Parse("(" + pods + ") && !(" + e.notSelector.String() + ")")
		if err != nil {
			// Both parsed before; their canonical forms always parse.
			panic(err)
		}
		s.pods = asMatcher(&combined)
	}
	return s
}

// networkSetMatches reports whether an entity's selector fields pick a
// network set, as Felix matches the selector libcalico-go builds against
// the set's labels: a namespaced set carries projectcalico.org/namespace
// and its namespace's labels, a global one only its own labels.
func (b *calicoRules) networkSetMatches(e *calicoEntity, set networkSet) bool {
	switch {
	case e.nsSel != nil && e.nsSel.IsGlobal():
		if set.namespace != "" {
			return false
		}
	case e.nsSel != nil && e.nsSel.All():
		// Calico reads all() as "every namespace".
		if set.namespace == "" {
			return false
		}
	case e.nsSel != nil:
		view := labels.Set{}
		if set.namespace != "" {
			view = withCalicoName(b.pc.namespaceLabels(set.namespace), set.namespace)
		}
		if !e.nsSel.Matches(view) {
			return false
		}
	case b.namespace != "":
		if set.namespace != b.namespace {
			return false
		}
	}
	if e.selector != nil && !e.selector.Matches(networkSetLabels(set, b.pc)) {
		return false
	}
	// A network set has no service account: names never match it, a
	// selector sees no labels.
	if len(e.saNames) > 0 || e.saSelector != nil && !e.saSelector.Matches(labels.Set{}) {
		return false
	}
	return true
}

// networkSetLabels is what a selector sees of a network set
// (networksetprocessor.go).
func networkSetLabels(set networkSet, pc *parseContext) labels.Set {
	if set.namespace == "" {
		return set.labels
	}
	out := labels.Set{}
	for k, v := range withCalicoName(pc.namespaceLabels(set.namespace), set.namespace) {
		out[calicoNamespacePrefix+k] = v
	}
	for k, v := range set.labels {
		out[k] = v
	}
	out[calicoNamespaceLabel] = set.namespace
	return out
}

// httpOpaque validates an http match and describes it. Calico enforces it
// only with its application layer, on Allow rules of ingress: the model
// keeps the rule's addresses and ports, so the real rule can only allow
// less.
func httpOpaque(v any, a action, proto *calicoProtocol, ingress bool) (opaque, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return opaque{}, fmt.Errorf("want an object, got %T", v)
	}
	switch {
	case a != actionAllow:
		return opaque{}, fmt.Errorf("only Allow rules can match HTTP")
	case !ingress:
		return opaque{}, fmt.Errorf("not allowed in egress rules")
	case proto != nil && proto.text != "TCP" && proto.text != "6":
		return opaque{}, fmt.Errorf("needs protocol TCP, not %s", proto.text)
	}
	if err := unknownFields(m, []string{"methods", "paths"}); err != nil {
		return opaque{}, err
	}
	methods, err := sliceAt(m, "methods")
	if err != nil {
		return opaque{}, err
	}
	var ms []string
	for i, x := range methods {
		s, ok := x.(string)
		if !ok {
			return opaque{}, fmt.Errorf("methods[%d]: want a string, got %T", i, x)
		}
		if slices.Contains(ms, s) {
			return opaque{}, fmt.Errorf("methods[%d]: %q is given twice", i, s)
		}
		ms = append(ms, s)
	}
	paths, err := sliceAt(m, "paths")
	if err != nil {
		return opaque{}, err
	}
	var ps []string
	for i, x := range paths {
		pm, ok := x.(map[string]any)
		if !ok {
			return opaque{}, fmt.Errorf("paths[%d]: want an object, got %T", i, x)
		}
		if err := unknownFields(pm, []string{"exact", "prefix"}); err != nil {
			return opaque{}, fmt.Errorf("paths[%d]: %w", i, err)
		}
		exact, _ := pm["exact"].(string)
		prefix, _ := pm["prefix"].(string)
		kind, path := "exact", exact
		switch {
		case exact != "" && prefix != "":
			return opaque{}, fmt.Errorf("paths[%d]: set exact or prefix, not both", i)
		case exact == "" && prefix == "":
			return opaque{}, fmt.Errorf("paths[%d]: set exact or prefix", i)
		case prefix != "":
			kind, path = "prefix", prefix
		}
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "? #") {
			return opaque{}, fmt.Errorf("paths[%d]: %q must start with / and hold no ?, # or space", i, path)
		}
		ps = append(ps, kind+" "+strconv.Quote(path))
	}
	slices.Sort(ms)
	slices.Sort(ps)
	what := "Calico Allow ingress only for HTTP"
	if len(ms) > 0 {
		what += " methods " + strings.Join(ms, ", ")
	}
	if len(ps) > 0 {
		what += " paths " + strings.Join(ps, ", ")
	}
	return opaque{what: what, effect: effectRestricts}, nil
}

// portsText writes ports for opaque conditions, sorted.
func calicoPortsText(ports []calicoPort) string {
	var out []string
	for _, p := range ports {
		switch {
		case p.name != "":
			out = append(out, p.name)
		case p.lo == p.hi:
			out = append(out, strconv.Itoa(int(p.lo)))
		default:
			out = append(out, fmt.Sprintf("%d:%d", p.lo, p.hi))
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(slices.Compact(out), ", ")
}

// prefixesText writes nets for opaque conditions, sorted.
func prefixesText(nets []netip.Prefix) string {
	out := make([]string, len(nets))
	for i, n := range nets {
		out[i] = n.String()
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ", ")
}

// stringAt returns m[key] as a string; absent is "".
func stringAt(m map[string]any, key string) (string, error) {
	switch v := m[key].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%s: want a string, got %T", key, v)
	}
}

// unknownFields reports the first field of m (sorted) not in known: a
// field this reader does not know could change what the object means.
func unknownFields(m map[string]any, known []string) error {
	var unknown []string
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return fmt.Errorf("%s: unknown field, which may change what the policy means", unknown[0])
}
