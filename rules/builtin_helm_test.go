package rules

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// helmRelease is the Secret Helm's storage driver writes for one revision:
// data.release is base64 (the Secret's encoding) of base64 of gzip of the
// release JSON.
func helmRelease(t *testing.T, name string, revision int, status, chartVersion string) string {
	t.Helper()
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	fmt.Fprintf(w, `{"name":%q,"version":%d,"namespace":"a","info":{"status":%q},"chart":{"metadata":{"name":"shop","version":%q,"appVersion":"1.0"}},"config":{"password":"hunter2"}}`,
		name, revision, status, chartVersion)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	payload := base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString(gz.Bytes())))
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
type: helm.sh/release.v1
metadata:
  name: sh.helm.release.v1.%s.v%d
  namespace: a
  labels: {owner: helm, name: %s, status: %s, version: "%d"}
data: {release: %s}`, name, revision, name, status, revision, payload)
}

// Helm release history is not drift; the deployed chart version is shown
// for context (info), never blocking.
func TestBuiltinHelmReleases(t *testing.T) {
	t.Parallel()
	history := func(revisions int, chartVersion string) []string {
		var docs []string
		for r := 1; r <= revisions; r++ {
			status := "superseded"
			if r == revisions {
				status = "deployed"
			}
			docs = append(docs, helmRelease(t, "shop", r, status, chartVersion))
		}
		return docs
	}
	if got := summary(builtinFindings(t, history(3, "1.2.0"), history(7, "1.2.0"))); len(got) != 0 {
		t.Errorf("revision 3 against revision 7 of the same chart: %v", got)
	}
	want := []string{"info helm-release-chart a/Secret/sh.helm.release.v1.shop changed metadata.annotations[\"driftgate.dev/helm-chart\"]"}
	if diff := cmp.Diff(want, summary(builtinFindings(t, history(3, "1.3.0"), history(7, "1.2.0")))); diff != "" {
		t.Errorf("another chart version (-want +got):\n%s", diff)
	}
}
