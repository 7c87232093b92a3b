package output

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/textsafe"
)

// Code Quality: the subset of the Code Climate issue format GitLab reads
// from artifacts:reports:codequality, a JSON array of issues. GitLab
// requires description, check_name, fingerprint, severity, location.path
// and location.lines.begin; type and categories come from the Code Climate
// spec and GitLab ignores them.
type ccIssue struct {
	Type        string     `json:"type"`
	CheckName   string     `json:"check_name"`
	Description string     `json:"description"`
	Categories  []string   `json:"categories"`
	Severity    string     `json:"severity"`
	Fingerprint string     `json:"fingerprint"`
	Location    ccLocation `json:"location"`
}

type ccLocation struct {
	Path  string  `json:"path"`
	Lines ccLines `json:"lines"`
}

type ccLines struct {
	Begin int `json:"begin"`
}

// ccSeverity maps driftgate's severities onto GitLab's five: a blocking
// finding stops the deploy, so it is a blocker; a warning is worth a
// reviewer's look, major; info is info. A waived finding blocks nothing
// and is listed as info, so the widget still shows what was accepted.
func ccSeverity(f drift.Finding) string {
	switch {
	case f.Waiver != nil:
		return "info"
	case f.Severity == drift.SeverityBlock:
		return "blocker"
	case f.Severity == drift.SeverityWarn:
		return "major"
	}
	return "info"
}

// ccPathPrefix starts every location.path. A finding is about a cluster
// object, not a file of the repository, so the path names the object the
// way SARIF's logical location does (namespace/Kind.group/name) under a
// prefix that says where it comes from: GitLab shows it as the issue's
// place, and no file of the repository is falsely blamed.
const ccPathPrefix = "driftgate/"

// renderCodeClimate writes findings, and what could not be checked, as
// Code Quality issues. Descriptions and paths are shown to people in the
// merge request, so cluster text goes through textsafe.Line: one line,
// no control characters. Fingerprints hash the exact values.
func renderCodeClimate(w io.Writer, res *drift.Result) error {
	issues := []ccIssue{}
	fp := ccFingerprints{}
	for _, u := range res.Unobserved {
		what := u.GroupKind()
		if u.Namespace != "" {
			what = u.Namespace + "/" + what
		}
		issues = append(issues, ccIssue{Type: "issue", CheckName: "driftgate/could-not-check",
			Description: textsafe.Line(fmt.Sprintf("driftgate could not check: %s could not observe %s: %s; %s", u.Side, what, u.Reason, res.Compared)),
			Categories:  []string{"Bug Risk"}, Severity: "blocker",
			Fingerprint: fp.next("unobserved", u.Side, u.Group, u.Kind, u.Namespace),
			Location:    ccLocation{Path: textsafe.Line(ccPathPrefix + "unobserved/" + u.Side + "/" + what), Lines: ccLines{1}}})
	}
	for _, u := range res.Unchecked {
		issues = append(issues, ccIssue{Type: "issue", CheckName: "driftgate/could-not-check",
			Description: textsafe.Line("driftgate could not check: " + u + "; " + res.Compared.String()),
			Categories:  []string{"Bug Risk"}, Severity: "blocker",
			Fingerprint: fp.next("unchecked", u),
			Location:    ccLocation{Path: ccPathPrefix + "unchecked", Lines: ccLines{1}}})
	}
	for _, f := range res.Findings {
		key := []string{"finding", f.Rule, f.Check, f.Kind, f.Object.Group, f.Object.Kind, f.Object.Namespace, f.Object.Name}
		for _, d := range f.Fields {
			key = append(key, d.Path)
		}
		issues = append(issues, ccIssue{Type: "issue", CheckName: "driftgate/" + textsafe.Line(f.Rule),
			Description: textsafe.Line(ccDescription(f)),
			Categories:  []string{"Bug Risk"}, Severity: ccSeverity(f),
			Fingerprint: fp.next(key...),
			Location:    ccLocation{Path: textsafe.Line(ccPathPrefix + f.Object.String()), Lines: ccLines{1}}})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(issues)
}

// ccDescription is a finding in one line: rule, object, message, and the
// differing fields with both values, each shortened.
func ccDescription(f drift.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s", f.Rule, f.Object, f.Message)
	for _, d := range f.Fields {
		fmt.Fprintf(&b, "; %s dev: %s, prod: %s", d.Path, shorten(d.DevString(), 120), shorten(d.ProdString(), 120))
	}
	if f.Waiver != nil {
		fmt.Fprintf(&b, " (waived by %s until %s: %s)", f.Waiver.Owner, f.Waiver.Expires.Format("2006-01-02"), f.Waiver.Reason)
	}
	return b.String()
}

// ccFingerprints makes fingerprints that are stable across runs (a hash of
// what identifies a finding: rule, check, kind, object and field paths,
// never values, so a finding keeps its fingerprint while its values
// change and GitLab does not report it as fixed and new) and unique within
// a report, as GitLab needs to tell issues apart: a fingerprint already
// given is hashed again with a counter, in the result's deterministic order.
type ccFingerprints map[string]bool

func (used ccFingerprints) next(key ...string) string {
	h := sha256.New()
	for _, k := range key {
		// Length-prefixed, so no two keys hash the same bytes.
		fmt.Fprintf(h, "%d:%s,", len(k), k)
	}
	base := h.Sum(nil)
	fp := hex.EncodeToString(base[:16])
	for n := 1; used[fp]; n++ {
		again := sha256.Sum256(fmt.Appendf(base, "#%d", n))
		fp = hex.EncodeToString(again[:16])
	}
	used[fp] = true
	return fp
}
