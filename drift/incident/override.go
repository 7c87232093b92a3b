package incident

import (
	"fmt"
	"regexp"
	"strings"
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
	case p.TicketPattern != nil && !p.TicketPattern.MatchString(ticket):
		return &RefusedError{fmt.Sprintf("ticket %q does not match override.ticketPattern %s", ticket, p.TicketPattern)}
	case len(p.AllowedBy) == 0:
		return &RefusedError{"override.allowedBy is empty in driftgate.yaml, so no one may override this gate"}
	}
	for _, a := range p.AllowedBy {
		if strings.EqualFold(strings.TrimSpace(a), who.Name) {
			return nil
		}
	}
	return &RefusedError{fmt.Sprintf("%s (identity from %s) is not in override.allowedBy", who.Name, who.Source)}
}
