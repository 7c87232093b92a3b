package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures/crds"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// The end-to-end tests of issue 16: network policy as prod enforces it, in
// every policy API the model knows, on the realistic test bed with the
// upstream CRDs of network-policy-api, Calico and Cilium installed (see
// fixtures/crds). The realistic bed is a bed of its own, so the full CRDs
// installed here never meet the cut-down Calico CRD the plain bed's snapshot
// tests install under the same name.

var (
	crdsMu        sync.Mutex
	crdsInstalled = map[*testbed.Bed]bool{}
)

// netpolBed returns the realistic bed with every policy CRD installed on
// both clusters.
func netpolBed(t *testing.T) *testbed.Bed {
	t.Helper()
	bed := testbed.NeedRealistic(t)
	crdsMu.Lock()
	defer crdsMu.Unlock()
	if !crdsInstalled[bed] {
		for _, c := range bed.Clusters() {
			if err := crds.Install(context.Background(), c); err != nil {
				t.Fatal(err)
			}
		}
		crdsInstalled[bed] = true
	}
	return bed
}

// policyKinds are the kinds whose objects the network model judges by the
// traffic they allow, never by their presence or fields.
var policyKinds = map[string]bool{
	"networking.k8s.io/NetworkPolicy":                     true,
	"policy.networking.k8s.io/ClusterNetworkPolicy":       true,
	"policy.networking.k8s.io/AdminNetworkPolicy":         true,
	"policy.networking.k8s.io/BaselineAdminNetworkPolicy": true,
	"crd.projectcalico.org/NetworkPolicy":                 true,
	"crd.projectcalico.org/GlobalNetworkPolicy":           true,
	"cilium.io/CiliumNetworkPolicy":                       true,
	"cilium.io/CiliumClusterwideNetworkPolicy":            true,
}

// netpolWorkloads are the workloads every case plants on both sides, in the
// case's namespace ({ns}) and a second one ({ns2}). {tier} is ledger's tier
// label, which some cases set differently per side.
const netpolWorkloads = `apiVersion: apps/v1
kind: Deployment
metadata: {name: storefront, labels: {app: storefront}}
spec:
  replicas: 1
  selector: {matchLabels: {app: storefront}}
  template:
    metadata: {labels: {app: storefront, tier: frontend}}
    spec:
      containers:
      - name: storefront
        image: registry.example.com/shop/storefront:3.1.0
        ports: [{name: http, containerPort: 8080}]
        resources: {requests: {cpu: 10m, memory: 16Mi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ledger, labels: {app: ledger}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ledger}}
  template:
    metadata: {labels: {app: ledger, tier: {tier}}}
    spec:
      containers:
      - name: ledger
        image: registry.example.com/shop/ledger:1.2.0
        ports: [{name: http, containerPort: 8080}]
        resources: {requests: {cpu: 10m, memory: 16Mi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: psp, namespace: {ns2}, labels: {app: psp}}
spec:
  replicas: 1
  selector: {matchLabels: {app: psp}}
  template:
    metadata: {labels: {app: psp}}
    spec:
      containers:
      - name: psp
        image: registry.example.com/payments/psp-gateway:4.0.2
        ports: [{name: https, containerPort: 8443}]
        resources: {requests: {cpu: 10m, memory: 16Mi}}
`

// netpolCase is one comparison: what both sides, only dev and only prod
// carry, and what driftgate must say.
type netpolCase struct {
	name            string
	both, dev, prod string // manifests; {ns} and {ns2} are the case's namespaces
	// devNSLabels and prodNSLabels are extra labels of {ns} on one side.
	devNSLabels, prodNSLabels map[string]string
	// devTier and prodTier are ledger's tier label; "" is backend.
	devTier, prodTier string

	wantCode int
	// wantSeverity is the severity of the network-policy finding on ledger;
	// "" means no network-policy finding at all.
	wantSeverity drift.Severity
	// wantNames must each appear in what the result says about network
	// policy: the policies as the findings name them.
	wantNames []string
}

// Policy manifests shared by several cases.
const (
	// A Kubernetes NetworkPolicy: ledger takes ingress only from storefront
	// on TCP 8080.
	k8sLedgerIngress = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ledger-ingress}
spec:
  podSelector: {matchLabels: {app: ledger}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: storefront}}}]
    ports: [{protocol: TCP, port: 8080}]
`
	// A Kubernetes NetworkPolicy: ledger may send nothing anywhere.
	k8sLedgerNoEgress = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ledger-no-egress}
spec:
  podSelector: {matchLabels: {app: ledger}}
  policyTypes: [Egress]
`
)

// cnpAdminCases: ClusterNetworkPolicy v1beta1 in the Admin tier.
var cnpAdminCases = []netpolCase{{
	name: "labels-select-differently",
	both: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: pci-egress}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {pci: "true"}}}
  egress:
  - name: no-internet
    action: Deny
    to: [{networks: [0.0.0.0/0]}]
`,
	prodNSLabels: map[string]string{"pci": "true"},
	wantCode:     exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"ClusterNetworkPolicy pci-egress"},
}, {
	name: "equivalent-rewrite",
	dev:  k8sLedgerNoEgress,
	prod: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: ledger-no-egress}
spec:
  tier: Admin
  priority: 10
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: nowhere
    action: Deny
    to:
    - namespaces: {}
    - networks: [0.0.0.0/0, "::/0"]
`,
	wantCode: exitPass,
}, {
	name: "prod-only-default-deny",
	prod: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: default-deny}
spec:
  tier: Admin
  priority: 20
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}}
  ingress:
  - name: from-no-pod
    action: Deny
    from: [{namespaces: {}}]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"ClusterNetworkPolicy default-deny"},
}, {
	name: "dev-only-stricter",
	dev: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: no-partner-net}
spec:
  tier: Admin
  priority: 30
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: partner
    action: Deny
    to: [{networks: [203.0.113.0/24]}]
`,
	wantCode: exitPass, wantSeverity: drift.SeverityWarn,
	wantNames: []string{"ClusterNetworkPolicy no-partner-net"},
}, {
	name: "domain-names-differ",
	both: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: psp-egress}
spec:
  tier: Admin
  priority: 40
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: psp
    action: Accept
    to: [{domainNames: ["{domain}"]}]
  - name: no-internet
    action: Deny
    to: [{networks: [0.0.0.0/0]}]
`,
	wantCode:  exitCouldNoCheck,
	wantNames: []string{"ClusterNetworkPolicy psp-egress"},
}, {
	name: "seed-prod-only-egress-deny",
	prod: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: deny-egress}
spec:
  tier: Admin
  priority: 5
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: partner
    action: Deny
    to: [{networks: [203.0.113.0/24]}]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"ClusterNetworkPolicy deny-egress"},
}}

// cnpBaselineCases: ClusterNetworkPolicy v1beta1 in the Baseline tier, which
// applies only where neither the Admin tier nor a NetworkPolicy decided.
var cnpBaselineCases = []netpolCase{{
	name: "labels-select-differently",
	both: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: pci-baseline}
spec:
  tier: Baseline
  priority: 10
  subject: {namespaces: {matchLabels: {pci: "true"}}}
  egress:
  - name: no-internet
    action: Deny
    to: [{networks: [0.0.0.0/0]}]
`,
	prodNSLabels: map[string]string{"pci": "true"},
	wantCode:     exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"ClusterNetworkPolicy pci-baseline"},
}, {
	name: "equivalent-rewrite",
	dev:  k8sLedgerNoEgress,
	prod: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: ledger-no-egress}
spec:
  tier: Baseline
  priority: 10
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: nowhere
    action: Deny
    to:
    - namespaces: {}
    - networks: [0.0.0.0/0, "::/0"]
`,
	wantCode: exitPass,
}, {
	// A Baseline deny that a NetworkPolicy on both sides overrides gives
	// nothing: the Baseline tier applies only where nothing else decided.
	name: "baseline-under-networkpolicy",
	both: k8sLedgerIngress,
	prod: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: ledger-baseline}
spec:
  tier: Baseline
  priority: 10
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  ingress:
  - name: from-no-pod
    action: Deny
    from: [{namespaces: {}}]
`,
	wantCode: exitPass,
}, {
	name: "prod-only-default-deny",
	prod: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: default-deny}
spec:
  tier: Baseline
  priority: 20
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}}
  egress:
  - name: nowhere
    action: Deny
    to:
    - namespaces: {}
    - networks: [0.0.0.0/0]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"ClusterNetworkPolicy default-deny"},
}, {
	name: "dev-only-stricter",
	dev: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: no-psp}
spec:
  tier: Baseline
  priority: 30
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: psp
    action: Deny
    to: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: "{ns2}"}}}]
`,
	wantCode: exitPass, wantSeverity: drift.SeverityWarn,
	wantNames: []string{"ClusterNetworkPolicy no-psp"},
}, {
	name: "domain-names-differ",
	both: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: psp-egress}
spec:
  tier: Baseline
  priority: 40
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: psp
    action: Accept
    to: [{domainNames: ["{domain}"]}]
  - name: no-internet
    action: Deny
    to: [{networks: [0.0.0.0/0]}]
`,
	wantCode:  exitCouldNoCheck,
	wantNames: []string{"ClusterNetworkPolicy psp-egress"},
}, {
	name: "seed-prod-only-egress-deny",
	prod: `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: deny-egress}
spec:
  tier: Baseline
  priority: 5
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: psp
    action: Deny
    to: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: "{ns2}"}}}]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"ClusterNetworkPolicy deny-egress"},
}}

// anpCases: the older AdminNetworkPolicy v1alpha1 (network-policy-api
// v0.1.1: peers are namespaces and pods, actions Allow, Deny and Pass).
var anpCases = []netpolCase{{
	name: "labels-select-differently",
	both: `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: pci-isolation}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {pci: "true"}}}
  ingress:
  - name: from-no-pod
    action: Deny
    from: [{namespaces: {namespaceSelector: {}}}]
`,
	prodNSLabels: map[string]string{"pci": "true"},
	wantCode:     exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"AdminNetworkPolicy pci-isolation"},
}, {
	// An Admin-tier Pass hands the decision to NetworkPolicy: with the same
	// NetworkPolicy on both sides, a prod-only Pass changes nothing.
	name: "pass-to-networkpolicy",
	both: k8sLedgerIngress,
	prod: `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: delegate}
spec:
  priority: 10
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}}
  ingress:
  - name: to-namespace-owners
    action: Pass
    from: [{namespaces: {namespaceSelector: {}}}]
`,
	wantCode: exitPass,
}, {
	name: "prod-only-default-deny",
	prod: `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: default-deny}
spec:
  priority: 20
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}}
  ingress:
  - name: from-no-pod
    action: Deny
    from: [{namespaces: {namespaceSelector: {}}}]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"AdminNetworkPolicy default-deny"},
}, {
	name: "dev-only-stricter",
	dev: `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: no-psp}
spec:
  priority: 30
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: psp
    action: Deny
    to: [{namespaces: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns2}"}}}}]
`,
	wantCode: exitPass, wantSeverity: drift.SeverityWarn,
	wantNames: []string{"AdminNetworkPolicy no-psp"},
}, {
	name: "seed-prod-only-egress-deny",
	prod: `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: deny-egress}
spec:
  priority: 5
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: psp
    action: Deny
    to: [{namespaces: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns2}"}}}}]
    ports: [{portNumber: {protocol: TCP, port: 8443}}]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"AdminNetworkPolicy deny-egress"},
}}

// banpCases: BaselineAdminNetworkPolicy v1alpha1, a singleton named default.
var banpCases = []netpolCase{{
	name: "labels-select-differently",
	both: `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {pci: "true"}}}
  ingress:
  - name: from-no-pod
    action: Deny
    from: [{namespaces: {namespaceSelector: {}}}]
`,
	prodNSLabels: map[string]string{"pci": "true"},
	wantCode:     exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"BaselineAdminNetworkPolicy default"},
}, {
	// ledger is selected by a NetworkPolicy on both sides, so prod's
	// baseline never applies to it.
	name: "baseline-under-networkpolicy",
	both: k8sLedgerIngress,
	prod: `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  ingress:
  - name: from-no-pod
    action: Deny
    from: [{namespaces: {namespaceSelector: {}}}]
`,
	wantCode: exitPass,
}, {
	name: "prod-only-default-deny",
	prod: `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}}
  ingress:
  - name: from-no-pod
    action: Deny
    from: [{namespaces: {namespaceSelector: {}}}]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"BaselineAdminNetworkPolicy default"},
}, {
	name: "dev-only-stricter",
	dev: `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: psp
    action: Deny
    to: [{namespaces: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns2}"}}}}]
`,
	wantCode: exitPass, wantSeverity: drift.SeverityWarn,
	wantNames: []string{"BaselineAdminNetworkPolicy default"},
}, {
	name: "seed-prod-only-egress-deny",
	prod: `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject:
    pods:
      namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}
      podSelector: {matchLabels: {app: ledger}}
  egress:
  - name: psp
    action: Deny
    to: [{pods: {namespaces: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: "{ns2}"}}}, podSelector: {matchLabels: {app: psp}}}}]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"BaselineAdminNetworkPolicy default"},
}}

// calicoGNPCases: Calico GlobalNetworkPolicy as stored without the Calico
// API server (crd.projectcalico.org/v1).
var calicoGNPCases = []netpolCase{{
	name: "labels-select-differently",
	both: `apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: pci-egress}
spec:
  order: 100
  namespaceSelector: pci == 'true'
  selector: all()
  types: [Egress]
  egress:
  - action: Deny
    destination: {nets: [0.0.0.0/0]}
  - action: Allow
`,
	prodNSLabels: map[string]string{"pci": "true"},
	wantCode:     exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"Calico GlobalNetworkPolicy pci-egress"},
}, {
	// The example: a GlobalNetworkPolicy in prod, a NetworkPolicy
	// in dev, allowing the same traffic.
	name: "equivalent-rewrite",
	dev:  k8sLedgerIngress,
	prod: `apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: ledger-ingress}
spec:
  order: 100
  namespaceSelector: kubernetes.io/metadata.name == '{ns}'
  selector: app == 'ledger'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      namespaceSelector: kubernetes.io/metadata.name == '{ns}'
      selector: app in {'storefront'}
    destination: {ports: [8080]}
`,
	wantCode: exitPass,
}, {
	name: "prod-only-default-deny",
	prod: `apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: default-deny}
spec:
  order: 2000
  namespaceSelector: kubernetes.io/metadata.name == '{ns}'
  selector: all()
  types: [Ingress, Egress]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"Calico GlobalNetworkPolicy default-deny"},
}, {
	name: "dev-only-stricter",
	dev: `apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: no-partner-net}
spec:
  order: 100
  namespaceSelector: kubernetes.io/metadata.name == '{ns}'
  selector: app == 'ledger'
  types: [Egress]
  egress:
  - action: Deny
    destination: {nets: [203.0.113.0/24]}
  - action: Allow
`,
	wantCode: exitPass, wantSeverity: drift.SeverityWarn,
	wantNames: []string{"Calico GlobalNetworkPolicy no-partner-net"},
}, {
	name: "l7-rule-differs",
	both: `apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: ledger-http}
spec:
  order: 100
  namespaceSelector: kubernetes.io/metadata.name == '{ns}'
  selector: app == 'ledger'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    http: {methods: ["{method}"]}
    destination: {ports: [8080]}
`,
	wantCode:  exitCouldNoCheck,
	wantNames: []string{"Calico GlobalNetworkPolicy ledger-http"},
}, {
	name: "seed-prod-only-egress-deny",
	prod: `apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: deny-egress}
spec:
  order: 10
  namespaceSelector: kubernetes.io/metadata.name == '{ns}'
  selector: app == 'ledger'
  types: [Egress]
  egress:
  - action: Deny
    destination: {nets: [203.0.113.0/24]}
  - action: Allow
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"Calico GlobalNetworkPolicy deny-egress"},
}}

// calicoNPCases: Calico's namespaced NetworkPolicy (crd.projectcalico.org/v1).
var calicoNPCases = []netpolCase{{
	name: "labels-select-differently",
	both: `apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: backend-ingress}
spec:
  order: 100
  selector: tier == 'backend'
  types: [Ingress]
  ingress:
  - action: Allow
    source: {selector: app == 'storefront'}
`,
	devTier:  "back-end",
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"Calico NetworkPolicy {ns}/backend-ingress"},
}, {
	name: "equivalent-rewrite",
	dev:  k8sLedgerIngress,
	prod: `apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: ledger-ingress}
spec:
  order: 100
  selector: app == 'ledger' && !has(debug)
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: "app in {'storefront', 'storefront-canary'}"}
    destination: {ports: [8080]}
`,
	wantCode: exitPass,
}, {
	name: "prod-only-default-deny",
	prod: `apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec:
  order: 2000
  selector: all()
  types: [Ingress, Egress]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"Calico NetworkPolicy {ns}/default-deny"},
}, {
	name: "dev-only-stricter",
	dev: `apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: no-partner-net}
spec:
  order: 100
  selector: app == 'ledger'
  types: [Egress]
  egress:
  - action: Deny
    destination: {nets: [203.0.113.0/24]}
  - action: Allow
`,
	wantCode: exitPass, wantSeverity: drift.SeverityWarn,
	wantNames: []string{"Calico NetworkPolicy {ns}/no-partner-net"},
}, {
	name: "l7-rule-differs",
	both: `apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: ledger-http}
spec:
  order: 100
  selector: app == 'ledger'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    http: {methods: ["{method}"]}
    destination: {ports: [8080]}
`,
	wantCode:  exitCouldNoCheck,
	wantNames: []string{"Calico NetworkPolicy {ns}/ledger-http"},
}, {
	name: "seed-prod-only-egress-deny",
	prod: `apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: deny-egress}
spec:
  order: 10
  selector: app == 'ledger'
  types: [Egress]
  egress:
  - action: Deny
    destination: {namespaceSelector: kubernetes.io/metadata.name == '{ns2}'}
  - action: Allow
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"Calico NetworkPolicy {ns}/deny-egress"},
}}

// ciliumCNPCases: CiliumNetworkPolicy (cilium.io/v2).
var ciliumCNPCases = []netpolCase{{
	name: "labels-select-differently",
	both: `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: backend-ingress}
spec:
  endpointSelector: {matchLabels: {tier: backend}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: storefront}}]
`,
	devTier:  "back-end",
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"CiliumNetworkPolicy {ns}/backend-ingress"},
}, {
	name: "equivalent-rewrite",
	dev: `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: ledger-ingress}
spec:
  endpointSelector: {matchLabels: {app: ledger}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: storefront}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
`,
	prod: `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: ledger-ingress}
spec:
  endpointSelector:
    matchExpressions: [{key: app, operator: In, values: [ledger]}]
  ingress:
  - fromEndpoints:
    - matchExpressions: [{key: app, operator: In, values: [storefront]}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
`,
	wantCode: exitPass,
}, {
	name: "prod-only-default-deny",
	prod: `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: default-deny}
spec:
  endpointSelector: {}
  ingress: [{}]
  egress: [{}]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"CiliumNetworkPolicy {ns}/default-deny"},
}, {
	name: "dev-only-stricter",
	dev: `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-partner-net}
spec:
  endpointSelector: {matchLabels: {app: ledger}}
  enableDefaultDeny: {egress: false}
  egressDeny:
  - toCIDR: [203.0.113.0/24]
`,
	wantCode: exitPass, wantSeverity: drift.SeverityWarn,
	wantNames: []string{"CiliumNetworkPolicy {ns}/no-partner-net"},
}, {
	name: "l7-rule-differs",
	both: `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: ledger-http}
spec:
  endpointSelector: {matchLabels: {app: ledger}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: storefront}}]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http: [{method: "{method}", path: "/v1/.*"}]
`,
	wantCode:  exitCouldNoCheck,
	wantNames: []string{"CiliumNetworkPolicy {ns}/ledger-http"},
}, {
	name: "seed-prod-only-egress-deny",
	prod: `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-egress}
spec:
  endpointSelector: {matchLabels: {app: ledger}}
  egressDeny:
  - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": "{ns2}"}}]
  egress:
  - toEntities: [all]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"CiliumNetworkPolicy {ns}/deny-egress"},
}}

// ciliumCCNPCases: CiliumClusterwideNetworkPolicy (cilium.io/v2).
var ciliumCCNPCases = []netpolCase{{
	name: "labels-select-differently",
	both: `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: backend-no-world}
spec:
  endpointSelector:
    matchLabels: {tier: backend, "k8s:io.kubernetes.pod.namespace": "{ns}"}
  enableDefaultDeny: {egress: false}
  egressDeny:
  - toEntities: [world]
`,
	devTier:  "back-end",
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"CiliumClusterwideNetworkPolicy backend-no-world"},
}, {
	// A namespaced policy in dev, a cluster-wide one naming the namespace in prod.
	name: "equivalent-rewrite",
	dev: `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: ledger-ingress}
spec:
  endpointSelector: {matchLabels: {app: ledger}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: storefront}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
`,
	prod: `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: ledger-ingress}
spec:
  endpointSelector:
    matchLabels: {app: ledger, "k8s:io.kubernetes.pod.namespace": "{ns}"}
  ingress:
  - fromEndpoints:
    - matchLabels: {app: storefront, "k8s:io.kubernetes.pod.namespace": "{ns}"}
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
`,
	wantCode: exitPass,
}, {
	name: "prod-only-default-deny",
	prod: `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: default-deny}
spec:
  endpointSelector:
    matchLabels: {"k8s:io.kubernetes.pod.namespace": "{ns}"}
  ingress: [{}]
  egress: [{}]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"CiliumClusterwideNetworkPolicy default-deny"},
}, {
	name: "dev-only-stricter",
	dev: `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: no-partner-net}
spec:
  endpointSelector:
    matchLabels: {app: ledger, "k8s:io.kubernetes.pod.namespace": "{ns}"}
  egressDeny:
  - toCIDRSet: [{cidr: 203.0.113.0/24}]
  egress:
  - toEntities: [all]
`,
	wantCode: exitPass, wantSeverity: drift.SeverityWarn,
	wantNames: []string{"CiliumClusterwideNetworkPolicy no-partner-net"},
}, {
	name: "fqdn-rule-differs",
	both: `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: ledger-fqdn}
spec:
  endpointSelector:
    matchLabels: {app: ledger, "k8s:io.kubernetes.pod.namespace": "{ns}"}
  egress:
  - toFQDNs: [{matchName: "{domain}"}]
    toPorts: [{ports: [{port: "443", protocol: TCP}]}]
`,
	wantCode:  exitCouldNoCheck,
	wantNames: []string{"CiliumClusterwideNetworkPolicy ledger-fqdn"},
}, {
	name: "seed-prod-only-egress-deny",
	prod: `apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: deny-egress}
spec:
  endpointSelector:
    matchLabels: {app: ledger, "k8s:io.kubernetes.pod.namespace": "{ns}"}
  egressDeny:
  - toCIDR: [203.0.113.0/24]
  egress:
  - toEntities: [all]
`,
	wantCode: exitBlocked, wantSeverity: drift.SeverityBlock,
	wantNames: []string{"CiliumClusterwideNetworkPolicy deny-egress"},
}}

// Per-side values of the {domain} and {method} placeholders: a DNS name or
// L7 rule written the same way on both sides except for this value.
var sideValues = map[string]map[string]string{
	"dev":  {"{domain}": "psp.example.com", "{method}": "GET"},
	"prod": {"{domain}": "psp.example.net", "{method}": "POST"},
}

// TestNetworkPolicyAPIs: for each policy API, the same text selecting
// differently because of labels blocks, an equivalent rewrite passes, a
// prod-only default deny blocks, a dev-only stricter policy warns, a DNS-name
// or L7 rule that differs is could-not-check, and the seed incident (a
// prod-only egress deny) blocks.
func TestNetworkPolicyAPIs(t *testing.T) {
	bed := netpolBed(t)
	for _, api := range []struct {
		name  string
		cases []netpolCase
	}{
		{"cnp-admin", cnpAdminCases},
		{"cnp-baseline", cnpBaselineCases},
		{"anp", anpCases},
		{"banp", banpCases},
		{"calico-gnp", calicoGNPCases},
		{"calico-np", calicoNPCases},
		{"cilium-cnp", ciliumCNPCases},
		{"cilium-ccnp", ciliumCCNPCases},
	} {
		t.Run(api.name, func(t *testing.T) {
			// Not parallel: cluster-scoped policies of one case would be
			// in every other case's comparison.
			for _, tc := range api.cases {
				t.Run(tc.name, func(t *testing.T) { runNetpolCase(t, bed, tc) })
			}
		})
	}
}

func runNetpolCase(t *testing.T, bed *testbed.Bed, tc netpolCase) {
	ctx := context.Background()
	ns := bed.Namespace(t, nil)
	ns2 := ns + "-psp"
	for _, c := range bed.Clusters() {
		if err := c.CreateNamespace(ctx, ns2, nil); err != nil {
			t.Fatal(err)
		}
	}
	expand := func(s, side string) string {
		s = strings.ReplaceAll(s, "{ns2}", ns2)
		s = strings.ReplaceAll(s, "{ns}", ns)
		for k, v := range sideValues[side] {
			s = strings.ReplaceAll(s, k, v)
		}
		return s
	}
	for _, side := range []struct {
		c        *testbed.Cluster
		tier     string
		nsLabels map[string]string
		own      string
		name     string // dev or prod, for sideValues
	}{
		{bed.Dev, tc.devTier, tc.devNSLabels, tc.dev, "dev"},
		{bed.Prod, tc.prodTier, tc.prodNSLabels, tc.prod, "prod"},
	} {
		tier := side.tier
		if tier == "" {
			tier = "backend"
		}
		if len(side.nsLabels) > 0 {
			if err := side.c.Edit(ctx, schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "", ns, testbed.ManagerArgoCD,
				func(o *unstructured.Unstructured) error {
					labels := o.GetLabels()
					for k, v := range side.nsLabels {
						labels[k] = v
					}
					o.SetLabels(labels)
					return nil
				}); err != nil {
				t.Fatal(err)
			}
		}
		workloads := strings.ReplaceAll(expand(netpolWorkloads, side.name), "{tier}", tier)
		if err := side.c.Apply(ctx, []byte(workloads), ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{tc.both, side.own} {
			if m == "" {
				continue
			}
			manifest := []byte(expand(m, side.name))
			if err := side.c.Apply(ctx, manifest, ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
				t.Fatal(err)
			}
			// Cluster-scoped policies would stay in every later comparison.
			c := side.c
			t.Cleanup(func() {
				if err := c.Delete(context.Background(), manifest, ns); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			})
		}
	}

	code, res := diffJSON(t, bed, ns, ns2)
	if len(res.Unobserved) > 0 {
		t.Errorf("every policy type should be observed: %+v", res.Unobserved)
	}
	if code != tc.wantCode {
		t.Errorf("exit %d, want %d; verdict %s, unchecked %q, findings:\n%s", code, tc.wantCode, res.Verdict, res.Unchecked, describeFindings(res))
	}
	for _, f := range res.Findings {
		if policyKinds[f.Object.Group+"/"+f.Object.Kind] {
			t.Errorf("policies should be judged by the traffic they allow, not by presence or fields: %s %s %s: %s", f.Rule, f.Kind, f.Object, f.Message)
		}
	}
	var netpol []drift.Finding
	for _, f := range res.Findings {
		if f.Rule == "network-policy" {
			netpol = append(netpol, f)
		}
	}
	names := make([]string, len(tc.wantNames))
	for i, n := range tc.wantNames {
		names[i] = expand(n, "")
	}
	switch {
	case tc.wantCode == exitCouldNoCheck:
		// Could-not-check names the workload and the policies involved,
		// wherever the result puts it.
		if res.Verdict != drift.VerdictCouldNotCheck {
			t.Errorf("verdict %q, want %q", res.Verdict, drift.VerdictCouldNotCheck)
		}
		text := netpolText(netpol) + "\n" + strings.Join(res.Unchecked, "\n")
		for _, want := range append([]string{"ledger"}, names...) {
			if !strings.Contains(text, want) {
				t.Errorf("what the result says about network policy does not name %q:\n%s", want, text)
			}
		}
	case tc.wantSeverity == "":
		if len(netpol) > 0 {
			t.Errorf("equivalent policies should give nothing:\n%s", describeFindings(res))
		}
	default:
		var onLedger []drift.Finding
		for _, f := range netpol {
			if f.Object.Namespace == ns && f.Object.Name == "ledger" {
				onLedger = append(onLedger, f)
			}
		}
		if len(onLedger) == 0 {
			t.Fatalf("no network-policy finding on %s/ledger:\n%s", ns, describeFindings(res))
		}
		for _, f := range onLedger {
			if f.Severity != tc.wantSeverity {
				t.Errorf("severity %s, want %s: %s", f.Severity, tc.wantSeverity, f.Message)
			}
		}
		text := netpolText(onLedger)
		for _, want := range names {
			if !strings.Contains(text, want) {
				t.Errorf("the findings on ledger do not name %q:\n%s", want, text)
			}
		}
	}
}

// netpolText is what findings say, message and fields, for name checks that
// do not depend on the wording around the names.
func netpolText(fs []drift.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s: %s\n", f.Severity, f.Object, f.Message)
		for _, d := range f.Fields {
			fmt.Fprintf(&b, "  %s: dev %v, prod %v\n", d.Path, d.Dev, d.Prod)
		}
	}
	return b.String()
}

func describeFindings(res drift.Result) string {
	var b strings.Builder
	for _, f := range res.Findings {
		fmt.Fprintf(&b, "  %s %s %s %s: %s\n", f.Severity, f.Rule, f.Kind, f.Object, f.Message)
	}
	return b.String()
}

// TestNetworkPolicyCRDsServedAndSnapshotted: the vendored CRDs install on a
// real API server, which accepts one valid object of each kind under their
// schemas and validation rules, and `driftgate snapshot` lists every object
// with no type unobserved.
func TestNetworkPolicyCRDsServedAndSnapshotted(t *testing.T) {
	bed := netpolBed(t)
	ctx := context.Background()
	ns := bed.Namespace(t, nil)
	objects := `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: {ns}-admin}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}}
  ingress:
  - {name: same-ns, action: Accept, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}}]}
  - {name: rest, action: Pass, from: [{namespaces: {}}]}
  egress:
  - name: dns
    action: Accept
    to: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}]
    protocols: [{udp: {destinationPort: {number: 53}}}, {tcp: {destinationPort: {range: {start: 53, end: 54}}}}]
  - {name: psp, action: Accept, to: [{domainNames: ["*.psp.example.com"]}]}
  - {name: nodes, action: Deny, to: [{nodes: {matchLabels: {kubernetes.io/os: linux}}}]}
  - {name: partner, action: Deny, to: [{networks: [203.0.113.0/24, "2001:db8::/32"]}]}
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: {ns}-baseline}
spec:
  tier: Baseline
  priority: 10
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: ledger}}}}
  ingress:
  - {name: deny, action: Deny, from: [{pods: {namespaceSelector: {}, podSelector: {}}}], protocols: [{destinationNamedPort: http}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: {ns}-anp}
spec:
  priority: 20
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: ledger}}}}
  ingress:
  - name: storefront
    action: Allow
    from: [{pods: {namespaces: {sameLabels: [tenant]}, podSelector: {matchLabels: {app: storefront}}}}]
    ports: [{portNumber: {protocol: TCP, port: 8080}}, {namedPort: http}, {portRange: {protocol: UDP, start: 5000, end: 5100}}]
  egress:
  - {name: pass, action: Pass, to: [{namespaces: {namespaceSelector: {}}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}}
  ingress:
  - {name: deny, action: Deny, from: [{namespaces: {namespaceSelector: {}}}]}
---
apiVersion: crd.projectcalico.org/v1
kind: Tier
metadata: {name: {ns}}
spec: {order: 100}
---
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: {ns}.isolate}
spec:
  tier: "{ns}"
  order: 10
  namespaceSelector: kubernetes.io/metadata.name == '{ns}'
  selector: has(app) && app not in {'debug'}
  serviceAccountSelector: "!has(privileged)"
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: app == 'storefront', namespaceSelector: all()}
    destination: {ports: [8080, "9000:9100", http]}
  - action: Pass
  egress:
  - action: Deny
    destination: {nets: [203.0.113.0/24], notNets: [203.0.113.8/29]}
  - action: Log
  - action: Allow
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: allow-web}
spec:
  order: 100
  selector: app == 'ledger'
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: "app == 'storefront' || role in {'web', 'api'}"}
    http: {methods: [GET], paths: [{prefix: /v1/}]}
    destination: {ports: [8080]}
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkSet
metadata: {name: partners, labels: {role: partner}}
spec: {nets: [198.51.100.0/24]}
---
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkSet
metadata: {name: {ns}-blocked, labels: {role: blocked}}
spec: {nets: [192.0.2.0/24, "2001:db8:1::/48"]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: ledger}
spec:
  endpointSelector: {matchLabels: {app: ledger}}
  enableDefaultDeny: {ingress: true, egress: false}
  ingress:
  - fromEndpoints: [{matchLabels: {app: storefront}}]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules: {http: [{method: GET, path: "/v1/.*"}]}
  - fromEntities: [cluster, host]
  egress:
  - toFQDNs: [{matchName: psp.example.com}, {matchPattern: "*.psp.example.com"}]
  - toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.96.0.0/12]}]
  - toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": kube-system, k8s-app: kube-dns}}]
    toPorts:
    - ports: [{port: "53", protocol: ANY}]
      rules: {dns: [{matchPattern: "*"}]}
  egressDeny:
  - toCIDR: [203.0.113.0/24]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: {ns}-nodes}
spec:
  nodeSelector: {matchLabels: {kubernetes.io/os: linux}}
  ingressDeny:
  - fromEntities: [world]
    toPorts: [{ports: [{port: "22", protocol: TCP}]}]
  ingress:
  - fromEntities: [cluster, kube-apiserver]
`
	manifest := []byte(strings.ReplaceAll(objects, "{ns}", ns))
	if err := bed.Dev.Apply(ctx, manifest, ns, testbed.ManagerArgoCD, testbed.Create); err != nil {
		t.Fatalf("the API server should accept every object under the upstream CRDs: %v", err)
	}
	t.Cleanup(func() {
		if err := bed.Dev.Delete(context.Background(), manifest, ns); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})

	// The schemas are upstream's, not open ones: what they forbid is refused.
	for _, bad := range []struct{ name, manifest string }{
		{"ClusterNetworkPolicy tier outside Admin and Baseline", `apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: bad-tier}
spec: {tier: Developer, priority: 1, subject: {namespaces: {}}}
`},
		{"BaselineAdminNetworkPolicy not named default", `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: second}
spec: {subject: {namespaces: {}}}
`},
		{"Calico rule action Reject", `apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {name: bad-action}
spec: {selector: all(), ingress: [{action: Reject}]}
`},
		{"Cilium policy with both endpointSelector and nodeSelector", `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: bad-selectors}
spec: {endpointSelector: {}, nodeSelector: {}, ingress: [{}]}
`},
	} {
		err := bed.Dev.Apply(ctx, []byte(bad.manifest), ns, testbed.ManagerArgoCD, testbed.Create)
		if !apierrors.IsInvalid(err) {
			t.Errorf("%s: want the API server to refuse it as invalid, got %v", bad.name, err)
		}
	}

	out := filepath.Join(t.TempDir(), "dev.json")
	if r := runCLI(t, "snapshot", "--kubeconfig", bed.Kubeconfig, "--context", "dev", "-n", ns, "-o", out); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	s := loadSnapshot(t, out)
	for _, u := range s.Unobserved {
		t.Errorf("unobserved: %+v", u)
	}
	objs, err := testbed.DecodeYAML(manifest)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		m, err := bed.Dev.Mapping(ctx, o.GroupVersionKind())
		if err != nil {
			t.Fatal(err)
		}
		id := drift.ObjectID{Group: m.GroupVersionKind.Group, Kind: m.GroupVersionKind.Kind, Name: o.GetName()}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			id.Namespace = ns // Apply put every namespaced object there
		}
		if s.Find(id) == nil {
			t.Errorf("snapshot lacks %s", id)
		}
	}
	for _, name := range crds.All() {
		id := drift.ObjectID{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: name}
		if s.Find(id) == nil {
			t.Errorf("snapshot lacks %s", id)
		}
	}
}
