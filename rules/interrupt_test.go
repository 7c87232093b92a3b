package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/driftgate/driftgate/drift"
)

// slowCEL is a rule whose expression costs most of a second on a ConfigMap
// of 100 keys (it ends at the cost limit), and slowSides 60 such pairs: an
// evaluation of tens of seconds.
func slowCEL(t *testing.T) (*RuleSet, *drift.Snapshot, *drift.Snapshot) {
	t.Helper()
	rs := ruleSet(t, `rules:
- id: slow
  description: every key against every pair of keys
  check: cel
  expression: dev == null || prod == null || dev.data.all(a, prod.data.all(b, prod.data.all(c, a != c || b != c || true)))
  severity: warn
`)
	var docs []string
	for i := range 60 {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: shop}\ndata:\n", i)
		for k := range 100 {
			fmt.Fprintf(&b, "  k%d: v\n", k)
		}
		docs = append(docs, b.String())
	}
	return rs, snap(t, docs...), snap(t, docs...)
}

// An interrupted evaluation stops between objects and inside one CEL
// evaluation, returning the context's error, never a result.
func TestEvaluateStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	rs, dev, prod := slowCEL(t)
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := EvaluateContext(ctx, dev, prod, []*RuleSet{rs}, Options{})
		if !errors.Is(err, context.Canceled) || res != nil {
			t.Errorf("EvaluateContext on a cancelled context: %v, %v", res, err)
		}
		if _, err := rs.Rules[0].evalCEL(ctx, &dev.Objects[0], &prod.Objects[0]); err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("a CEL evaluation on a cancelled context: %v", err)
		}
	})
	t.Run("cancelled during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := EvaluateContext(ctx, dev, prod, []*RuleSet{rs}, Options{})
			done <- err
		}()
		time.Sleep(200 * time.Millisecond) // into the first pairs, not waiting for a state
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("EvaluateContext cancelled during the rules: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("EvaluateContext ran on 10s after its context was cancelled")
		}
	})
}
