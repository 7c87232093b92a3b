package netpol

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBuildWorkloads checks which objects become workloads and what labels
// and ports they carry.
func TestBuildWorkloads(t *testing.T) {
	t.Parallel()
	objs := yamlObjects(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {ignored: "object labels"}}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers: [{name: proxy, ports: [{containerPort: 15001, name: proxy}]}]
      containers: [{name: web, ports: [{containerPort: 8080, name: http}, {containerPort: 53, protocol: UDP}]}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u1, controller: true}]
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web}]}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f-abcde
  namespace: shop
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u2, controller: true}]
spec: {containers: [{name: web}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: kafka-0
  namespace: shop
  labels: {app: kafka}
  ownerReferences: [{apiVersion: core.strimzi.io/v1beta2, kind: StrimziPodSet, name: kafka, uid: u3, controller: true}]
spec: {containers: [{name: kafka, ports: [{containerPort: 9092}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, labels: {run: debug}}
spec: {containers: [{name: sh}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: shop}
spec: {jobTemplate: {spec: {template: {metadata: {labels: {job: backup}}, spec: {containers: [{name: b}]}}}}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: backup-123
  namespace: shop
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: backup, uid: u4, controller: true}]
spec: {template: {metadata: {labels: {job: backup}}, spec: {containers: [{name: b}]}}}
---
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: StatefulSet
  metadata: {name: db, namespace: shop}
  spec: {template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db}]}}}
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: agent, namespace: kube-system}
  spec: {template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: a}]}}}
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: calico-staged, namespace: shop}
spec: {selector: all()}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated, namespace: shop}
`)
	env := mustBuild(t, objs, "")
	want := []Workload{
		{Namespace: "default", Kind: "Pod", Name: "debug", Labels: map[string]string{"run": "debug"}},
		{Namespace: "kube-system", Kind: "DaemonSet", Name: "agent", Labels: map[string]string{"app": "agent"}},
		{Namespace: "shop", Kind: "CronJob", Name: "backup", Labels: map[string]string{"job": "backup"}},
		{Namespace: "shop", Kind: "Deployment", Name: "web", Labels: map[string]string{"app": "web"}, Ports: []ContainerPort{
			{Name: "proxy", Port: 15001, Protocol: "TCP"},
			{Name: "http", Port: 8080, Protocol: "TCP"},
			{Port: 53, Protocol: "UDP"},
		}},
		{Namespace: "shop", Kind: "Pod", Name: "kafka-0", Labels: map[string]string{"app": "kafka"}, Ports: []ContainerPort{{Port: 9092, Protocol: "TCP"}}},
		{Namespace: "shop", Kind: "StatefulSet", Name: "db", Labels: map[string]string{"app": "db"}},
	}
	if diff := cmp.Diff(want, env.Workloads()); diff != "" {
		t.Errorf("Workloads (-want +got):\n%s", diff)
	}
	if len(env.policies) != 0 {
		t.Errorf("kept %d policies, want the staged Calico one ignored (Calico never enforces it)", len(env.policies))
	}
}

// TestBuildNamespaces checks the labels namespace selectors see, including
// the name label the API server adds.
func TestBuildNamespaces(t *testing.T) {
	t.Parallel()
	env := mustBuild(t, []map[string]any{namespace("shop", "team=payments")}, "")
	tests := []struct {
		ns   string
		want map[string]string
	}{
		{"shop", map[string]string{"team": "payments", metadataNameLabel: "shop"}},
		{"unseen", map[string]string{metadataNameLabel: "unseen"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, map[string]string(env.namespaceLabelsOf(tc.ns))); diff != "" {
			t.Errorf("labels of %s (-want +got):\n%s", tc.ns, diff)
		}
	}
}

// TestBuildDNS checks how cluster DNS is found: the workloads the kube-dns
// Service selects, or a stand-in when none of them is in scope.
func TestBuildDNS(t *testing.T) {
	t.Parallel()
	svc := yamlObjects(t, `
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: dns-tcp}`)

	env := mustBuild(t, dnsObjects(), "")
	if diff := cmp.Diff(map[string]bool{"kube-system/Deployment/coredns": true}, env.dns); diff != "" {
		t.Errorf("DNS workloads (-want +got):\n%s", diff)
	}

	env = mustBuild(t, svc, "")
	want := []Workload{{
		Namespace: "kube-system", Kind: "Service", Name: "kube-dns",
		Labels: map[string]string{"k8s-app": "kube-dns"},
		Ports:  []ContainerPort{{Name: "dns", Port: 53, Protocol: "UDP"}, {Name: "dns-tcp", Port: 53, Protocol: "TCP"}},
	}}
	if diff := cmp.Diff(want, env.Workloads()); diff != "" {
		t.Errorf("stand-in (-want +got):\n%s", diff)
	}
	if !env.dns["kube-system/Service/kube-dns"] {
		t.Errorf("stand-in not marked as DNS: %v", env.dns)
	}
}

// TestBuildErrors checks that policies the API server would reject are
// errors naming the policy and the field, never a silent pass.
func TestBuildErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, spec, want string
	}{
		{"unknown protocol", `{podSelector: {}, ingress: [{ports: [{protocol: ICMP}]}]}`, `spec.ingress[0]: ports[0]: protocol "ICMP" is not supported`},
		{"lowercase protocol", `{podSelector: {}, ingress: [{ports: [{protocol: tcp}]}]}`, `protocol "tcp" is not supported`},
		{"endPort below port", `{podSelector: {}, ingress: [{ports: [{port: 80, endPort: 79}]}]}`, "endPort 79 is below port 80"},
		{"endPort with named port", `{podSelector: {}, ingress: [{ports: [{port: http, endPort: 90}]}]}`, `endPort needs a numeric port, not "http"`},
		{"port out of range", `{podSelector: {}, egress: [{ports: [{port: 70000}]}]}`, "port 70000-70000 is outside 1-65535"},
		{"numeric string port", `{podSelector: {}, ingress: [{ports: [{port: "80"}]}]}`, `port "80"`},
		{"ipBlock with selector", `{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}`, "ipBlock may not be combined with a selector"},
		{"empty peer", `{podSelector: {}, ingress: [{from: [{}]}]}`, "must set podSelector, namespaceSelector or ipBlock"},
		{"bad cidr", `{podSelector: {}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}`, `cidr: "10.0.0.0/33" is not a CIDR`},
		{"except outside cidr", `{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]}]}`, "except[0]: 192.168.0.0/16 is not a strict subset of 10.0.0.0/8"},
		{"bad selector operator", `{podSelector: {matchExpressions: [{key: a, operator: Near}]}}`, "spec.podSelector:"},
		{"unknown policy type", `{podSelector: {}, policyTypes: [Sideways]}`, `unsupported type "Sideways"`},
		{"wrong field type", `{podSelector: {}, ingress: {from: []}}`, "decoding:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			objs := yamlObjects(t, policyDoc("shop", "bad", tc.spec))
			_, err := Build(objs)
			if err == nil {
				t.Fatalf("Build accepted %s", tc.spec)
			}
			if !strings.Contains(err.Error(), "networkpolicy shop/bad: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to name shop/bad and contain %q", err, tc.want)
			}
		})
	}
}

// TestBuildWorkloadErrors checks malformed workloads are errors too.
func TestBuildWorkloadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, doc, want string }{
		{"labels not strings", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec: {template: {metadata: {labels: {app: [x]}}}}", "deployment default/w: labels.app: want a string"},
		{"ports not a list", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, ports: 80}]}", "pod default/p: spec.containers[0]: ports: want a list"},
		{"fractional port", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, ports: [{containerPort: 80.5}]}]}", "80.5 is not an integer"},
		{"missing name", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {namespace: shop}\nspec: {}", "metadata.name is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Build(yamlObjects(t, tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestCIDRAtoms checks the partition of the address space.
func TestCIDRAtoms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		prefixes []string
		want     []string
	}{
		{"whole spaces only", []string{"0.0.0.0/0", "::/0"}, []string{"0.0.0.0/0", "::/0"}},
		{
			"nested blocks",
			[]string{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "192.168.0.0/16", "::/0", "fd00::/8"},
			[]string{"0.0.0.0/0 except 10.0.0.0/8, 192.168.0.0/16", "10.0.0.0/8 except 10.1.0.0/16", "10.1.0.0/16", "192.168.0.0/16", "::/0 except fd00::/8", "fd00::/8"},
		},
		{
			"a prefix its halves cover has no atom of its own",
			[]string{"0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/9", "10.128.0.0/9"},
			[]string{"0.0.0.0/0 except 10.0.0.0/8", "10.0.0.0/9", "10.128.0.0/9"},
		},
		{
			"the last block of the space",
			[]string{"0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1"},
			[]string{"0.0.0.0/1", "128.0.0.0/1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set := map[netip.Prefix]bool{}
			for _, p := range tc.prefixes {
				set[netip.MustParsePrefix(p)] = true
			}
			var got []string
			for _, a := range cidrAtoms(set) {
				ep := Endpoint{CIDR: a.prefix.String()}
				for _, ex := range a.except {
					ep.Except = append(ep.Except, ex.String())
				}
				got = append(got, ep.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("atoms (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParsePrefix checks CIDRs are read as the API server reads them.
func TestParsePrefix(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"010.000.0.0/8", "10.0.0.0/8"},
		{"2001:db8::1/32", "2001:db8::/32"},
	}
	for _, tc := range tests {
		got, err := parsePrefix(tc.in)
		if err != nil || got.String() != tc.want {
			t.Errorf("parsePrefix(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// TestPortFormat checks ranges merge and the shorter spelling is chosen.
func TestPortFormat(t *testing.T) {
	t.Parallel()
	ps := newPortSpace(map[string]map[int32]bool{
		"TCP": {53: true, 54: true, 80: true, 81: true, 5000: true, 5011: true},
		"UDP": {53: true, 54: true},
	})
	set := func(specs ...portSpec) bitset {
		b := newBitset(ps.bits)
		for _, s := range specs {
			ps.setRange(b, s.protocol, s.lo, s.hi)
		}
		return b
	}
	all := func(p string) portSpec { return portSpec{protocol: p, lo: 1, hi: 65535} }
	tests := []struct {
		name string
		b    bitset
		want string
	}{
		{"everything", set(all("TCP"), all("UDP"), all("SCTP")), "any"},
		{"one port", set(portSpec{protocol: "TCP", lo: 80, hi: 80}), "TCP/80"},
		{"adjacent atoms merge", set(portSpec{protocol: "TCP", lo: 5000, hi: 5010}, portSpec{protocol: "TCP", lo: 80, hi: 80}), "TCP/80, TCP/5000-5010"},
		{"a whole protocol", set(all("SCTP")), "SCTP/1-65535"},
		{"all but DNS", func() bitset {
			b := set(all("TCP"), all("UDP"), all("SCTP"))
			b.andNot(set(portSpec{protocol: "TCP", lo: 53, hi: 53}, portSpec{protocol: "UDP", lo: 53, hi: 53}))
			return b
		}(), "any except TCP/53, UDP/53"},
	}
	for _, tc := range tests {
		if got := ps.format(tc.b); got != tc.want {
			t.Errorf("%s: format = %q, want %q", tc.name, got, tc.want)
		}
	}
}
