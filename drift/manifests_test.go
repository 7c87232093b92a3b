package drift

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// realdataDir is ../shared/realdata beside the repository; tests that read
// it skip when it is absent (CI always has it).
func realdataDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "realdata"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real-world manifests not present at %s", dir)
	}
	return dir
}

// realdataParse reads a SOURCES.txt and returns, per file, the "parse" column
// that an independent YAML parser (PyYAML, cross-checked with yaml.v3) gave.
func realdataParse(t *testing.T, sources string) map[string]string {
	t.Helper()
	f, err := os.Open(sources)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 7 || strings.HasPrefix(cols[0], "#") || cols[0] == "local_file" {
			continue
		}
		out[cols[0]] = cols[len(cols)-1]
	}
	return out
}

var parseFailLine = regexp.MustCompile(`line (\d+)`)

func TestReadManifestsRealData(t *testing.T) {
	t.Parallel()
	root := realdataDir(t)
	folders, _ := filepath.Glob(filepath.Join(root, "*", "SOURCES.txt"))
	if len(folders) == 0 {
		t.Fatal("no SOURCES.txt under realdata")
	}
	checked := 0
	for _, sources := range folders {
		dir := filepath.Dir(sources)
		for file, parse := range realdataParse(t, sources) {
			if strings.HasPrefix(parse, "skipped") {
				continue
			}
			path := filepath.Join(dir, file)
			checked++
			t.Run(filepath.Base(dir)+"/"+file, func(t *testing.T) {
				t.Parallel()
				ms, _, err := ReadManifests(path)
				if m := parseFailLine.FindStringSubmatch(parse); strings.HasPrefix(parse, "PARSE-FAIL") && m != nil {
					var ie *InputError
					if !errors.As(err, &ie) {
						t.Fatalf("want an InputError for a file that is not valid YAML, got %v", err)
					}
					want, _ := strconv.Atoi(m[1])
					if ie.File != path || ie.Line != want {
						t.Errorf("error at %s:%d, want %s:%d (%v)", ie.File, ie.Line, path, want, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("valid YAML failed to load: %v", err)
				}
				if len(ms) == 0 {
					t.Errorf("no objects read")
				}
			})
		}
	}
	if checked < 100 {
		t.Errorf("checked only %d real files", checked)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadManifestsErrorsNamePosition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content     string
		wantLine, wantCol int
		wantMsg           string
	}{
		{"placeholder in the second document", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  x: %{X}%\n", 10, 0, "cannot start any token"},
		// The YAML parser gives no line for a flow-map key; the document's first line is named.
		{"template placeholder", "# comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Name }}}\n", 3, 0, "invalid map key"},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", 1, 0, "no kind"},
		{"scalar document", "---\njust a string\n", 2, 0, "not a Kubernetes object"},
		{"list item without apiVersion", "apiVersion: v1\nkind: List\nitems:\n- kind: ConfigMap\n  metadata: {name: a}\n", 1, 0, "items[0] has no apiVersion"},
		{"json missing comma", "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"ConfigMap\"\n  \"metadata\": {}\n}\n", 3, 0, "expected ','"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), "m.yaml", tt.content)
			_, _, err := ReadManifests(path)
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want InputError, got %v", err)
			}
			if ie.File != path || ie.Line != tt.wantLine || (tt.wantCol > 0 && ie.Column != tt.wantCol) {
				t.Errorf("position %s:%d, want %s:%d (%v)", ie.File, ie.Line, path, tt.wantLine, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.HasPrefix(err.Error(), path+":") || strings.Contains(err.Error(), "line ") {
				t.Errorf("message %q lacks %q or the file", err, tt.wantMsg)
			}
		})
	}
}

func TestSnapshotFromManifests(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "b/app.yaml", `# the app
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1"}
`)
	writeFile(t, dir, "a/dump.json", `{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop","namespace":"ignored"}},
 {"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"}},
 {"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.example.com"},
  "spec":{"group":"example.com","scope":"Cluster","names":{"kind":"Widget","plural":"widgets"}}},
 {"apiVersion":"v1","kind":"Event","metadata":{"name":"e","namespace":"shop"}}
]}`)
	writeFile(t, dir, "ignored.txt", "not: [a manifest")
	s, err := SnapshotFromManifests([]string{dir}, ManifestOptions{Scope: Scope{Exclude: DefaultExcludes}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range s.Objects {
		got = append(got, o.ID().String())
	}
	want := []string{
		"default/ConfigMap/settings", "Namespace/shop",
		"CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com",
		"shop/Deployment.apps/web", "Widget.example.com/w",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}

	scoped, err := SnapshotFromManifests([]string{dir}, ManifestOptions{Scope: Scope{Namespaces: []string{"shop"}}})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, o := range scoped.Objects {
		got = append(got, o.ID().String())
	}
	want = []string{"shop/Event/e", "Namespace/shop", "CustomResourceDefinition.apiextensions.k8s.io/widgets.example.com", "shop/Deployment.apps/web", "Widget.example.com/w"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("namespace-scoped objects (-want +got):\n%s", diff)
	}
}

func TestSnapshotFromManifestsRejectsDuplicates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "one.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n")
	second := writeFile(t, dir, "two.yaml", "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n")
	_, err := SnapshotFromManifests([]string{dir}, ManifestOptions{})
	var ie *InputError
	if !errors.As(err, &ie) || ie.File != second || ie.Line != 2 || !strings.Contains(err.Error(), "one.yaml:1") {
		t.Fatalf("want a duplicate error at %s:2 naming one.yaml:1, got %v", second, err)
	}
}

func TestSnapshotFromManifestsNamesDuplicateListItems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, content string
		wantLine      int
		wantMsg       string
	}{
		{
			name: "yaml list",
			content: `apiVersion: v1
kind: ConfigMap
metadata: {name: other, namespace: x}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a, namespace: x}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b, namespace: x}
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: a
    namespace: x
`,
			wantLine: 14,
			wantMsg:  "x/ConfigMap/a is defined twice (items[2]); first at %s:8 (items[0])",
		},
		{
			name:     "json list",
			content:  "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n {\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\", \"namespace\": \"x\"}},\n\n {\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\", \"namespace\": \"x\"}}\n]}\n",
			wantLine: 4,
			wantMsg:  "x/ConfigMap/a is defined twice (items[1]); first at %s:2 (items[0])",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, t.TempDir(), "dump.yaml", tt.content)
			_, err := SnapshotFromManifests([]string{path}, ManifestOptions{})
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want InputError, got %v", err)
			}
			if ie.File != path || ie.Line != tt.wantLine {
				t.Errorf("position %s:%d, want %s:%d", ie.File, ie.Line, path, tt.wantLine)
			}
			if want := fmt.Sprintf(tt.wantMsg, path); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		})
	}
}

// manifestIDs are the objects of the snapshot of path's manifests.
func manifestIDs(t *testing.T, path string) ([]string, *Snapshot) {
	t.Helper()
	s, err := SnapshotFromManifests([]string{path}, ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range s.Objects {
		ids = append(ids, o.ID().String())
	}
	return ids, s
}

func configMap(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: x}\n"
}

// TestSnapshotFromManifestsFollowsSymlinksAndHiddenFolders: a side given
// as a symlink to a folder, symlinked subfolders and files, and hidden
// folders such as a render tool's .rendered/ are read, not skipped.
func TestSnapshotFromManifestsFollowsSymlinksAndHiddenFolders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup builds the input under dir and returns the path to read.
		setup func(t *testing.T, dir string) string
		want  []string
	}{
		{"side is a symlink to a folder", func(t *testing.T, dir string) string {
			writeFile(t, dir, "real/a.yaml", configMap("a"))
			link := filepath.Join(dir, "side")
			symlink(t, "real", link)
			return link
		}, []string{"x/ConfigMap/a"}},
		{"symlinked subfolder", func(t *testing.T, dir string) string {
			writeFile(t, dir, "shared/base/b.yaml", configMap("b"))
			writeFile(t, dir, "side/a.yaml", configMap("a"))
			symlink(t, filepath.Join("..", "shared", "base"), filepath.Join(dir, "side", "base"))
			return filepath.Join(dir, "side")
		}, []string{"x/ConfigMap/a", "x/ConfigMap/b"}},
		{"symlinked file", func(t *testing.T, dir string) string {
			writeFile(t, dir, "elsewhere/c.yaml", configMap("c"))
			writeFile(t, dir, "side/a.yaml", configMap("a"))
			symlink(t, filepath.Join("..", "elsewhere", "c.yaml"), filepath.Join(dir, "side", "c.yaml"))
			return filepath.Join(dir, "side")
		}, []string{"x/ConfigMap/a", "x/ConfigMap/c"}},
		{"hidden folder", func(t *testing.T, dir string) string {
			writeFile(t, dir, "side/.rendered/r.yaml", configMap("r"))
			writeFile(t, dir, "side/.hidden.yaml", configMap("h"))
			return filepath.Join(dir, "side")
		}, []string{"x/ConfigMap/h", "x/ConfigMap/r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _ := manifestIDs(t, tt.setup(t, t.TempDir()))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
}

// TestSnapshotFromManifestsRefusesSymlinkLoops: a link back into a folder
// it is inside is an error naming the link, not an endless walk.
func TestSnapshotFromManifestsRefusesSymlinkLoops(t *testing.T) {
	t.Parallel()
	for _, target := range []string{".", "..", filepath.Join("..", "..")} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, "a/b/m.yaml", configMap("m"))
			link := filepath.Join(dir, "a", "b", "loop")
			symlink(t, target, link)
			_, err := SnapshotFromManifests([]string{dir}, ManifestOptions{})
			var ie *InputError
			if !errors.As(err, &ie) || ie.File != link || !strings.Contains(err.Error(), "symlink loop") {
				t.Fatalf("want a symlink loop error naming %s, got %v", link, err)
			}
		})
	}
}

// TestSnapshotFromManifestsNotesSkippedFiles: nothing under a folder is
// passed over silently: the snapshot's notes say what was skipped and why,
// a count per reason and the first few paths, in walk order.
func TestSnapshotFromManifestsNotesSkippedFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "app.yaml", configMap("a"))
	for _, name := range []string{"app.yaml.bak", "b.txt", "c.orig", "d.md", "e/README"} {
		writeFile(t, dir, name, "not: [a manifest")
	}
	writeFile(t, dir, ".git/objects/x.yaml", configMap("git"))
	writeFile(t, dir, "z/.svn/y.yaml", configMap("svn"))
	symlink(t, "app.yaml", filepath.Join(dir, "same.yaml"))
	symlink(t, "nowhere", filepath.Join(dir, "broken"))
	got, s := manifestIDs(t, dir)
	if diff := cmp.Diff([]string{"x/ConfigMap/a"}, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	want := []string{
		"manifests " + dir + ": 1 skipped, version control metadata: " + p(".git"),
		"manifests " + dir + ": 5 skipped, not ending in .yaml, .yml or .json: " + p("app.yaml.bak") + ", " + p("b.txt") + ", " + p("c.orig") + " and 2 more",
		"manifests " + dir + ": 1 skipped, a symlink to nothing: " + p("broken"),
		"manifests " + dir + ": 1 skipped, already read through another path (a symlink): " + p("same.yaml") + " (read as " + p("app.yaml") + ")",
	}
	// z/.svn comes last in walk order: it joins the first reason's note.
	want[0] = "manifests " + dir + ": 2 skipped, version control metadata: " + p(".git") + ", " + p("z/.svn")
	if diff := cmp.Diff(want, s.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

// TestReadManifestsBoundsAliasExpansion: a large anchored scalar used by
// many aliases is refused by the size it expands to (here 117 KB used 200
// times, 23 MB), naming the file and the line of the alias that passes the
// limit; the YAML library's own check counts aliases only and let it by.
func TestReadManifestsBoundsAliasExpansion(t *testing.T) {
	t.Parallel()
	doc := "# second document\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\ndata:\n  big: &big " + strings.Repeat("a", 117_000) + "\n"
	for i := range 200 {
		doc += fmt.Sprintf("  k%d: *big\n", i)
	}
	path := writeFile(t, t.TempDir(), "bomb.yaml", doc)
	_, _, err := ReadManifests(path)
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("want an InputError, got %v", err)
	}
	// The anchor is on line 7; 8 MiB is passed at the 71st alias (see
	// internal/yamlx), k70 on line 7+71.
	if ie.File != path || ie.Line != 7+71 || !strings.Contains(err.Error(), "excessive aliasing: aliases expand this document to more than 8.0 MiB (anchor &big at line 7, 114.3 KiB expanded, used 71 times up to here)") {
		t.Errorf("want a refusal at %s:%d, got %v", path, 7+71, err)
	}
}
