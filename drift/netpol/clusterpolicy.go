package netpol

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	cnpv1beta1 "sigs.k8s.io/network-policy-api/apis/v1beta1"
)

// SIG Network's cluster-wide policy API (policy.networking.k8s.io):
// ClusterNetworkPolicy (v1beta1, and v1alpha2 whose schema is the same), and
// the AdminNetworkPolicy and BaselineAdminNetworkPolicy of v1alpha1 it
// replaced. All three read into the same shape: a policy of the Admin tier
// (ordered by priority) or of the Baseline tier, whose rules keep their
// written order, since "a rule that appears at the top ... would take the
// highest precedence" (the types' doc comments). Their tiers pass what no
// rule decided, so they never isolate a pod by themselves.
//
// What the model cannot decide becomes opaque: nodes peers (node IPs are
// addresses the snapshot does not map to atoms) and domainNames peers. A
// networks peer matches the external atoms of its CIDR; a /0 also matches
// every pod, because the API says "cluster-internal traffic will be checked
// against the rule as well" and conformance (CNPAdminTierEgressInlineCIDRPeers)
// denies pod traffic with a 0.0.0.0/0 Deny. A narrower CIDR may hold pod IPs
// too, but the snapshot does not say which, so it matches external
// addresses only.

// policyGroup is the API group of the cluster-wide policy API.
const policyGroup = "policy.networking.k8s.io"

// Limits of the CRD schemas (+kubebuilder:validation:MaxItems).
const (
	cnpMaxItems  = 25  // ClusterNetworkPolicy rules, peers, protocols
	anpMaxItems  = 100 // AdminNetworkPolicy and Baseline rules, peers, ports
	maxNetworks  = 25  // networks and domainNames of one peer, every version
	maxRuleName  = 100
	maxCIDRChars = 43
	maxPriority  = 1000
)

// domainNamePattern is the DomainName type's +kubebuilder:validation:Pattern.
var domainNamePattern = regexp.MustCompile(`^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$`)

// clusterPolicy is a policy of any version of the API, converted to one
// neutral form before it is read into the model, so every version is
// validated and read by the same code.
type clusterPolicy struct {
	api  api
	name string
	tier tier
	// order is the priority (Admin tier, and ClusterNetworkPolicy's
	// Baseline tier); where is how opaque conditions name the tier.
	order float64
	where string
	// maxItems is the schema's limit on rules, peers and ports.
	maxItems        int
	subject         clusterSubject
	ingress, egress []clusterRule
	// baselineNoPass is set for BaselineAdminNetworkPolicy, whose rules
	// may only Allow or Deny.
	baselineNoPass bool
}

// clusterSubject is spec.subject: exactly one field set.
type clusterSubject struct {
	namespaces *metav1.LabelSelector
	pods       *namespacedPod
}

// namespacedPod is a pods subject or peer: pods matching podSelector in
// namespaces matching namespaceSelector.
type namespacedPod struct {
	namespaceSelector, podSelector metav1.LabelSelector
}

// clusterRule is one ingress or egress rule.
type clusterRule struct {
	name   string
	action string
	peers  []clusterPeer
	// ports is nil when the rule does not filter on ports.
	ports []clusterPort
}

// clusterPeer is one from or to entry: exactly one field set.
type clusterPeer struct {
	namespaces  *metav1.LabelSelector
	pods        *namespacedPod
	nodes       *metav1.LabelSelector
	networks    []string
	domainNames []string
	// unknown lists the fields of the peer this version does not know.
	unknown []string
}

// clusterPort is one ports (v1alpha1) or protocols (v1beta1) entry, already
// checked to set exactly one field.
type clusterPort struct {
	// named is a container port name, matched under any protocol.
	named  string
	proto  string
	lo, hi int32
}

// parseClusterNetworkPolicy reads a ClusterNetworkPolicy of v1beta1 or
// v1alpha2 (the same schema; v1beta1 is the storage version).
func parseClusterNetworkPolicy(obj map[string]any, _ *parseContext) ([]*policy, error) {
	if v := apiVersion(obj); v != "v1beta1" && v != "v1alpha2" {
		return nil, fmt.Errorf("apiVersion %s/%s is not supported (want v1beta1 or v1alpha2)", policyGroup, v)
	}
	var in cnpv1beta1.ClusterNetworkPolicy
	unknown, err := decodeStrict(obj, &in)
	if err != nil {
		return nil, err
	}
	cp := &clusterPolicy{api: apiClusterNetworkPolicy, name: in.Name, maxItems: cnpMaxItems, order: float64(in.Spec.Priority)}
	switch in.Spec.Tier {
	case cnpv1beta1.AdminTier:
		cp.tier, cp.where = adminTier, fmt.Sprintf("Admin tier priority %d", in.Spec.Priority)
	case cnpv1beta1.BaselineTier:
		cp.tier, cp.where = baselineTier, fmt.Sprintf("Baseline tier priority %d", in.Spec.Priority)
	case "":
		return nil, fmt.Errorf("spec.tier: required (Admin or Baseline)")
	default:
		return nil, fmt.Errorf("spec.tier: %q is not Admin or Baseline", in.Spec.Tier)
	}
	if err := checkPriority(obj, in.Spec.Priority); err != nil {
		return nil, err
	}
	cp.subject = clusterSubject{namespaces: in.Spec.Subject.Namespaces, pods: cnpPods(in.Spec.Subject.Pods)}
	for i, r := range in.Spec.Ingress {
		path := fmt.Sprintf("spec.ingress[%d]", i)
		cr := clusterRule{name: r.Name, action: string(r.Action)}
		if r.From != nil {
			cr.peers = make([]clusterPeer, len(r.From))
		}
		for j, pe := range r.From {
			cr.peers[j] = clusterPeer{namespaces: pe.Namespaces, pods: cnpPods(pe.Pods), unknown: unknownIn(unknown, fmt.Sprintf("%s.from[%d]", path, j))}
		}
		if cr.ports, err = cnpProtocols(path, r.Protocols); err != nil {
			return nil, err
		}
		cp.ingress = append(cp.ingress, cr)
	}
	for i, r := range in.Spec.Egress {
		path := fmt.Sprintf("spec.egress[%d]", i)
		cr := clusterRule{name: r.Name, action: string(r.Action)}
		if r.To != nil {
			cr.peers = make([]clusterPeer, len(r.To))
		}
		for j, pe := range r.To {
			cr.peers[j] = clusterPeer{
				namespaces: pe.Namespaces, pods: cnpPods(pe.Pods), nodes: pe.Nodes,
				networks: toStrings(pe.Networks), domainNames: toStrings(pe.DomainNames),
				unknown: unknownIn(unknown, fmt.Sprintf("%s.to[%d]", path, j)),
			}
		}
		if cr.ports, err = cnpProtocols(path, r.Protocols); err != nil {
			return nil, err
		}
		cp.egress = append(cp.egress, cr)
	}
	return cp.read(obj, unknown)
}

// parseAdminNetworkPolicy reads a v1alpha1 AdminNetworkPolicy: the Admin
// tier, by priority.
func parseAdminNetworkPolicy(obj map[string]any, _ *parseContext) ([]*policy, error) {
	if v := apiVersion(obj); v != "v1alpha1" {
		return nil, fmt.Errorf("apiVersion %s/%s is not supported (want v1alpha1)", policyGroup, v)
	}
	obj, err := upgradeV1alpha1(obj)
	if err != nil {
		return nil, err
	}
	var in anpv1alpha1.AdminNetworkPolicy
	unknown, err := decodeStrict(obj, &in)
	if err != nil {
		return nil, err
	}
	if err := checkPriority(obj, in.Spec.Priority); err != nil {
		return nil, err
	}
	cp := &clusterPolicy{
		api: apiAdminNetworkPolicy, name: in.Name, maxItems: anpMaxItems,
		tier: adminTier, order: float64(in.Spec.Priority), where: fmt.Sprintf("Admin tier priority %d", in.Spec.Priority),
		subject: anpSubject(in.Spec.Subject),
	}
	for i, r := range in.Spec.Ingress {
		path := fmt.Sprintf("spec.ingress[%d]", i)
		cr := clusterRule{name: r.Name, action: string(r.Action), peers: anpIngressPeers(r.From, unknown, path)}
		if cr.ports, err = anpPorts(path, r.Ports); err != nil {
			return nil, err
		}
		cp.ingress = append(cp.ingress, cr)
	}
	for i, r := range in.Spec.Egress {
		path := fmt.Sprintf("spec.egress[%d]", i)
		cr := clusterRule{name: r.Name, action: string(r.Action)}
		if r.To != nil {
			cr.peers = make([]clusterPeer, len(r.To))
		}
		for j, pe := range r.To {
			cr.peers[j] = clusterPeer{
				namespaces: pe.Namespaces, pods: anpPods(pe.Pods), nodes: pe.Nodes,
				networks: toStrings(pe.Networks), domainNames: toStrings(pe.DomainNames),
				unknown: unknownIn(unknown, fmt.Sprintf("%s.to[%d]", path, j)),
			}
		}
		if cr.ports, err = anpPorts(path, r.Ports); err != nil {
			return nil, err
		}
		cp.egress = append(cp.egress, cr)
	}
	return cp.read(obj, unknown)
}

// parseBaselineAdminNetworkPolicy reads the v1alpha1
// BaselineAdminNetworkPolicy, a singleton named "default" in the Baseline
// tier. It has no priority; it is placed after every ClusterNetworkPolicy of
// that tier (the API defines no order between the two generations).
func parseBaselineAdminNetworkPolicy(obj map[string]any, _ *parseContext) ([]*policy, error) {
	if v := apiVersion(obj); v != "v1alpha1" {
		return nil, fmt.Errorf("apiVersion %s/%s is not supported (want v1alpha1)", policyGroup, v)
	}
	obj, err := upgradeV1alpha1(obj)
	if err != nil {
		return nil, err
	}
	var in anpv1alpha1.BaselineAdminNetworkPolicy
	unknown, err := decodeStrict(obj, &in)
	if err != nil {
		return nil, err
	}
	if in.Name != "" && in.Name != "default" {
		// The CRD's CEL rule: self.metadata.name == 'default'.
		return nil, fmt.Errorf("metadata.name: %q is not allowed; the only BaselineAdminNetworkPolicy is named \"default\"", in.Name)
	}
	cp := &clusterPolicy{
		api: apiBaselineAdminNetworkPolicy, name: in.Name, maxItems: anpMaxItems,
		tier: baselineTier, order: lastOrder, where: "Baseline tier",
		subject: anpSubject(in.Spec.Subject), baselineNoPass: true,
	}
	for i, r := range in.Spec.Ingress {
		path := fmt.Sprintf("spec.ingress[%d]", i)
		cr := clusterRule{name: r.Name, action: string(r.Action), peers: anpIngressPeers(r.From, unknown, path)}
		if cr.ports, err = anpPorts(path, r.Ports); err != nil {
			return nil, err
		}
		cp.ingress = append(cp.ingress, cr)
	}
	for i, r := range in.Spec.Egress {
		path := fmt.Sprintf("spec.egress[%d]", i)
		cr := clusterRule{name: r.Name, action: string(r.Action)}
		if r.To != nil {
			cr.peers = make([]clusterPeer, len(r.To))
		}
		for j, pe := range r.To {
			cr.peers[j] = clusterPeer{
				namespaces: pe.Namespaces, pods: anpPods(pe.Pods), nodes: pe.Nodes,
				networks: toStrings(pe.Networks),
				unknown:  unknownIn(unknown, fmt.Sprintf("%s.to[%d]", path, j)),
			}
		}
		if cr.ports, err = anpPorts(path, r.Ports); err != nil {
			return nil, err
		}
		cp.egress = append(cp.egress, cr)
	}
	return cp.read(obj, unknown)
}

// apiVersion returns the version part of an object's apiVersion.
func apiVersion(obj map[string]any) string {
	av, _ := obj["apiVersion"].(string)
	_, v, _ := strings.Cut(av, "/")
	return v
}

// decodeStrict decodes obj into out and returns the paths of the fields out
// does not know ("spec.egress[0].to[1].futurePeer"). A stored object has
// such fields only when the cluster's CRD is newer than these types; a
// manifest, when it has a typo.
func decodeStrict(obj map[string]any, out any) ([]string, error) {
	err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, out, true)
	if err == nil {
		return nil, nil
	}
	strict, ok := runtime.AsStrictDecodingError(err)
	if !ok {
		// The converter does not say where a value has the wrong type
		// ("unrecognized type: int32"); encoding/json names the field.
		if data, jerr := json.Marshal(obj); jerr == nil {
			if jerr := json.Unmarshal(data, out); jerr != nil {
				return nil, fmt.Errorf("decoding: %w", jerr)
			}
		}
		return nil, fmt.Errorf("decoding: %w", err)
	}
	var paths []string
	for _, e := range strict.Errors() {
		// The converter words each one `unknown field "<path>"`.
		msg := e.Error()
		if _, rest, ok := strings.Cut(msg, `"`); ok {
			msg = strings.TrimSuffix(rest, `"`)
		}
		paths = append(paths, msg)
	}
	return paths, nil
}

// unknownIn returns the unknown fields directly inside the object at path.
func unknownIn(unknown []string, path string) []string {
	var out []string
	for _, u := range unknown {
		if f, ok := strings.CutPrefix(u, path+"."); ok && !strings.ContainsAny(f, ".[") {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// checkPriority checks the required spec.priority against the schema's
// range.
func checkPriority(obj map[string]any, priority int32) error {
	spec, _ := obj["spec"].(map[string]any)
	if spec["priority"] == nil {
		return fmt.Errorf("spec.priority: required (0 to %d)", maxPriority)
	}
	if priority < 0 || priority > maxPriority {
		return fmt.Errorf("spec.priority: %d is outside 0 to %d", priority, maxPriority)
	}
	return nil
}

func cnpPods(p *cnpv1beta1.NamespacedPod) *namespacedPod {
	if p == nil {
		return nil
	}
	return &namespacedPod{namespaceSelector: p.NamespaceSelector, podSelector: p.PodSelector}
}

func anpPods(p *anpv1alpha1.NamespacedPod) *namespacedPod {
	if p == nil {
		return nil
	}
	return &namespacedPod{namespaceSelector: p.NamespaceSelector, podSelector: p.PodSelector}
}

func anpSubject(s anpv1alpha1.AdminNetworkPolicySubject) clusterSubject {
	return clusterSubject{namespaces: s.Namespaces, pods: anpPods(s.Pods)}
}

func anpIngressPeers(from []anpv1alpha1.AdminNetworkPolicyIngressPeer, unknown []string, path string) []clusterPeer {
	if from == nil {
		return nil
	}
	out := make([]clusterPeer, len(from))
	for j, pe := range from {
		out[j] = clusterPeer{namespaces: pe.Namespaces, pods: anpPods(pe.Pods), unknown: unknownIn(unknown, fmt.Sprintf("%s.from[%d]", path, j))}
	}
	return out
}

// toStrings converts a list of a string type (CIDR, DomainName), keeping nil.
func toStrings[S ~string](in []S) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

// cnpProtocols reads v1beta1 protocols: each entry is exactly one of tcp,
// udp, sctp (a destination port number or range) or destinationNamedPort.
func cnpProtocols(path string, in []cnpv1beta1.ClusterNetworkPolicyProtocol) ([]clusterPort, error) {
	if in == nil {
		return nil, nil
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("%s.protocols: must list at least one protocol when set", path)
	}
	if len(in) > cnpMaxItems {
		return nil, fmt.Errorf("%s.protocols: %d entries, at most %d allowed", path, len(in), cnpMaxItems)
	}
	out := make([]clusterPort, 0, len(in))
	for i, p := range in {
		at := fmt.Sprintf("%s.protocols[%d]", path, i)
		var set []string
		var port *cnpv1beta1.Port
		var proto string
		if p.TCP != nil {
			set, port, proto = append(set, "tcp"), p.TCP.DestinationPort, "TCP"
		}
		if p.UDP != nil {
			set, port, proto = append(set, "udp"), p.UDP.DestinationPort, "UDP"
		}
		if p.SCTP != nil {
			set, port, proto = append(set, "sctp"), p.SCTP.DestinationPort, "SCTP"
		}
		if p.DestinationNamedPort != "" {
			set = append(set, "destinationNamedPort")
		}
		if len(set) != 1 {
			return nil, exactlyOne(at, set, "tcp", "udp", "sctp", "destinationNamedPort")
		}
		if p.DestinationNamedPort != "" {
			out = append(out, clusterPort{named: p.DestinationNamedPort})
			continue
		}
		at += "." + set[0] + ".destinationPort"
		switch {
		case port == nil:
			return nil, fmt.Errorf("%s: required", at)
		case port.Number != 0 && port.Range != nil, port.Number == 0 && port.Range == nil:
			return nil, fmt.Errorf("%s: exactly one of number, range must be set", at)
		case port.Range != nil:
			cp, err := portRange(at+".range", proto, port.Range.Start, port.Range.End)
			if err != nil {
				return nil, err
			}
			out = append(out, cp)
		default:
			if err := portNumber(at+".number", port.Number); err != nil {
				return nil, err
			}
			out = append(out, clusterPort{proto: proto, lo: port.Number, hi: port.Number})
		}
	}
	return out, nil
}

// anpPorts reads v1alpha1 ports: each entry is exactly one of portNumber,
// namedPort or portRange; the protocol defaults to TCP.
func anpPorts(path string, in *[]anpv1alpha1.AdminNetworkPolicyPort) ([]clusterPort, error) {
	if in == nil {
		return nil, nil
	}
	if len(*in) == 0 {
		return nil, fmt.Errorf("%s.ports: must list at least one port when set", path)
	}
	if len(*in) > anpMaxItems {
		return nil, fmt.Errorf("%s.ports: %d entries, at most %d allowed", path, len(*in), anpMaxItems)
	}
	out := make([]clusterPort, 0, len(*in))
	for i, p := range *in {
		at := fmt.Sprintf("%s.ports[%d]", path, i)
		var set []string
		if p.PortNumber != nil {
			set = append(set, "portNumber")
		}
		if p.NamedPort != nil {
			set = append(set, "namedPort")
		}
		if p.PortRange != nil {
			set = append(set, "portRange")
		}
		if len(set) != 1 {
			return nil, exactlyOne(at, set, "portNumber", "namedPort", "portRange")
		}
		switch {
		case p.NamedPort != nil:
			if *p.NamedPort == "" {
				return nil, fmt.Errorf("%s.namedPort: empty", at)
			}
			out = append(out, clusterPort{named: *p.NamedPort})
		case p.PortNumber != nil:
			proto, err := anpProtocol(at+".portNumber.protocol", p.PortNumber.Protocol)
			if err != nil {
				return nil, err
			}
			if err := portNumber(at+".portNumber.port", p.PortNumber.Port); err != nil {
				return nil, err
			}
			out = append(out, clusterPort{proto: proto, lo: p.PortNumber.Port, hi: p.PortNumber.Port})
		default:
			proto, err := anpProtocol(at+".portRange.protocol", p.PortRange.Protocol)
			if err != nil {
				return nil, err
			}
			cp, err := portRange(at+".portRange", proto, p.PortRange.Start, p.PortRange.End)
			if err != nil {
				return nil, err
			}
			out = append(out, cp)
		}
	}
	return out, nil
}

// anpProtocol reads a v1alpha1 protocol, which defaults to TCP.
func anpProtocol(path string, p corev1.Protocol) (string, error) {
	if p == "" {
		return "TCP", nil
	}
	if !slices.Contains(protocols, string(p)) {
		return "", fmt.Errorf("%s: %q is not TCP, UDP or SCTP", path, p)
	}
	return string(p), nil
}

func portNumber(path string, n int32) error {
	if n < 1 || n > 65535 {
		return fmt.Errorf("%s: %d is outside 1-65535", path, n)
	}
	return nil
}

// portRange checks a range: both ends in 1-65535 and "the Start value must
// be less than End" (the CRD's CEL rule self.start < self.end).
func portRange(path, proto string, start, end int32) (clusterPort, error) {
	if err := portNumber(path+".start", start); err != nil {
		return clusterPort{}, err
	}
	if err := portNumber(path+".end", end); err != nil {
		return clusterPort{}, err
	}
	if start >= end {
		return clusterPort{}, fmt.Errorf("%s: start %d must be less than end %d", path, start, end)
	}
	return clusterPort{proto: proto, lo: start, hi: end}, nil
}

// exactlyOne words the schema's minProperties/maxProperties 1.
func exactlyOne(path string, set []string, fields ...string) error {
	if len(set) == 0 {
		return fmt.Errorf("%s: exactly one of %s must be set, none is", path, strings.Join(fields, ", "))
	}
	return fmt.Errorf("%s: exactly one of %s must be set, not %s", path, strings.Join(fields, ", "), strings.Join(set, " and "))
}

// read validates the neutral form as the CRD schema does and reads it into
// the model.
func (cp *clusterPolicy) read(obj map[string]any, unknown []string) ([]*policy, error) {
	if cp.name == "" {
		return nil, fmt.Errorf("metadata.name is missing")
	}
	// Unknown fields are an error, except those of a peer that sets no
	// field this version knows: the API says to fail closed on those.
	for _, u := range unknown {
		// A newer implementation's status says nothing about what the
		// policy allows.
		if strings.HasPrefix(u, "status.") {
			continue
		}
		if !cp.inUnknownPeer(u) {
			return nil, fmt.Errorf("%s: unknown field; driftgate reads %s as of sigs.k8s.io/network-policy-api v0.3.0, so a newer CRD or a typo wrote it", u, policyGroup)
		}
	}
	p := &policy{api: cp.api, name: cp.name, tier: cp.tier, order: cp.order}
	sub, err := cp.selection("spec.subject", obj, []any{"spec", "subject"}, cp.subject.namespaces, cp.subject.pods)
	if err != nil {
		return nil, err
	}
	p.subject = *sub
	for _, dir := range []struct {
		name, peers string
		rules       []clusterRule
		out         *[]rule
	}{
		{"ingress", "from", cp.ingress, &p.ingressRules},
		{"egress", "to", cp.egress, &p.egressRules},
	} {
		if len(dir.rules) > cp.maxItems {
			return nil, fmt.Errorf("spec.%s: %d rules, at most %d allowed", dir.name, len(dir.rules), cp.maxItems)
		}
		for i, r := range dir.rules {
			rl, err := cp.rule(obj, dir.name, dir.peers, i, r)
			if err != nil {
				return nil, err
			}
			*dir.out = append(*dir.out, rl)
		}
	}
	// A policy without rules in a direction does not affect it.
	p.ingress, p.egress = len(p.ingressRules) > 0, len(p.egressRules) > 0
	return []*policy{p}, nil
}

// inUnknownPeer reports whether the unknown field path lies in a peer that
// sets no known field.
func (cp *clusterPolicy) inUnknownPeer(path string) bool {
	for _, dir := range []struct {
		name, peers string
		rules       []clusterRule
	}{{"ingress", "from", cp.ingress}, {"egress", "to", cp.egress}} {
		for i, r := range dir.rules {
			for j, pe := range r.peers {
				prefix := fmt.Sprintf("spec.%s[%d].%s[%d].", dir.name, i, dir.peers, j)
				if strings.HasPrefix(path, prefix) && pe.known() == nil {
					return true
				}
			}
		}
	}
	return false
}

// known lists the fields of the peer that are set.
func (pe *clusterPeer) known() []string {
	var set []string
	for _, f := range []struct {
		name string
		on   bool
	}{
		{"namespaces", pe.namespaces != nil},
		{"pods", pe.pods != nil},
		{"nodes", pe.nodes != nil},
		{"networks", pe.networks != nil},
		{"domainNames", pe.domainNames != nil},
	} {
		if f.on {
			set = append(set, f.name)
		}
	}
	return set
}

// selection compiles a namespaces or pods subject or peer. raw locates it
// in obj, to tell an absent required selector from an empty one.
func (cp *clusterPolicy) selection(path string, obj map[string]any, raw []any, namespaces *metav1.LabelSelector, pods *namespacedPod) (*selection, error) {
	var set []string
	if namespaces != nil {
		set = append(set, "namespaces")
	}
	if pods != nil {
		set = append(set, "pods")
	}
	if len(set) != 1 {
		return nil, exactlyOne(path, set, "namespaces", "pods")
	}
	if namespaces != nil {
		sel, err := selector(namespaces)
		if err != nil {
			return nil, fmt.Errorf("%s.namespaces: %w", path, err)
		}
		return &selection{namespaces: sel}, nil
	}
	podsRaw := append(slices.Clone(raw), "pods")
	if rawAt(obj, append(podsRaw, "podSelector")...) == nil {
		return nil, fmt.Errorf("%s.pods.podSelector: required ({} selects every pod)", path)
	}
	// v1alpha1 requires the namespaceSelector too; v1beta1 reads an absent
	// one as every namespace.
	if cp.api != apiClusterNetworkPolicy && rawAt(obj, append(podsRaw, "namespaceSelector")...) == nil {
		return nil, fmt.Errorf("%s.pods.namespaceSelector: required ({} selects every namespace)", path)
	}
	nsSel, err := selector(&pods.namespaceSelector)
	if err != nil {
		return nil, fmt.Errorf("%s.pods.namespaceSelector: %w", path, err)
	}
	podSel, err := selector(&pods.podSelector)
	if err != nil {
		return nil, fmt.Errorf("%s.pods.podSelector: %w", path, err)
	}
	return &selection{namespaces: nsSel, pods: podSel}, nil
}

// rawAt returns the value at path in obj (keys and list indices), or nil.
func rawAt(obj map[string]any, path ...any) any {
	var cur any = obj
	for _, k := range path {
		switch k := k.(type) {
		case string:
			m, _ := cur.(map[string]any)
			cur = m[k]
		case int:
			l, _ := cur.([]any)
			if k >= len(l) {
				return nil
			}
			cur = l[k]
		}
	}
	return cur
}

// rule reads one rule: its action, its peers (opaque where the model cannot
// decide them) and its ports.
func (cp *clusterPolicy) rule(obj map[string]any, dir, peersField string, i int, r clusterRule) (rule, error) {
	path := fmt.Sprintf("spec.%s[%d]", dir, i)
	var out rule
	switch r.action {
	case "Accept":
		if cp.api != apiClusterNetworkPolicy {
			return rule{}, fmt.Errorf("%s.action: %q is not Allow, Deny or Pass (Accept is ClusterNetworkPolicy's word)", path, r.action)
		}
		out.action = actionAllow
	case "Allow":
		if cp.api == apiClusterNetworkPolicy {
			return rule{}, fmt.Errorf("%s.action: %q is not Accept, Deny or Pass (Allow is AdminNetworkPolicy's word)", path, r.action)
		}
		out.action = actionAllow
	case "Deny":
		out.action = actionDeny
	case "Pass":
		if cp.baselineNoPass {
			return rule{}, fmt.Errorf("%s.action: Pass is not allowed in a BaselineAdminNetworkPolicy (want Allow or Deny)", path)
		}
		out.action = actionPass
	case "":
		return rule{}, fmt.Errorf("%s.action: required", path)
	default:
		return rule{}, fmt.Errorf("%s.action: %q is not one of %s", path, r.action, cp.actions())
	}
	if len(r.name) > maxRuleName {
		return rule{}, fmt.Errorf("%s.name: %d characters, at most %d allowed", path, len(r.name), maxRuleName)
	}
	if len(r.peers) == 0 {
		return rule{}, fmt.Errorf("%s.%s: required, with at least one peer", path, peersField)
	}
	if len(r.peers) > cp.maxItems {
		return rule{}, fmt.Errorf("%s.%s: %d peers, at most %d allowed", path, peersField, len(r.peers), cp.maxItems)
	}
	hasNamed := slices.ContainsFunc(r.ports, func(p clusterPort) bool { return p.named != "" })
	for _, p := range r.ports {
		if p.named != "" {
			// A named port matches a container port of that name under
			// whatever protocol the container declares.
			for _, proto := range protocols {
				out.ports = append(out.ports, portSpec{protocol: proto, name: p.named})
			}
			continue
		}
		out.ports = append(out.ports, portSpec{protocol: p.proto, lo: p.lo, hi: p.hi})
	}
	where := fmt.Sprintf("%s %s[%d]", cp.where, dir, i)
	// peers is non-nil: a rule whose peers are all opaque matches no
	// endpoint of the model.
	out.peers = []peer{}
	var failClosed []string
	for j, pe := range r.peers {
		at := fmt.Sprintf("%s.%s[%d]", path, peersField, j)
		set := pe.known()
		if text, ok := relationalPeer(obj, pe.unknown, []any{"spec", dir, i, peersField, j}); ok && len(set) == 0 {
			// An older v1alpha1 sameLabels or notSameLabels peer.
			out.opaque = append(out.opaque, cp.opaque(where, out.action, peersField, "namespaces related to the subject's "+text, r.ports))
			continue
		}
		if len(set) == 0 && len(pe.unknown) > 0 {
			failClosed = append(failClosed, pe.unknown...)
			continue
		}
		if len(set) != 1 {
			return rule{}, exactlyOne(at, set, cp.peerFields(dir)...)
		}
		if hasNamed && set[0] != "namespaces" && set[0] != "pods" {
			// The CRD's CEL rule on egress rules.
			return rule{}, fmt.Errorf("%s: a %s peer cannot be combined with named ports, which only pods have", at, set[0])
		}
		switch set[0] {
		case "namespaces", "pods":
			sel, err := cp.selection(at, obj, []any{"spec", dir, i, peersField, j}, pe.namespaces, pe.pods)
			if err != nil {
				return rule{}, err
			}
			out.peers = append(out.peers, peer{workloads: sel})
		case "nodes":
			sel, err := selector(pe.nodes)
			if err != nil {
				return rule{}, fmt.Errorf("%s.nodes: %w", at, err)
			}
			what := "nodes " + sel.String()
			if sel.Empty() {
				what = "every node"
			}
			out.opaque = append(out.opaque, cp.opaque(where, out.action, peersField, what, r.ports))
		case "networks":
			ps, err := networks(at+".networks", pe.networks)
			if err != nil {
				return rule{}, err
			}
			for _, p := range ps {
				pr := peer{block: &ipBlock{cidr: p}}
				if p.Bits() == 0 {
					// "cluster-internal traffic will be checked against the
					// rule as well": a /0 also matches every pod.
					pr.workloads = &selection{}
				}
				out.peers = append(out.peers, pr)
			}
		case "domainNames":
			names, err := domainNames(at+".domainNames", pe.domainNames)
			if err != nil {
				return rule{}, err
			}
			what := "domain names " + strings.Join(names, ", ")
			if out.action != actionAllow {
				what += " (the API supports domain names in Accept rules only)"
			}
			out.opaque = append(out.opaque, cp.opaque(where, out.action, peersField, what, r.ports))
		}
	}
	if failClosed != nil {
		// "If an implementation sees no fields are set then it can infer
		// that the deployed CRD is of an incompatible version with an
		// unknown field. In that case it should fail closed": an Accept
		// rule matches nothing, a Deny or Pass rule becomes Deny all. A
		// newer implementation may know the field, so the rule stays opaque.
		slices.Sort(failClosed)
		failClosed = slices.Compact(failClosed)
		read := "read as matching nothing"
		if out.action != actionAllow {
			read = "read as Deny all"
			out = rule{action: actionDeny, opaque: out.opaque}
		} else {
			out.peers = []peer{}
		}
		what := fmt.Sprintf("%s: %s %s a peer of fields unknown to driftgate (%s)%s, %s as the API says to fail closed",
			where, cp.actionWord(r.action), peersField, strings.Join(failClosed, ", "), clusterPortsText(r.ports), read)
		out.opaque = append(out.opaque, opaque{what: what, effect: effectAllows})
	}
	return out, nil
}

// actions lists the actions of the policy's API for errors.
func (cp *clusterPolicy) actions() string {
	switch {
	case cp.api == apiClusterNetworkPolicy:
		return "Accept, Deny, Pass"
	case cp.baselineNoPass:
		return "Allow, Deny"
	}
	return "Allow, Deny, Pass"
}

// peerFields lists the peer fields of a direction for errors.
func (cp *clusterPolicy) peerFields(dir string) []string {
	switch {
	case dir == "ingress":
		return []string{"namespaces", "pods"}
	case cp.baselineNoPass:
		return []string{"namespaces", "pods", "nodes", "networks"}
	}
	return []string{"namespaces", "pods", "nodes", "networks", "domainNames"}
}

// actionWord is the model's name for a rule's action, so the opaque texts of
// v1alpha1 (Allow) and v1beta1 (Accept) policies compare equal.
func (cp *clusterPolicy) actionWord(a string) string {
	if a == "Accept" {
		return "Allow"
	}
	return a
}

// opaque words an undecidable peer. The text holds what decides its effect
// and nothing that names the policy: the tier and priority, the rule's
// position (first match wins), the action, the peer and the ports. The
// effect is relative to the model, which matches nothing for the peer: an
// Allow can only allow more, a Deny only less, a Pass either.
func (cp *clusterPolicy) opaque(where string, a action, peersField, what string, ports []clusterPort) opaque {
	eff := map[action]effect{actionAllow: effectAllows, actionDeny: effectRestricts, actionPass: effectUnknown}[a]
	return opaque{what: where + ": " + a.String() + " " + peersField + " " + what + clusterPortsText(ports), effect: eff}
}

// portsText words ports for opaque texts, sorted so that order does not
// matter.
func clusterPortsText(ports []clusterPort) string {
	if ports == nil {
		return " on any port"
	}
	var out []string
	for _, p := range ports {
		switch {
		case p.named != "":
			out = append(out, "port named "+p.named)
		case p.lo == p.hi:
			out = append(out, p.proto+"/"+strconv.Itoa(int(p.lo)))
		default:
			out = append(out, fmt.Sprintf("%s/%d-%d", p.proto, p.lo, p.hi))
		}
	}
	slices.Sort(out)
	return " on " + strings.Join(slices.Compact(out), ", ")
}

// networks reads a networks list: 1 to 25 distinct CIDRs, each written
// masked ("isCIDR(self) && cidr(self) == cidr(self).masked()").
func networks(path string, in []string) ([]netip.Prefix, error) {
	if err := listSize(path, len(in), maxNetworks, "CIDRs"); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := make([]netip.Prefix, 0, len(in))
	for k, s := range in {
		at := fmt.Sprintf("%s[%d]", path, k)
		if len(s) > maxCIDRChars {
			return nil, fmt.Errorf("%s: longer than %d characters", at, maxCIDRChars)
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a CIDR", at, s)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("%s: %q has host bits set (write %s)", at, s, p.Masked())
		}
		if seen[s] {
			return nil, fmt.Errorf("%s: %q is listed twice", at, s)
		}
		seen[s] = true
		out = append(out, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()))
	}
	return out, nil
}

// domainNames reads a domainNames list: 1 to 25 distinct names of the
// DomainName pattern. They are returned lowercased (DNS names are case
// insensitive) and sorted, for comparison.
func domainNames(path string, in []string) ([]string, error) {
	if err := listSize(path, len(in), maxNetworks, "domain names"); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for k, s := range in {
		if !domainNamePattern.MatchString(s) {
			return nil, fmt.Errorf("%s[%d]: %q is not a domain name (a name, or *. followed by one)", path, k, s)
		}
		if seen[s] {
			return nil, fmt.Errorf("%s[%d]: %q is listed twice", path, k, s)
		}
		seen[s] = true
		out = append(out, strings.TrimSuffix(strings.ToLower(s), "."))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// listSize checks a list against the schema's minItems 1 and maxItems.
func listSize(path string, n, limit int, what string) error {
	if n == 0 {
		return fmt.Errorf("%s: must list at least one of its %s when set", path, what)
	}
	if n > limit {
		return fmt.Errorf("%s: %d %s, at most %d allowed", path, n, what, limit)
	}
	return nil
}
