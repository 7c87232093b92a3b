package drift

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftgate/driftgate/internal/memwatch"
)

// largeManifestBound is the memory a 200 MB manifest folder may take. It
// took 2.9 to 3.2 GiB at peak when the objects were held as normalization
// makes them (1.9 GiB of maps of maps, and the collector's slack); spilled
// as they are read and loaded back as a snapshot file is (SpillManifests),
// 806 MiB of RSS, 452 MiB of heap in use. A regression that holds the
// folder's objects as maps again fails.
const largeManifestBound = 1536 << 20

// TestLargeManifestFolder reads 200 files of 1 MB of Deployments (with
// managed fields, as `kubectl get -o yaml` dumps them) and ConfigMaps, YAML
// and JSON, into one snapshot, and checks the memory it takes.
func TestLargeManifestFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("large input: 200 MB of manifests")
	}
	const files, fileSize = 200, 1 << 20
	dir := t.TempDir()
	objects := 0
	for i := range files {
		objects += writeLargeManifestFile(t, dir, i, fileSize)
	}
	watch := memwatch.Start(20 * time.Millisecond)
	start := time.Now()
	s, err := SnapshotFromManifests([]string{dir}, ManifestOptions{Scope: Scope{Exclude: DefaultExcludes}})
	elapsed := time.Since(start)
	peak := watch.Stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d files, %d MB, %d objects: snapshot in %s; %s", files, files*fileSize>>20, objects, elapsed.Round(time.Millisecond), peak)
	if len(s.Objects) != objects {
		t.Errorf("snapshot has %d objects, want %d", len(s.Objects), objects)
	}
	if peak.Max() > largeManifestBound {
		t.Errorf("reading 200 MB of manifests took %s; the bound is %s", memwatch.MiB(peak.Max()), memwatch.MiB(largeManifestBound))
	}
}

// writeLargeManifestFile writes about size bytes of distinct objects to
// file i of dir (every fourth file a JSON List, the others multi-document
// YAML) and returns how many objects it holds.
func writeLargeManifestFile(t *testing.T, dir string, i, size int) int {
	t.Helper()
	ns := fmt.Sprintf("team-%03d", i)
	asJSON := i%4 == 3
	name := filepath.Join(dir, fmt.Sprintf("%s/manifests-%03d.yaml", ns[:6], i))
	if asJSON {
		name = strings.TrimSuffix(name, ".yaml") + ".json"
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	cw := &countingWriter{w: w}
	n := 0
	if asJSON {
		fmt.Fprint(cw, `{"apiVersion":"v1","kind":"List","items":[`)
	}
	for cw.n < size {
		if asJSON && n > 0 {
			fmt.Fprint(cw, ",\n")
		}
		if n%3 == 2 {
			writeConfigMap(cw, asJSON, ns, n)
		} else {
			writeDeployment(cw, asJSON, ns, n)
		}
		n++
	}
	if asJSON {
		fmt.Fprint(cw, "]}\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return n
}

type countingWriter struct {
	w *bufio.Writer
	n int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += len(p)
	return c.w.Write(p)
}

func writeDeployment(w *countingWriter, asJSON bool, ns string, n int) {
	name := fmt.Sprintf("svc-%05d", n)
	var env strings.Builder
	for k := range 12 {
		if asJSON {
			fmt.Fprintf(&env, `%s{"name":"SETTING_%02d","value":"value-%d-%d"}`, map[bool]string{true: ",", false: ""}[k > 0], k, n, k)
		} else {
			fmt.Fprintf(&env, "        - name: SETTING_%02d\n          value: value-%d-%d\n", k, n, k)
		}
	}
	if asJSON {
		fmt.Fprintf(w, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":%q,"namespace":%q,"uid":"0b1c2d3e-%05d","resourceVersion":"%d","generation":3,"labels":{"app.kubernetes.io/name":%q,"app.kubernetes.io/part-of":"shop","app.kubernetes.io/managed-by":"Helm"},"annotations":{"deployment.kubernetes.io/revision":"3","meta.helm.sh/release-name":%q},"managedFields":[{"manager":"helm","operation":"Update","apiVersion":"apps/v1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{".":{}}},"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:image":{}}}}}}}}]},"spec":{"replicas":3,"selector":{"matchLabels":{"app.kubernetes.io/name":%q}},"template":{"metadata":{"labels":{"app.kubernetes.io/name":%q}},"spec":{"serviceAccountName":%q,"containers":[{"name":"app","image":"registry.example.com/shop/%s:1.%d.0","ports":[{"name":"http","containerPort":8080}],"env":[%s],"resources":{"requests":{"cpu":"250m","memory":"256Mi"},"limits":{"cpu":"1","memory":"512Mi"}},"readinessProbe":{"httpGet":{"path":"/healthz","port":"http"},"periodSeconds":10},"securityContext":{"runAsNonRoot":true,"readOnlyRootFilesystem":true}}],"volumes":[{"name":"config","configMap":{"name":%q}}]}}},"status":{"replicas":3,"readyReplicas":3}}`,
			name, ns, n, 1000+n, name, name, name, name, name, name, n%10, env.String(), name)
		return
	}
	fmt.Fprintf(w, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %s
  namespace: %s
  uid: 0b1c2d3e-%05d
  resourceVersion: "%d"
  generation: 3
  labels:
    app.kubernetes.io/name: %s
    app.kubernetes.io/part-of: shop
    app.kubernetes.io/managed-by: Helm
  annotations:
    deployment.kubernetes.io/revision: "3"
    meta.helm.sh/release-name: %s
  managedFields:
  - manager: helm
    operation: Update
    apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata: {f:labels: {.: {}}}
      f:spec:
        f:replicas: {}
        f:template: {f:spec: {f:containers: {'k:{"name":"app"}': {f:image: {}}}}}
spec:
  replicas: 3
  selector:
    matchLabels: {app.kubernetes.io/name: %s}
  template:
    metadata:
      labels: {app.kubernetes.io/name: %s}
    spec:
      serviceAccountName: %s
      containers:
      - name: app
        image: registry.example.com/shop/%s:1.%d.0
        ports: [{name: http, containerPort: 8080}]
        env:
%s        resources:
          requests: {cpu: 250m, memory: 256Mi}
          limits: {cpu: "1", memory: 512Mi}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 10
        securityContext: {runAsNonRoot: true, readOnlyRootFilesystem: true}
      volumes:
      - name: config
        configMap: {name: %s}
status: {replicas: 3, readyReplicas: 3}
`, name, ns, n, 1000+n, name, name, name, name, name, name, n%10, env.String(), name)
}

func writeConfigMap(w *countingWriter, asJSON bool, ns string, n int) {
	name := fmt.Sprintf("svc-%05d", n-2)
	props := fmt.Sprintf("server.port=8080\nfeature.flags=a,b,c\nupstream.url=https://api.example.com/v%d\n", n%7)
	props += strings.Repeat(fmt.Sprintf("# tuning for %s\ncache.size=%d\n", name, n), 8)
	if asJSON {
		fmt.Fprintf(w, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":%q,"labels":{"app.kubernetes.io/name":%q}},"data":{"application.properties":%q,"LOG_LEVEL":"info"}}`,
			name+"-config", ns, name, props)
		return
	}
	fmt.Fprintf(w, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config\n  namespace: %s\n  labels: {app.kubernetes.io/name: %s}\ndata:\n  LOG_LEVEL: info\n  application.properties: |\n", name, ns, name)
	for l := range strings.SplitSeq(strings.TrimSuffix(props, "\n"), "\n") {
		fmt.Fprintf(w, "    %s\n", l)
	}
}
