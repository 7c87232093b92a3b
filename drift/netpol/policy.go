package netpol

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	netutils "k8s.io/utils/net"
)

// ipBlock is a CIDR minus its except ranges.
type ipBlock struct {
	cidr   netip.Prefix
	except []netip.Prefix
}

// portSpec is one ports entry: a numeric range lo..hi (1..65535 when no port
// is given) or a named port resolved later against the destination pod.
type portSpec struct {
	protocol string
	name     string
	lo, hi   int32
}

// protocols are the protocols NetworkPolicy can name, in output order.
var protocols = []string{"TCP", "UDP", "SCTP"}

// networkPolicyOrder is the order Calico gives Kubernetes NetworkPolicies in
// its default tier, which places them among Calico policies of that tier.
const networkPolicyOrder = 1000

// parsePolicy reads one networking.k8s.io/v1 NetworkPolicy: allow rules in
// the default tier, isolating the pods it selects for its policy types.
func parsePolicy(obj map[string]any) (*policy, error) {
	var np networkingv1.NetworkPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &np); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	p := &policy{api: apiNetworkPolicy, namespace: np.Namespace, name: np.Name, tier: defaultTier, order: networkPolicyOrder}
	if p.namespace == "" {
		p.namespace = "default"
	}
	if p.name == "" {
		return nil, fmt.Errorf("metadata.name is missing")
	}
	pods, err := selector(&np.Spec.PodSelector)
	if err != nil {
		return nil, fmt.Errorf("spec.podSelector: %w", err)
	}
	p.subject = selection{namespace: p.namespace, pods: pods}
	// The API server defaults policyTypes exactly like this: Ingress always,
	// Egress only when there are egress rules. An empty "egress: []" does not
	// count, which is why "policyTypes: [Egress]" is needed for deny-all egress.
	if len(np.Spec.PolicyTypes) == 0 {
		p.ingress = true
		p.egress = len(np.Spec.Egress) != 0
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			p.ingress = true
		case networkingv1.PolicyTypeEgress:
			p.egress = true
		default:
			return nil, fmt.Errorf("spec.policyTypes: unsupported type %q (want Ingress or Egress)", t)
		}
	}
	// Rules of a direction the policy does not isolate are ignored by
	// Kubernetes, so they are not kept.
	if p.ingress {
		for i, r := range np.Spec.Ingress {
			rl, err := parseRule(p.namespace, r.From, r.Ports)
			if err != nil {
				return nil, fmt.Errorf("spec.ingress[%d]: %w", i, err)
			}
			p.ingressRules = append(p.ingressRules, rl)
		}
	}
	if p.egress {
		for i, r := range np.Spec.Egress {
			rl, err := parseRule(p.namespace, r.To, r.Ports)
			if err != nil {
				return nil, fmt.Errorf("spec.egress[%d]: %w", i, err)
			}
			p.egressRules = append(p.egressRules, rl)
		}
	}
	return p, nil
}

// selector compiles a label selector, keeping nil as "field absent".
func selector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return nil, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return nil, err
	}
	return sel, nil
}

// parseRule reads a rule's peers and ports; every NetworkPolicy rule allows.
func parseRule(namespace string, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) (rule, error) {
	r := rule{action: actionAllow}
	for i, pe := range peers {
		p, err := parsePeer(namespace, pe)
		if err != nil {
			return rule{}, fmt.Errorf("peer %d: %w", i, err)
		}
		r.peers = append(r.peers, p)
	}
	for i, po := range ports {
		p, err := parsePort(po)
		if err != nil {
			return rule{}, fmt.Errorf("ports[%d]: %w", i, err)
		}
		r.ports = append(r.ports, p)
	}
	return r, nil
}

// parsePeer reads one peer of a policy in namespace, rejecting the
// combinations the API rejects. A podSelector alone selects in the policy's
// own namespace; with a namespaceSelector, in the namespaces it selects.
func parsePeer(namespace string, pe networkingv1.NetworkPolicyPeer) (peer, error) {
	pods, err := selector(pe.PodSelector)
	if err != nil {
		return peer{}, fmt.Errorf("podSelector: %w", err)
	}
	namespaces, err := selector(pe.NamespaceSelector)
	if err != nil {
		return peer{}, fmt.Errorf("namespaceSelector: %w", err)
	}
	var p peer
	switch {
	case pe.IPBlock != nil:
		if pods != nil || namespaces != nil {
			return peer{}, fmt.Errorf("ipBlock may not be combined with a selector")
		}
		if p.block, err = parseIPBlock(pe.IPBlock); err != nil {
			return peer{}, fmt.Errorf("ipBlock: %w", err)
		}
	case namespaces != nil:
		p.workloads = &selection{namespaces: namespaces, pods: pods}
	case pods != nil:
		p.workloads = &selection{namespace: namespace, pods: pods}
	default:
		return peer{}, fmt.Errorf("must set podSelector, namespaceSelector or ipBlock")
	}
	return p, nil
}

// parseIPBlock reads a CIDR and its except ranges.
func parseIPBlock(b *networkingv1.IPBlock) (*ipBlock, error) {
	cidr, err := parsePrefix(b.CIDR)
	if err != nil {
		return nil, fmt.Errorf("cidr: %w", err)
	}
	out := &ipBlock{cidr: cidr}
	for i, s := range b.Except {
		ex, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("except[%d]: %w", i, err)
		}
		if !containsPrefix(cidr, ex) || ex.Bits() <= cidr.Bits() {
			return nil, fmt.Errorf("except[%d]: %s is not a strict subset of %s", i, ex, cidr)
		}
		out.except = append(out.except, ex)
	}
	return out, nil
}

// parsePrefix parses a CIDR the way the API server's legacy validation does:
// host bits are masked off and IPv4 octets with leading zeros are accepted.
func parsePrefix(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("missing")
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		_, n, serr := netutils.ParseCIDRSloppy(s)
		if serr != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
		}
		ones, _ := n.Mask.Size()
		addr, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
		}
		p = netip.PrefixFrom(addr.Unmap(), ones)
	}
	return p.Masked(), nil
}

// containsPrefix reports whether inner lies within outer.
func containsPrefix(outer, inner netip.Prefix) bool {
	return outer.Addr().Is4() == inner.Addr().Is4() && outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// parsePort reads one ports entry, validating as the API server does.
func parsePort(po networkingv1.NetworkPolicyPort) (portSpec, error) {
	p := portSpec{protocol: string(corev1.ProtocolTCP), lo: 1, hi: 65535}
	if po.Protocol != nil {
		// The API accepts these exact spellings only.
		p.protocol = string(*po.Protocol)
		if !slices.Contains(protocols, p.protocol) {
			return portSpec{}, fmt.Errorf("protocol %q is not supported (want TCP, UDP or SCTP)", *po.Protocol)
		}
	}
	switch {
	case po.Port == nil:
		if po.EndPort != nil {
			return portSpec{}, fmt.Errorf("endPort needs a numeric port")
		}
	case po.Port.Type == intstr.String:
		if po.EndPort != nil {
			return portSpec{}, fmt.Errorf("endPort needs a numeric port, not %q", po.Port.StrVal)
		}
		if errs := validation.IsValidPortName(po.Port.StrVal); len(errs) > 0 {
			return portSpec{}, fmt.Errorf("port %q: %s", po.Port.StrVal, strings.Join(errs, "; "))
		}
		p.name, p.lo, p.hi = po.Port.StrVal, 0, 0
	default:
		p.lo, p.hi = po.Port.IntVal, po.Port.IntVal
		if po.EndPort != nil {
			p.hi = *po.EndPort
		}
		if p.lo < 1 || p.lo > 65535 || p.hi < 1 || p.hi > 65535 {
			return portSpec{}, fmt.Errorf("port %d-%d is outside 1-65535", p.lo, p.hi)
		}
		if p.hi < p.lo {
			return portSpec{}, fmt.Errorf("endPort %d is below port %d", p.hi, p.lo)
		}
	}
	return p, nil
}
