// Package netpol models network policy semantically, across the APIs
// production clusters use, and compares the connectivity two environments
// allow: Kubernetes NetworkPolicy; SIG Network's ClusterNetworkPolicy
// (Admin and Baseline tiers) and the older AdminNetworkPolicy and
// BaselineAdminNetworkPolicy; Calico's NetworkPolicy and
// GlobalNetworkPolicy with tiers; Cilium's CiliumNetworkPolicy and
// CiliumClusterwideNetworkPolicy. model.go says how their precedence rules
// become one evaluation: tiers of ordered rules with actions.
//
// A line-by-line diff of policies is wrong both ways: it flags a policy
// rewritten to allow exactly the same traffic, and it cannot see that the same
// policy text selects differently labelled pods. So Compare evaluates, for
// every pair of endpoints, which protocols and ports each environment allows,
// and reports only where the allowed sets differ: dev allowing what prod
// denies is drift.SeverityBlock, dev denying what prod allows is
// drift.SeverityWarn.
//
// For NetworkPolicy the model follows the Kubernetes API semantics:
//   - a policy selects pods of its own namespace by spec.podSelector;
//   - policyTypes defaults to Ingress, plus Egress when spec.egress has rules;
//   - a pod is isolated for a direction when some policy selecting it has that
//     policy type, and then only the union of those policies' rules applies;
//   - a connection needs both the source's egress and the destination's
//     ingress to allow it;
//   - named ports resolve against the destination pod's container ports, for
//     ingress and egress alike.
//
// Deliberate simplifications, each on the side that keeps the answer exact for
// what policies can express:
//   - Endpoints are workloads (the pod template of a controller, or a bare
//     Pod) and representative external address ranges; every pod of a workload
//     is assumed to carry the template's labels and ports.
//   - ipBlock peers match only external addresses, never pod IPs. The API
//     documents ipBlock as meant for cluster-external addresses and pod IPs are
//     ephemeral, so a snapshot cannot say which block a pod falls in.
//   - External ranges are the atoms of all ipBlock cidr and except boundaries
//     of both environments plus 0.0.0.0/0, and ::/0 when an environment uses
//     IPv6 (a Service with an IPv6 family, or an IPv6 ipBlock): every block is a union of
//     atoms, so comparing one representative per atom is exact.
//   - Ports are compared per protocol (TCP, UDP, SCTP) over atoms made from
//     every port, range and resolved named-port boundary, so results are exact
//     per port number and adjacent ports are merged in the output.
//   - Host-network pods and node traffic are out of scope.
//
// What no model of the objects can decide (domain-name peers, L7 rules, node
// and host peers, policies of APIs not read here such as Istio's
// AuthorizationPolicy) is compared as normalized text per workload and
// direction: CompareAll reports where it differs as Undecided.
package netpol
