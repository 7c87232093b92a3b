package drift

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// gzipBase64 is how Rancher writes objectset.rio.cattle.io/applied.
func gzipBase64(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// assertRedacted checks that none of secrets is in the JSON of obj, plain
// or base64, and that every string of kept still is: a redaction that
// took everything away would pass the first half alone.
func assertRedacted(t *testing.T, obj map[string]any, secrets, kept []string) {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s))} {
			if bytes.Contains(b, []byte(form)) {
				t.Errorf("secret %q is in the normalized object (as %q):\n%s", s, form, b)
			}
		}
	}
	for _, s := range kept {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("%q was redacted too, or lost:\n%s", s, b)
		}
	}
}

func TestNormalizeRedactsSecretsBeyondSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		secrets []string // must not survive, in any form
		kept    []string // must survive (substrings of the normalized JSON)
	}{
		{
			name: "kapp's copy of a Secret is dropped",
			in: `apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    kapp.k14s.io/original: '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"kapp-orig-s3cr3t"}}'
    kapp.k14s.io/identity: v1;default//Secret/db;v1
stringData: {password: kapp-orig-s3cr3t}`,
			secrets: []string{"kapp-orig-s3cr3t", "kapp.k14s.io/original"},
			kept:    []string{"kapp.k14s.io/identity", `"password":"(redacted)"`},
		},
		{
			name: "Rancher's gzipped copy of a Secret is dropped",
			in: `apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    objectset.rio.cattle.io/applied: ` + gzipBase64(t, `{"apiVersion":"v1","kind":"Secret","data":{"password":"cmFuY2hlci1zM2NyM3Q="}}`) + `
data: {password: cmFuY2hlci1zM2NyM3Q=}`,
			secrets: []string{"rancher-s3cr3t", "objectset.rio.cattle.io/applied", "H4sI"},
		},
		{
			name: "an unknown annotation embedding a Secret is digested",
			in: `apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    backup.example.com/copy: '{"apiVersion":"v1","kind":"Secret","stringData":{"password":"backup-s3cr3t"}}'
    backup.example.com/yaml: |
      stringData:
        password: yaml-s3cr3t
    backup.example.com/gz: ` + gzipBase64(t, `{"password":"gz-s3cr3t"}`) + `
    team: payments
type: Opaque`,
			secrets: []string{"backup-s3cr3t", "yaml-s3cr3t", "H4sI"},
			kept:    []string{"backup.example.com/copy", "backup.example.com/yaml", "backup.example.com/gz", `"team":"payments"`},
		},
		{
			name: "annotations on a Deployment carry no env secret out",
			in: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  annotations:
    kapp.k14s.io/original: '{"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{"spec":{"containers":[{"env":[{"name":"DB_PASSWORD","value":"kapp-env-s3cr3t"}]}]}}}}'
    objectset.rio.cattle.io/applied: ` + gzipBase64(t, `{"env":[{"name":"DB_PASSWORD","value":"rancher-env-s3cr3t"}]}`) + `
    tool.example.com/applied: '{"spec":{"template":{"spec":{"containers":[{"env":[{"name":"API_TOKEN","value":"partial-env-s3cr3t"}]}]}}}}'
    tool.example.com/manifest: |
      apiVersion: apps/v1
      kind: Deployment
      spec: {replicas: 3}
    tool.example.com/settings: '{"replicas":3,"zone":"eu-1"}'
spec: {replicas: 3}`,
			secrets: []string{"kapp-env-s3cr3t", "partial-env-s3cr3t", "kapp.k14s.io/original", "objectset.rio.cattle.io/applied", "H4sI", "kind: Deployment"},
			kept:    []string{"tool.example.com/applied", "tool.example.com/manifest", `"tool.example.com/settings":"{\"replicas\":3,\"zone\":\"eu-1\"}"`},
		},
		{
			name: "env values with secret-looking names, numbers too",
			in: `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
      - name: api
        image: registry.example.com/api:1
        env:
        - {name: DB_PASSWORD, value: 918273}
        - {name: PIN_PASSWORD, value: 3.25}
        - {name: OTHER_PASSWORD, value: "564738"}
        - {name: DATABASE_URL, value: "mysql-dsn-s3cr3t"}
        - {name: AUTH, value: "auth-s3cr3t"}
        - {name: REDIS_AUTH, value: "redis-auth-s3cr3t"}
        - {name: SMTP_PASS, value: "smtp-s3cr3t"}
        - {name: FTP_PASSWD, value: "ftp-s3cr3t"}
        - {name: SIGNING_KEY, value: "signing-s3cr3t"}
        - {name: AWS_SECRET_ACCESS_KEY, value: "aws-s3cr3t"}
        - {name: SERVICE_CREDENTIALS, value: "creds-s3cr3t"}
        - {name: SENTRY_DSN, value: "sentry-s3cr3t"}
        - {name: LOG_LEVEL, value: debug}
        - {name: MONKEY, value: banana}
        - {name: KEYCLOAK_REALM, value: shop}
        - {name: BYPASS, value: "no"}
        - {name: WORKERS, value: 4}`,
			secrets: []string{"918273", "3.25", "564738", "mysql-dsn-s3cr3t", "auth-s3cr3t", "redis-auth-s3cr3t", "smtp-s3cr3t", "ftp-s3cr3t", "signing-s3cr3t", "aws-s3cr3t", "creds-s3cr3t", "sentry-s3cr3t"},
			kept:    []string{`"value":"debug"`, `"value":"banana"`, `"value":"shop"`, `"value":"no"`, `"value":4`},
		},
		{
			name: "credentials in args and command",
			in: `apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: dump
            image: postgres:16
            command: [pg_dump, --password=cmd-eq-s3cr3t, --db-password, cmd-two-s3cr3t, --user=backup, --verbose, out.sql]
            args:
            - --api-key=args-key-s3cr3t
            - --token
            - args-token-s3cr3t
            - --client-secret=args-secret-s3cr3t
            - --auth-token=$(AUTH_TOKEN)
            - --secret
            - --dry-run
            - sh -c "mysql --host=db --user=root --password=shell-s3cr3t --verbose --token shell-two-s3cr3t && echo done"`,
			secrets: []string{"cmd-eq-s3cr3t", "cmd-two-s3cr3t", "args-key-s3cr3t", "args-token-s3cr3t", "args-secret-s3cr3t", "shell-s3cr3t", "shell-two-s3cr3t"},
			kept:    []string{"--password=(redacted)", `"--db-password","(redacted)"`, "--user=backup", "--verbose", "out.sql", "--auth-token=$(AUTH_TOKEN)", `"--secret","--dry-run"`, `--host=db --user=root --password=(redacted) --verbose --token (redacted) \u0026\u0026 echo done`},
		},
		{
			name: "URLs with userinfo in args, env values, images and ConfigMap data",
			in: `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      initContainers:
      - name: clone
        image: https://puller:image-s3cr3t@registry.example.com/tools/git:2
        args: [clone, "https://ghp-token-s3cr3t@github.com/shop/api.git", /src]
      containers:
      - name: api
        image: registry.example.com/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        env:
        - {name: REDIS_URL, value: "redis://:redis-url-s3cr3t@redis:6379/0"}
        - {name: PRIMARY, value: "postgres://app:pa/ss-s3cr3t@db.internal:5432/shop"}
        - {name: GIT_REMOTE, value: "ssh://git@github.com/shop/api.git"}
        - {name: DOCS, value: "https://registry.npmjs.org/@shop/ui"}`,
			secrets: []string{"image-s3cr3t", "ghp-token-s3cr3t", "redis-url-s3cr3t", "ss-s3cr3t"},
			kept:    []string{"https://puller:(redacted)@registry.example.com/tools/git:2", "https://(redacted)@github.com/shop/api.git", "redis://:(redacted)@redis:6379/0", "postgres://app:(redacted)@db.internal:5432/shop", "ssh://git@github.com/shop/api.git", "https://registry.npmjs.org/@shop/ui", "api@sha256:0123"},
		},
		{
			name: "URLs and secret-looking keys in a ConfigMap",
			in: `apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data:
  application.properties: |
    spring.datasource.url=jdbc:postgresql://app:cm-url-s3cr3t@db:5432/shop
    server.port=8080
  DB_PASSWORD: cm-key-s3cr3t
  LOG_LEVEL: info
binaryData:
  API_TOKEN: ` + base64.StdEncoding.EncodeToString([]byte("cm-binary-s3cr3t")),
			secrets: []string{"cm-url-s3cr3t", "cm-key-s3cr3t", "cm-binary-s3cr3t"},
			kept:    []string{"postgresql://app:(redacted)@db:5432/shop", "server.port=8080", `"LOG_LEVEL":"info"`, `"DB_PASSWORD":"(redacted)"`, `"API_TOKEN":"(redacted)"`},
		},
		{
			name: "a connection URL in an env value keeps its host, for a mapping to pair",
			in: `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  template:
    spec:
      containers:
      - name: api
        env:
        - {name: DATABASE_URL, value: "postgres://app:dburl-s3cr3t@db.prod.example.com:5432/shop"}
        - {name: ORDERS_DB_URL, value: "postgres://db.prod.example.com/orders"}
        - {name: SENTRY_DSN, value: "https://sentrykey-s3cr3t@o1.ingest.sentry.io/42"}`,
			secrets: []string{"dburl-s3cr3t", "sentrykey-s3cr3t"},
			kept:    []string{"postgres://app:(redacted)@db.prod.example.com:5432/shop", "postgres://db.prod.example.com/orders", "https://(redacted)@o1.ingest.sentry.io/42"},
		},
		{
			name: "a ConfigMap named for tokens but not for secrets keeps its data",
			in: `apiVersion: v1
kind: ConfigMap
metadata: {name: tokenizer-config}
data: {model: bpe, vocab_size: "32000"}`,
			kept: []string{`"model":"bpe"`, `"vocab_size":"32000"`},
		},
		{
			name: "a ConfigMap named like credentials is digested whole",
			in: `apiVersion: v1
kind: ConfigMap
metadata: {name: smtp-credentials}
data: {user: mailer, host: smtp.example.com, port: "587"}
binaryData: {cert: ` + base64.StdEncoding.EncodeToString([]byte("cm-cert-s3cr3t")) + `}`,
			secrets: []string{"mailer", "smtp.example.com", "587", "cm-cert-s3cr3t"},
			kept:    []string{`"user":"(redacted)"`, `"cert":"(redacted)"`},
		},
		{
			name: "SealedSecret: encrypted data and template data",
			in: `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: db}
spec:
  encryptedData: {password: AgBy3i4OJSWK+PiTySYZZA==}
  template:
    metadata: {name: db, labels: {app: db}}
    type: Opaque
    data: {config.yaml: "user: sealed-template-s3cr3t"}`,
			secrets: []string{"AgBy3i4OJSWK+PiTySYZZA==", "sealed-template-s3cr3t"},
			kept:    []string{`"password":"(redacted)"`, `"labels":{"app":"db"}`, `"type":"Opaque"`},
		},
		{
			name: "ExternalSecret: template data digested, references kept",
			in: `apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: db}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: vault, kind: ClusterSecretStore}
  target:
    name: db
    template:
      data: {dsn: "postgres://app:{{ .password }}@db/shop?sslmode=require&key=es-template-s3cr3t"}
  data:
  - secretKey: password
    remoteRef: {key: prod/db, property: password}`,
			secrets: []string{"es-template-s3cr3t"},
			kept:    []string{`"dsn":"(redacted)"`, `"remoteRef":{"key":"prod/db","property":"password"}`, `"secretKey":"password"`, "ClusterSecretStore"},
		},
		{
			name: "a third-party kind named Secret",
			in: `apiVersion: vault.example.com/v1
kind: Secret
metadata: {name: db}
data: {password: third-party-s3cr3t}
spec:
  data:
  - {key: token, value: third-party-list-s3cr3t}
  stringData: {pin: 4711}`,
			secrets: []string{"third-party-s3cr3t", "third-party-list-s3cr3t", "4711"},
			kept:    []string{`"key":"token"`, `"password":"(redacted)"`, `"pin":"(redacted)"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _, err := NewNormalizer(nil).Normalize(decode(t, tt.in))
			if err != nil {
				t.Fatal(err)
			}
			assertRedacted(t, o.Object, tt.secrets, tt.kept)
			// Redaction runs again on every snapshot read: it must find
			// nothing left to do in what it wrote.
			if again, changed := (redactor{Normalizer: NewNormalizer(nil)}).redact(o.Group, o.Kind, o.Name, o.Object); changed {
				t.Errorf("redacting again changed the object:\n%s", cmp.Diff(o.Object, again))
			}
		})
	}
}

// TestRedactedValuesStillCompare holds the digests to their purpose: equal
// values (a number and its string) digest alike and different ones do not.
func TestRedactedValuesStillCompare(t *testing.T) {
	t.Parallel()
	n := NewNormalizer([]byte("k"))
	env := func(v string) string {
		plain := strings.Trim(v, `"`)
		o, _, err := n.Normalize(decode(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec: {template: {spec: {containers: [{name: api, image: x, args: ["--password=`+plain+`", "postgres://u:`+plain+`@db"], env: [{name: DB_PASSWORD, value: `+v+`}]}]}}}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(o.Object)
		if bytes.Contains(b, []byte("(redacted)")) || !bytes.Contains(b, []byte("hmac-sha256:")) {
			t.Fatalf("with a key, want digests: %s", b)
		}
		return string(b)
	}
	if a, b := env("123456"), env(`"123456"`); a != b {
		t.Errorf("a number and its string digest differently:\n%s\n%s", a, b)
	}
	if a, b := env("123456"), env("123457"); a == b {
		t.Errorf("different values digest alike: %s", a)
	}
}

func TestLooksSecretNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"DB_PASSWORD", "db_passwd", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "SERVICE_CREDENTIALS", "API_KEY", "apikey",
		"DATABASE_URL", "ORDERS_DATABASE_URL", "DB_URL", "AUTH", "REDIS_AUTH", "SMTP_PASS", "PASS", "MYSQL_PWD", "SIGNING_KEY", "KEY",
		"SENTRY_DSN", "DOCKER_CREDS", "GPG_PASSPHRASE", "AZURE_CONNECTION_STRING", "HTTP_AUTHORIZATION"} {
		if !looksSecret(name) {
			t.Errorf("%s: want secret", name)
		}
	}
	for _, name := range []string{"LOG_LEVEL", "MONKEY", "BYPASS", "KEYCLOAK_REALM", "AUTHOR", "PASSAGE", "DB_HOST", "AUTH_URL", "KEY_PREFIX", "DATABASE_URL_TIMEOUT"} {
		if looksSecret(name) {
			t.Errorf("%s: want not secret", name)
		}
	}
	for _, flag := range []string{"password", "db-password", "api-key", "token", "client.secret", "auth"} {
		if !flagLooksSecret(flag) {
			t.Errorf("--%s: want secret", flag)
		}
	}
	for _, flag := range []string{"verbose", "user", "host", "key-file-path", "author"} {
		if flagLooksSecret(flag) {
			t.Errorf("--%s: want not secret", flag)
		}
	}
}

// TestRedactSnapshotOnRead reads a snapshot file as an older version could
// have written it, with values this one keeps only as digests, and checks
// they are redacted on reading; that the maps the loaded objects share
// are not changed in place; and that a file this version writes is read
// unchanged.
func TestRedactSnapshotOnRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := NewNormalizer(nil)
	old := newSnapshot(SourceCluster, Scope{}, n, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	// Raw values, as Normalize did not redact them before: a numeric
	// password, a password flag, a URL's password, a kapp copy.
	raw := []string{
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api","namespace":"a","annotations":{"kapp.k14s.io/original":"{\"stringData\":{\"p\":\"old-kapp-s3cr3t\"}}"}},"spec":{"template":{"spec":{"containers":[{"name":"api","image":"x","args":["--password=old-arg-s3cr3t"],"env":[{"name":"DB_PASSWORD","value":918273},{"name":"REDIS_URL","value":"redis://:old-url-s3cr3t@r"},{"name":"MODE","value":"a"}]}]}}}}`,
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"a"},"spec":{"template":{"spec":{"containers":[{"name":"web","image":"x","env":[{"name":"MODE","value":"a"}]}]}}}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"db-credentials","namespace":"a"},"data":{"MODE":"a"}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"a"},"data":{"MODE":"a"}}`,
	}
	for _, s := range raw {
		var obj map[string]any
		if err := json.Unmarshal([]byte(s), &obj); err != nil {
			t.Fatal(err)
		}
		g, v := splitAPIVersion(obj["apiVersion"].(string))
		meta := obj["metadata"].(map[string]any)
		old.Objects = append(old.Objects, Object{Group: g, Version: v, Kind: obj["kind"].(string), Namespace: "a", Name: meta["name"].(string), Object: canonicalNumbers(obj).(map[string]any)})
	}
	path := filepath.Join(dir, "old.json")
	if err := old.Save(path); err != nil {
		t.Fatal(err)
	}
	s, err := LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	before := map[ObjectID][]byte{}
	for _, o := range s.Objects {
		before[o.ID()], _ = json.Marshal(o.Object)
	}
	loaded := append([]Object(nil), s.Objects...)
	if got := n.RedactSnapshot(s); got != 2 {
		t.Errorf("%d objects redacted, want 2 (the api Deployment and the db-credentials ConfigMap)", got)
	}
	for _, o := range s.Objects {
		assertRedacted(t, o.Object, []string{"old-kapp-s3cr3t", "old-arg-s3cr3t", "918273", "old-url-s3cr3t"}, nil)
	}
	for _, o := range loaded {
		if after, _ := json.Marshal(o.Object); !bytes.Equal(after, before[o.ID()]) {
			t.Errorf("%s: the loaded object was changed in place, not copied:\n%s\n%s", o.ID(), before[o.ID()], after)
		}
		if o.Name == "settings" || o.Name == "web" {
			// They share {"MODE":"a"} and the MODE env entry with what
			// was redacted; they must not have lost it.
			if b, _ := json.Marshal(o.Object); !strings.Contains(string(b), `"a"`) {
				t.Errorf("%s lost a value it shares with a secret-bearing object: %s", o.ID(), b)
			}
		}
	}

	// A file this version writes holds nothing left to redact.
	fresh := newSnapshot(SourceCluster, Scope{}, n, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	for _, s := range raw {
		obj := decode(t, s)
		o, _, err := n.Normalize(obj)
		if err != nil {
			t.Fatal(err)
		}
		fresh.Objects = append(fresh.Objects, o)
	}
	path = filepath.Join(dir, "fresh.json.gz")
	if err := fresh.Save(path); err != nil {
		t.Fatal(err)
	}
	s, err = LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.RedactSnapshot(s); got != 0 {
		t.Errorf("%d objects of a snapshot this version wrote were redacted again", got)
	}
}
