package output

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/driftgate/driftgate/drift"
)

// JUnit: one test suite, a test case per rule and object that has a finding
// (failed when it blocks, skipped when waived, passed with output otherwise),
// and a passing case per rule without findings, so CI test tabs list every rule.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
	// SystemOut holds the result's notes, one a line.
	SystemOut string `xml:"system-out,omitempty"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}

func findingBody(f drift.Finding) string {
	var b strings.Builder
	b.WriteString(f.Message)
	for _, d := range f.Fields {
		fmt.Fprintf(&b, "\n%s\n  dev:  %s\n  prod: %s", d.Path, d.DevString(), d.ProdString())
	}
	return b.String()
}

func renderJUnit(w io.Writer, res *drift.Result, opts Options) error {
	s := junitSuite{Name: "driftgate"}
	withFindings := map[string]bool{}
	for _, u := range res.Unobserved {
		s.Cases = append(s.Cases, junitCase{Name: "observe " + u.GroupKind() + " (" + u.Side + ")", Classname: "driftgate.unobserved",
			Error: &junitMessage{Message: "could not observe " + u.GroupKind(), Type: "unobserved", Body: u.Reason}})
		s.Errors++
	}
	for _, u := range res.Unchecked {
		s.Cases = append(s.Cases, junitCase{Name: "compare", Classname: "driftgate.unchecked", Error: &junitMessage{Message: u, Type: "unchecked", Body: u}})
		s.Errors++
	}
	for _, f := range res.Findings {
		withFindings[f.Rule] = true
		c := junitCase{Name: f.Object.String(), Classname: "driftgate." + f.Rule}
		msg := &junitMessage{Message: f.Message, Type: f.Severity.String(), Body: findingBody(f)}
		switch {
		case f.Waiver != nil:
			msg.Body += fmt.Sprintf("\nwaived by %s until %s: %s", f.Waiver.Owner, f.Waiver.Expires.Format("2006-01-02"), f.Waiver.Reason)
			c.Skipped = msg
			s.Skipped++
		case f.Severity == drift.SeverityBlock:
			c.Failure = msg
			s.Failures++
		default:
			c.SystemOut = f.Severity.String() + ": " + findingBody(f)
		}
		s.Cases = append(s.Cases, c)
	}
	for _, r := range opts.Rules {
		if !withFindings[r.ID] {
			s.Cases = append(s.Cases, junitCase{Name: "all objects", Classname: "driftgate." + r.ID})
		}
	}
	s.Tests = len(s.Cases)
	s.SystemOut = verdictLine(res)
	if len(res.Notes) > 0 {
		s.SystemOut += "\nnote: " + strings.Join(res.Notes, "\nnote: ")
	}
	doc := junitSuites{Name: "driftgate", Tests: s.Tests, Failures: s.Failures, Errors: s.Errors, Skipped: s.Skipped, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// SARIF 2.1.0, the subset GitHub code scanning and other viewers read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Results     []sarifResult     `json:"results"`
	Invocations []sarifInvocation `json:"invocations"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	ShortDescription     sarifText    `json:"shortDescription"`
	DefaultConfiguration sarifDefault `json:"defaultConfiguration"`
}

type sarifDefault struct {
	Level string `json:"level"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID       string             `json:"ruleId"`
	Level        string             `json:"level"`
	Message      sarifText          `json:"message"`
	Locations    []sarifLocation    `json:"locations"`
	Properties   map[string]any     `json:"properties,omitempty"`
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

type sarifLocation struct {
	LogicalLocations []sarifLogical `json:"logicalLocations"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	Properties                 map[string]any      `json:"properties,omitempty"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string    `json:"level"`
	Message sarifText `json:"message"`
}

func sarifLevel(severity drift.Severity) string {
	switch severity {
	case drift.SeverityBlock:
		return "error"
	case drift.SeverityWarn:
		return "warning"
	}
	return "note"
}

func renderSARIF(w io.Writer, res *drift.Result, opts Options) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{Name: "driftgate", Version: opts.ToolVersion,
			InformationURI: "https://github.com/driftgate/driftgate", Rules: []sarifRule{}}},
		Results: []sarifResult{},
	}
	known := map[string]bool{}
	for _, r := range opts.Rules {
		known[r.ID] = true
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: r.ID, ShortDescription: sarifText{r.Description}, DefaultConfiguration: sarifDefault{sarifLevel(r.Severity)}})
	}
	for _, f := range res.Findings {
		if !known[f.Rule] {
			known[f.Rule] = true
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{ID: f.Rule, ShortDescription: sarifText{f.Rule}, DefaultConfiguration: sarifDefault{sarifLevel(f.Severity)}})
		}
		r := sarifResult{RuleID: f.Rule, Level: sarifLevel(f.Severity), Message: sarifText{findingBody(f)},
			Locations:  []sarifLocation{{LogicalLocations: []sarifLogical{{FullyQualifiedName: f.Object.String(), Kind: "resource"}}}},
			Properties: map[string]any{"kind": f.Kind, "check": f.Check}}
		if f.Waiver != nil {
			r.Suppressions = []sarifSuppression{{Kind: "external", Justification: fmt.Sprintf("%s (owner %s, until %s)", f.Waiver.Reason, f.Waiver.Owner, f.Waiver.Expires.Format("2006-01-02"))}}
		}
		run.Results = append(run.Results, r)
	}
	inv := sarifInvocation{ExecutionSuccessful: res.Verdict != drift.VerdictCouldNotCheck, Properties: map[string]any{"compared": res.Compared}}
	for _, u := range res.Unchecked {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{Level: "error", Message: sarifText{u}})
	}
	for _, u := range res.Unobserved {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{Level: "error",
			Message: sarifText{fmt.Sprintf("%s: could not observe %s: %s", u.Side, u.GroupKind(), u.Reason)}})
	}
	for _, n := range res.Notes {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{Level: "note", Message: sarifText{n}})
	}
	run.Invocations = []sarifInvocation{inv}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

// renderGitHub writes workflow commands: ::error for blocking findings,
// ::warning and ::notice for the rest, one line each.
func renderGitHub(w io.Writer, res *drift.Result) error {
	var b strings.Builder
	for _, u := range res.Unobserved {
		fmt.Fprintf(&b, "::error title=%s::%s\n", ghProperty("driftgate: could not check"),
			ghData(fmt.Sprintf("%s: could not observe %s: %s", u.Side, u.GroupKind(), u.Reason)))
	}
	for _, u := range res.Unchecked {
		fmt.Fprintf(&b, "::error title=%s::%s\n", ghProperty("driftgate: could not check"), ghData(u))
	}
	for _, f := range res.Findings {
		cmd := map[drift.Severity]string{drift.SeverityBlock: "error", drift.SeverityWarn: "warning"}[f.Severity]
		if cmd == "" || f.Waiver != nil {
			cmd = "notice"
		}
		fmt.Fprintf(&b, "::%s title=%s::%s\n", cmd, ghProperty("driftgate "+f.Rule+": "+f.Object.String()), ghData(findingBody(f)))
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "::notice title=driftgate note::%s\n", ghData(n))
	}
	fmt.Fprintf(&b, "::notice title=driftgate::%s\n", ghData(verdictLine(res)))
	_, err := io.WriteString(w, b.String())
	return err
}

// ghData and ghProperty escape workflow command values as the runner expects.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
