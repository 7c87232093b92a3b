package drift

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/fixtures/testbed"
)

func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }

// countingTransport counts LIST requests for one resource path.
type countingTransport struct {
	next  http.RoundTripper
	match string
	n     atomic.Int32
	limit atomic.Bool
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, c.match) {
		c.n.Add(1)
		if r.URL.Query().Get("limit") != "" {
			c.limit.Store(true)
		}
	}
	return c.next.RoundTrip(r)
}

func TestCollectPaginates(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := bed.Namespace(t, nil)
	const objects, page = 23, 5
	for i := range objects {
		cm := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%02d}\ndata: {i: %q}\n", i, fmt.Sprint(i))
		if err := bed.Dev.Apply(ctx, []byte(cm), ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
			t.Fatal(err)
		}
	}
	cfg := rest.CopyConfig(bed.Dev.Config)
	ct := &countingTransport{match: "/namespaces/" + ns + "/configmaps"}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { ct.next = rt; return ct })

	s, err := Collect(ctx, cfg, CollectOptions{Scope: Scope{Namespaces: []string{ns}}, ChunkSize: page})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, o := range s.Objects {
		if o.Kind == "ConfigMap" {
			seen[o.Name]++
		}
	}
	for i := range objects {
		if n := seen[fmt.Sprintf("cm-%02d", i)]; n != 1 {
			t.Errorf("cm-%02d present %d times, want once", i, n)
		}
	}
	if len(seen) != objects {
		t.Errorf("%d ConfigMaps, want %d", len(seen), objects)
	}
	if want := int32((objects + page - 1) / page); ct.n.Load() != want || !ct.limit.Load() {
		t.Errorf("%d LIST requests for configmaps (limit sent: %v), want %d pages", ct.n.Load(), ct.limit.Load(), want)
	}
	if len(s.Unobserved) != 0 {
		t.Errorf("unobserved as admin: %v", s.Unobserved)
	}
}

func TestCollectUnreachableServerIsAnError(t *testing.T) {
	t.Parallel()
	cfg := &rest.Config{Host: "https://127.0.0.1:1"} // nothing listens on port 1
	_, err := Collect(context.Background(), cfg, CollectOptions{})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the API server at https://127.0.0.1:1") {
		t.Fatalf("want an unreachable error naming the server, got %v", err)
	}
}

// TestCollectForWriting collects a namespace twice from a live server, once
// keeping the objects as values and once only as the JSON a file holds:
// the objects, expanded, are the same, and the file loads back.
func TestCollectForWriting(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := bed.Namespace(t, nil)
	manifest := `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, labels: {app: web}}
data: {LOG_LEVEL: debug, replicas: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: credentials}
stringData: {password: hunter2-for-writing}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env: [{name: DB_PASSWORD, value: hunter2-in-env}]
        resources: {requests: {cpu: 100m, memory: 64Mi}}
`
	if err := bed.Dev.Apply(ctx, []byte(manifest), ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	opts := CollectOptions{Scope: Scope{Namespaces: []string{ns}}, Now: now}
	values, err := Collect(ctx, bed.Dev.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.ForWriting = true
	kept, err := Collect(ctx, bed.Dev.Config, opts)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := kept.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("hunter2")) {
		t.Fatal("a Secret value reached the snapshot")
	}
	loaded, err := DecodeSnapshot(&buf)
	if err != nil {
		t.Fatalf("the snapshot written from JSON does not load: %v", err)
	}
	inNamespace := func(s *Snapshot) []Object {
		var out []Object
		for _, o := range s.Objects {
			if o.Namespace == ns {
				if o.Encoded != nil {
					t.Fatalf("%s still kept as JSON", o.ID())
				}
				out = append(out, o)
			}
		}
		return out
	}
	if err := kept.Expand(); err != nil {
		t.Fatal(err)
	}
	want := inNamespace(values)
	if len(want) < 3 {
		t.Fatalf("%d objects in %s, want the ConfigMap, Secret and Deployment at least", len(want), ns)
	}
	for _, got := range [][]Object{inNamespace(kept), inNamespace(loaded)} {
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("objects collected for writing differ (-values +for writing):\n%s", d)
		}
	}
}

// TestFetchRetriesAConnectionReset: a LIST whose connection is reset before
// an answer is sent again, as the REST client's Do retries a GET, rather
// than ending the snapshot.
func TestFetchRetriesAConnectionReset(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	const resets = 2
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) <= resets {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			conn.(*net.TCPConn).SetLinger(0) // a reset, not a close
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[]}`)
	}))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL}
	rc, err := listClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{rc: rc, opts: CollectOptions{RequestTimeout: 30 * time.Second}, buffers: make(chan []byte, 1)}
	f := c.fetch(context.Background(), []string{"api", "v1", "configmaps"}, "", 0)
	if f.err != nil {
		t.Fatalf("after %d requests: %v", requests.Load(), f.err)
	}
	if got := requests.Load(); got != resets+1 {
		t.Errorf("%d requests, want %d", got, resets+1)
	}
	if !strings.Contains(string(f.body()), "ConfigMapList") {
		t.Errorf("body %q", f.body())
	}
	f.release()
}

// TestFetchRetriesAConnectionResetLive does the same against a real API
// server, through a proxy that resets the first connections: TLS, HTTP/2
// and client-go's transport as a snapshot meets them.
func TestFetchRetriesAConnectionResetLive(t *testing.T) {
	bed := testbed.Need(t)
	proxy, err := testbed.NewProxy(bed.Dev.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	rc, err := listClient(proxy.Config(bed.Dev.Config))
	if err != nil {
		t.Fatal(err)
	}
	proxy.ResetNext.Store(2)
	c := &collector{rc: rc, opts: CollectOptions{ChunkSize: 500, RequestTimeout: 30 * time.Second}, buffers: make(chan []byte, 1)}
	f := c.fetch(context.Background(), []string{"api", "v1", "namespaces"}, "", 0)
	if f.err != nil {
		t.Fatalf("a LIST through two reset connections: %v", f.err)
	}
	if left := proxy.ResetNext.Load(); left != 0 {
		t.Errorf("%d resets left: the proxy was not in the way", left)
	}
	if !strings.Contains(string(f.body()), `"kind":"NamespaceList"`) {
		t.Errorf("body %.200q", f.body())
	}
	f.release()
}
