package incident

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/driftgate/driftgate/drift"
)

// Policy decides who may override the gate, and with what.
type Policy struct {
	// AllowedBy are user names and group:NAME entries. A verified
	// identity matches by its exact user name or any of its groups; a
	// claim (TrustClaims) by its name, in any case, and never by group:
	// nothing vouches for a claim's groups.
	AllowedBy     []string
	TicketPattern *regexp.Regexp
	// TrustClaims checks AllowedBy against the claimed identity
	// (--override-by, the CI system's actor, the OS user) instead of the
	// one a cluster verified: override.trustClaimedIdentity.
	TrustClaims bool
}

// GroupPrefix marks an override.allowedBy entry that names a group.
const GroupPrefix = "group:"

// MinReasonWords and MinReasonChars make "ok", "hotfix" or "." not reasons.
const (
	MinReasonWords = 3
	MinReasonChars = 15
)

// RefusedError says why an override was refused.
type RefusedError struct{ Why string }

func (e *RefusedError) Error() string { return "override refused: " + e.Why }

// Check accepts or refuses an override. An empty allowedBy refuses every
// override: a gate nobody configured to be overridden stays shut.
func (p Policy) Check(reason, ticket string, who Identity) error {
	if err := p.checkRequest(reason, ticket); err != nil {
		return err
	}
	_, err := p.allows(who)
	return err
}

// checkRequest checks all that does not depend on who overrides, so that a
// request refused anyway asks no cluster.
func (p Policy) checkRequest(reason, ticket string) error {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return &RefusedError{"the reason is empty: say why deploying over these findings is acceptable"}
	case len(reason) < MinReasonChars || len(strings.Fields(reason)) < MinReasonWords:
		return &RefusedError{fmt.Sprintf("the reason %q is too short to mean anything: use at least %d words saying why the deploy may go ahead", reason, MinReasonWords)}
	case strings.TrimSpace(ticket) == "":
		return &RefusedError{"no ticket: give --ticket (or DRIFTGATE_OVERRIDE_TICKET) so the follow-up can be tracked"}
	case p.TicketPattern != nil && !wholeMatch(p.TicketPattern, ticket):
		return &RefusedError{fmt.Sprintf("ticket %q does not match override.ticketPattern %s (the whole ticket must match, as if the pattern were written ^(?:...)$)", ticket, p.TicketPattern)}
	case len(p.AllowedBy) == 0:
		return &RefusedError{"override.allowedBy is empty in driftgate.yaml, so no one may override this gate"}
	}
	return nil
}

// allows returns the allowedBy entry that lets who override. Which of
// who's identities it checks is who.Checked: the verified user and groups,
// or the claimed name.
func (p Policy) allows(who Identity) (string, error) {
	if len(p.AllowedBy) == 0 {
		return "", &RefusedError{"override.allowedBy is empty in driftgate.yaml, so no one may override this gate"}
	}
	verified := who.Checked == CheckedVerified && who.Verified != nil
	for _, a := range p.AllowedBy {
		a = strings.TrimSpace(a)
		group, isGroup := strings.CutPrefix(a, GroupPrefix)
		switch {
		case isGroup && verified && slices.Contains(who.Verified.Groups, group):
			return a, nil
		case isGroup:
		case verified && a == who.Verified.User:
			return a, nil
		case !verified && strings.EqualFold(a, who.Name):
			return a, nil
		}
	}
	if !verified {
		return "", &RefusedError{fmt.Sprintf("%s (identity from %s) is not in override.allowedBy", who.Name, who.Provenance())}
	}
	groups := "no groups"
	if len(who.Verified.Groups) > 0 {
		groups = "groups " + strings.Join(who.Verified.Groups, ", ")
	}
	why := fmt.Sprintf("%s (%s; verified by %s) is not in override.allowedBy, by name or group",
		who.Verified.User, groups, who.Verified.By)
	if len(who.Claims) > 0 {
		why += fmt.Sprintf("; claimed: %s, recorded but never checked unless override.trustClaimedIdentity is true", claimList(who.Claims))
	}
	return "", &RefusedError{why}
}

// identify decides who overrides: the identity the cluster verified, or,
// with Policy.TrustClaims, the claim (with the cluster's identity, when
// one was asked, recorded beside it).
func identify(ctx context.Context, req OverrideRequest) (Identity, error) {
	claimed := req.Who
	var v *Verified
	if req.Review != nil {
		var err error
		if v, err = req.Review(ctx); err != nil {
			return Identity{}, fmt.Errorf("verifying who overrides (nothing was recorded; a claimed identity is never checked instead): %w", err)
		}
	}
	if req.Policy.TrustClaims {
		who := claimed
		who.Checked, who.Verified, who.Claims = CheckedClaim, v, claimsOf(claimed)
		return who, nil
	}
	if v == nil {
		why := req.Unvouched
		if why == "" {
			why = "no live cluster was asked who runs the gate"
		}
		return Identity{}, fmt.Errorf("override refused: nothing verifies who overrides: %s", why)
	}
	return Identity{Name: v.User, Source: SourceVerified, Actor: claimed.Actor, ActorSource: claimed.ActorSource,
		Checked: CheckedVerified, Verified: v, Claims: claimsOf(claimed), Commit: claimed.Commit, PipelineURL: claimed.PipelineURL}, nil
}

// how says in a few words how who's Name was learned.
func how(who Identity) string {
	if who.Checked == CheckedVerified && who.Verified != nil {
		return "verified by " + who.Verified.By
	}
	return who.Source + ", a claim trusted by override.trustClaimedIdentity"
}

func claimList(cs []Claim) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return strings.Join(s, ", ")
}

// wholeMatch reports whether re matches all of s. A pattern written
// INC-[0-9]+ must not accept "INC-1; $(...) ../../x": tickets end up in
// records, chat messages, hook environments and file names downstream.
// The anchored pattern is compiled from re's own source, which compiled,
// so it compiles too (a group around a valid expression is valid).
func wholeMatch(re *regexp.Regexp, s string) bool {
	anchored, err := regexp.Compile(`^(?:` + re.String() + `)$`)
	return err == nil && anchored.MatchString(s)
}

// OverrideRequest asks to let a gated deploy go ahead despite its result.
type OverrideRequest struct {
	// Result is what the gate found.
	Result *drift.Result
	// Reason and Ticket are the override's justification and tracking.
	Reason, Ticket string
	// Who is who claims to override (see ResolveIdentity): recorded as
	// claims, and checked against the policy only with Policy.TrustClaims.
	Who Identity
	// Review asks a cluster who runs the gate (see SelfSubjectReview);
	// nil when no environment can. Its identity is the one checked against
	// the policy, unless Policy.TrustClaims; when it fails the override
	// cannot be handled, and no claim is checked instead.
	Review func(ctx context.Context) (*Verified, error)
	// Unvouched says why Review is nil and what to do about it, for the
	// error when the policy needs a verified identity.
	Unvouched string
	// Policy decides whether Who may override with Reason and Ticket.
	Policy Policy
	// Store is where the record, the log and the postmortem are written.
	Store *Store
	// Deliverer sends the committed record to the hooks; nil for none. It
	// queues failed deliveries in Store's outbox.
	Deliverer *Deliverer
	// Now is when the override happens; default time.Now().
	Now time.Time
	// Notes receives one line per step for the person overriding (stderr);
	// nil discards them.
	Notes io.Writer
}

// OverrideStatus is how an override ended.
type OverrideStatus int

const (
	// OverrideAccepted: the record is committed and every required hook has it.
	OverrideAccepted OverrideStatus = iota
	// OverrideNotNeeded: nothing blocked, so nothing was recorded.
	OverrideNotNeeded
	// OverrideNotApplied: a check could not run; unseen drift cannot be accepted.
	OverrideNotApplied
	// OverrideRefused: the policy refused it (nothing recorded), or a required
	// hook could not deliver (the record is kept and queued).
	OverrideRefused
)

// OverrideOutcome is what Override did.
type OverrideOutcome struct {
	Status OverrideStatus
	// Record is the committed record; nil when nothing was recorded.
	Record *Record
	// LogHead is the digest of the log's head after Record: the logDigest
	// deliveries carry.
	LogHead string
	// Deliveries are the hook deliveries of Record, in config order.
	Deliveries []Delivery
	// Refusal says why Status is OverrideRefused.
	Refusal error
}

// Override checks the policy, commits the record to the hash-chained log,
// writes the postmortem beside it, then delivers the record to the hooks.
// The record is committed before any hook runs, so a required hook that
// cannot deliver refuses the override with the record kept. An error means
// the override could not be handled at all and nothing was recorded: no
// cluster could verify who overrides (and claims are not trusted), the
// review failed, or the record could not be written.
func Override(ctx context.Context, req OverrideRequest) (OverrideOutcome, error) {
	notes := req.Notes
	if notes == nil {
		notes = io.Discard
	}
	switch req.Result.Verdict {
	case drift.VerdictCouldNotCheck:
		fmt.Fprintln(notes, "driftgate: override not applied: a check that could not run can never be overridden; nobody can accept drift that was not seen")
		return OverrideOutcome{Status: OverrideNotApplied}, nil
	case drift.VerdictPass:
		fmt.Fprintln(notes, "driftgate: nothing blocks, so no override is needed and no incident was recorded")
		return OverrideOutcome{Status: OverrideNotNeeded}, nil
	}
	if err := req.Policy.checkRequest(req.Reason, req.Ticket); err != nil {
		fmt.Fprintf(notes, "driftgate: %v\n", err)
		return OverrideOutcome{Status: OverrideRefused, Refusal: err}, nil
	}
	who, err := identify(ctx, req)
	if err != nil {
		return OverrideOutcome{}, err
	}
	if who.AllowedAs, err = req.Policy.allows(who); err != nil {
		fmt.Fprintf(notes, "driftgate: %v\n", err)
		return OverrideOutcome{Status: OverrideRefused, Refusal: err}, nil
	}
	switch {
	case who.Checked == CheckedVerified && who.Provenance() != "verified by "+who.Verified.By:
		fmt.Fprintf(notes, "driftgate: the override is claimed for %s, but the cluster verified %s (%s) as running it; the claims are recorded, and override.allowedBy was checked against %s\n",
			claimList(who.Claims), who.Name, who.Verified.By, who.Name)
	case who.Checked == CheckedClaim && who.Provenance() != who.Source:
		fmt.Fprintf(notes, "driftgate: the override names %s (%s), but %s; all are recorded, and override.allowedBy was checked against the claim %s (override.trustClaimedIdentity)\n",
			who.Name, who.Source, strings.TrimPrefix(who.Provenance(), who.Source+"; "), who.Name)
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	rec, err := New(req.Result, who, strings.TrimSpace(req.Reason), strings.TrimSpace(req.Ticket), now)
	if err != nil {
		return OverrideOutcome{}, err
	}
	store := req.Store
	head, err := store.Commit(rec)
	if err != nil {
		return OverrideOutcome{}, fmt.Errorf("recording the incident (the override is refused without a record): %w", err)
	}
	postmortem := rec.ID + ".md"
	if err := store.WriteFile(postmortem, []byte(Postmortem(rec))); err != nil {
		return OverrideOutcome{}, fmt.Errorf("writing the postmortem: %w", err)
	}
	fmt.Fprintf(notes, "driftgate: override accepted for %s (%s, allowed as %s); incident %s recorded in %s, postmortem %s\n",
		who.Name, how(who), who.AllowedAs, rec.ID, filepath.Join(store.Dir, rec.ID+".json"), filepath.Join(store.Dir, postmortem))
	out := OverrideOutcome{Status: OverrideAccepted, Record: rec, LogHead: head.Digest}
	if req.Deliverer != nil {
		d := *req.Deliverer
		d.Store = store
		out.Deliveries = d.DeliverAll(ctx, rec, head.Digest)
	}
	var refused []string
	for _, del := range out.Deliveries {
		switch {
		case del.Err == nil:
			fmt.Fprintf(notes, "driftgate: delivered to hook %d (%s)\n", del.Hook, del.Type)
		case del.Required:
			refused = append(refused, fmt.Sprintf("required hook %d (%s) could not deliver after %d attempts: %v", del.Hook, del.Type, del.Attempts, del.Err))
		default:
			fmt.Fprintf(notes, "driftgate: hook %d (%s) could not deliver after %d attempts: %v; queued, run `driftgate incidents flush`\n", del.Hook, del.Type, del.Attempts, del.Err)
		}
	}
	if len(refused) > 0 {
		out.Status = OverrideRefused
		out.Refusal = fmt.Errorf("override refused: %s; incident %s is kept and queued in %s: run `driftgate incidents flush` once the hook is back",
			strings.Join(refused, "; "), rec.ID, filepath.Join(store.Dir, "outbox"))
		fmt.Fprintf(notes, "driftgate: %v\n", out.Refusal)
	}
	return out, nil
}
