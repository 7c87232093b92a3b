package drift

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// clusterIdentity is what a cluster publishes about itself; n makes the
// values its own.
func clusterIdentity(n string) []string {
	return []string{
		`apiVersion: v1
kind: ConfigMap
metadata: {name: kube-root-ca.crt, namespace: shop, annotations: {kubernetes.io/description: Contains a CA bundle}}
data: {ca.crt: "-----BEGIN CERTIFICATE-----` + n + `"}
`,
		`apiVersion: v1
kind: ConfigMap
metadata: {name: cluster-info, namespace: kube-public}
data: {kubeconfig: "server: https://10.0.0.` + n + `:6443", jws-kubeconfig-abc` + n + `: sig}
`,
		`apiVersion: v1
kind: ConfigMap
metadata: {name: extension-apiserver-authentication, namespace: kube-system}
data:
  client-ca-file: "CA` + n + `"
  requestheader-client-ca-file: "front CA` + n + `"
  requestheader-allowed-names: '["front-proxy-client"]'
`,
		`apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: default, labels: {component: apiserver, provider: kubernetes}}
spec: {clusterIP: 10.96.0.` + n + `, clusterIPs: [10.96.0.` + n + `], ports: [{name: https, port: 443, targetPort: 644` + n + `}]}
`,
		`apiVersion: v1
kind: Endpoints
metadata: {name: kubernetes, namespace: default}
subsets: [{addresses: [{ip: 172.18.0.` + n + `}], ports: [{name: https, port: 644` + n + `}]}]
`,
		`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}
addressType: IPv4
endpoints: [{addresses: [172.18.0.` + n + `]}]
ports: [{name: https, port: 644` + n + `}]
`,
	}
}

func TestClusterIdentityIsNotDrift(t *testing.T) {
	t.Parallel()
	dev := snapshotOf(t, "", clusterIdentity("2")...)
	prod := snapshotOf(t, "", clusterIdentity("3")...)
	assertPairsEqual(t, dev, prod)
	// What is configuration rather than identity stays.
	for _, o := range dev.Objects {
		if o.Name == "extension-apiserver-authentication" {
			want := map[string]any{"client-ca-file": PerCluster, "requestheader-client-ca-file": PerCluster, "requestheader-allowed-names": `["front-proxy-client"]`}
			if diff := cmp.Diff(want, o.Object["data"]); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		}
	}
}

// Only the control plane's own objects are touched: a Service named
// kubernetes in another namespace is the user's.
func TestClusterIdentityOnlyTheControlPlanes(t *testing.T) {
	t.Parallel()
	s := snapshotOf(t, "", `apiVersion: v1
kind: Service
metadata: {name: kubernetes, namespace: shop}
spec: {clusterIP: 10.96.0.9}
`)
	if got := s.Objects[0].Object["spec"].(map[string]any)["clusterIP"]; got != "10.96.0.9" {
		t.Errorf("clusterIP = %v, want kept", got)
	}
}

// assertPairsEqual fails t for every object of dev or prod that is on one
// side only or differs from its twin.
func assertPairsEqual(t *testing.T, dev, prod *Snapshot) {
	t.Helper()
	for _, p := range PairObjects(dev, prod, Mapping{}) {
		if p.Dev == nil || p.Prod == nil {
			t.Errorf("%s is on one side only", p.ID)
			continue
		}
		if diff := cmp.Diff(p.Prod.Object, p.Dev.Object); diff != "" {
			t.Errorf("%s differs (-prod +dev):\n%s", p.ID, diff)
		}
	}
}
