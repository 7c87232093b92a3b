package incident

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/driftgate/driftgate/drift"
)

// Policy decides who may override the gate, and with what.
type Policy struct {
	AllowedBy     []string
	TicketPattern *regexp.Regexp
}

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
	for _, a := range p.AllowedBy {
		if strings.EqualFold(strings.TrimSpace(a), who.Name) {
			return nil
		}
	}
	return &RefusedError{fmt.Sprintf("%s (identity from %s) is not in override.allowedBy", who.Name, who.Provenance())}
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
	// Who is overriding (see ResolveIdentity).
	Who Identity
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
// the override could not be handled at all (nothing could be recorded).
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
	who := req.Who
	if err := req.Policy.Check(req.Reason, req.Ticket, who); err != nil {
		fmt.Fprintf(notes, "driftgate: %v\n", err)
		return OverrideOutcome{Status: OverrideRefused, Refusal: err}, nil
	}
	who.Checked = CheckedName
	if who.Provenance() != who.Source {
		fmt.Fprintf(notes, "driftgate: the override names %s (%s), but the environment says %s (%s) runs it; both are recorded, and override.allowedBy was checked against %s\n",
			who.Name, who.Source, who.Actor, who.ActorSource, who.Name)
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
	fmt.Fprintf(notes, "driftgate: override accepted for %s (%s); incident %s recorded in %s, postmortem %s\n",
		who.Name, who.Source, rec.ID, filepath.Join(store.Dir, rec.ID+".json"), filepath.Join(store.Dir, postmortem))
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
