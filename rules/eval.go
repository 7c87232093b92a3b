package rules

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/driftgate/driftgate/drift"
)

// Options configure an evaluation.
type Options struct {
	Mapping drift.Mapping
	// Namespaces limits the comparison to these (prod) namespaces; empty
	// means every namespace both snapshots cover.
	Namespaces []string
	// Now decides which waivers have expired; zero means time.Now.
	Now time.Time
}

// SemanticCheck evaluates a semantic check over the whole environments and
// returns its findings; semanticChecks lists them by check type.
type SemanticCheck func(r *Rule, pairs []drift.Pair, dev, prod *drift.Snapshot) ([]drift.Finding, error)

// Evaluate compares dev with prod under the rule sets and returns the result,
// with waivers applied and the verdict set.
func Evaluate(dev, prod *drift.Snapshot, sets []*RuleSet, opts Options) (*drift.Result, error) {
	return EvaluateContext(context.Background(), dev, prod, sets, opts)
}

// EvaluateContext is Evaluate, returning ctx's error soon after ctx is done:
// pairing and every rule look at it between objects, so an interrupted
// gate stops within moments, not after the last rule.
func EvaluateContext(ctx context.Context, dev, prod *drift.Snapshot, sets []*RuleSet, opts Options) (*drift.Result, error) {
	res, inScope, namespaces := newResult(dev, prod, sets, &opts)
	all, err := drift.PairObjectsContext(ctx, dev, prod, opts.Mapping)
	if err != nil {
		return nil, err
	}
	var pairs []drift.Pair
	for _, p := range all {
		if inScope(scopeNamespace(p.ID)) {
			pairs = append(pairs, p)
		}
	}
	res.Compared.Dev, res.Compared.Prod, res.Unchecked = inScopeCounts(pairs, namespaces, dev, prod, sets)
	if sv := serverVersionPair(dev, prod); sv != nil {
		pairs = append(pairs, *sv)
	}

	// Lists pair their items as the API declares, prod's CRDs first.
	schemas := drift.NewSchemas(prod, dev)
	for _, set := range sets {
		for _, r := range set.Rules {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			fs, err := r.evaluate(ctx, pairs, dev, prod, schemas, sets)
			if err != nil {
				if ctx.Err() != nil {
					return nil, err
				}
				return nil, fmt.Errorf("rule %s (%s:%d): %w", r.ID, r.file, r.line, err)
			}
			res.Findings = append(res.Findings, fs...)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err // the last rule may have stopped short
	}
	finishResult(res, sets, opts.Now)
	return res, nil
}

// newResult starts the result of comparing dev with prod under sets: the
// rule files, the unobserved types in scope and the notes on the sides;
// it returns which namespaces are in scope (nil: all), and sets opts.Now
// when zero. Only the snapshots' heads are read.
func newResult(dev, prod *drift.Snapshot, sets []*RuleSet, opts *Options) (*drift.Result, func(string) bool, []string) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	res := &drift.Result{}
	for _, s := range sets {
		res.Rules = append(res.Rules, s.File)
	}
	namespaces := scopeNamespaces(*opts, dev, prod)
	// nil namespaces is everything; an empty list (the namespaces asked for
	// and those the snapshots cover do not overlap) is nothing.
	inScope := func(ns string) bool { return ns == "" || namespaces == nil || slices.Contains(namespaces, ns) }
	for _, side := range []struct {
		name string
		s    *drift.Snapshot
	}{{"dev", dev}, {"prod", prod}} {
		for _, u := range side.s.Unobserved {
			ns := u.Namespace
			if side.name == "dev" {
				if to, ok := opts.Mapping.Namespaces[ns]; ok {
					ns = to
				}
			}
			if inScope(ns) {
				res.Unobserved = append(res.Unobserved, drift.UnobservedSide{Side: side.name, Unobserved: u})
			}
		}
	}
	if dk, pk := dev.Metadata.SecretDigest, prod.Metadata.SecretDigest; dk != pk && dk != "none" && pk != "none" {
		res.Notes = append(res.Notes, "dev and prod Secret values were digested with different keys (DRIFTGATE_DIGEST_KEY); only key names are compared")
	}
	for _, s := range sets {
		res.Compared.Rules += len(s.Rules)
	}
	return res, inScope, namespaces
}

// finishResult applies the waivers to the findings, says what could not be
// checked, and sorts the findings and sets the verdict.
func finishResult(res *drift.Result, sets []*RuleSet, now time.Time) {
	res.Notes = append(res.Notes, WaiverWarnings(sets, now)...)
	applyWaivers(res, sets, now)
	// A difference a rule could not judge leaves the comparison unchecked
	// unless someone accepted it with a waiver.
	for _, f := range res.Findings {
		if f.Kind == drift.FindingUnchecked && f.Waiver == nil {
			res.Unchecked = append(res.Unchecked, fmt.Sprintf("rule %s could not judge %s: %s", f.Rule, f.Object, f.Message))
		}
	}
	sortFindings(res.Findings)
	res.Finish()
}

// scopeNamespace is the namespace that puts an object in scope: its own,
// or for a Namespace its name.
func scopeNamespace(id drift.ObjectID) string {
	if id.Group == "" && id.Kind == "Namespace" {
		return id.Name
	}
	return id.Namespace
}

// inScopeCounts counts the objects of each side in pairs (those in scope)
// and says what the comparison covers nothing of: a side without an object
// in scope (with namespaces, without one in them: cluster-scoped objects
// alone do not check a namespace), a namespace in scope that neither side
// has an object in, or no rule at all. A comparison of nothing proves
// nothing: each is a reason the result could not check.
func inScopeCounts(pairs []drift.Pair, namespaces []string, dev, prod *drift.Snapshot, sets []*RuleSet) (devN, prodN int, unchecked []string) {
	c := newScopeCounter(namespaces)
	for i := range pairs {
		c.add(&pairs[i])
	}
	return c.result(dev, prod, sets)
}

// scopeCounter counts what inScopeCounts counts, a pair at a time.
type scopeCounter struct {
	namespaces  []string
	devN, prodN int
	// seen counts each side's objects that decide emptiness: all of them,
	// or with namespaces those in a namespace.
	seen  [2]int
	perNS map[string]int
}

func newScopeCounter(namespaces []string) *scopeCounter {
	return &scopeCounter{namespaces: namespaces, perNS: make(map[string]int, len(namespaces))}
}

func (c *scopeCounter) add(p *drift.Pair) {
	ns := scopeNamespace(p.ID)
	counts := c.namespaces == nil || ns != ""
	if ns != "" && c.namespaces != nil {
		c.perNS[ns]++
	}
	if p.Dev != nil {
		c.devN++
		if counts {
			c.seen[0]++
		}
	}
	if p.Prod != nil {
		c.prodN++
		if counts {
			c.seen[1]++
		}
	}
}

// result is inScopeCounts' result for the pairs added.
func (c *scopeCounter) result(dev, prod *drift.Snapshot, sets []*RuleSet) (devN, prodN int, unchecked []string) {
	namespaces, seen, perNS := c.namespaces, c.seen, c.perNS
	devN, prodN = c.devN, c.prodN
	where := ""
	switch {
	case namespaces == nil:
	case len(namespaces) == 0:
		where = " in any namespace: the namespaces asked for and those the snapshots cover do not overlap"
	default:
		where = fmt.Sprintf(" in namespaces %v", namespaces)
	}
	for i, side := range []*drift.Snapshot{dev, prod} {
		if seen[i] > 0 {
			continue
		}
		msg := fmt.Sprintf("nothing in scope on %s: 0 objects%s", [2]string{"dev", "prod"}[i], where)
		if len(namespaces) > 0 && side.Metadata.Source == drift.SourceManifests {
			msg += " (a manifest without metadata.namespace is in namespace default)"
		}
		unchecked = append(unchecked, msg)
	}
	if len(unchecked) == 0 {
		for _, ns := range namespaces {
			if perNS[ns] == 0 {
				unchecked = append(unchecked, fmt.Sprintf("nothing in scope in namespace %s: no objects on dev or prod", ns))
			}
		}
	}
	rules := 0
	var files []string
	for _, s := range sets {
		rules += len(s.Rules)
		files = append(files, s.File)
	}
	switch {
	case len(sets) == 0:
		unchecked = append(unchecked, "no rule set was given")
	case rules == 0 && len(sets) == 1:
		unchecked = append(unchecked, fmt.Sprintf("the rule set has no rules (%s)", files[0]))
	case rules == 0:
		unchecked = append(unchecked, fmt.Sprintf("the rule sets have no rules (%s)", strings.Join(files, ", ")))
	}
	return devN, prodN, unchecked
}

// scopeNamespaces is the intersection of the requested namespaces and those
// each snapshot covers (in prod's names), or nil for all.
func scopeNamespaces(opts Options, dev, prod *drift.Snapshot) []string {
	var sets [][]string
	if len(opts.Namespaces) > 0 {
		sets = append(sets, opts.Namespaces)
	}
	if ns := dev.Metadata.Scope.Namespaces; len(ns) > 0 {
		mapped := make([]string, len(ns))
		for i, n := range ns {
			mapped[i] = n
			if to, ok := opts.Mapping.Namespaces[n]; ok {
				mapped[i] = to
			}
		}
		sets = append(sets, mapped)
	}
	if ns := prod.Metadata.Scope.Namespaces; len(ns) > 0 {
		sets = append(sets, ns)
	}
	if len(sets) == 0 {
		return nil
	}
	out := slices.Clone(sets[0])
	for _, s := range sets[1:] {
		out = slices.DeleteFunc(out, func(n string) bool { return !slices.Contains(s, n) })
	}
	if out == nil {
		out = []string{} // an empty intersection covers nothing, not everything
	}
	return out
}

// serverVersionPair compares the API servers' minor versions as a synthetic
// object, when both sides are live clusters.
func serverVersionPair(dev, prod *drift.Snapshot) *drift.Pair {
	dv, pv := minorVersion(dev.Metadata.ServerVersion), minorVersion(prod.Metadata.ServerVersion)
	if dv == "" || pv == "" {
		return nil
	}
	id := drift.ObjectID{Group: "driftgate.dev", Kind: "ServerVersion", Name: "kube-apiserver"}
	obj := func(v, full string) *drift.Object {
		return &drift.Object{Group: id.Group, Version: "v1", Kind: id.Kind, Name: id.Name,
			Object: map[string]any{"apiVersion": "driftgate.dev/v1", "kind": id.Kind, "metadata": map[string]any{"name": id.Name}, "minor": v, "gitVersion": full}}
	}
	return &drift.Pair{ID: id, Dev: obj(dv, dev.Metadata.ServerVersion), Prod: obj(pv, prod.Metadata.ServerVersion)}
}

func minorVersion(v string) string {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "." + parts[1]
}

// matchesPair tests the rule against prod's view of the object, or dev's when prod lacks it.
func (r *Rule) matchesPair(p *drift.Pair) bool {
	o := p.Prod
	if o == nil {
		o = p.Dev
	}
	var lbls map[string]string
	if r.selector != nil && !r.selector.Empty() {
		lbls = objectLabels(o)
	}
	return r.Match.matches(p.ID, lbls, r.selector)
}

func objectLabels(o *drift.Object) map[string]string {
	meta, _ := o.Object["metadata"].(map[string]any)
	raw, _ := meta["labels"].(map[string]any)
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		out[k], _ = v.(string)
	}
	return out
}

func (r *Rule) evaluate(ctx context.Context, pairs []drift.Pair, dev, prod *drift.Snapshot, schemas *drift.Schemas, sets []*RuleSet) ([]drift.Finding, error) {
	sc, ok := semanticChecks[r.Check]
	if r.Check == CheckUnmanaged {
		sc, ok = func(r *Rule, pairs []drift.Pair, _, _ *drift.Snapshot) ([]drift.Finding, error) {
			return r.checkUnmanaged(pairs, sets), nil
		}, true
	}
	if ok {
		// A semantic check sees every pair in scope (a policy in one
		// namespace selects peers in others); the rule's match then decides
		// which of its findings this rule reports.
		fs, err := sc(r, pairs, dev, prod)
		if err != nil {
			return nil, err
		}
		byID := make(map[drift.ObjectID]*drift.Pair, len(pairs))
		for i := range pairs {
			byID[pairs[i].ID] = &pairs[i]
		}
		kept := fs[:0]
		for _, f := range fs {
			p, ok := byID[f.Object]
			if !ok {
				p = &drift.Pair{ID: f.Object}
			}
			if p.Dev == nil && p.Prod == nil {
				if r.Match.matches(f.Object, nil, nil) {
					kept = append(kept, f)
				}
				continue
			}
			if r.matchesPair(p) {
				kept = append(kept, f)
			}
		}
		return kept, nil
	}
	var out []drift.Finding
	done := ctx.Done()
	for i := range pairs {
		// Every pair: one CEL evaluation may take most of a second.
		select {
		case <-done:
			return nil, ctx.Err()
		default:
		}
		p := &pairs[i]
		if !r.matchesPair(p) {
			continue
		}
		var f *drift.Finding
		switch r.Check {
		case CheckPresence:
			f = r.checkPresence(p)
		case CheckFields:
			f = r.checkFields(p, schemas)
		case CheckCEL:
			f = r.checkCEL(ctx, p)
		default:
			return nil, fmt.Errorf("check %q is not available in this version of driftgate", r.Check)
		}
		if f != nil {
			out = append(out, *f)
		}
	}
	return out, nil
}

// NewFinding returns a finding of this rule about id.
func (r *Rule) NewFinding(id drift.ObjectID, kind, message string) drift.Finding {
	return drift.Finding{Rule: r.ID, Severity: r.Severity, Check: r.Check, Kind: kind, Object: id, Message: message}
}

func (r *Rule) checkPresence(p *drift.Pair) *drift.Finding {
	switch {
	case p.Dev == nil && r.Presence != "extra":
		f := r.NewFinding(p.ID, drift.FindingMissingInDev, r.renderMessage(p.ID, p.Dev, p.Prod, "exists in prod but is missing in dev"))
		return &f
	case p.Prod == nil && r.Presence != "missing":
		f := r.NewFinding(p.ID, drift.FindingExtraInDev, r.renderMessage(p.ID, p.Dev, p.Prod, "exists in dev but not in prod"))
		return &f
	}
	return nil
}

func (r *Rule) checkFields(p *drift.Pair, schemas *drift.Schemas) *drift.Finding {
	if p.Dev == nil || p.Prod == nil {
		return nil // presence is another rule's business
	}
	schema := schemas.For(p.Prod.Group, p.Prod.Version, p.Prod.Kind)
	dev, prod := any(p.Dev.Object), any(p.Prod.Object)
	if len(r.paths) > 0 {
		dev, prod = Project(dev, r.paths), Project(prod, r.paths)
	}
	if len(r.ignore) > 0 {
		dev, prod = Prune(dev, r.ignore), Prune(prod, r.ignore)
	}
	if schema.Equivalent(dev, prod) {
		return nil // the common case, without building paths
	}
	diffs := schema.DiffFields(dev, prod)
	if len(diffs) == 0 {
		return nil
	}
	if len(r.paths) > 0 {
		diffs = r.expandAbsent(diffs)
	}
	msg := diffs[0].Path + " differs"
	if len(diffs) > 1 {
		msg = fmt.Sprintf("%d fields differ: %s", len(diffs), joinPaths(diffs, 3))
	}
	f := r.NewFinding(p.ID, drift.FindingChanged, r.renderMessage(p.ID, p.Dev, p.Prod, msg))
	f.Fields = diffs
	return &f
}

// expandAbsent splits a difference where one side lacks a whole subtree
// the rule's paths reach into (a namespace without any pod-security label
// shows as the absent metadata) into one difference per field the paths
// select, each naming its path and its value on the side that has it.
func (r *Rule) expandAbsent(diffs []drift.FieldDiff) []drift.FieldDiff {
	var out []drift.FieldDiff
	var expand func(path string, v any, devSide bool)
	expand = func(path string, v any, devSide bool) {
		m, isMap := v.(map[string]any)
		if !isMap || r.coversPath(path) {
			d := drift.FieldDiff{Path: path, Prod: v}
			if devSide {
				d = drift.FieldDiff{Path: path, Dev: v}
			}
			out = append(out, d)
			return
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			expand(childPath(path, k), m[k], devSide)
		}
	}
	for _, d := range diffs {
		switch {
		case d.Dev == nil && d.Prod != nil:
			expand(d.Path, d.Prod, false)
		case d.Prod == nil && d.Dev != nil:
			expand(d.Path, d.Dev, true)
		default:
			out = append(out, d)
		}
	}
	return out
}

func (r *Rule) coversPath(path string) bool {
	for _, p := range r.paths {
		if p.Covers(path) {
			return true
		}
	}
	return false
}

func (r *Rule) ignoresPath(path string) bool {
	for _, p := range r.ignore {
		if p.Covers(path) {
			return true
		}
	}
	return false
}

// childPath spells a map key below path as DiffFields does.
func childPath(path, key string) string {
	switch {
	case strings.ContainsAny(key, ".[]= "):
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

func joinPaths(diffs []drift.FieldDiff, max int) string {
	var ps []string
	for i, d := range diffs {
		if i == max {
			ps = append(ps, fmt.Sprintf("and %d more", len(diffs)-max))
			break
		}
		ps = append(ps, d.Path)
	}
	return strings.Join(ps, ", ")
}

func (r *Rule) checkCEL(ctx context.Context, p *drift.Pair) *drift.Finding {
	ok, err := r.evalCEL(ctx, p.Dev, p.Prod)
	if err != nil {
		// Fail closed: an expression that cannot decide is a finding, never a pass.
		f := r.NewFinding(p.ID, drift.FindingChanged, "CEL expression could not be evaluated: "+err.Error())
		return &f
	}
	if ok {
		return nil
	}
	kind := drift.FindingChanged
	switch {
	case p.Dev == nil:
		kind = drift.FindingMissingInDev
	case p.Prod == nil:
		kind = drift.FindingExtraInDev
	}
	f := r.NewFinding(p.ID, kind, r.renderMessage(p.ID, p.Dev, p.Prod, "dev and prod disagree: "+r.Description))
	return &f
}

// applyWaivers marks findings accepted by an active waiver, and reports
// waivers that have expired or match nothing.
func applyWaivers(res *drift.Result, sets []*RuleSet, now time.Time) {
	var waivers []*Waiver
	for _, s := range sets {
		waivers = append(waivers, s.Waivers...)
	}
	used := make([]bool, len(waivers))
	for i := range res.Findings {
		f := &res.Findings[i]
		for j, w := range waivers {
			if w.Rule != f.Rule || !globMatch(w.Object, f.Object.String()) || now.After(w.Expires.Time) {
				continue
			}
			used[j] = true
			f.Waiver = &drift.WaiverRef{Rule: w.Rule, Object: w.Object, Reason: w.Reason, Owner: w.Owner, Expires: w.Expires.Time}
			break
		}
	}
	known := ruleIDs(sets)
	for j, w := range waivers {
		id := drift.ObjectID{Group: "driftgate.dev", Kind: "Waiver", Name: w.Where()}
		switch {
		case now.After(w.Expires.Time):
			res.Findings = append(res.Findings, drift.Finding{Rule: w.Rule, Severity: drift.SeverityWarn, Check: "waiver", Kind: drift.FindingWaiver, Object: id,
				Message: fmt.Sprintf("waiver for %s on %s (owner %s) expired on %s and no longer applies; renew it or fix the drift", w.Rule, w.Object, w.Owner, w.Expires.Format("2006-01-02"))})
		case !known[w.Rule]:
			res.Findings = append(res.Findings, drift.Finding{Rule: w.Rule, Severity: drift.SeverityWarn, Check: "waiver", Kind: drift.FindingWaiver, Object: id,
				Message: fmt.Sprintf("waiver for %s on %s (owner %s) names a rule no rule set has, so it can never apply; correct the rule id or remove it", w.Rule, w.Object, w.Owner)})
		case !used[j]:
			res.Findings = append(res.Findings, drift.Finding{Rule: w.Rule, Severity: drift.SeverityInfo, Check: "waiver", Kind: drift.FindingWaiver, Object: id,
				Message: fmt.Sprintf("waiver for %s on %s (owner %s) matches no finding; remove it", w.Rule, w.Object, w.Owner)})
		}
	}
}

// WaiverWarnings says which active waivers accept more than one known
// difference: one naming a rule that none of sets has (it can never
// apply, and usually means a typo or a renamed rule), and one whose object
// is a pattern (it accepts every matching object, today's and any added
// before it expires). Expired waivers are reported as findings instead.
func WaiverWarnings(sets []*RuleSet, now time.Time) []string {
	known := ruleIDs(sets)
	var out []string
	for _, s := range sets {
		for _, w := range s.Waivers {
			if now.After(w.Expires.Time) {
				continue
			}
			if !known[w.Rule] {
				out = append(out, fmt.Sprintf("waiver at %s names rule %q, which no rule set has: it can never apply; correct the rule id (driftgate rules list) or remove the waiver", w.Where(), w.Rule))
			}
			if strings.ContainsAny(w.Object, globMeta) {
				out = append(out, fmt.Sprintf("waiver at %s accepts rule %s on every object matching %q until %s (owner %s), not one object: list the objects it is meant for",
					w.Where(), w.Rule, w.Object, w.Expires.Format("2006-01-02"), w.Owner))
			}
		}
	}
	return out
}

// ruleIDs is the set of the ids of sets' rules.
func ruleIDs(sets []*RuleSet) map[string]bool {
	ids := map[string]bool{}
	for _, s := range sets {
		for _, r := range s.Rules {
			ids[r.ID] = true
		}
	}
	return ids
}

// sortFindings orders findings by severity (waived last), object, then rule.
func sortFindings(fs []drift.Finding) {
	slices.SortStableFunc(fs, func(a, b drift.Finding) int {
		if c := a.Rank() - b.Rank(); c != 0 {
			return c
		}
		if c := a.Object.Compare(b.Object); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
}
