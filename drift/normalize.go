package drift

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/driftgate/driftgate/internal/jsonx"
)

// LastAppliedAnnotation is kubectl's client-side apply record. Its body is a
// second copy of the object (for a Secret, of its values) and is never kept.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// Redacted stands for a secret value when no digest key is set.
const Redacted = "(redacted)"

// Normalizer turns API objects into snapshot Objects. Its zero value drops
// Secret values; with a key it keeps an HMAC-SHA256 digest of each value.
type Normalizer struct {
	key []byte
}

// NewNormalizer returns a Normalizer that digests secret values with key, or
// drops them when key is empty.
func NewNormalizer(key []byte) *Normalizer {
	return &Normalizer{key: slices.Clone(key)}
}

// SecretDigest describes the normalizer's treatment of secret values, for
// SnapshotMeta.SecretDigest.
func (n *Normalizer) SecretDigest() string {
	if len(n.key) == 0 {
		return "none"
	}
	// The key id lets diff tell that two snapshots used the same key
	// without revealing it.
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte("driftgate key id"))
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))[:16]
}

// secretValue is what a snapshot keeps of one secret value.
// A value that already is one (a snapshot read again, a value redacted
// twice) is kept, so that redaction can run again on what it wrote.
func (n *Normalizer) secretValue(v []byte) string {
	if (len(v) == len(Redacted) || len(v) == len(hmacPrefix)+sha256HexLen) && isSecretMarker(string(v)) {
		return string(v)
	}
	if len(n.key) == 0 {
		return Redacted
	}
	m := hmac.New(sha256.New, n.key)
	m.Write(v)
	return hmacPrefix + hex.EncodeToString(m.Sum(nil))
}

// hmacPrefix starts a digest marker.
const hmacPrefix = "hmac-sha256:"

// Volatile metadata: set by the API server or controllers, different in
// every cluster, never drift.
var volatileMetadata = []string{
	"uid", "resourceVersion", "generation", "creationTimestamp",
	"deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
	"managedFields", "generateName",
}

var volatileAnnotations = []string{
	LastAppliedAnnotation,
	KappOriginalAnnotation,
	RancherAppliedAnnotation,
	"deployment.kubernetes.io/revision",
	"control-plane.alpha.kubernetes.io/leader",
	RestartedAtAnnotation,
}

// unread declares the parts of an API object that Normalize drops after
// reading no more of them than it keeps. A decoder whose objects go to
// Normalize and nowhere else may leave the rest of them out, and
// listDecoder does: about half of what an API server sends.
// TestListDecoderNormalizesAsDynamicClient holds the two to it.
//   - status: deleted unread, except where statusKept;
//   - managedFields[*].fieldsV1: only its top-level keys are read
//     (Manager.Fields), unless fieldsRead says the manager's whole field
//     set is read (Manager.Paths);
//   - the last-applied annotation: only its presence is read.
var unread = unreadParts{
	status:        "status",
	managedFields: "managedFields",
	fieldsV1:      "fieldsV1",
	annotations:   "annotations",
	lastApplied:   LastAppliedAnnotation,
}

// unreadParts names the members unread is about; see unread.
type unreadParts struct {
	status, managedFields, fieldsV1, annotations, lastApplied string
}

// statusKept reports whether Normalize keeps (part of) the status of an
// object of group/kind: a Node's.
func (unreadParts) statusKept(group, kind string) bool { return group == "" && kind == "Node" }

// fieldsRead reports whether Normalize reads the whole field set of a
// manager: one a rule set could call manual, whose leaf paths it keeps.
func (unreadParts) fieldsRead(manager string) bool { return KeepsManagerPaths(manager) }

// deployToolKeys are the labels and annotations that tell which tool deploys an object.
var deployToolKeys = []string{
	"app.kubernetes.io/managed-by",
	"helm.sh/chart",
	"meta.helm.sh/release-name",
	"meta.helm.sh/release-namespace",
	"argocd.argoproj.io/instance",
	"argocd.argoproj.io/tracking-id",
	"kustomize.toolkit.fluxcd.io/name",
	"kustomize.toolkit.fluxcd.io/namespace",
	"helm.toolkit.fluxcd.io/name",
	"helm.toolkit.fluxcd.io/namespace",
}

// Node facts that matter for parity; the rest of a Node is the machine's own business.
var (
	nodeInfoKeys = []string{"kubeletVersion", "kernelVersion", "osImage", "containerRuntimeVersion", "architecture", "operatingSystem"}
	nodeLabelRe  = regexp.MustCompile(`^(topology\.kubernetes\.io/|failure-domain\.beta\.kubernetes\.io/|node\.kubernetes\.io/instance-type$|beta\.kubernetes\.io/instance-type$|kubernetes\.io/arch$|kubernetes\.io/os$)`)
)

// Normalize converts one API object (as decoded JSON) into an Object. It
// reports fold=true for objects a snapshot leaves out: those represented by
// their controller (Pods of a ReplicaSet, children with generated names,
// ...) and Helm release revisions that are history. obj is modified.
func (n *Normalizer) Normalize(obj map[string]any) (o Object, fold bool, err error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if apiVersion == "" || kind == "" {
		return Object{}, false, fmt.Errorf("object has no apiVersion or kind")
	}
	group, version := splitAPIVersion(apiVersion)
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		return Object{}, false, fmt.Errorf("%s has no metadata", kind)
	}
	name, _ := meta["name"].(string)
	if name == "" {
		return Object{}, false, fmt.Errorf("%s has no metadata.name", kind)
	}
	ns, _ := meta["namespace"].(string)

	o = Object{Group: group, Version: version, Kind: kind, Namespace: ns, Name: name, Object: obj}
	o.Provenance = n.provenance(meta)
	if foldedIntoOwner(group, kind, o.Provenance.Owner) || generatedChild(meta, o.Provenance.Owner) {
		return o, true, nil
	}

	for _, k := range volatileMetadata {
		delete(meta, k)
	}
	if refs, ok := meta["ownerReferences"].([]any); ok {
		for _, r := range refs {
			if m, ok := r.(map[string]any); ok {
				delete(m, "uid")
			}
		}
	}
	if ann, ok := meta["annotations"].(map[string]any); ok {
		for _, k := range volatileAnnotations {
			delete(ann, k)
		}
		if len(ann) == 0 {
			delete(meta, "annotations")
		}
	}
	if labels, ok := meta["labels"].(map[string]any); ok && len(labels) == 0 {
		delete(meta, "labels")
	}

	if group == "" && (kind == "Secret" || kind == "ConfigMap") && isHelmRelease(kind, name, obj, meta) {
		if name, history, ok := normalizeHelmRelease(kind, obj, meta); ok {
			if history {
				return o, true, nil
			}
			o.Name = name
			delete(obj, unread.status)
			o.Object, _ = redactor{Normalizer: n, inPlace: true}.redact(group, kind, o.Name, obj)
			return o, false, nil
		}
	}
	normalizeClusterIdentity(group, kind, ns, name, obj)
	if group == "" {
		switch kind {
		case "Secret":
			if stable, ok := legacyTokenName(obj, meta, name); ok {
				o.Name = stable
			}
		case "ServiceAccount":
			stableServiceAccountSecrets(obj, meta)
		case "Pod":
			stableKubeAPIAccess(obj)
		}
	}
	dropRestartedAt(obj)

	switch {
	case unread.statusKept(group, kind):
		n.normalizeNode(obj, meta)
	default:
		delete(obj, unread.status)
	}
	o.Object, _ = redactor{Normalizer: n, inPlace: true}.redact(group, kind, o.Name, obj)
	return o, false, nil
}

func splitAPIVersion(apiVersion string) (group, version string) {
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i], apiVersion[i+1:]
	}
	return "", apiVersion
}

func (n *Normalizer) provenance(meta map[string]any) Provenance {
	var p Provenance
	if ann, ok := meta[unread.annotations].(map[string]any); ok {
		_, p.LastApplied = ann[unread.lastApplied]
	}
	for _, src := range []string{"labels", "annotations"} {
		m, _ := meta[src].(map[string]any)
		for _, k := range deployToolKeys {
			if v, ok := m[k].(string); ok {
				if p.DeployTool == nil {
					p.DeployTool = map[string]string{}
				}
				p.DeployTool[k] = v
			}
		}
	}
	if refs, ok := meta["ownerReferences"].([]any); ok {
		for _, r := range refs {
			m, _ := r.(map[string]any)
			if m == nil {
				continue
			}
			ref := &OwnerRef{}
			ref.APIVersion, _ = m["apiVersion"].(string)
			ref.Kind, _ = m["kind"].(string)
			ref.Name, _ = m["name"].(string)
			ref.Controller, _ = m["controller"].(bool)
			if p.Owner == nil || (ref.Controller && !p.Owner.Controller) {
				p.Owner = ref
			}
		}
	}
	if mfs, ok := meta[unread.managedFields].([]any); ok {
		for _, e := range mfs {
			m, _ := e.(map[string]any)
			if m == nil {
				continue
			}
			var mg Manager
			mg.Manager, _ = m["manager"].(string)
			mg.Operation, _ = m["operation"].(string)
			mg.Subresource, _ = m["subresource"].(string)
			fields, _ := m[unread.fieldsV1].(map[string]any)
			// Only a field set read whole can be pruned (see unread).
			if unread.fieldsRead(mg.Manager) && len(fields) > 0 && pruneDropped(fields) {
				continue
			}
			for k := range fields {
				if name, ok := strings.CutPrefix(k, "f:"); ok {
					mg.Fields = append(mg.Fields, name)
				}
			}
			sort.Strings(mg.Fields)
			if unread.fieldsRead(mg.Manager) {
				mg.Paths = leafPaths(fields, maxManagerPaths)
			}
			p.Managers = append(p.Managers, mg)
		}
	}
	return p
}

// maxManagerPaths caps the leaf paths kept per manager: enough to name what
// was changed by hand, small enough to keep snapshots compact.
const maxManagerPaths = 32

// leafPaths renders the leaves of a fieldsV1 set as readable paths:
// spec.template.spec.containers[name=app].image.
func leafPaths(fields map[string]any, max int) []string {
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		keys := make([]string, 0, len(m))
		for k := range m {
			if k != "." {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		if len(keys) == 0 && prefix != "" {
			out = append(out, prefix)
			return
		}
		for _, k := range keys {
			child, _ := m[k].(map[string]any)
			walk(joinFieldPath(prefix, k), child)
		}
	}
	walk("", fields)
	if len(out) > max {
		out = append(out[:max], fmt.Sprintf("... %d more", len(out)-max))
	}
	return out
}

func joinFieldPath(prefix, k string) string {
	switch {
	case strings.HasPrefix(k, "f:"):
		name := k[2:]
		if strings.ContainsAny(name, ".[]= ") {
			return prefix + "[" + strconv.Quote(name) + "]"
		}
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	case strings.HasPrefix(k, "k:"):
		var key map[string]any
		if json.Unmarshal([]byte(k[2:]), &key) == nil {
			parts := make([]string, 0, len(key))
			for kk, v := range key {
				parts = append(parts, fmt.Sprintf("%s=%v", kk, v))
			}
			sort.Strings(parts)
			return prefix + "[" + strings.Join(parts, ",") + "]"
		}
		return prefix + "[" + k[2:] + "]"
	case strings.HasPrefix(k, "v:"):
		return prefix + "[=" + strings.Trim(k[2:], `"`) + "]"
	case strings.HasPrefix(k, "i:"):
		return prefix + "[" + k[2:] + "]"
	}
	return prefix + "." + k
}

// foldedIntoOwner reports whether an object is represented by its
// controller: its spec is the owner's template, so listing it again is noise.
// Ownerless Pods and ReplicaSets stay: they are leftovers.
func foldedIntoOwner(group, kind string, owner *OwnerRef) bool {
	if owner == nil || !owner.Controller {
		return false
	}
	og, _ := splitAPIVersion(owner.APIVersion)
	switch {
	case group == "" && kind == "Pod":
		return (og == "apps" && (owner.Kind == "ReplicaSet" || owner.Kind == "StatefulSet" || owner.Kind == "DaemonSet")) ||
			(og == "batch" && owner.Kind == "Job")
	case group == "apps" && kind == "ReplicaSet":
		return og == "apps" && owner.Kind == "Deployment"
	case group == "apps" && kind == "ControllerRevision":
		return true
	case group == "batch" && kind == "Job":
		return og == "batch" && owner.Kind == "CronJob"
	}
	return false
}

func (n *Normalizer) normalizeNode(obj, meta map[string]any) {
	if labels, ok := meta["labels"].(map[string]any); ok {
		for k := range labels {
			if !nodeLabelRe.MatchString(k) {
				delete(labels, k)
			}
		}
		if len(labels) == 0 {
			delete(meta, "labels")
		}
	}
	delete(meta, "annotations")
	info := map[string]any{}
	if st, ok := obj["status"].(map[string]any); ok {
		if ni, ok := st["nodeInfo"].(map[string]any); ok {
			for _, k := range nodeInfoKeys {
				if v, ok := ni[k]; ok {
					info[k] = v
				}
			}
		}
	}
	for k := range obj {
		if k != "apiVersion" && k != "kind" && k != "metadata" {
			delete(obj, k)
		}
	}
	obj["nodeInfo"] = info
}

// canonicalNumbers converts json.Number and float64 values to int64 when they
// are whole, float64 otherwise, so an object decoded from YAML, from a
// snapshot file or from the API holds the same Go values.
func canonicalNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			t[k] = canonicalNumbers(child)
		}
		return t
	case []any:
		for i, child := range t {
			t[i] = canonicalNumbers(child)
		}
		return t
	case json.Number:
		return jsonx.CanonicalNumber(string(t))
	case float64:
		return jsonx.CanonicalFloat(t)
	case int:
		return int64(t)
	}
	return v
}
