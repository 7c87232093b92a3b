package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// hookTransport runs before once, when the first request whose path has
// prefix is about to be sent: a way to change the cluster between
// discovery and listing.
type hookTransport struct {
	next   http.RoundTripper
	prefix string
	before func()
	once   sync.Once
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, h.prefix) {
		h.once.Do(h.before)
	}
	return h.next.RoundTrip(r)
}

// collectWithHook snapshots dev (namespace ns and cluster-scoped types)
// with before run just ahead of the first request under prefix.
func collectWithHook(t *testing.T, bed *testbed.Bed, ns, prefix string, before func()) (*drift.Snapshot, error) {
	t.Helper()
	cfg := rest.CopyConfig(bed.Dev.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return &hookTransport{next: rt, prefix: prefix, before: before}
	})
	return drift.Collect(context.Background(), cfg, drift.CollectOptions{Scope: drift.Scope{Namespaces: []string{ns}, Exclude: drift.DefaultExcludes}})
}
