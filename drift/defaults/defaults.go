// Package defaults fills manifests with the values an API server would give
// them, so that a folder of manifests compares with a live cluster (or a
// snapshot of one) without every defaulted field showing as drift.
//
// The defaults are the server's own: each object is created with
// dryRun=All, which runs defaulting, admission (webhooks that declare no
// side effects) and validation but persists nothing, as GitOps tools do to
// preview an apply. Three choices keep the result the manifest's and not the
// live object's:
//
//   - The object is created under a generated name (metadata.generateName),
//     never its own: a dry-run create of an existing name fails, and a
//     server-side apply dry-run would merge with the live object, which is
//     exactly the state being compared against. The generated name is
//     replaced by the real one wherever the server copied it (the
//     Namespace's kubernetes.io/metadata.name label, a Job's job-name).
//   - An object whose namespace does not exist on that server is created in
//     "default" instead (a dry-run Namespace is not persisted, so it cannot
//     be created first); defaulting does not depend on the namespace.
//   - The metadata written in the manifest is kept as written (provenance
//     included: the result is still what the user wants to deploy, not a
//     live object), values the server allocates rather than defaults
//     (a Service's cluster IPs and node ports) are dropped unless written,
//     and Secret values are never sent.
//
// An object that cannot be defaulted (a kind the server does not serve,
// RBAC forbids the create, an admission webhook refuses or fails) is kept
// as written and reported in the Outcome.
package defaults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/driftgate/driftgate/drift"
)

// FieldManager is the field manager of the dry-run requests; nothing it
// writes is kept.
const FieldManager = "driftgate-defaults"

// namePrefix is the generateName of dry-run objects: short enough for every
// kind's name rules, and starting with a letter for DNS-1035 names.
const namePrefix = "driftgate-defaults-"

// fallbackNamespace receives objects whose namespace the server lacks.
const fallbackNamespace = "default"

// DefaultWorkers bounds the dry-run requests in flight.
const DefaultWorkers = 4

// Options configure Apply.
type Options struct {
	// Workers bounds the requests in flight; 0: DefaultWorkers. client-go's
	// rate limiter (the config's QPS and Burst) and its retry of 429
	// responses apply as well.
	Workers int
	Log     *slog.Logger
}

// Kept is a manifest object compared as written, and why.
type Kept struct {
	Object string // group/Kind namespace/name as written
	Reason string
}

// Outcome says what Apply did.
type Outcome struct {
	// Err is set when no defaults could be obtained at all (the server is
	// unreachable or refuses discovery); the manifests are unchanged.
	Err error
	// Defaulted counts the objects replaced by their dry-run result.
	Defaulted int
	// Kept lists the objects left as written, in manifest order.
	Kept []Kept
}

// Apply replaces each object of ms by its dry-run create result from the
// server cfg points at, restored as the package doc says. Objects it cannot
// default are left as they are and listed in the Outcome.
func Apply(ctx context.Context, cfg *rest.Config, ms []drift.Manifest, opts Options) Outcome {
	if len(ms) == 0 {
		return Outcome{}
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return Outcome{Err: err}
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil && (len(groups) == 0 || !discovery.IsGroupDiscoveryFailedError(err)) {
		return Outcome{Err: fmt.Errorf("discovering the API: %w", err)}
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return Outcome{Err: err}
	}
	d := &defaulter{mapper: restmapper.NewDiscoveryRESTMapper(groups), client: dyn, log: opts.Log}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}

	workers := opts.Workers
	if workers <= 0 {
		workers = DefaultWorkers
	}
	reasons := make([]string, len(ms))
	unreachable := make([]error, len(ms))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(ms)) {
		wg.Go(func() {
			for i := range next {
				obj, err := d.apply(ctx, ms[i].Object)
				switch {
				case err == nil:
					ms[i].Object = obj
				case isUnreachable(err):
					unreachable[i] = err
				default:
					reasons[i] = err.Error()
				}
			}
		})
	}
	for i := range ms {
		next <- i
	}
	close(next)
	wg.Wait()

	var out Outcome
	for i, m := range ms {
		switch {
		case unreachable[i] != nil:
			if out.Err == nil {
				out.Err = unreachable[i]
			}
		case reasons[i] != "":
			out.Kept = append(out.Kept, Kept{Object: objectName(m.Object), Reason: reasons[i]})
		default:
			out.Defaulted++
		}
	}
	if out.Err != nil && out.Defaulted == 0 {
		// Nothing came back: say so once rather than per object.
		out.Kept = nil
	}
	return out
}

type defaulter struct {
	mapper meta.RESTMapper
	client dynamic.Interface
	log    *slog.Logger
}

// apply dry-run creates obj and returns the restored result; obj is not modified.
func (d *defaulter) apply(ctx context.Context, obj map[string]any) (map[string]any, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, err
	}
	mapping, err := d.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: kind}, gv.Version)
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, errors.New("kind not served by the server (a CRD not installed there?)")
		}
		return nil, err
	}
	req := request(obj)
	u := &unstructured.Unstructured{Object: req}
	namespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
	ns := ""
	if namespaced {
		ns = u.GetNamespace()
		if ns == "" {
			ns = fallbackNamespace
		}
	}
	create := func(ns string) (*unstructured.Unstructured, error) {
		u.SetNamespace(ns)
		var ri dynamic.ResourceInterface = d.client.Resource(mapping.Resource)
		if namespaced {
			ri = d.client.Resource(mapping.Resource).Namespace(ns)
		}
		return ri.Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: FieldManager})
	}
	res, err := create(ns)
	if namespaced && ns != fallbackNamespace && isNamespaceNotFound(err) {
		d.log.Debug("namespace not on the defaults server; dry-run in default", "namespace", ns, "object", objectName(obj))
		res, err = create(fallbackNamespace)
	}
	if err != nil {
		return nil, reason(err, manifestName(obj))
	}
	return restore(obj, res.Object, res.GetName()), nil
}

// request is the object sent: the manifest under a generated name, with
// only the metadata that can affect defaulting or admission, and no Secret
// values.
func request(obj map[string]any) map[string]any {
	req := runtime.DeepCopyJSON(withoutSecretValues(obj))
	m, _ := obj["metadata"].(map[string]any)
	meta := map[string]any{"generateName": namePrefix}
	for _, k := range []string{"namespace", "labels", "annotations"} {
		if v, ok := m[k]; ok {
			meta[k] = runtime.DeepCopyJSONValue(v)
		}
	}
	req["metadata"] = meta
	delete(req, "status")
	return req
}

// withoutSecretValues is obj without the values of a Secret, which the
// defaults server has no business seeing (it may audit request bodies).
func withoutSecretValues(obj map[string]any) map[string]any {
	if obj["apiVersion"] != "v1" || obj["kind"] != "Secret" {
		return obj
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "data" && k != "stringData" {
			out[k] = v
		}
	}
	return out
}

// volatileMetadata are the metadata fields the server sets on create that
// belong to the (dry-run) live object, not to the manifest.
var volatileMetadata = []string{"name", "generateName", "namespace", "uid", "resourceVersion", "generation",
	"creationTimestamp", "managedFields", "selfLink"}

// restore is the dry-run result res as the manifest obj: obj's metadata
// over what the server added, its name where the server copied the
// generated one, allocated values only when written, Secret values as
// written. res is modified.
func restore(obj, res map[string]any, generated string) map[string]any {
	delete(res, "status")
	if generated != "" {
		res = replaceString(res, generated, manifestName(obj)).(map[string]any)
	}
	meta, _ := res["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		res["metadata"] = meta
	}
	for _, k := range volatileMetadata {
		delete(meta, k)
	}
	orig, _ := obj["metadata"].(map[string]any)
	for k, v := range orig {
		meta[k] = runtime.DeepCopyJSONValue(v)
	}
	if obj["apiVersion"] == "v1" {
		switch obj["kind"] {
		case "Secret":
			for _, k := range []string{"data", "stringData"} {
				delete(res, k)
				if v, ok := obj[k]; ok {
					res[k] = runtime.DeepCopyJSONValue(v)
				}
			}
		case "Service":
			dropAllocated(obj, res)
		}
	}
	return res
}

// dropAllocated removes from a Service what the server allocated rather
// than defaulted (a dry-run allocates too, at random): cluster IPs and node
// ports the manifest does not set.
func dropAllocated(obj, res map[string]any) {
	spec, _ := res["spec"].(map[string]any)
	want, _ := obj["spec"].(map[string]any)
	for _, k := range []string{"clusterIP", "clusterIPs", "healthCheckNodePort"} {
		if _, ok := want[k]; !ok {
			delete(spec, k)
		}
	}
	ports, _ := spec["ports"].([]any)
	wantPorts, _ := want["ports"].([]any)
	for i, p := range ports {
		pm, _ := p.(map[string]any)
		var wp map[string]any
		if i < len(wantPorts) {
			wp, _ = wantPorts[i].(map[string]any)
		}
		if _, ok := wp["nodePort"]; !ok {
			delete(pm, "nodePort")
		}
	}
}

// replaceString replaces the string old by new wherever it is a whole value
// or a map key in v.
func replaceString(v any, old, new string) any {
	switch t := v.(type) {
	case string:
		if t == old {
			return new
		}
	case map[string]any:
		for k, c := range t {
			c = replaceString(c, old, new)
			if k == old {
				delete(t, k)
				k = new
			}
			t[k] = c
		}
	case []any:
		for i, c := range t {
			t[i] = replaceString(c, old, new)
		}
	}
	return v
}

func manifestName(obj map[string]any) string {
	m, _ := obj["metadata"].(map[string]any)
	name, _ := m["name"].(string)
	return name
}

// objectName names obj in notes: group/Kind namespace/name, as written.
func objectName(obj map[string]any) string {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	gk := kind
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		gk = apiVersion[:i] + "/" + kind
	}
	m, _ := obj["metadata"].(map[string]any)
	ns, _ := m["namespace"].(string)
	name := manifestName(obj)
	if ns != "" {
		name = ns + "/" + name
	}
	return gk + " " + name
}

// isNamespaceNotFound reports whether err says the namespace is missing.
func isNamespaceNotFound(err error) bool {
	var st apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &st) {
		return false
	}
	d := st.Status().Details
	return d != nil && d.Kind == "namespaces"
}

// isUnreachable reports whether err is about reaching the server rather
// than about the object.
func isUnreachable(err error) bool {
	var ne net.Error
	var st apierrors.APIStatus
	return errors.As(err, &ne) && !errors.As(err, &st) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// generatedName matches the names the server generates from namePrefix.
var generatedName = regexp.MustCompile(regexp.QuoteMeta(namePrefix) + `[a-z0-9]{5}`)

// reason says why the object name could not be defaulted, in a note's words.
func reason(err error, name string) error {
	switch {
	case isUnreachable(err):
		return err
	case apierrors.IsForbidden(err):
		return fmt.Errorf("defaults could not be obtained: forbidden (RBAC needs create on this kind): %s", statusMessage(err, name))
	case apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err):
		return fmt.Errorf("kind cannot be created on the server: %s", statusMessage(err, name))
	case strings.Contains(err.Error(), "webhook"):
		return fmt.Errorf("an admission webhook refused or failed the dry-run: %s", statusMessage(err, name))
	}
	return fmt.Errorf("defaults could not be obtained: %s", statusMessage(err, name))
}

// statusMessage is the server's message, with the generated name (which
// would make the note change from run to run) replaced by the object's.
func statusMessage(err error, name string) string {
	msg := err.Error()
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Message != "" {
		msg = st.Status().Message
	}
	return strings.ReplaceAll(generatedName.ReplaceAllLiteralString(msg, name), namePrefix, name)
}
