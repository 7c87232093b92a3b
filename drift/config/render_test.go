package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRenderedEnvironments(t *testing.T) {
	t.Setenv("CHARTS", "/srv/charts")
	p := write(t, `apiVersion: driftgate.dev/v1alpha1
kind: Config
environments:
  dev:
    helm:
      chart: ${CHARTS}/shop
      values: [values-dev.yaml, /abs/extra.yaml]
      set: {replicas: 3, image.tag: "2.4.1", enabled: true}
      namespace: shop
      releaseName: shop
  prod: {kustomize: overlays/prod}
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Dir(p)
	dev, prod := c.Environments["dev"], c.Environments["prod"]
	want := &Helm{Chart: "/srv/charts/shop", Values: []string{filepath.Join(base, "values-dev.yaml"), "/abs/extra.yaml"},
		Set: map[string]string{"replicas": "3", "image.tag": "2.4.1", "enabled": "true"}, Namespace: "shop", ReleaseName: "shop"}
	if diff := cmp.Diff(want, dev.Helm); diff != "" {
		t.Errorf("helm (-want +got):\n%s", diff)
	}
	if got := dev.Source(); got != "helm:/srv/charts/shop" {
		t.Errorf("dev source %q", got)
	}
	if got, want := prod.Source(), "kustomize:"+filepath.Join(base, "overlays/prod"); got != want {
		t.Errorf("prod source %q, want %q", got, want)
	}
}

func TestRenderedEnvironmentErrors(t *testing.T) {
	for _, tc := range []struct {
		name, env, want string
	}{
		{"helm without chart", "dev: {helm: {values: [a.yaml]}}", "driftgate.yaml:4:"},
		{"two sources", "dev: {kustomize: dir, context: dev}", "has 2 sources"},
		{"helm and manifests", "dev: {helm: {chart: c}, manifests: m}", "has 2 sources"},
		{"unknown helm key", "dev: {helm: {chart: c, valuesFiles: [a]}}", "driftgate.yaml:4:"},
		{"set is a map", "dev: {helm: {chart: c, set: [a=b]}}", "driftgate.yaml:4:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, "apiVersion: driftgate.dev/v1alpha1\nkind: Config\nenvironments:\n  "+tc.env+"\n")
			_, err := Load(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}
