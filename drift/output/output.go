// Package output renders a diff or gate result in every format driftgate
// speaks: text for people, JSON for programs, Markdown for pull requests,
// JUnit and SARIF for CI tabs, GitHub workflow annotations, and GitLab's
// Code Quality report.
package output

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/driftgate/driftgate/drift"
)

// Formats.
const (
	Text     = "text"
	JSON     = "json"
	Markdown = "markdown"
	JUnit    = "junit"
	SARIF    = "sarif"
	GitHub   = "github"
	// CodeClimate is GitLab's Code Quality report.
	CodeClimate = "codeclimate"
)

// Formats lists every format, for flag help, completion and validation.
var Formats = []string{Text, JSON, Markdown, JUnit, SARIF, GitHub, CodeClimate}

// Options carry what a renderer needs besides the result.
type Options struct {
	// ToolVersion is driftgate's version, for SARIF and JUnit.
	ToolVersion string
	// Rules describes the rules that ran, for SARIF's rule table.
	Rules []RuleInfo
}

// RuleInfo describes a rule for formats that list rules.
type RuleInfo struct {
	ID, Description string
	Severity        drift.Severity
}

// Validate reports whether format is known.
func Validate(format string) error {
	if !slices.Contains(Formats, format) {
		return fmt.Errorf("unknown output format %q: use one of %v", format, Formats)
	}
	return nil
}

// Render writes res to w in format.
func Render(w io.Writer, format string, res *drift.Result, opts Options) error {
	switch format {
	case Text:
		return renderText(w, res)
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	case Markdown:
		return renderMarkdown(w, res)
	case JUnit:
		return renderJUnit(w, res, opts)
	case SARIF:
		return renderSARIF(w, res, opts)
	case GitHub:
		return renderGitHub(w, res)
	case CodeClimate:
		return renderCodeClimate(w, res)
	}
	return Validate(format)
}

// groups splits findings into severity groups, each by object, in order.
type group struct {
	title    string
	findings []drift.Finding
}

func groupBySeverity(res *drift.Result) []group {
	var gs []group
	for _, s := range drift.Severities() {
		gs = append(gs, group{title: s.String()})
	}
	gs = append(gs, group{title: drift.Waived})
	for _, f := range res.Findings {
		i := f.Rank()
		gs[i].findings = append(gs[i].findings, f)
	}
	return gs
}

// verdictLine is the verdict in one line, with what was compared: every
// format says it.
func verdictLine(res *drift.Result) string {
	s := res.Summary
	switch res.Verdict {
	case drift.VerdictCouldNotCheck:
		why := slices.Clone(res.Unchecked)
		if len(res.Unobserved) > 0 {
			why = append(why, fmt.Sprintf("%d resource type(s) unobserved", len(res.Unobserved)))
		}
		return fmt.Sprintf("could not check: %s; nothing is proven (%d blocking, %d warning findings among what was seen; %s)", strings.Join(why, "; "), s.Block, s.Warn, res.Compared)
	case drift.VerdictBlocked:
		return fmt.Sprintf("blocked: %d blocking, %d warning, %d info, %d waived; %s", s.Block, s.Warn, s.Info, s.Waived, res.Compared)
	}
	return fmt.Sprintf("pass: dev reproduces prod (%d warning, %d info, %d waived; %s)", s.Warn, s.Info, s.Waived, res.Compared)
}

// sideLine says where a side came from: "context dev", or a file with the
// context it was captured from.
func sideLine(s drift.Side) string {
	switch {
	case s.Location == "" || s.Location == "context:"+s.Context:
		if s.Context != "" {
			return "context " + s.Context
		}
		return s.Source
	case s.Context != "":
		return s.Location + " (context " + s.Context + ")"
	}
	return s.Location
}
