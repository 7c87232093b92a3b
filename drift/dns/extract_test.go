package dns

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExtractCorefiles(t *testing.T) {
	t.Parallel()
	cm := func(name string, data map[string]any) map[string]any {
		return map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "kube-system"},
			"data":     data,
		}
	}
	const corefile = ".:53 {\n    errors\n    forward . /etc/resolv.conf\n}\n"
	tests := []struct {
		name string
		obj  map[string]any
		want map[string][]byte
	}{{
		name: "k3s coredns: Corefile kept, NodeHosts (a hosts file) left out",
		obj:  cm("coredns", map[string]any{"Corefile": corefile, "NodeHosts": "10.0.0.1 node-a\n10.0.0.2 node-b\n"}),
		want: map[string][]byte{"Corefile": []byte(corefile)},
	}, {
		name: "coredns-custom: .server kept, even when broken; .override left out",
		obj: cm("coredns-custom", map[string]any{
			"consul.server":  "consul.local:53 {\n  forward . 10.150.0.1\n}\n",
			"broken.server":  "acme.local:53 {\n  forward . 10.0.0.1\n",
			"log.override":   "log\n",
			"README":         "see https://docs.k3s.io",
			"not-a-string":   42,
			"cache.override": "cache {\n  success 1000\n}\n",
			"empty.server":   "example.org {\n}\n",
		}),
		want: map[string][]byte{
			"consul.server": []byte("consul.local:53 {\n  forward . 10.150.0.1\n}\n"),
			"broken.server": []byte("acme.local:53 {\n  forward . 10.0.0.1\n"),
		},
	}, {
		name: "Corefile key in any ConfigMap",
		obj:  cm("my-dns", map[string]any{"Corefile": corefile, "other": corefile}),
		want: map[string][]byte{"Corefile": []byte(corefile)},
	}, {
		name: "node-local-dns",
		obj:  cm("node-local-dns", map[string]any{"Corefile": corefile}),
		want: map[string][]byte{"Corefile": []byte(corefile)},
	}, {
		name: "not a ConfigMap",
		obj:  map[string]any{"kind": "Secret", "metadata": map[string]any{"name": "coredns"}, "data": map[string]any{"Corefile": "Lg=="}},
	}, {
		name: "no data",
		obj:  cm("coredns", nil),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, ExtractCorefiles(tt.obj)); diff != "" {
				t.Errorf("ExtractCorefiles (-want +got):\n%s", diff)
			}
		})
	}
}
