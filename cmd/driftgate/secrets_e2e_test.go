package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/driftgate/driftgate/drift/output"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// Distinctive values planted on both clusters, different on each, in every
// place a secret lives: Secret data, stringData, a Secret's last-applied,
// kapp and Rancher annotations and an annotation embedding the object; env
// values named like passwords and tokens (a number among them, and
// DATABASE_URL, AUTH, *_PASS); password flags in args, one and two
// arguments; URL passwords in an env value, an image and ConfigMap data; a
// ConfigMap named like credentials; a SealedSecret, an ExternalSecret's
// template and a third-party kind named Secret.
var leakCanaries = map[string][]string{
	"dev": {"dev-data-k9XQ2v", "dev-stringdata-Lm4pR8", "dev-lastapplied-Zt7wE3", "dev-env-password-Hq5sY1", "dev-env-token-Bc8nU6",
		"dev-kapp-Jq4mW2", "dev-rancher-Gh3vN5", "dev-embed-Yk2pS6", "91827364519", "dev-dburl-Fw8rE1", "dev-auth-Uo5iB3", "dev-smtppass-Ma9kD4",
		"dev-argeq-Lp6tH8", "dev-argtwo-Ns3wQ7", "dev-urlpw-Ce1yV2", "dev-imgpw-Rb4zK6", "dev-cmcred-Xa7nP3", "dev-cmurl-Hd2fG8",
		"dev-sealed-Vt5mJ1", "dev-sealtpl-Ky8qW4", "dev-estpl-Pn6cS9", "dev-tpsecret-Qe3rT5"},
	"prod": {"prod-data-Ww3jK7", "prod-stringdata-Pe9dF2", "prod-lastapplied-Nv6gT4", "prod-env-password-Rj2hM8", "prod-env-token-Xs1qA5",
		"prod-kapp-Tc7xL9", "prod-rancher-Dz6bM2", "prod-embed-Wu1oR7", "56473829106", "prod-dburl-Sa4nF6", "prod-auth-Ei7gC2", "prod-smtppass-Ov3lZ8",
		"prod-argeq-Bk5wY1", "prod-argtwo-Gm2dU9", "prod-urlpw-Jx8hN4", "prod-imgpw-Qs6tA3", "prod-cmcred-Lf9eK5", "prod-cmurl-Tn4vB7",
		"prod-sealed-Hy1cX8", "prod-sealtpl-Ar5pD2", "prod-estpl-Zk7mE6", "prod-tpsecret-Wd3sR9"},
}

// secretCRDs define the secret-bearing custom kinds the canaries use: the
// real groups and kinds of Bitnami's SealedSecret and External Secrets'
// ExternalSecret, and a third-party kind named Secret.
const secretCRDs = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: sealedsecrets.bitnami.com}
spec:
  group: bitnami.com
  names: {kind: SealedSecret, plural: sealedsecrets, singular: sealedsecret, listKind: SealedSecretList}
  scope: Namespaced
  versions: [{name: v1alpha1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: externalsecrets.external-secrets.io}
spec:
  group: external-secrets.io
  names: {kind: ExternalSecret, plural: externalsecrets, singular: externalsecret, listKind: ExternalSecretList}
  scope: Namespaced
  versions: [{name: v1beta1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: secrets.vault.driftgate.dev}
spec:
  group: vault.driftgate.dev
  names: {kind: Secret, plural: secrets, singular: secret, listKind: SecretList}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
`

// rancherApplied is a Rancher objectset.rio.cattle.io/applied value:
// base64 of gzip of the applied object's JSON.
func rancherApplied(t *testing.T, secret string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"` + secret + `"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// canaryManifest plants v; numeric writes the numeric env value as a YAML
// number, as a manifest may (the API server takes only strings).
func canaryManifest(t *testing.T, v []string, extraKey, numeric bool) string {
	extra := ""
	if extraKey {
		extra = "\n  debug-token: " + base64.StdEncoding.EncodeToString([]byte(v[0]+"-extra"))
	}
	number := `"` + v[8] + `"`
	if numeric {
		number = v[8]
	}
	return `apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"` + v[2] + `"}}'
    kapp.k14s.io/original: '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"` + v[5] + `"}}'
    objectset.rio.cattle.io/applied: ` + rancherApplied(t, v[6]) + `
    backup.example.com/copy: '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"data":{"password":"` + base64.StdEncoding.EncodeToString([]byte(v[7])) + `"}}'
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
    kapp.k14s.io/original: '{"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{"spec":{"containers":[{"env":[{"name":"PIN_PASSWORD","value":"` + v[8] + `"}]}]}}}}'
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
        - {name: PIN_PASSWORD, value: ` + number + `}
        - {name: DATABASE_URL, value: ` + v[9] + `}
        - {name: AUTH, value: ` + v[10] + `}
        - {name: SMTP_PASS, value: ` + v[11] + `}
        - {name: REDIS_URL, value: "redis://cache:` + v[14] + `@redis:6379/0"}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: dump}
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: dump
            image: https://puller:` + v[15] + `@registry.example.com/tools/pg:16
            args: [--db-password=` + v[12] + `, --token, ` + v[13] + `, --user=backup]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: smtp-credentials}
data: {user: mailer, password: ` + v[16] + `}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data:
  application.properties: |
    spring.datasource.url=jdbc:postgresql://app:` + v[17] + `@db:5432/shop
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: db}
spec:
  encryptedData: {password: ` + v[18] + `}
  template:
    metadata: {name: db}
    data: {note: ` + v[19] + `}
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: db}
spec:
  secretStoreRef: {name: vault, kind: ClusterSecretStore}
  target:
    name: db
    template:
      data: {dsn: "postgres://app:{{ .password }}@db/shop?application_name=` + v[20] + `"}
  data:
  - secretKey: password
    remoteRef: {key: prod/db, property: password}
---
apiVersion: vault.driftgate.dev/v1
kind: Secret
metadata: {name: db}
data: {password: ` + v[21] + `}
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
	for _, c := range bed.Clusters() {
		if err := c.Apply(ctx, []byte(secretCRDs), "", testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, c := range bed.Clusters() {
			if err := c.DeleteAndWait(context.Background(), []byte(secretCRDs), ""); err != nil {
				t.Errorf("removing the secret CRDs: %v", err)
			}
		}
	})
	if err := bed.Dev.Apply(ctx, []byte(canaryManifest(t, leakCanaries["dev"], true, false)), ns, testbed.ManagerKubectlCreate, testbed.Create); err != nil {
		t.Fatal(err)
	}
	if err := bed.Prod.Apply(ctx, []byte(canaryManifest(t, leakCanaries["prod"], false, false)), ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}
	// The same as manifest folders, the number written as a YAML number,
	// outside the folder searched below (they hold the values, of course).
	manifests := map[string]string{}
	for side, extra := range map[string]bool{"dev": true, "prod": false} {
		manifests[side] = t.TempDir()
		writeTestFile(t, filepath.Join(manifests[side], "crds.yaml"), secretCRDs)
		writeTestFile(t, filepath.Join(manifests[side], "app.yaml"), canaryManifest(t, leakCanaries[side], extra, true))
	}
	// A token in the hook URL from the environment: expanded, never shown.
	const hookToken = "hooktoken-Vr7cN2"
	t.Setenv("DRIFTGATE_E2E_HOOK_TOKEN", hookToken)
	var mu sync.Mutex
	var delivered [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		delivered = append(delivered, b)
		mu.Unlock()
	}))
	defer hook.Close()

	cfg := liveConfig(t, bed.Kubeconfig, ns, `override: {allowedBy: ['group:system:masters']}
incidents:
  dir: ./incidents
  hooks: [{type: webhook, url: '`+hook.URL+`/${DRIFTGATE_E2E_HOOK_TOKEN}', required: true}]
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
			runAll("diff", manifests["dev"], manifests["prod"], "-o", f)
		}
	}
	runAll("-v=2", "gate", "--config", cfg, "--override", "secrets differ on purpose in this test", "--ticket", "T-1", "--override-by", "alice")
	runAll("incidents", "list", "--config", cfg)
	runAll("incidents", "verify", "--config", cfg)
	runAll("-v=2", "report", "--config", cfg, "--out", filepath.Join(dir, "report"))

	// The run must have produced what it claims: findings, a record, a report.
	for _, want := range []string{"secret-keys", "DB_PASSWORD", "PIN_PASSWORD", "--db-password=", "redis://cache:", "smtp-credentials"} {
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
	// The snapshot files hold every planted kind: redacted, not left out.
	for _, kind := range []string{`"SealedSecret"`, `"ExternalSecret"`, `"vault.driftgate.dev"`, `"CronJob"`, `"smtp-credentials"`} {
		if b, ok := files[filepath.Join(dir, "dev.json")]; !ok || !bytes.Contains(b, []byte(kind)) {
			t.Errorf("the dev snapshot has no %s: the test did not exercise it", kind)
		}
	}
	checked, values := 0, 0
	for side, planted := range leakCanaries {
		// The Rancher annotation's value itself, base64 of gzip.
		planted = append(slices.Clone(planted), rancherApplied(t, leakCanaries[side][6]), hookToken)
		for _, v := range planted {
			values++
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
	t.Logf("searched %d files and outputs for %d forms of %d values (%d checks)", len(files), 8, values, checked)
}
