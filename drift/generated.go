package drift

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
)

// Names the cluster makes up. Two clusters running the same objects give
// their generated children different names, so a snapshot either folds the
// child into its owner or gives it a stable name.

// generatedSuffix is what the API server's name generator appends
// (k8s.io/apiserver's names.SimpleNameGenerator: 5 characters of an
// alphabet without vowels and look-alike digits).
const generatedSuffix = `[bcdfghjklmnpqrstvwxz2456789]{5}`

var (
	kubeAPIAccessRe = regexp.MustCompile(`^kube-api-access-` + generatedSuffix + `$`)
	legacyTokenRe   = regexp.MustCompile(`^(.+)-token-` + generatedSuffix + `$`)
)

// kubeAPIAccessVolume is the stable name of the projected service-account
// token volume the ServiceAccount admission plugin adds to every Pod.
const kubeAPIAccessVolume = "kube-api-access"

// RestartedAtAnnotation is what `kubectl rollout restart` sets on a pod
// template to roll it; its value is a time and changes no behaviour.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// legacyTokenVolatile are the annotations and labels of a legacy
// service-account token Secret that differ per cluster: the account's uid,
// and the dates the token cleaner tracks.
var legacyTokenVolatile = []string{
	"kubernetes.io/service-account.uid",
	"kubernetes.io/legacy-token-last-used",
	"kubernetes.io/legacy-token-invalid-since",
}

// generatedChild reports whether an object's name was generated from
// metadata.generateName for a controller: an EndpointSlice of a Service, a
// Pod of a custom controller. Like the children foldedIntoOwner names, it
// is judged through its owner.
func generatedChild(meta map[string]any, owner *OwnerRef) bool {
	if owner == nil || !owner.Controller {
		return false
	}
	gen, _ := meta["generateName"].(string)
	name, _ := meta["name"].(string)
	return gen != "" && len(name) > len(gen) && strings.HasPrefix(name, gen)
}

// legacyTokenName returns the stable name of a legacy service-account token
// Secret the token controller made, <sa>-token-xxxxx, as <sa>-token, and
// drops its per-cluster annotations and labels. Tokens created by hand under
// a chosen name keep it.
func legacyTokenName(obj, meta map[string]any, name string) (string, bool) {
	if t, _ := obj["type"].(string); t != "kubernetes.io/service-account-token" {
		return "", false
	}
	ann, _ := meta["annotations"].(map[string]any)
	sa, _ := ann["kubernetes.io/service-account.name"].(string)
	m := legacyTokenRe.FindStringSubmatch(name)
	if m == nil || m[1] != sa {
		return "", false
	}
	for _, k := range legacyTokenVolatile {
		deleteKey(meta, "annotations", k)
		deleteKey(meta, "labels", k)
	}
	stable := sa + "-token"
	meta["name"] = stable
	return stable, true
}

// stableServiceAccountSecrets renames a ServiceAccount's references to its
// generated legacy token Secrets as legacyTokenName names them.
func stableServiceAccountSecrets(obj, meta map[string]any) {
	sa, _ := meta["name"].(string)
	refs, _ := obj["secrets"].([]any)
	for _, r := range refs {
		m, _ := r.(map[string]any)
		name, _ := m["name"].(string)
		if match := legacyTokenRe.FindStringSubmatch(name); match != nil && match[1] == sa {
			m["name"] = sa + "-token"
		}
	}
}

// stableKubeAPIAccess renames a Pod's kube-api-access-xxxxx volume, and the
// mounts of it, to kube-api-access.
func stableKubeAPIAccess(obj map[string]any) {
	spec, _ := obj["spec"].(map[string]any)
	vols, _ := spec["volumes"].([]any)
	for _, v := range vols {
		if m, _ := v.(map[string]any); m != nil {
			if name, _ := m["name"].(string); kubeAPIAccessRe.MatchString(name) {
				m["name"] = kubeAPIAccessVolume
			}
		}
	}
	for _, list := range []string{"containers", "initContainers", "ephemeralContainers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			mounts, _ := cm["volumeMounts"].([]any)
			for _, vm := range mounts {
				if m, _ := vm.(map[string]any); m != nil {
					if name, _ := m["name"].(string); kubeAPIAccessRe.MatchString(name) {
						m["name"] = kubeAPIAccessVolume
					}
				}
			}
		}
	}
}

// dropRestartedAt removes RestartedAtAnnotation from the pod templates of
// workloads (spec.template, and a CronJob's spec.jobTemplate.spec.template).
func dropRestartedAt(obj map[string]any) {
	spec, _ := obj["spec"].(map[string]any)
	jt, _ := spec["jobTemplate"].(map[string]any)
	jspec, _ := jt["spec"].(map[string]any)
	for _, s := range []map[string]any{spec, jspec} {
		tmpl, _ := s["template"].(map[string]any)
		meta, _ := tmpl["metadata"].(map[string]any)
		deleteKey(meta, "annotations", RestartedAtAnnotation)
	}
}

// droppedFields are the managed-field paths, as fieldsV1 keys, of what
// normalization drops from the object: RestartedAtAnnotation in a pod
// template, the last-applied annotation (kept as Provenance.LastApplied)
// and the other annotations that copy the object (KappOriginalAnnotation,
// RancherAppliedAnnotation).
// A manager's ownership of them says nothing a comparison could check.
var droppedFields = [][]string{
	{"f:spec", "f:template", "f:metadata", "f:annotations", "f:" + RestartedAtAnnotation},
	{"f:spec", "f:jobTemplate", "f:spec", "f:template", "f:metadata", "f:annotations", "f:" + RestartedAtAnnotation},
	{"f:metadata", "f:annotations", "f:" + LastAppliedAnnotation},
	{"f:metadata", "f:annotations", "f:" + KappOriginalAnnotation},
	{"f:metadata", "f:annotations", "f:" + RancherAppliedAnnotation},
}

// pruneDropped removes droppedFields from a field set, and the maps left
// holding nothing but their own "." marker. It reports whether the field
// set is then empty: the manager (kubectl-rollout) owns nothing a snapshot
// keeps.
func pruneDropped(fields map[string]any) (empty bool) {
	for _, path := range droppedFields {
		prunePath(fields, path)
	}
	return len(fields) == 0
}

// prunePath deletes path from a fieldsV1 map and the parents it empties.
func prunePath(m map[string]any, path []string) {
	if len(path) == 0 || m == nil {
		return
	}
	if len(path) == 1 {
		delete(m, path[0])
		return
	}
	child, ok := m[path[0]].(map[string]any)
	if !ok {
		return
	}
	prunePath(child, path[1:])
	if _, dot := child["."]; (dot && len(child) == 1) || len(child) == 0 {
		delete(m, path[0])
	}
}

// deleteKey deletes key from the map meta[field], and the map when empty.
func deleteKey(meta map[string]any, field, key string) {
	m, ok := meta[field].(map[string]any)
	if !ok {
		return
	}
	delete(m, key)
	if len(m) == 0 {
		delete(meta, field)
	}
}

// foldTwins removes the objects that normalization gave the name of another
// (two legacy tokens of one service account, two revisions Helm left
// marked deployed), keeping of each group the one whose snapshot form
// sorts first, so both clusters and every run choose alike. It returns the
// objects left and how many were folded.
func foldTwins(objs []Object) ([]Object, int) {
	seen := make(map[ObjectID]int, len(objs))
	out := objs[:0]
	folded := 0
	for _, o := range objs {
		id := o.ID()
		i, dup := seen[id]
		if !dup {
			seen[id] = len(out)
			out = append(out, o)
			continue
		}
		folded++
		if bytes.Compare(snapshotForm(&o), snapshotForm(&out[i])) < 0 {
			out[i] = o
		}
	}
	return out, folded
}

// snapshotForm is o as a snapshot file holds it.
func snapshotForm(o *Object) []byte {
	if o.Encoded != nil {
		return o.Encoded
	}
	b, _ := json.Marshal(o.Object)
	return b
}
