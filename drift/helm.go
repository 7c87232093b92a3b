package drift

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Helm 3 stores each revision of a release as one Secret (type
// helm.sh/release.v1, the default driver) or ConfigMap (the configmap
// driver), named sh.helm.release.v1.NAME.vN and labelled owner=helm,
// name=NAME, status=..., version=N. Dev at revision 3 and prod at 7 are the
// same deployment, so a snapshot keeps one object per release, named
// sh.helm.release.v1.NAME, that says which chart is deployed, and nothing of
// the payload (its values and manifest may hold secrets).
const (
	helmReleasePrefix     = "sh.helm.release.v1."
	helmReleaseSecretType = "helm.sh/release.v1"

	// HelmChartAnnotation is set on a release's snapshot object to the
	// deployed chart, NAME-VERSION, read from the release payload.
	HelmChartAnnotation = "driftgate.dev/helm-chart"
	// HelmAppVersionAnnotation is set to the deployed chart's appVersion.
	HelmAppVersionAnnotation = "driftgate.dev/helm-app-version"
)

// helmHistoryStatuses are the statuses of revisions that are history: what
// runs is the deployed revision (a failed upgrade leaves the previous one
// deployed). The in-flight statuses (pending-*, uninstalling, unknown) are
// kept under their revision's name.
var helmHistoryStatuses = map[string]bool{"superseded": true, "failed": true, "uninstalled": true}

// helmReleaseLabels are the storage labels a snapshot keeps; the revision
// (version) and Helm's createdAt/modifiedAt timestamps differ by design.
var helmReleaseLabels = []string{"owner", "name", "status"}

// maxHelmRelease caps a decompressed release payload: Helm's own objects are
// at most 1 MiB compressed; anything larger is not decoded.
const maxHelmRelease = 32 << 20

// helmRelease is the part of Helm's release JSON a snapshot reads.
type helmRelease struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
	Info    struct {
		Status string `json:"status"`
	} `json:"info"`
	Chart struct {
		Metadata struct {
			Name       string `json:"name"`
			Version    string `json:"version"`
			AppVersion string `json:"appVersion"`
		} `json:"metadata"`
	} `json:"chart"`
}

// isHelmRelease reports whether a Secret or ConfigMap is Helm release storage.
func isHelmRelease(kind, name string, obj, meta map[string]any) bool {
	if !strings.HasPrefix(name, helmReleasePrefix) {
		return false
	}
	labels, _ := meta["labels"].(map[string]any)
	switch kind {
	case "Secret":
		t, _ := obj["type"].(string)
		return t == helmReleaseSecretType
	case "ConfigMap":
		return labels["owner"] == "helm"
	}
	return false
}

// normalizeHelmRelease replaces a release revision's object with what is
// deployed. It returns the object's new name, whether the revision is
// history (and so left out), and ok=false when the payload cannot be
// decoded or does not match the object's name: the object is then kept as
// any other Secret or ConfigMap, without guessing.
func normalizeHelmRelease(kind string, obj, meta map[string]any) (name string, history, ok bool) {
	data, _ := obj["data"].(map[string]any)
	payload, _ := data["release"].(string)
	if kind == "Secret" {
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return "", false, false
		}
		payload = string(b)
	}
	rel, err := decodeHelmRelease(payload)
	if err != nil || rel.Name == "" || rel.Version <= 0 || rel.Info.Status == "" || rel.Chart.Metadata.Name == "" {
		return "", false, false
	}
	revName := helmReleasePrefix + rel.Name + ".v" + strconv.Itoa(rel.Version)
	if meta["name"] != revName {
		return "", false, false
	}
	if helmHistoryStatuses[rel.Info.Status] {
		return "", true, true
	}
	name = revName
	if rel.Info.Status == "deployed" {
		name = helmReleasePrefix + rel.Name
	}
	meta["name"] = name
	labels := map[string]any{}
	old, _ := meta["labels"].(map[string]any)
	for _, k := range helmReleaseLabels {
		if v, ok := old[k]; ok {
			labels[k] = v
		}
	}
	labels["status"] = rel.Info.Status
	meta["labels"] = labels
	ann, _ := meta["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		meta["annotations"] = ann
	}
	ann[HelmChartAnnotation] = rel.Chart.Metadata.Name + "-" + rel.Chart.Metadata.Version
	if v := rel.Chart.Metadata.AppVersion; v != "" {
		ann[HelmAppVersionAnnotation] = v
	}
	delete(obj, "data")
	delete(obj, "stringData")
	delete(obj, "binaryData")
	return name, false, true
}

// decodeHelmRelease decodes Helm's storage encoding: base64 of gzip of JSON,
// or base64 of JSON for releases stored before compression (as Helm's
// storage/driver decodeRelease does).
func decodeHelmRelease(s string) (*helmRelease, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var r io.Reader = bytes.NewReader(b)
	if bytes.HasPrefix(b, []byte{0x1f, 0x8b, 0x08}) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	}
	js, err := io.ReadAll(io.LimitReader(r, maxHelmRelease+1))
	if err != nil {
		return nil, err
	}
	if len(js) > maxHelmRelease {
		return nil, errors.New("release payload over 32 MiB")
	}
	var rel helmRelease
	if err := json.Unmarshal(js, &rel); err != nil {
		return nil, err
	}
	return &rel, nil
}
