package dns

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// realdataDir holds upstream DNS manifests (see SOURCES.txt there). It lives
// outside the repository and is never copied into it; tests skip without it.
const realdataDir = "../../../shared/realdata/dns"

// realCorefile is one Corefile found in realdata, named
// "FILE#KEY" or, for items of a List, "FILE[ITEM]#KEY".
type realCorefile struct {
	name string
	text []byte
}

var configMapKindRe = regexp.MustCompile(`(?m)^kind:\s*ConfigMap\s*$`)

// loadRealdata walks realdata and extracts every Corefile with
// ExtractCorefiles, document by document. A YAML document that does not
// decode is skipped only when it is not a ConfigMap (k3s's Service document
// holds %{CLUSTER_DNS}% placeholders that are not valid YAML; its ConfigMap
// document is valid). Skipped documents are returned so tests can pin them.
func loadRealdata(t *testing.T) (found []realCorefile, skippedDocs []string) {
	t.Helper()
	if _, err := os.Stat(realdataDir); err != nil {
		t.Skipf("realdata not available at %s: %v", realdataDir, err)
	}
	err := filepath.WalkDir(realdataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "SOURCES.txt" {
			return err
		}
		rel, _ := filepath.Rel(realdataDir, path)
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".Corefile") {
			found = append(found, realCorefile{rel, raw})
			return nil
		}
		for i, doc := range splitYAMLDocs(raw) {
			var obj map[string]any
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				if configMapKindRe.Match(doc) {
					return fmt.Errorf("%s document %d is a ConfigMap but does not decode: %w", rel, i, err)
				}
				skippedDocs = append(skippedDocs, fmt.Sprintf("%s document %d", rel, i))
				continue
			}
			objs := []map[string]any{obj}
			if obj["kind"] == "List" {
				objs = nil
				items, _ := obj["items"].([]any)
				for _, it := range items {
					if m, ok := it.(map[string]any); ok {
						objs = append(objs, m)
					}
				}
			}
			for j, o := range objs {
				for key, text := range ExtractCorefiles(o) {
					name := rel + "#" + key
					if obj["kind"] == "List" {
						name = fmt.Sprintf("%s[%d]#%s", rel, j, key)
					}
					found = append(found, realCorefile{name, text})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading realdata: %v", err)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].name < found[j].name })
	return found, skippedDocs
}

func splitYAMLDocs(raw []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	for _, line := range bytes.SplitAfter(raw, []byte("\n")) {
		if strings.TrimRight(string(line), " \r\n") == "---" {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.Write(line)
	}
	return append(docs, cur.Bytes())
}

func realByName(t *testing.T, found []realCorefile, name string) *Corefile {
	t.Helper()
	for _, f := range found {
		if f.name == name {
			c, err := Parse(f.name, f.text)
			if err != nil {
				t.Fatalf("Parse(%s): %v", name, err)
			}
			return c
		}
	}
	t.Fatalf("realdata has no Corefile %s", name)
	return nil
}

// TestRealdataParse: every Corefile in realdata either parses, with exactly
// the unresolved placeholders listed here, or fails with the line given.
// The table must name every Corefile found, so a new file cannot slip by.
func TestRealdataParse(t *testing.T) {
	t.Parallel()
	found, skipped := loadRealdata(t)

	if diff := cmp.Diff([]string{"k3s/coredns.yaml document 5"}, skipped); diff != "" {
		t.Errorf("YAML documents skipped as undecodable (-want +got):\n%s", diff)
	}

	type want struct {
		unresolved []string
		errLine    int    // when Parse must fail
		errText    string // substring of the error
	}
	nodelocal := []string{
		"line 1: __PILLAR__DNS__DOMAIN__ (__PILLAR__DNS__DOMAIN__:53)",
		"line 9: __PILLAR__LOCAL__DNS__ (__PILLAR__DNS__DOMAIN__:53 > bind)",
		"line 9: __PILLAR__DNS__SERVER__ (__PILLAR__DNS__DOMAIN__:53 > bind)",
		"line 10: __PILLAR__CLUSTER__DNS__ (__PILLAR__DNS__DOMAIN__:53 > forward)",
		"line 14: __PILLAR__LOCAL__DNS__ (__PILLAR__DNS__DOMAIN__:53 > health)",
		"line 21: __PILLAR__LOCAL__DNS__ (in-addr.arpa.:53 > bind)",
		"line 21: __PILLAR__DNS__SERVER__ (in-addr.arpa.:53 > bind)",
		"line 22: __PILLAR__CLUSTER__DNS__ (in-addr.arpa.:53 > forward)",
		"line 32: __PILLAR__LOCAL__DNS__ (ip6.arpa.:53 > bind)",
		"line 32: __PILLAR__DNS__SERVER__ (ip6.arpa.:53 > bind)",
		"line 33: __PILLAR__CLUSTER__DNS__ (ip6.arpa.:53 > forward)",
		"line 43: __PILLAR__LOCAL__DNS__ (.:53 > bind)",
		"line 43: __PILLAR__DNS__SERVER__ (.:53 > bind)",
		"line 44: __PILLAR__UPSTREAM__SERVERS__ (.:53 > forward)",
	}
	wants := map[string]want{
		// deploy.sh seds placeholders in; `}STUBDOMAINS` glues the block's
		// closing brace to a placeholder, so the template is not a Corefile.
		"coredns-deployment/coredns.yaml.sed#Corefile": {errLine: 18, errText: "'}STUBDOMAINS'"},
		"eks-eksctl/coredns-1.23.json[2]#Corefile":     {},
		"eks-eksctl/coredns-1.29.json[2]#Corefile":     {},
		"eks-eksctl/coredns-1.33.json[2]#Corefile":     {},
		"eks-eksctl/coredns-1.36.json[2]#Corefile":     {},
		"k3s/coredns.yaml#Corefile": {unresolved: []string{
			"line 22: import /etc/coredns/custom/*.server ((top level))",
			"line 5: %{CLUSTER_DOMAIN}% (.:53 > kubernetes)",
			"line 20: import /etc/coredns/custom/*.override (.:53)",
		}},
		"k8s-cluster-addons/coredns.yaml.base#Corefile": {unresolved: []string{
			"line 7: __DNS__DOMAIN__ (.:53 > kubernetes)",
		}},
		"k8s-website-customizing-dns/01-coredns-default-configmap-as-documented.yaml#Corefile": {},
		"k8s-website-customizing-dns/02-coredns-stubdomain-consul-and-upstream.yaml#Corefile":  {},
		"k8s-website-customizing-dns/07-corefile-equivalent-of-06.Corefile":                    {},
		"kubeadm/DERIVED-kubeadm-coredns-configmap.rendered-cluster.local.yaml#Corefile":       {},
		"kubeadm/kubeadm-coredns-configmap.legacy-k8s-1.12-era.tmpl.yaml#Corefile": {
			errLine: 16, errText: "unrendered template placeholders: line 4: {{ .DNSDomain }}, line 9: {{ .Federation }}, line 11: {{ .UpstreamNameserver }}, line 16: {{ .StubDomain }}",
		},
		"kubeadm/kubeadm-coredns-configmap.tmpl.yaml#Corefile": {unresolved: []string{
			"line 7: {{ .DNSDomain }} (.:53 > kubernetes)",
			"line 17: {{- if .DNSDomain }} (.:53 > {{-)",
			"line 18: {{ .DNSDomain }} (.:53 > {{- > disable)",
			"line 19: {{ .DNSDomain }} (.:53 > {{- > disable)",
			"line 21: {{- end }} (.:53 > {{-)",
		}},
		"nodelocaldns/nodelocaldns.yaml#Corefile": {unresolved: nodelocal},
	}

	var names []string
	for _, f := range found {
		names = append(names, f.name)
	}
	var wantNames []string
	for n := range wants {
		wantNames = append(wantNames, n)
	}
	sort.Strings(wantNames)
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Fatalf("Corefiles found in realdata (-want +got):\n%s", diff)
	}

	for _, f := range found {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			w := wants[f.name]
			c, err := Parse(f.name, f.text)
			if w.errText != "" {
				perr, ok := err.(*ParseError)
				if !ok {
					t.Fatalf("Parse error = %v (%T), want a *ParseError at line %d", err, err, w.errLine)
				}
				if perr.Line != w.errLine || !strings.Contains(perr.Error(), w.errText) {
					t.Fatalf("Parse error = %q (line %d), want line %d containing %q", perr, perr.Line, w.errLine, w.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(c.Servers) == 0 {
				t.Fatal("no server blocks")
			}
			if diff := cmp.Diff(w.unresolved, c.Unresolved()); diff != "" {
				t.Errorf("Unresolved() (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRealdataReformatted: every parseable Corefile equals itself reordered,
// reindented, requoted and commented. Only its unresolved items remain, and
// they are reported on both sides, since Compare always reports them.
func TestRealdataReformatted(t *testing.T) {
	t.Parallel()
	found, _ := loadRealdata(t)
	for _, f := range found {
		c, err := Parse(f.name, f.text)
		if err != nil {
			continue // pinned by TestRealdataParse
		}
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			text := reformat(c)
			if text == string(f.text) {
				t.Fatal("reformat changed nothing; the test would prove nothing")
			}
			r, err := Parse("reformatted "+f.name, []byte(text))
			if err != nil {
				t.Fatalf("Parse(reformatted): %v\n%s", err, text)
			}
			var got []Difference
			for _, d := range Compare(c, r) {
				if strings.HasSuffix(d.Path, "> unresolved") && d.Dev != "" && d.Prod != "" {
					continue
				}
				got = append(got, d)
			}
			if len(got) > 0 {
				t.Errorf("Compare(original, reformatted) found differences:\n%s\nreformatted:\n%s", diffLines(got), text)
			}
			if n, m := len(c.Unresolved()), len(r.Unresolved()); n != m {
				t.Errorf("unresolved: %d in original, %d reformatted", n, m)
			}
		})
	}
}

// TestRealdataPairs compares real configurations that differ, with the
// expected differences written out by hand from the files.
func TestRealdataPairs(t *testing.T) {
	t.Parallel()
	found, _ := loadRealdata(t)
	const (
		eks123  = "eks-eksctl/coredns-1.23.json[2]#Corefile"
		eks136  = "eks-eksctl/coredns-1.36.json[2]#Corefile"
		kubeadm = "kubeadm/DERIVED-kubeadm-coredns-configmap.rendered-cluster.local.yaml#Corefile"
		web01   = "k8s-website-customizing-dns/01-coredns-default-configmap-as-documented.yaml#Corefile"
		web02   = "k8s-website-customizing-dns/02-coredns-stubdomain-consul-and-upstream.yaml#Corefile"
	)
	tests := []struct {
		name      string
		dev, prod string
		want      []Difference
	}{{
		// The two EKS add-on Corefiles differ only in how the health
		// block is indented (checked below), which is not drift.
		name: "EKS 1.23 vs EKS 1.36", dev: eks123, prod: eks136,
	}, {
		// kubeadm adds `ttl 30` to kubernetes (EKS keeps the default 5),
		// `max_concurrent 1000` to forward, and disables the success and
		// denial cache for cluster.local. Everything else is the same.
		name: "kubeadm vs EKS 1.36", dev: kubeadm, prod: eks136,
		want: []Difference{
			{Path: ".:53 > cache > disable denial", Dev: "cluster.local.", Message: "cache: disable denial differs"},
			{Path: ".:53 > cache > disable success", Dev: "cluster.local.", Message: "cache: disable success differs"},
			{Path: ".:53 > forward > max_concurrent", Dev: "1000", Message: "forward: max_concurrent differs"},
			{Path: ".:53 > kubernetes > ttl", Dev: "30", Prod: "5 (default)", Message: "kubernetes: ttl differs"},
		},
	}, {
		// The docs' default Corefile vs its consul stub-domain example.
		name: "k8s docs default vs stub domain example", dev: web01, prod: web02,
		want: []Difference{
			{Path: ".:53 > forward > upstreams", Dev: "/etc/resolv.conf", Prod: "172.16.0.1",
				Message: "forward: upstreams differs (compared as a set: policy random does not prefer any)"},
			{Path: ".:53 > health > lameduck", Dev: "5s", Message: "health: lameduck differs"},
			{Path: ".:53 > kubernetes > ttl", Dev: "30", Prod: "5 (default)", Message: "kubernetes: ttl differs"},
			{Path: ".:53 > ready", Dev: "ready", Message: "plugin ready is configured in dev only"},
			{Path: "consul.local.:53 (stub domain) > missing in dev", Prod: "cache 30; errors; forward . 10.150.0.1",
				Message: "prod serves this zone, dev does not: dev queries for it take another path"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Compare(realByName(t, found, tt.dev), realByName(t, found, tt.prod))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compare (-want +got):\n%s", diff)
			}
		})
	}

	// Guard for the first case: the texts do differ, so an empty result
	// means formatting was folded, not that the same bytes were compared.
	var a, b string
	for _, f := range found {
		switch f.name {
		case eks123:
			a = string(f.text)
		case eks136:
			b = string(f.text)
		}
	}
	if a == b {
		t.Errorf("EKS 1.23 and 1.36 Corefiles are byte-identical; pick a pair that differs in formatting")
	}
}

func diffLines(ds []Difference) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("  " + d.String() + "\n")
	}
	return b.String()
}
