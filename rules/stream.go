package rules

import (
	"cmp"
	"context"
	"fmt"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/leftover"
	"github.com/driftgate/driftgate/drift/netpol"
)

// Stream evaluates rule sets over two environments whose pairs come a run
// at a time, in the order PairObjects sorts them (drift.StreamPairs), and
// gives the result Evaluate gives for the whole snapshots, finding for
// finding. It keeps, between runs, only what the checks that see the
// whole environments need: the network models (workloads' labels and
// ports, namespaces' labels, the policies) and the CNI policies they do not
// read, the DNS findings, the IDs of dev's objects and those whose owner
// has not come yet (unmanaged), the CRDs, and the findings.
//
// The pairs in a run are read while Add runs, and not after.
type Stream struct {
	sets       []*RuleSet
	opts       Options
	dev, prod  *drift.Snapshot
	res        *drift.Result
	inScope    func(string) bool
	counter    *scopeCounter
	serverPair *drift.Pair

	rules []*Rule
	found [][]drift.Finding // by rule, in rules' order

	// Fields rules compare custom resources with their CRDs' list keys,
	// and CRDs sort after the groups before apiextensions.k8s.io: pairs
	// whose schema a CRD gives wait for them.
	schemas        *drift.Schemas
	crdsRead       bool
	crdDev, crdPro []drift.Object
	waiting        []drift.Pair
	builtin        map[[3]string]bool
	fieldsRules    bool

	netpol    map[int]*streamModels
	cni       []drift.Pair
	corefile  map[int]*corefileCheck
	unmanaged []int
	present   map[drift.ObjectID]bool
	owned     []drift.Pair
	labels    map[drift.ObjectID]map[string]string
}

// streamModels are one networkpolicy rule's network models, built as the
// pairs come.
type streamModels struct{ dev, prod *netpol.Builder }

// NewStream starts evaluating sets over dev and prod, of which only the
// heads are read (the objects come through Add): metadata, unobserved
// types.
func NewStream(dev, prod *drift.Snapshot, sets []*RuleSet, opts Options) *Stream {
	s := &Stream{sets: sets, dev: dev, prod: prod, schemas: drift.NewSchemas(), builtin: map[[3]string]bool{},
		netpol: map[int]*streamModels{}, corefile: map[int]*corefileCheck{}}
	var namespaces []string
	s.res, s.inScope, namespaces = newResult(dev, prod, sets, &opts)
	s.opts = opts
	s.counter = newScopeCounter(namespaces)
	s.serverPair = serverVersionPair(dev, prod)
	selects := false
	for _, set := range sets {
		for _, r := range set.Rules {
			i := len(s.rules)
			s.rules = append(s.rules, r)
			switch r.Check {
			case CheckNetworkPolicy:
				s.netpol[i] = &streamModels{netpol.NewBuilder(), netpol.NewBuilder()}
			case CheckCorefile:
				s.corefile[i] = &corefileCheck{}
			case CheckUnmanaged:
				s.unmanaged = append(s.unmanaged, i)
			case CheckFields:
				s.fieldsRules = true
			}
			if s.semantic(r) && r.selector != nil && !r.selector.Empty() {
				selects = true
			}
		}
	}
	s.found = make([][]drift.Finding, len(s.rules))
	if len(s.unmanaged) > 0 {
		s.present = map[drift.ObjectID]bool{}
	}
	if selects {
		// A finding of a check that sees the whole environments is kept
		// when its rule's match selects the object's labels.
		s.labels = map[drift.ObjectID]map[string]string{}
	}
	return s
}

// semantic reports whether r's check sees the whole environments.
func (s *Stream) semantic(r *Rule) bool {
	_, ok := semanticChecks[r.Check]
	return ok || r.Check == CheckUnmanaged
}

const (
	crdGroup = "apiextensions.k8s.io"
	crdKind  = "CustomResourceDefinition"
)

// Add evaluates a run of pairs.
func (s *Stream) Add(ctx context.Context, run drift.PairRun) error {
	if !s.crdsRead {
		switch c := cmp.Or(cmp.Compare(run.Group, crdGroup), cmp.Compare(run.Kind, crdKind)); {
		case c == 0:
			// NewSchemas reads every CRD of prod, then of dev's (before the
			// mapping), in or out of scope.
			s.crdPro = append(s.crdPro, run.Prod...)
			s.crdDev = append(s.crdDev, run.Dev...)
		case c > 0:
			if err := s.readCRDs(ctx); err != nil {
				return err
			}
		}
	}
	var pairs []drift.Pair
	for _, p := range run.Pairs {
		if s.inScope(scopeNamespace(p.ID)) {
			pairs = append(pairs, p)
		}
	}
	for i := range pairs {
		s.counter.add(&pairs[i])
	}
	return s.evaluate(ctx, pairs)
}

// readCRDs reads the CRDs into the schemas and evaluates the fields rules
// over the pairs that waited for them.
func (s *Stream) readCRDs(ctx context.Context) error {
	s.crdsRead = true
	s.schemas.AddCRDs(s.crdPro)
	s.schemas.AddCRDs(s.crdDev)
	waiting := s.waiting
	s.waiting = nil
	for i, r := range s.rules {
		if r.Check != CheckFields || len(waiting) == 0 {
			continue
		}
		if err := s.perPair(ctx, i, r, waiting); err != nil {
			return err
		}
	}
	return nil
}

// evaluate evaluates every rule over pairs (in scope), or keeps what a
// check that sees the whole environments needs of them.
func (s *Stream) evaluate(ctx context.Context, pairs []drift.Pair) error {
	if len(pairs) == 0 {
		return nil
	}
	if s.labels != nil {
		for i := range pairs {
			p := &pairs[i]
			o := p.Prod
			if o == nil {
				o = p.Dev
			}
			s.labels[p.ID] = objectLabels(o)
		}
	}
	ready := pairs
	if s.fieldsRules && !s.crdsRead {
		ready = nil
		for _, p := range pairs {
			if p.Dev != nil && p.Prod != nil && !s.isBuiltin(p.Prod) {
				s.waiting = append(s.waiting, streamKeep(p))
			} else {
				ready = append(ready, p)
			}
		}
	}
	var devObjs, prodObjs []map[string]any
	if len(s.netpol) > 0 {
		devObjs, prodObjs = sides(pairs)
		for _, p := range pairs {
			if isCNIPolicy(p.ID) {
				s.cni = append(s.cni, streamKeep(p))
			}
		}
	}
	var judgedNow []drift.Pair
	if s.present != nil {
		for _, p := range pairs {
			if p.Dev != nil {
				s.present[p.Dev.ID()] = true
			}
		}
		for _, p := range pairs {
			if p.Dev == nil {
				continue
			}
			if id, ok := leftover.Owner(p.Dev); ok && !s.present[id] {
				// Its owner may come in a later run: judged at the end.
				s.owned = append(s.owned, streamKeep(p))
				continue
			}
			judgedNow = append(judgedNow, p)
		}
	}
	for i, r := range s.rules {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch r.Check {
		case CheckNetworkPolicy:
			m := s.netpol[i]
			if err := m.dev.Add(devObjs...); err != nil {
				return fmt.Errorf("rule %s (%s:%d): reading dev's network policies: %w", r.ID, r.file, r.line, err)
			}
			if err := m.prod.Add(prodObjs...); err != nil {
				return fmt.Errorf("rule %s (%s:%d): reading prod's network policies: %w", r.ID, r.file, r.line, err)
			}
		case CheckCorefile:
			c := s.corefile[i]
			for j := range pairs {
				c.add(r, &pairs[j])
			}
		case CheckUnmanaged:
			s.found[i] = append(s.found[i], r.checkUnmanagedPresent(judgedNow, s.sets, s.isPresent)...)
		case CheckFields:
			if err := s.perPair(ctx, i, r, ready); err != nil {
				return err
			}
		default:
			if err := s.perPair(ctx, i, r, pairs); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Stream) isPresent(id drift.ObjectID) bool { return s.present[id] }

// isBuiltin reports whether Kubernetes describes o's type, so that no CRD
// can change how it compares.
func (s *Stream) isBuiltin(o *drift.Object) bool {
	k := [3]string{o.Group, o.Version, o.Kind}
	b, ok := s.builtin[k]
	if !ok {
		b = (*drift.Schemas)(nil).For(o.Group, o.Version, o.Kind) != nil
		s.builtin[k] = b
	}
	return b
}

// perPair evaluates a rule that compares one pair at a time.
func (s *Stream) perPair(ctx context.Context, i int, r *Rule, pairs []drift.Pair) error {
	fs, err := r.evaluate(ctx, pairs, s.dev, s.prod, s.schemas, s.sets)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("rule %s (%s:%d): %w", r.ID, r.file, r.line, err)
	}
	s.found[i] = append(s.found[i], fs...)
	return nil
}

// streamKeep copies what the pair points at, so that keeping it does not
// keep the run it came in.
func streamKeep(p drift.Pair) drift.Pair {
	if p.Dev != nil {
		d := *p.Dev
		p.Dev = &d
	}
	if p.Prod != nil {
		o := *p.Prod
		p.Prod = &o
	}
	return p
}

// Finish evaluates what waited for the end (the checks that see the whole
// environments, the API servers' versions) and returns the result.
func (s *Stream) Finish(ctx context.Context) (*drift.Result, error) {
	if !s.crdsRead {
		if err := s.readCRDs(ctx); err != nil {
			return nil, err
		}
	}
	res := s.res
	res.Compared.Dev, res.Compared.Prod, res.Unchecked = s.counter.result(s.dev, s.prod, s.sets)
	if s.serverPair != nil {
		if err := s.evaluate(ctx, []drift.Pair{*s.serverPair}); err != nil {
			return nil, err
		}
	}
	for i, r := range s.rules {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch r.Check {
		case CheckNetworkPolicy:
			m := s.netpol[i]
			de, err := m.dev.Environment()
			if err != nil {
				return nil, fmt.Errorf("rule %s (%s:%d): reading dev's network policies: %w", r.ID, r.file, r.line, err)
			}
			pe, err := m.prod.Environment()
			if err != nil {
				return nil, fmt.Errorf("rule %s (%s:%d): reading prod's network policies: %w", r.ID, r.file, r.line, err)
			}
			s.found[i] = s.keepSemantic(r, networkPolicyFindings(r, de, pe, s.cni))
		case CheckCorefile:
			s.found[i] = s.keepSemantic(r, s.corefile[i].findings(r))
		case CheckUnmanaged:
			fs := append(s.found[i], r.checkUnmanagedPresent(s.owned, s.sets, s.isPresent)...)
			s.found[i] = s.keepSemantic(r, fs)
		}
		res.Findings = append(res.Findings, s.found[i]...)
	}
	finishResult(res, s.sets, s.opts.Now)
	return res, nil
}

// keepSemantic keeps the findings of a check that sees the whole
// environments that r's match selects, as evaluate does: by the labels of
// the pair the finding is about, when there is one.
func (s *Stream) keepSemantic(r *Rule, fs []drift.Finding) []drift.Finding {
	kept := fs[:0]
	for _, f := range fs {
		lbls, found := s.labels[f.Object]
		ok := r.Match.matches(f.Object, nil, nil)
		if found {
			ok = r.Match.matches(f.Object, lbls, r.selector)
		}
		if ok {
			kept = append(kept, f)
		}
	}
	return kept
}
