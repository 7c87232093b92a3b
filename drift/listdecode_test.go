package drift

// Collect decodes LIST pages itself (listDecoder); these tests hold it to
// the dynamic client's decoder, and the benchmark compares the two.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// dynamicDecoder is the decoder the dynamic client's List decodes pages with.
func dynamicDecoder(t testing.TB) runtime.Decoder {
	t.Helper()
	for _, info := range dynamic.ConfigFor(&rest.Config{}).NegotiatedSerializer.SupportedMediaTypes() {
		if info.MediaType == "application/json" {
			return info.Serializer
		}
	}
	t.Fatal("the dynamic client has no JSON serializer")
	return nil
}

// listBody is a LIST response as an API server writes it: items of
// built-in types without kind and apiVersion, numbers with and without
// fractions, escapes encoding/json writes and some it does not.
func listBody(r *rand.Rand, n int) []byte {
	var items []any
	for i := range n {
		obj, _ := randomValue(r, 1).(map[string]any)
		if obj == nil {
			obj = map[string]any{}
		}
		obj["metadata"] = servedMetadata(r, i)
		if r.IntN(2) == 0 {
			obj["status"] = map[string]any{"replicas": int64(2), "nodeInfo": map[string]any{"kubeletVersion": "v1.36.3", "osImage": "x"}, "conditions": []any{map[string]any{"type": "Ready"}}}
		}
		if r.IntN(3) == 0 {
			obj["kind"], obj["apiVersion"] = "Widget", "example.com/v1"
		}
		items = append(items, obj)
	}
	kind := []string{"ConfigMapList", "NodeList", "SecretList", "PodList"}[r.IntN(4)]
	list := map[string]any{"kind": kind, "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": "99", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"}, "items": items}
	if r.IntN(4) == 0 {
		delete(list["metadata"].(map[string]any), "continue")
	}
	b, err := json.Marshal(list)
	if err != nil {
		panic(err)
	}
	s := string(b)
	// Forms other writers use: escaped slashes, upper-case hex, white space,
	// floats with exponents, surrogate pairs.
	switch r.IntN(5) {
	case 0:
		s = strings.ReplaceAll(s, "/", `\/`)
	case 1:
		s = strings.ReplaceAll(s, `\u003c`, `\u003C`)
	case 2:
		s = strings.ReplaceAll(s, ",", " ,\n ")
	case 3:
		s = strings.Replace(s, `"generation":3`, `"generation":3e0,"x":1.5E+3,"y":-0,"z":"\ud83d\ude00"`, 1)
	}
	return []byte(s)
}

// servedMetadata is an object's metadata as the API server serves it:
// managed fields of deploy tools and of kubectl, owners, annotations.
func servedMetadata(r *rand.Rand, i int) map[string]any {
	fieldSet := func() map[string]any {
		return map[string]any{
			"f:metadata": map[string]any{"f:labels": map[string]any{".": map[string]any{}, "f:app": map[string]any{}}},
			"f:spec": map[string]any{"f:replicas": map[string]any{}, "f:template": map[string]any{"f:spec": map[string]any{
				"f:containers": map[string]any{`k:{"name":"app"}`: map[string]any{".": map[string]any{}, "f:image": map[string]any{}, "f:name": map[string]any{}}},
			}}},
			"f:data": map[string]any{fmt.Sprintf("f:key%d", r.IntN(5)): map[string]any{}},
		}
	}
	var managed []any
	for range r.IntN(3) {
		managed = append(managed, map[string]any{
			"manager":   []string{"helm", "argocd-controller", "kubectl-edit", "kubectl-client-side-apply", "k9s"}[r.IntN(5)],
			"operation": "Update", "apiVersion": "v1", "time": "2026-03-14T09:26:53Z", "fieldsType": "FieldsV1", "fieldsV1": fieldSet(),
		})
	}
	m := map[string]any{
		"name": fmt.Sprintf("o%d", i), "namespace": "ns", "uid": "u-1", "resourceVersion": "12", "generation": int64(3),
		"creationTimestamp": "2026-03-14T09:26:53Z", "managedFields": managed,
		"labels": map[string]any{"app": "web", "app.kubernetes.io/managed-by": "Helm"},
	}
	if r.IntN(2) == 0 {
		m["annotations"] = map[string]any{
			LastAppliedAnnotation:          `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a<b>"},"data":{"k":"v\n"}}` + "\n",
			"meta.helm.sh/release-name":    "shop",
			"deployment.kubernetes.io/rev": "3",
		}
	}
	if r.IntN(3) == 0 {
		m["ownerReferences"] = []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u-2", "controller": r.IntN(2) == 0}}
	}
	return m
}

// TestListDecoderNormalizesAsDynamicClient holds Collect's decoding to the
// dynamic client's: decoded whole, the items are the same; with the
// shortcuts, Normalize makes the same objects of them.
func TestListDecoderNormalizesAsDynamicClient(t *testing.T) {
	t.Parallel()
	dec := dynamicDecoder(t)
	r := rand.New(rand.NewPCG(15, 16))
	n := NewNormalizer([]byte("key"))
	ld := &listDecoder{}
	for range 300 {
		body := listBody(r, r.IntN(8))
		var list unstructured.UnstructuredList
		if _, _, err := dec.Decode(body, nil, &list); err != nil {
			continue
		}
		items, _, ok := ld.decode(body)
		if !ok {
			continue
		}
		if len(items) != len(list.Items) {
			t.Fatalf("%d items, the dynamic client %d", len(items), len(list.Items))
		}
		for i, it := range items {
			want, wantFold, wantErr := n.Normalize(list.Items[i].Object)
			got, fold, err := n.Normalize(it)
			if fold && wantFold {
				continue // Collect leaves folded objects out, whatever they hold
			}
			if diff := cmp.Diff(want, got); diff != "" || fold != wantFold || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("Normalize of the shortcut item differs (fold %v, want %v; error %v, want %v) (-dynamic +listDecoder):\n%s", fold, wantFold, err, wantErr, diff)
			}
		}
	}
}

func TestListDecoderMatchesDynamicClient(t *testing.T) {
	t.Parallel()
	dec := dynamicDecoder(t)
	r := rand.New(rand.NewPCG(11, 12))
	ld := &listDecoder{full: true}
	taken := 0
	for i := range 400 {
		body := listBody(r, r.IntN(8))
		if i%10 == 9 {
			body = body[:r.IntN(len(body))] // truncated
		}
		var list unstructured.UnstructuredList
		_, _, wantErr := dec.Decode(body, nil, &list)
		items, cont, ok := ld.decode(body)
		if !ok {
			continue // Collect uses the dynamic client's decoder
		}
		taken++
		if wantErr != nil {
			t.Fatalf("listDecoder takes a body the dynamic client refuses (%v):\n%s", wantErr, body)
		}
		var want []map[string]any
		for _, it := range list.Items {
			want = append(want, it.Object)
		}
		if len(items) == 0 && len(want) == 0 {
			items, want = nil, nil
		}
		if diff := cmp.Diff(want, items); diff != "" {
			t.Fatalf("listDecoder decodes differently (-dynamic +listDecoder):\n%s\n%s", diff, body)
		}
		if cont != list.GetContinue() {
			t.Fatalf("continue %q, dynamic client %q", cont, list.GetContinue())
		}
	}
	t.Logf("listDecoder took %d of 400 bodies", taken)
	if taken < 200 {
		t.Errorf("listDecoder took %d of 400 bodies; it should take all but the truncated and those with invalid UTF-8", taken)
	}
}

// BenchmarkDecodeListPage decodes a page of 500 Deployment-like objects,
// with managed fields and status, as Collect does (with its shortcuts, and
// whole) and as the dynamic client does.
func BenchmarkDecodeListPage(b *testing.B) {
	r := rand.New(rand.NewPCG(13, 14))
	var items []any
	for i := range 500 {
		o := podLike(r)
		o["metadata"] = servedMetadata(r, i)
		o["status"] = map[string]any{"replicas": int64(3), "readyReplicas": int64(3), "observedGeneration": int64(4)}
		items = append(items, o)
	}
	body, err := json.Marshal(map[string]any{"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": map[string]any{"continue": "x"}, "items": items})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.Run("listDecoder", func(b *testing.B) {
		ld := &listDecoder{}
		for b.Loop() {
			if _, _, ok := ld.decode(body); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("listDecoder-whole", func(b *testing.B) {
		ld := &listDecoder{full: true}
		for b.Loop() {
			if _, _, ok := ld.decode(body); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("dynamic-client", func(b *testing.B) {
		dec := dynamicDecoder(b)
		for b.Loop() {
			var list unstructured.UnstructuredList
			if _, _, err := dec.Decode(body, nil, &list); err != nil {
				b.Fatal(err)
			}
		}
	})
}
