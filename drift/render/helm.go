package render

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/strvals"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/regularfile"
)

// Defaults of a Helm side, as `helm template` has them.
const (
	// DefaultReleaseName is the release name `helm template` uses when none is given.
	DefaultReleaseName = "release-name"
	// DefaultNamespace is the release namespace when none is given.
	DefaultNamespace = "default"
)

// Helm says which chart to render and with what.
type Helm struct {
	// Chart is a chart directory or a packaged chart (.tgz).
	Chart string
	// Values are values files, merged in order (a later file wins), as
	// `helm template -f A -f B`. They are local files only.
	Values []string
	// Set are key=value assignments in --set syntax, applied after the
	// values files, in order.
	Set []string
	// Namespace is the release namespace: .Release.Namespace, and the
	// namespace of every namespaced object that names none, as `helm
	// install -n` puts them. Default DefaultNamespace.
	Namespace string
	// ReleaseName is .Release.Name; default DefaultReleaseName.
	ReleaseName string
}

// Capabilities are what a chart learns of the cluster it is rendered for.
type Capabilities struct {
	// KubeVersion is the server's version (such as v1.36.3): the other
	// side's, when known. Empty: Helm's default.
	KubeVersion string
	// APIVersions are the group/versions and group/version/kinds the
	// server serves. Nil: Helm's default set.
	APIVersions []string
}

// Rendered is what rendering made.
type Rendered struct {
	Manifests []drift.Manifest
	// KubeVersion is the .Capabilities.KubeVersion the chart saw.
	KubeVersion string
	// Notes say what rendering left out or could not do (test hooks,
	// schema validation skipped), for the result's notes.
	Notes []string
}

// testHookEvents are the helm.sh/hook values of `helm test` resources.
var testHookEvents = []string{"test", "test-success", "test-failure"}

// HelmManifests renders a chart as `helm template --include-crds
// --skip-tests` would, client-only: no cluster is asked and no network
// reached. A template that calls lookup fails with ErrNeedsCluster. CRDs
// in crds/ are included (helm install creates them); hooks are included
// except `helm test` ones, which run only on demand, and those helm deletes
// once they succeed (helm.sh/hook-delete-policy: hook-succeeded), which a
// cluster at rest does not hold. Errors name the file
// and line the template engine or the YAML parser gives.
func HelmManifests(h Helm, caps Capabilities) (*Rendered, error) {
	if err := helmLinksInside(h.Chart); err != nil {
		return nil, err
	}
	ch, err := loader.Load(h.Chart)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", h.Chart, err)
	}
	if err := helmCheckDependencies(ch); err != nil {
		return nil, fmt.Errorf("chart %s: %w", h.Chart, err)
	}
	out := &Rendered{}
	if ch.Metadata.Type == "library" {
		return nil, fmt.Errorf("chart %s is a library chart: it renders nothing; give the application chart that uses it", h.Chart)
	}
	vals, err := helmValues(h)
	if err != nil {
		return nil, err
	}
	hcaps := chartutil.DefaultCapabilities.Copy()
	if caps.KubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(caps.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("server version %q: %w", caps.KubeVersion, err)
		}
		hcaps.KubeVersion = *kv
	}
	if caps.APIVersions != nil {
		hcaps.APIVersions = slices.Clone(caps.APIVersions)
	}
	out.KubeVersion = hcaps.KubeVersion.Version
	if ch.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, hcaps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart %s requires kubeVersion %s, which is incompatible with Kubernetes %s", h.Chart, ch.Metadata.KubeVersion, hcaps.KubeVersion.String())
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		return nil, fmt.Errorf("chart %s: %w", h.Chart, err)
	}
	if file, line := helmDNSCall(ch); file != "" {
		return nil, fmt.Errorf("chart %s: %w: %s:%d calls getHostByName, which resolves names from the machine running the gate (helm template renders it as an empty string): compare the deployed release with context:NAME instead",
			h.Chart, ErrNeedsNetwork, file, line)
	}
	skipSchema := helmExternalSchemaRef(ch)
	if skipSchema != "" {
		out.Notes = append(out.Notes, fmt.Sprintf("%s: values not validated against the chart's schema: it refers to %q, which rendering without network does not read", h.Chart, skipSchema))
	}
	opts := chartutil.ReleaseOptions{
		Name:      cmp.Or(h.ReleaseName, DefaultReleaseName),
		Namespace: cmp.Or(h.Namespace, DefaultNamespace),
		Revision:  1,
		IsInstall: true,
	}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals, opts, hcaps, skipSchema != "")
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", h.Chart, err)
	}
	files, err := engine.RenderWithClientProvider(ch, top, noCluster{})
	if err != nil {
		if errors.Is(err, ErrNeedsCluster) {
			return nil, fmt.Errorf("chart %s: %w (driftgate renders client-only and will not render lookup as if the cluster were empty: compare the deployed release with context:NAME instead)", h.Chart, err)
		}
		return nil, fmt.Errorf("chart %s: rendering: %w", h.Chart, err)
	}

	for _, crd := range ch.CRDObjects() {
		ms, err := drift.ReadManifestBytes(helmFile(h.Chart, ch, crd.Filename), crd.File.Data)
		if err != nil {
			return nil, err
		}
		out.Manifests = append(out.Manifests, ms...)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	var tests, deleted []string
	for _, name := range names {
		// NOTES.txt is shown to the user, not applied.
		if strings.HasSuffix(name, "NOTES.txt") || strings.TrimSpace(files[name]) == "" {
			continue
		}
		ms, err := drift.ReadManifestBytes(helmFile(h.Chart, ch, name), []byte(files[name]))
		if err != nil {
			var ie *drift.InputError
			if errors.As(err, &ie) {
				ie.Msg = "in the rendered output: " + ie.Msg
				ie.Hint = "the line is of the template's output: helm template " + h.Chart + " --show-only " + strings.TrimPrefix(name, ch.Name()+"/") + " shows it"
			}
			return nil, err
		}
		for _, m := range ms {
			switch helmAtRest(m.Object) {
			case helmTestHook:
				tests = append(tests, name)
				continue
			case helmDeletedHook:
				deleted = append(deleted, name)
				continue
			}
			if opts.Namespace != "" {
				helmDefaultNamespace(m.Object, opts.Namespace)
			}
			out.Manifests = append(out.Manifests, m)
		}
	}
	if len(tests) > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%s: %d helm test resources left out (they exist only while helm test runs): %s", h.Chart, len(tests), strings.Join(slices.Compact(tests), ", ")))
	}
	if len(deleted) > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%s: %d hook resources left out (helm.sh/hook-delete-policy hook-succeeded: helm deletes them once they succeed, so a cluster at rest does not hold them): %s", h.Chart, len(deleted), strings.Join(slices.Compact(deleted), ", ")))
	}
	return out, nil
}

// helmLinksInside refuses a chart directory holding a symbolic link that
// leads out of it: Helm's loader follows links, so a chart could read any
// file of the machine running the gate (with .Files.Get, into an object
// the report shows). A packaged chart holds no links that Helm follows.
func helmLinksInside(chartPath string) error {
	info, err := os.Stat(chartPath)
	if err != nil || !info.IsDir() {
		return nil // the loader words the error, or reads the archive
	}
	root, err := filepath.EvalSymlinks(chartPath)
	if err != nil {
		return fmt.Errorf("loading chart %s: %w", chartPath, err)
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("loading chart %s: %w", chartPath, err)
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		target, err := filepath.EvalSymlinks(p)
		if err == nil {
			var in string
			in, err = filepath.Rel(root, target)
			if err == nil && (in == ".." || strings.HasPrefix(in, ".."+string(filepath.Separator)) || filepath.IsAbs(in)) {
				err = errors.New("it leads out of the chart's directory")
			}
		}
		if err != nil {
			return &drift.InputError{File: filepath.Join(chartPath, rel), Msg: "a symbolic link driftgate does not follow: " + err.Error(),
				Hint: "a chart's files are read only from inside its directory: copy the file into the chart"}
		}
		return nil
	})
}

// helmCheckDependencies refuses a chart whose Chart.yaml names a
// dependency that is not in its charts/ folder, as helm template does:
// fetching it would take the network (helm dependency build does that).
func helmCheckDependencies(ch *chart.Chart) error {
	var missing []string
	for _, r := range ch.Metadata.Dependencies {
		if !slices.ContainsFunc(ch.Dependencies(), func(d *chart.Chart) bool { return d.Name() == r.Name }) {
			missing = append(missing, r.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("dependencies found in Chart.yaml, but missing in charts/: %s (run helm dependency build first)", strings.Join(missing, ", "))
	}
	return nil
}

// helmValues merges the values files and --set assignments. Files are
// read as local regular files only: helm accepts URLs there, which would
// take the network.
func helmValues(h Helm) (map[string]any, error) {
	vals := map[string]any{}
	for _, f := range h.Values {
		data, err := regularfile.ReadFile(f, "write the values to a file and give that file")
		if err != nil {
			var ie *drift.InputError
			if errors.As(err, &ie) {
				return nil, err
			}
			return nil, fmt.Errorf("reading values: %w", err)
		}
		var cur map[string]any
		if err := yaml.Unmarshal(data, &cur); err != nil {
			return nil, helmYAMLError(f, err)
		}
		vals = helmMerge(vals, cur)
	}
	for _, s := range h.Set {
		if err := strvals.ParseInto(s, vals); err != nil {
			return nil, fmt.Errorf("--set %q: %w", s, err)
		}
	}
	return vals, nil
}

// helmYAMLError is a values file's YAML error as an input error with
// the line the parser gives.
func helmYAMLError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	ie := &drift.InputError{File: file, Msg: msg, Hint: "fix the values file"}
	var line, col int
	if i := strings.Index(msg, "line "); i >= 0 {
		if n, _ := fmt.Sscanf(msg[i:], "line %d, column %d", &line, &col); n == 0 {
			line = 0
		}
	}
	ie.Line, ie.Column = line, col
	return ie
}

// helmMerge merges b into a: maps recursively, anything else from b, as
// helm merges values files.
func helmMerge(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = helmMerge(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// helmDNSCall returns the first template (as the engine names it, and
// line) of the chart or a subchart that calls getHostByName, or "".
func helmDNSCall(ch *chart.Chart) (string, int) {
	for _, t := range ch.Templates {
		if i := strings.Index(string(t.Data), "getHostByName"); i >= 0 {
			return path.Join(ch.ChartFullPath(), t.Name), strings.Count(string(t.Data[:i]), "\n") + 1
		}
	}
	for _, d := range ch.Dependencies() {
		if file, line := helmDNSCall(d); file != "" {
			return file, line
		}
	}
	return "", 0
}

// helmExternalSchemaRef returns the first $ref of the chart's (or a
// subchart's) values schema that names another document: Helm's
// validator would fetch it (http, https) or read it from the local disk
// (file). "" when every reference stays inside the schema.
func helmExternalSchemaRef(ch *chart.Chart) string {
	if ch.Schema != nil {
		var doc any
		if json.Unmarshal(ch.Schema, &doc) == nil {
			if ref := helmFindRef(doc); ref != "" {
				return ref
			}
		}
	}
	for _, d := range ch.Dependencies() {
		if ref := helmExternalSchemaRef(d); ref != "" {
			return ref
		}
	}
	return ""
}

func helmFindRef(v any) string {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "$ref" || k == "$dynamicRef" || k == "$schema" && !strings.HasPrefix(s, "http://json-schema.org/") && !strings.HasPrefix(s, "https://json-schema.org/")) {
				if !strings.HasPrefix(s, "#") && !strings.HasPrefix(s, "urn:") && s != "" {
					return s
				}
			}
			if ref := helmFindRef(x); ref != "" {
				return ref
			}
		}
	case []any:
		for _, x := range v {
			if ref := helmFindRef(x); ref != "" {
				return ref
			}
		}
	}
	return ""
}

// helmFile names a rendered template (chartname/templates/x.yaml) as a
// path a user can open: under the chart directory, or inside the
// packaged chart.
func helmFile(chartPath string, ch *chart.Chart, name string) string {
	rest := strings.TrimPrefix(name, ch.Name()+"/")
	if info, err := os.Stat(chartPath); err == nil && info.IsDir() {
		return filepath.Join(chartPath, rest)
	}
	return chartPath + "/" + name
}

// What a cluster at rest holds of a rendered object.
const (
	helmKept        = iota
	helmTestHook    // a `helm test` resource: exists only while helm test runs
	helmDeletedHook // a hook helm deletes once it succeeds
)

// helmAtRest tells whether a release's cluster holds obj once helm install
// or upgrade has finished. Hooks stay (helm's default delete policy,
// before-hook-creation, keeps the last one) unless their delete policy
// says hook-succeeded; compared with a live cluster, such a hook Job would
// be a false "missing in dev".
func helmAtRest(obj map[string]any) int {
	meta, _ := obj["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	hook, _ := ann["helm.sh/hook"].(string)
	if hook == "" {
		return helmKept
	}
	for _, e := range strings.Split(hook, ",") {
		if slices.Contains(testHookEvents, strings.TrimSpace(e)) {
			return helmTestHook
		}
	}
	policy, _ := ann["helm.sh/hook-delete-policy"].(string)
	for _, p := range strings.Split(policy, ",") {
		if strings.TrimSpace(p) == "hook-succeeded" {
			return helmDeletedHook
		}
	}
	return helmKept
}

// helmDefaultNamespace puts an object that names no namespace in ns, as
// helm install does; the manifests path drops it again from cluster-scoped
// kinds.
func helmDefaultNamespace(obj map[string]any, ns string) {
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		return
	}
	if cur, _ := meta["namespace"].(string); cur == "" {
		meta["namespace"] = ns
	}
}

// noCluster is the engine's client provider: every lookup fails, so a
// chart that asks the cluster is refused instead of rendered as if the
// cluster were empty (what helm template does).
type noCluster struct{}

func (noCluster) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	return nil, false, fmt.Errorf("%w: lookup %q %q", ErrNeedsCluster, apiVersion, kind)
}
