package netpol

import (
	"cmp"
	"math"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Every policy API is read into the same model: a policy selects workloads
// (its subject), sits in a tier at an order, and holds ordered rules with an
// action each. Evaluation walks the tiers that select a workload in order;
// within a tier the first rule that matches a connection decides it (Allow,
// Deny, or Pass to the next tier); a tier in which some policy selected the
// workload but no rule matched applies its default action; traffic no tier
// decided is allowed. That one procedure is each API's documented semantics:
//
//   - NetworkPolicy: allow rules only, in the default tier, whose default
//     action (Deny once a policy selects the pod) is the isolation rule.
//   - ClusterNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy:
//     the Admin tier before NetworkPolicy and the Baseline tier after it,
//     rules ordered by priority then position, and a default action of Pass,
//     since these policies never isolate by themselves.
//   - Calico: its own tiers by order (the default tier holds Calico policies
//     without a tier, and Kubernetes NetworkPolicies at order 1000, as Calico
//     enforces them), each with a default action (Deny unless the Tier says
//     Pass).
//   - Cilium: deny rules before allow rules in the default tier (deny wins,
//     whatever the order), allow rules unioned with NetworkPolicy's.
//
// Where the tiers of different APIs meet, they follow Calico's placement of
// the Admin tier (order 1000) and the Baseline tier (order 10000000) around
// its default tier (order 1000000).

// api names the policy API a policy was read from.
type api uint8

const (
	apiNetworkPolicy api = iota
	apiClusterNetworkPolicy
	apiAdminNetworkPolicy
	apiBaselineAdminNetworkPolicy
	apiCalicoNetworkPolicy
	apiCalicoGlobalNetworkPolicy
	apiCiliumNetworkPolicy
	apiCiliumClusterwideNetworkPolicy
)

// apiNames prefixes policy ids in findings. NetworkPolicy has none, so the
// findings of clusters without other APIs read as they always have.
var apiNames = map[api]string{
	apiNetworkPolicy:                  "",
	apiClusterNetworkPolicy:           "ClusterNetworkPolicy ",
	apiAdminNetworkPolicy:             "AdminNetworkPolicy ",
	apiBaselineAdminNetworkPolicy:     "BaselineAdminNetworkPolicy ",
	apiCalicoNetworkPolicy:            "Calico NetworkPolicy ",
	apiCalicoGlobalNetworkPolicy:      "Calico GlobalNetworkPolicy ",
	apiCiliumNetworkPolicy:            "CiliumNetworkPolicy ",
	apiCiliumClusterwideNetworkPolicy: "CiliumClusterwideNetworkPolicy ",
}

// action is what a rule does with the traffic it matches.
type action uint8

const (
	// actionAllow lets the traffic through; no later rule or tier is read.
	actionAllow action = iota
	// actionDeny drops the traffic; no later rule or tier is read.
	actionDeny
	// actionPass skips the rest of the tier: the next tier decides.
	actionPass
	// actionLog records the traffic and goes on to the next rule.
	actionLog
)

func (a action) String() string {
	return [...]string{"Allow", "Deny", "Pass", "Log"}[a]
}

// tier is one layer of evaluation. Tiers are evaluated by ascending order,
// then name; equal names mean the same tier in both environments.
type tier struct {
	name  string
	order float64
	// pass is the default action of a tier that selected a workload but
	// decided nothing: Pass, or (false) Deny.
	pass bool
}

// The tiers every cluster has.
var (
	adminTier    = tier{name: "kube-admin", order: 1000, pass: true}
	defaultTier  = tier{name: "default", order: 1_000_000}
	baselineTier = tier{name: "kube-baseline", order: 10_000_000, pass: true}
)

// lastOrder is the order of a policy or tier without one: after all others.
var lastOrder = math.Inf(1)

func compareTier(a, b tier) int {
	return cmp.Or(cmp.Compare(a.order, b.order), strings.Compare(a.name, b.name))
}

// matcher matches a label set: labels.Selector, or a Calico selector.
type matcher interface {
	Matches(labels.Labels) bool
	String() string
}

// selection is a set of workloads: those matching every field set.
type selection struct {
	// namespace, when set, admits only workloads of that namespace.
	namespace string
	// namespaces matches the workload's namespace labels; nil admits any.
	namespaces matcher
	// pods matches the workload's pod labels; nil admits any. With cilium
	// set it sees Cilium's view of a pod's labels instead (see ciliumLabels).
	pods   matcher
	cilium bool
	// calico makes every matcher see Calico's view instead: pods the labels
	// Calico gives a workload endpoint (see calicoLabels), namespaces and
	// serviceAccounts their labels plus projectcalico.org/name.
	calico bool
	// serviceAccounts matches the labels of the pod's ServiceAccount
	// (Calico's serviceAccountSelector); serviceAccountNames lists names.
	serviceAccounts     matcher
	serviceAccountNames []string
}

// key identifies the selection for caches.
func (s *selection) key() string {
	var b strings.Builder
	b.WriteString(s.namespace)
	for _, m := range []matcher{s.namespaces, s.pods, s.serviceAccounts} {
		b.WriteByte(0)
		b.WriteString(selString(m))
	}
	if s.cilium {
		b.WriteString("\x00cilium")
	}
	if s.calico {
		b.WriteString("\x00calico")
	}
	for _, n := range s.serviceAccountNames {
		b.WriteByte(0)
		b.WriteString(n)
	}
	return b.String()
}

// peer is one term of a rule's peers: workloads, external addresses, or
// both. A rule's peers are the union of its terms.
type peer struct {
	// workloads selects workloads; nil selects none.
	workloads *selection
	// block selects the external ranges inside it; nil selects none.
	block *ipBlock
	// world selects every external range.
	world bool
}

// key identifies the peer for caches.
func (p *peer) key() string {
	var b strings.Builder
	if p.workloads != nil {
		b.WriteString("w:")
		b.WriteString(p.workloads.key())
	}
	if p.block != nil {
		b.WriteString("|b:")
		b.WriteString(p.block.cidr.String())
		for _, e := range p.block.except {
			b.WriteByte(',')
			b.WriteString(e.String())
		}
	}
	if p.world {
		b.WriteString("|world")
	}
	return b.String()
}

// rule is one ingress or egress rule: what action it takes on traffic
// from/to peers on ports. A nil peers means every endpoint, a nil ports every
// port, which is how every API reads an absent list.
type rule struct {
	action action
	peers  []peer
	// notPeers and notPorts are taken out of peers and ports (Calico's
	// notSelector, notNets and notPorts).
	notPeers []peer
	ports    []portSpec
	notPorts []portSpec
	// local, when set, restricts the rule to the selected workloads it
	// matches (Calico's destination selector on an ingress rule).
	local *selection
	// opaque holds what the model cannot decide about the rule (domain
	// names, L7 rules); see opaque.
	opaque []opaque
}

// effect says which way an undecidable condition can move what an
// environment allows.
type effect uint8

const (
	// effectUnknown: it can allow or deny.
	effectUnknown effect = iota
	// effectAllows: it can only allow more (an Allow rule to domain names).
	effectAllows
	// effectRestricts: it can only allow less (a Deny rule, an L7 filter).
	effectRestricts
)

// opaque is a condition that cannot be decided from the objects alone,
// normalized to text so two environments can compare it.
type opaque struct {
	// what is the normalized condition, such as `toFQDNs matchName
	// "api.example.com"`.
	what   string
	effect effect
}

// policy is one policy of any API, read into the model: its defaults
// applied, its selectors compiled, its rules in evaluation order.
type policy struct {
	api api
	// namespace is empty for cluster-scoped policies.
	namespace, name string
	tier            tier
	// order places the policy within its tier, ascending; ties by id.
	order float64
	// subject is the workloads the policy applies to.
	subject selection
	// ingress and egress say which directions the policy selects its
	// subject for: where its rules apply and, in a tier that denies by
	// default, where it isolates.
	ingress, egress           bool
	ingressRules, egressRules []rule
	// ingressOpen and egressOpen say the policy's rules apply but it does
	// not isolate its subject in that direction (Cilium's enableDefaultDeny
	// set to false).
	ingressOpen, egressOpen bool
}

// foreign is a policy of an API the model does not read (Istio
// AuthorizationPolicy, Antrea, ...): it is compared only by its normalized
// text, over the workloads it may apply to.
type foreign struct {
	id      string
	subject selection
	// ingress and egress say which directions it may affect.
	ingress, egress bool
	// global says it applies to no workload the model has (a host or node
	// policy): when its text differs, the whole comparison cannot be checked.
	global bool
	what   string
}

// id names the policy as findings do: "namespace/name" for NetworkPolicy,
// the API and the name for the others.
func (p *policy) id() string {
	name := p.name
	if p.namespace != "" {
		name = p.namespace + "/" + p.name
	}
	return apiNames[p.api] + name
}

// comparePolicy orders policies as they are evaluated: by tier, by order
// within it, then by name as Calico's Felix breaks ties (a Kubernetes
// NetworkPolicy under the name Calico gives it, knp.default.NAME), then by
// namespace and API so the order is total. The cluster-wide API leaves ties
// of priority undefined; this order is as good as any there.
func comparePolicy(a, b *policy) int {
	return cmp.Or(compareTier(a.tier, b.tier), cmp.Compare(a.order, b.order),
		strings.Compare(a.sortName(), b.sortName()), strings.Compare(a.namespace, b.namespace), cmp.Compare(a.api, b.api))
}

// sortName is the name ties of order are broken by.
func (p *policy) sortName() string {
	if p.api == apiNetworkPolicy {
		return "knp.default." + p.name
	}
	return p.name
}
