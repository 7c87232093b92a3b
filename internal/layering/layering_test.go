package layering

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/driftgate/driftgate"

// A pattern is a package path relative to the module ("drift"), or a tree
// of them ("drift/..."), or an absolute import path outside it (tree when
// ending in "/...").
type pattern string

func (p pattern) match(pkg string) bool {
	full := string(p)
	if !strings.Contains(strings.SplitN(full, "/", 2)[0], ".") {
		full = module + "/" + full
	}
	if tree, ok := strings.CutSuffix(full, "/..."); ok {
		return pkg == tree || strings.HasPrefix(pkg, tree+"/")
	}
	return pkg == full
}

func matchAny(ps []pattern, pkg string) bool {
	for _, p := range ps {
		if p.match(pkg) {
			return true
		}
	}
	return false
}

// forbidden are the dependencies the layering rules out, direct or not.
var forbidden = []struct {
	from, to []pattern
	why      string
}{
	{[]pattern{"drift/...", "rules/...", "internal/..."}, []pattern{"cmd/..."},
		"the domain and its helpers never depend on the command line"},
	{[]pattern{"internal/..."}, []pattern{"drift/...", "rules/..."},
		"internal holds helpers below the domain"},
	{[]pattern{"drift/incident"}, []pattern{"drift/config"},
		"incident owns its hook type and the config file uses it, not the other way"},
	{[]pattern{"drift/...", "rules/..."}, []pattern{"github.com/spf13/cobra/...", "github.com/spf13/pflag/..."},
		"cmd turns flags into typed config; the domain never sees cobra or pflag"},
	{[]pattern{"drift"}, []pattern{"rules/..."},
		"rules evaluates drift's types, so drift itself cannot know rules"},
	{[]pattern{"drift", "drift/config", "drift/output", "drift/netpol/...", "drift/dns", "drift/defaults", "rules/...", "internal/..."},
		[]pattern{"helm.sh/helm/v3/...", "sigs.k8s.io/kustomize/api/..."},
		"drift/render alone renders charts and kustomizations; the vocabulary, the config and the rules do not carry the Helm SDK"},
}

type pkg struct {
	path    string
	imports map[string]bool
	deps    []string
}

// statSources stats the module's Go files and go.mod, so that go test's
// cache, which sees what the test itself opens but not what go list reads,
// reruns the test when an import may have changed.
func statSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join("..", ".."), func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != filepath.Join("..", ".."):
			return filepath.SkipDir
		case !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod"):
			_, err := os.Stat(path)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// list runs go list over the module with the go that runs this test: go
// test puts its own GOROOT/bin first on the test's PATH.
func list(t *testing.T) []pkg {
	t.Helper()
	statSources(t)
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{"\t"}}{{join .Imports " "}}{{"\t"}}{{join .Deps " "}}`, module+"/...").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("go list line %q", line)
		}
		p := pkg{path: f[0], imports: map[string]bool{}, deps: strings.Fields(f[2])}
		for _, imp := range strings.Fields(f[1]) {
			p.imports[imp] = true
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestImportsGoOneWay(t *testing.T) {
	pkgs := list(t)
	for _, rule := range forbidden {
		matched := false
		for _, p := range pkgs {
			if !matchAny(rule.from, p.path) {
				continue
			}
			matched = true
			for _, dep := range p.deps {
				if !matchAny(rule.to, dep) {
					continue
				}
				how := "through another package"
				if p.imports[dep] {
					how = "directly"
				}
				t.Errorf("%s depends on %s (%s): %s", p.path, dep, how, rule.why)
			}
		}
		if !matched {
			t.Errorf("no package matches %v: update the rule to the module's layout", rule.from)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern pattern
		pkg     string
		want    bool
	}{
		{"drift", module + "/drift", true},
		{"drift", module + "/drift/config", false},
		{"drift/...", module + "/drift", true},
		{"drift/...", module + "/drift/config", true},
		{"drift/...", module + "/driftx", false},
		{"cmd/...", module + "/cmd/driftgate", true},
		{"github.com/spf13/pflag/...", "github.com/spf13/pflag", true},
		{"github.com/spf13/cobra/...", "github.com/spf13/cobra/doc", true},
		{"github.com/spf13/cobra/...", module + "/github.com/spf13/cobra", false},
	}
	for _, tt := range tests {
		if got := tt.pattern.match(tt.pkg); got != tt.want {
			t.Errorf("%q.match(%q) = %v, want %v", tt.pattern, tt.pkg, got, tt.want)
		}
	}
}
