package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/driftgate/driftgate/drift/output"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// Distinctive values planted on both clusters, different on each, in every
// place a secret lives: Secret data, stringData, a Secret's last-applied
// annotation, and env values named like passwords and tokens.
var leakCanaries = map[string][]string{
	"dev":  {"dev-data-k9XQ2v", "dev-stringdata-Lm4pR8", "dev-lastapplied-Zt7wE3", "dev-env-password-Hq5sY1", "dev-env-token-Bc8nU6"},
	"prod": {"prod-data-Ww3jK7", "prod-stringdata-Pe9dF2", "prod-lastapplied-Nv6gT4", "prod-env-password-Rj2hM8", "prod-env-token-Xs1qA5"},
}

func canaryManifest(v []string, extraKey bool) string {
	extra := ""
	if extraKey {
		extra = "\n  debug-token: " + base64.StdEncoding.EncodeToString([]byte(v[0]+"-extra"))
	}
	return `apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"` + v[2] + `"}}'
data:
  password: ` + base64.StdEncoding.EncodeToString([]byte(v[0])) + extra + `
stringData:
  api-key: ` + v[1] + `
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"spec":{"template":{"spec":{"containers":[{"env":[{"name":"DB_PASSWORD","value":"` + v[3] + `"}]}]}}}}'
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: registry.example.com/api:1
        env:
        - {name: DB_PASSWORD, value: ` + v[3] + `}
        - {name: GITHUB_TOKEN, value: ` + v[4] + `}
`
}

// leakForms are the ways a value could appear: plain, base64 (padded and
// not), and as it would be inside JSON-escaped or URL-escaped text.
func leakForms(v string) []string {
	return []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)), base64.URLEncoding.EncodeToString([]byte(v))}
}

// TestNoSecretValueLeavesTheCluster runs every command in every format over
// clusters holding distinctive secret values, and searches everything they
// wrote (stdout, stderr with -v logs, snapshot files, reports, incident
// records, postmortems, the history, a webhook delivery) for any of them.
func TestNoSecretValueLeavesTheCluster(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := bed.Namespace(t, nil)
	if err := bed.Dev.Apply(ctx, []byte(canaryManifest(leakCanaries["dev"], true)), ns, testbed.ManagerKubectlCreate, testbed.Create); err != nil {
		t.Fatal(err)
	}
	if err := bed.Prod.Apply(ctx, []byte(canaryManifest(leakCanaries["prod"], false)), ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var delivered [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		delivered = append(delivered, b)
		mu.Unlock()
	}))
	defer hook.Close()

	cfg := liveConfig(t, bed.Kubeconfig, ns, `override: {allowedBy: [alice]}
incidents:
  dir: ./incidents
  hooks: [{type: webhook, url: '`+hook.URL+`', required: true}]
report:
  pairs: [{name: shop, dev: dev, prod: prod}]
  history: ./history
  hooks: [{type: slack, url: '`+hook.URL+`'}]
`)
	dir := filepath.Dir(cfg)
	var outputs bytes.Buffer
	runAll := func(args ...string) {
		t.Helper()
		r := runCLI(t, args...)
		if r.code == exitCouldNoCheck {
			t.Fatalf("%v: exit 2: %s", args, r.stderr)
		}
		outputs.WriteString(r.stdout)
		outputs.WriteString(r.stderr)
	}
	for _, key := range []string{"", "digest-key-for-the-test"} {
		t.Setenv("DRIFTGATE_DIGEST_KEY", key)
		for _, side := range []string{"dev", "prod"} {
			runAll("-v=2", "snapshot", "--kubeconfig", bed.Kubeconfig, "--context", side, "-n", ns, "-o", filepath.Join(dir, side+key+".json.gz"))
			runAll("snapshot", "--kubeconfig", bed.Kubeconfig, "--context", side, "-n", ns, "-o", filepath.Join(dir, side+key+".json"))
		}
		for _, f := range output.Formats {
			runAll("-v=2", "diff", "context:dev", "context:prod", "--kubeconfig", bed.Kubeconfig, "-n", ns, "-o", f, "--config", cfg)
			runAll("diff", filepath.Join(dir, "dev"+key+".json"), filepath.Join(dir, "prod"+key+".json"), "-o", f)
		}
	}
	runAll("-v=2", "gate", "--config", cfg, "--override", "secrets differ on purpose in this test", "--ticket", "T-1", "--override-by", "alice")
	runAll("incidents", "list", "--config", cfg)
	runAll("incidents", "verify", "--config", cfg)
	runAll("-v=2", "report", "--config", cfg, "--out", filepath.Join(dir, "report"))

	// The run must have produced what it claims: findings, a record, a report.
	for _, want := range []string{"secret-keys", "DB_PASSWORD"} {
		if !strings.Contains(outputs.String(), want) {
			t.Errorf("outputs never mention %s: the test did not exercise secrets", want)
		}
	}
	files := map[string][]byte{"stdout+stderr": outputs.Bytes()}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "driftgate.yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if strings.HasSuffix(p, ".gz") {
			b = gunzipFile(t, p)
		}
		files[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	for i, b := range delivered {
		files["webhook delivery "+string(rune('0'+i))] = b
	}
	mu.Unlock()
	for _, want := range []string{"report.html", "report.md", "report.json", ".md", "incidents.log"} {
		found := false
		for p := range files {
			found = found || strings.HasSuffix(p, want)
		}
		if !found {
			t.Errorf("no %s was written", want)
		}
	}
	if len(delivered) < 2 {
		t.Errorf("%d webhook deliveries, want the incident and the report", len(delivered))
	}
	checked := 0
	for _, values := range leakCanaries {
		for _, v := range values {
			for _, form := range append(leakForms(v), leakForms(v+"-extra")...) {
				for name, content := range files {
					checked++
					if bytes.Contains(content, []byte(form)) {
						t.Errorf("%s contains the secret value %q (as %q)", name, v, form)
					}
				}
			}
		}
	}
	t.Logf("searched %d files and outputs for %d forms of %d values (%d checks)", len(files), 8, 10, checked)
}
