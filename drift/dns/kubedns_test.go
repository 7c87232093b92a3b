package dns

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestCompareKubeDNS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		dev, prod map[string]string
		want      []Difference
	}{{
		name: "equal after normalization",
		dev:  map[string]string{"stubDomains": `{"Acme.Local": ["1.2.3.4"]}`, "upstreamNameservers": `["8.8.8.8"]`},
		prod: map[string]string{"stubDomains": "{\"acme.local.\" : [\"1.2.3.4:53\"]}\n", "upstreamNameservers": `[ "8.8.8.8:53" ]`},
	}, {
		name: "stub domain only in prod, upstream order differs",
		dev:  map[string]string{"upstreamNameservers": `["8.8.8.8", "8.8.4.4"]`},
		prod: map[string]string{"stubDomains": `{"consul.local": ["10.150.0.1"]}`, "upstreamNameservers": `["8.8.4.4", "8.8.8.8"]`},
		want: []Difference{
			{Path: "kube-dns > stubDomains > consul.local.", Prod: `["10.150.0.1"]`, Message: "entry in prod only"},
			{Path: "kube-dns > upstreamNameservers", Dev: `["8.8.8.8", "8.8.4.4"]`, Prod: `["8.8.4.4", "8.8.8.8"]`,
				Message: "upstream nameservers differ (compared in order)"},
		},
	}, {
		name: "stub domain nameserver differs; federation only in dev",
		dev:  map[string]string{"stubDomains": `{"acme.local": ["1.2.3.4"]}`, "federations": `{"foo": "foo.feddomain.com"}`},
		prod: map[string]string{"stubDomains": `{"acme.local": ["1.2.3.5"]}`},
		want: []Difference{
			{Path: "kube-dns > federations > foo.", Dev: `"foo.feddomain.com"`, Message: "entry in dev only"},
			{Path: "kube-dns > stubDomains > acme.local.", Dev: `["1.2.3.4"]`, Prod: `["1.2.3.5"]`, Message: "entry differs"},
		},
	}, {
		name: "invalid JSON is reported, not skipped",
		dev:  map[string]string{"stubDomains": `{"acme.local": "1.2.3.4"}`},
		prod: map[string]string{"stubDomains": `{"acme.local": "1.2.3.4"}`},
		want: []Difference{{Path: "kube-dns > stubDomains", Dev: `{"acme.local": "1.2.3.4"}`, Prod: `{"acme.local": "1.2.3.4"}`,
			Message: `dev value is not valid JSON: value of "acme.local": json: cannot unmarshal string into Go value of type []string; ` +
				`prod value is not valid JSON: value of "acme.local": json: cannot unmarshal string into Go value of type []string; cannot compare`}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, CompareKubeDNS(tt.dev, tt.prod)); diff != "" {
				t.Errorf("CompareKubeDNS (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCompareKubeDNSRealdata compares the kube-dns ConfigMaps from the
// Kubernetes "Customizing DNS Service" page.
func TestCompareKubeDNSRealdata(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(realdataDir, "k8s-website-customizing-dns")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("realdata not available: %v", err)
	}
	load := func(name string) map[string]string {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var cm struct {
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal(raw, &cm); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return cm.Data
	}
	got := CompareKubeDNS(load("03-kube-dns-stubdomain-and-upstream.yaml"), load("04-kube-dns-stubdomain-consul.yaml"))
	want := []Difference{
		{Path: "kube-dns > stubDomains > acme.local.", Dev: `["1.2.3.4"]`, Message: "entry in dev only"},
		{Path: "kube-dns > stubDomains > consul.local.", Prod: `["10.150.0.1"]`, Message: "entry in prod only"},
		{Path: "kube-dns > upstreamNameservers", Dev: `["8.8.8.8", "8.8.4.4"]`, Message: "upstream nameservers differ (compared in order)"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CompareKubeDNS(03, 04) (-want +got):\n%s", diff)
	}
}
