package drift

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"
)

// fakeAPIType is one resource type a fakeAPI serves.
type fakeAPIType struct {
	group, version, kind, resource string
	namespaced                     bool
	// items are the objects as served, JSON; item, when set, makes item i
	// of n on demand instead (for inputs too large to hold).
	items [][]byte
	n     int
	item  func(i int) []byte
	// forbidPage, when positive, answers that page's request with 403.
	forbidPage int
}

// fakeAPI is an API server enough for Collect: discovery, and paged LISTs
// with continue tokens (the offset), of the items in the order given: the
// tests decide whether that is etcd's key order, or none.
type fakeAPI struct {
	types []*fakeAPIType
	lists atomic.Int64
}

func (f *fakeAPI) start(t testing.TB) *rest.Config {
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f.config(srv.URL)
}

// config is the client configuration of a fakeAPI serving at host.
func (f *fakeAPI) config(host string) *rest.Config { return &rest.Config{Host: host} }

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	p := r.URL.Path
	groups := map[string][]*fakeAPIType{}
	var order []string
	for _, ty := range f.types {
		gv := ty.version
		if ty.group != "" {
			gv = ty.group + "/" + ty.version
		}
		if groups[gv] == nil {
			order = append(order, gv)
		}
		groups[gv] = append(groups[gv], ty)
	}
	switch {
	case p == "/version":
		fmt.Fprint(w, `{"major":"1","minor":"36","gitVersion":"v1.36.3"}`)
		return
	case p == "/api":
		fmt.Fprint(w, `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}`)
		return
	case p == "/apis":
		var gs []any
		for _, gv := range order {
			g, v, ok := strings.Cut(gv, "/")
			if !ok {
				continue
			}
			gs = append(gs, map[string]any{"name": g, "versions": []any{map[string]any{"groupVersion": gv, "version": v}},
				"preferredVersion": map[string]any{"groupVersion": gv, "version": v}})
		}
		json.NewEncoder(w).Encode(map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": gs})
		return
	}
	for gv, tys := range groups {
		base := "/apis/" + gv
		if !strings.Contains(gv, "/") {
			base = "/api/" + gv
		}
		if p == base {
			var rs []any
			for _, ty := range tys {
				rs = append(rs, map[string]any{"name": ty.resource, "kind": ty.kind, "namespaced": ty.namespaced, "verbs": []string{"get", "list"}, "singularName": ""})
			}
			json.NewEncoder(w).Encode(map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": rs})
			return
		}
		for _, ty := range tys {
			if p == base+"/"+ty.resource {
				f.list(w, r, ty, gv)
				return
			}
		}
	}
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"%s not found"}`, p)
}

func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request, ty *fakeAPIType, gv string) {
	f.lists.Add(1)
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	from, _ := strconv.Atoi(r.URL.Query().Get("continue"))
	n := len(ty.items)
	if ty.item != nil {
		n = ty.n
	}
	if limit <= 0 {
		limit = n
	}
	if ty.forbidPage > 0 && from/limit+1 == ty.forbidPage {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"%s is forbidden"}`, ty.resource)
		return
	}
	to := min(from+limit, n)
	cont := ""
	if to < n {
		cont = strconv.Itoa(to)
	}
	fmt.Fprintf(w, `{"kind":"%sList","apiVersion":"%s","metadata":{"resourceVersion":"99","continue":"%s"},"items":[`, ty.kind, gv, cont)
	for i := from; i < to; i++ {
		if i > from {
			w.Write([]byte(","))
		}
		if ty.item != nil {
			w.Write(ty.item(i))
		} else {
			w.Write(ty.items[i])
		}
	}
	fmt.Fprint(w, "]}")
}

// fakeAPIOrder is how a fakeAPI orders a type's items.
type fakeAPIOrder int

const (
	// spillEtcdOrder is an API server's: by the key namespace/name, which puts
	// team-a before team.
	spillEtcdOrder fakeAPIOrder = iota
	// spillShuffled is no order at all (an aggregated API's).
	spillShuffled
)

// fakeAPIFrom serves objs (as a LIST holds them: with apiVersion and kind)
// as their types, in order.
func fakeAPIFrom(t testing.TB, objs []map[string]any, order fakeAPIOrder) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	byType := map[string]*fakeAPIType{}
	keys := map[*fakeAPIType][]string{}
	for _, o := range objs {
		av, _ := o["apiVersion"].(string)
		kind, _ := o["kind"].(string)
		group, version := splitAPIVersion(av)
		ty := byType[av+"/"+kind]
		meta, _ := o["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		name, _ := meta["name"].(string)
		if ty == nil {
			ty = &fakeAPIType{group: group, version: version, kind: kind, resource: strings.ToLower(kind) + "s", namespaced: ns != ""}
			byType[av+"/"+kind] = ty
			f.types = append(f.types, ty)
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		ty.items = append(ty.items, b)
		keys[ty] = append(keys[ty], ns+"/"+name)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ty := range f.types {
		idx := make([]int, len(ty.items))
		for i := range idx {
			idx[i] = i
		}
		k := keys[ty]
		if order == spillEtcdOrder {
			slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(k[a], k[b]) })
		} else {
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		}
		items := make([][]byte, len(idx))
		for i, j := range idx {
			items[i] = ty.items[j]
		}
		ty.items = items
	}
	return f
}
