// Package netpol models networking.k8s.io/v1 NetworkPolicy semantically and
// compares the connectivity two environments allow.
//
// A line-by-line diff of policies is wrong both ways: it flags a policy
// rewritten to allow exactly the same traffic, and it cannot see that the same
// policy text selects differently labelled pods. So Compare evaluates, for
// every pair of endpoints, which protocols and ports each environment allows,
// and reports only where the allowed sets differ: dev allowing what prod
// denies is drift.SeverityBlock, dev denying what prod allows is
// drift.SeverityWarn.
//
// The model follows the Kubernetes API semantics:
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
//   - Host-network pods, node traffic and CNI-specific policy CRDs are out of
//     scope here.
package netpol
