package compare

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/render"
)

const (
	shopChart  = "../../fixtures/render/chart/shop"
	shopValues = "../../fixtures/render/chart"
)

// TestLoadHelmRedactsSecrets: a Secret a chart renders from its values
// goes through normalization like any manifest: its key stays, its value
// is kept only as a digest.
func TestLoadHelmRedactsSecrets(t *testing.T) {
	t.Parallel()
	env := Environment{Name: "dev", Source: "helm:" + shopChart, Helm: render.Helm{Values: []string{filepath.Join(shopValues, "values-dev.yaml")}}}
	for _, key := range [][]byte{nil, []byte("a digest key")} {
		s, loc, err := Load(context.Background(), env, Options{DigestKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if loc != "helm:"+shopChart {
			t.Errorf("location %q", loc)
		}
		var secret *drift.Object
		for i, o := range s.Objects {
			if o.Kind == "Secret" && o.Name == "payments" {
				secret = &s.Objects[i]
			}
		}
		if secret == nil {
			t.Fatalf("no Secret rendered: %d objects", len(s.Objects))
		}
		js, err := json.Marshal(secret)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(js), "dev-key-7f3a9c") {
			t.Errorf("the Secret's value is in the snapshot: %s", js)
		}
		if !strings.Contains(string(js), "PAYMENTS_API_KEY") {
			t.Errorf("the Secret's key is gone: %s", js)
		}
	}
}

// TestRunHelmCapabilitiesFromOtherSide: a chart compared with a snapshot
// of a cluster is rendered for that cluster's version, loaded first even
// when the chart is dev.
func TestRunHelmCapabilitiesFromOtherSide(t *testing.T) {
	t.Parallel()
	helmEnv := Environment{Name: "dev", Source: "helm:" + shopChart}
	prod, err := render.HelmManifests(render.Helm{Chart: shopChart}, render.Capabilities{KubeVersion: "v1.33.1"})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := drift.SnapshotFromManifestObjects([]string{"x"}, prod.Manifests, nil, drift.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	snap.Metadata.Source = drift.SourceCluster
	snap.Metadata.ServerVersion = "v1.33.1"
	snap.Resources = append(snap.Resources, drift.ResourceType{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy", Resource: "networkpolicies", Namespaced: true})
	file := filepath.Join(t.TempDir(), "prod.json")
	if err := snap.Save(file); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), helmEnv, Environment{Name: "prod", Source: file}, Options{DefaultsFrom: DefaultsNone})
	if err != nil {
		t.Fatal(err)
	}
	want := "dev: helm:" + shopChart + " rendered for Kubernetes v1.33.1 (.Capabilities.KubeVersion), the server version of the other side (v1.33.1)"
	found := false
	for _, n := range res.Notes {
		found = found || n == want
	}
	if !found {
		t.Errorf("notes %q\nwant %q", res.Notes, want)
	}
	devSnap, _, err := load(context.Background(), helmEnv, Options{}, nil, nil, snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range devSnap.Objects {
		if o.Name == "shop-cluster-info" {
			data := o.Object["data"].(map[string]any)
			if data["kubeVersion"] != "v1.33.1" || data["networkPolicyAPI"] != "true" {
				t.Errorf("capabilities seen by the chart: %v", data)
			}
			return
		}
	}
	t.Errorf("no shop-cluster-info rendered")
}
