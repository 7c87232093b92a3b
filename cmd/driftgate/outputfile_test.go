package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/output"
)

// allOutputFiles is an --output-file for every format in dir, and where
// each goes.
func allOutputFiles(dir string) ([]string, map[string]string) {
	var args []string
	paths := map[string]string{}
	for _, f := range output.Formats {
		paths[f] = filepath.Join(dir, "report."+f)
		args = append(args, "--output-file", f+"="+paths[f])
	}
	return args, paths
}

// TestOutputFilesMatchStdout: each --output-file holds exactly what -o of
// its format prints in the same run, for a blocked and a passing diff,
// and the exit code is the verdict's.
func TestOutputFilesMatchStdout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		dev, prod string
		code      int
	}{
		{"blocked", "2", "1", exitBlocked},
		{"pass", "1", "1", exitPass},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dev, prod := twoEnvs(t, strings.ReplaceAll(appYAML, "IMAGE", tc.dev), strings.ReplaceAll(appYAML, "IMAGE", tc.prod))
			for _, format := range output.Formats {
				files, paths := allOutputFiles(t.TempDir())
				r := runCLI(t, append([]string{"diff", dev, prod, "-o", format}, files...)...)
				if r.code != tc.code {
					t.Fatalf("-o %s: exit %d, want %d\n%s", format, r.code, tc.code, r.stderr)
				}
				got, err := os.ReadFile(paths[format])
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != r.stdout {
					t.Errorf("--output-file %s= differs from -o %s:\nfile:\n%s\nstdout:\n%s", format, format, got, r.stdout)
				}
			}
		})
	}
}

// TestOutputFileBadInput: a mistake in --output-file is a usage error
// (exit 2) before anything is compared or written.
func TestOutputFileBadInput(t *testing.T) {
	t.Parallel()
	same := strings.ReplaceAll(appYAML, "IMAGE", "1")
	dev, prod := twoEnvs(t, same, same)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.sarif")
	for _, tc := range []struct {
		name  string
		specs []string
		want  string
	}{
		{"unknown format", []string{"html=" + out}, `invalid --output-file "html=` + out + `": unknown output format "html"`},
		{"no path", []string{"sarif="}, "use FORMAT=PATH"},
		{"no format", []string{"=" + out}, "use FORMAT=PATH"},
		{"no equals sign", []string{out}, "use FORMAT=PATH"},
		{"one path twice", []string{"sarif=" + out, "json=" + filepath.Join(dir, ".", "x", "..", "r.sarif")}, "is already written by --output-file \"sarif=" + out + "\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"diff", dev, prod}
			for _, s := range tc.specs {
				args = append(args, "--output-file", s)
			}
			r := runCLI(t, args...)
			if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "See 'driftgate diff --help'") {
				t.Errorf("exit %d, stderr:\n%s\nwant a usage error with %q", r.code, r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("compared despite a usage error:\n%s", r.stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a report was written despite a usage error")
			}
		})
	}
}

// TestOutputFileWriteFails: a report that cannot be written fails closed,
// exit 2 even when dev reproduces prod, naming the file; the reports that
// could be written are.
func TestOutputFileWriteFails(t *testing.T) {
	t.Parallel()
	same := strings.ReplaceAll(appYAML, "IMAGE", "1")
	dev, prod := twoEnvs(t, same, same)
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-dir", "r.sarif")
	good := filepath.Join(dir, "r.xml")
	r := runCLI(t, "diff", dev, prod, "--output-file", "sarif="+missing, "--output-file", "junit="+good)
	if r.code != exitCouldNoCheck {
		t.Errorf("exit %d, want %d: a missing report must not pass", r.code, exitCouldNoCheck)
	}
	for _, want := range []string{"writing the sarif report to " + missing, "the verdict was pass, but not every --output-file was written"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if b, err := os.ReadFile(good); err != nil || !strings.Contains(string(b), "<testsuites") {
		t.Errorf("the JUnit report that could be written was not: %v %s", err, b)
	}
}

// TestGateOutputFilesTellTheFinalVerdict: with an override, the reports
// are written once its outcome is known, so a blocked result that exits 0
// says the override was accepted (and one that stays blocked says why),
// in every file as on standard output.
func TestGateOutputFilesTellTheFinalVerdict(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ticket string
		code   int
		want   string
	}{
		{"accepted", "INC-1234", exitPass, "override accepted: the deploy goes ahead despite 1 blocking finding(s); incident dg-"},
		{"refused", "JIRA-1", exitBlocked, "override refused, the deploy stays blocked: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newGateEnv(t, "")
			files, paths := allOutputFiles(t.TempDir())
			r := e.gate(t, append([]string{"-o", "json", "--override", goodReason, "--ticket", tc.ticket, "--override-by", "alice"}, files...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			var res drift.Result
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
				t.Fatal(err)
			}
			if res.Verdict != drift.VerdictBlocked || len(res.Notes) == 0 || !strings.HasPrefix(res.Notes[len(res.Notes)-1], tc.want) {
				t.Errorf("verdict %s, notes %q: want the override's outcome %q last", res.Verdict, res.Notes, tc.want)
			}
			if b, _ := os.ReadFile(paths[output.JSON]); string(b) != r.stdout {
				t.Errorf("the JSON file differs from standard output:\n%s", b)
			}
			for _, format := range []string{output.Markdown, output.SARIF, output.JUnit, output.GitHub, output.Text} {
				b, err := os.ReadFile(paths[format])
				if err != nil {
					t.Fatal(err)
				}
				// Markdown escapes the parenthesis and the colon stays: look for
				// the words around them.
				if !strings.Contains(string(b), "override") || !strings.Contains(string(b), strings.Fields(tc.want)[1]) {
					t.Errorf("-o %s file does not tell the override's outcome:\n%s", format, b)
				}
			}
		})
	}
}
