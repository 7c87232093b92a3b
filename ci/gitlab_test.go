package ci_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// gitlabJob is what the tests read of the template's hidden job.
type gitlabJob struct {
	Image        string            `yaml:"image"`
	Variables    map[string]string `yaml:"variables"`
	Script       []string          `yaml:"script"`
	AllowFailure any               `yaml:"allow_failure"`
	Artifacts    struct {
		When    string `yaml:"when"`
		Reports struct {
			JUnit       string `yaml:"junit"`
			CodeQuality string `yaml:"codequality"`
		} `yaml:"reports"`
	} `yaml:"artifacts"`
}

func readGitLabJob(t *testing.T) gitlabJob {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "ci/gitlab/driftgate.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var jobs map[string]gitlabJob
	if err := yaml.Unmarshal(b, &jobs); err != nil {
		t.Fatalf("template: %v", err)
	}
	job, ok := jobs[".driftgate-gate"]
	if !ok || len(job.Script) == 0 {
		t.Fatalf("no hidden job .driftgate-gate with a script in %v", jobs)
	}
	return job
}

// TestGitLabTemplateShape: the reports are uploaded whatever the outcome,
// are the files the script writes, and no exit code is allowed to fail
// (could-not-check must never pass silently).
func TestGitLabTemplateShape(t *testing.T) {
	t.Parallel()
	job := readGitLabJob(t)
	if job.Artifacts.When != "always" {
		t.Errorf("artifacts.when %q: a blocked or failed gate must still publish its reports", job.Artifacts.When)
	}
	if job.AllowFailure != nil {
		t.Errorf("allow_failure %v: exit 2 must never pass", job.AllowFailure)
	}
	script := strings.Join(job.Script, "\n")
	for format, path := range map[string]string{"junit": job.Artifacts.Reports.JUnit, "codeclimate": job.Artifacts.Reports.CodeQuality} {
		if path == "" || !strings.Contains(script, "--output-file "+format+"="+path) {
			t.Errorf("report %s at %q is not what the script writes", format, path)
		}
	}
}

type gitlabRun struct {
	code           int
	stdout, stderr string
	dir            string
}

// runGitLabJob runs the job's script as GitLab's runner does: every line in
// one shell with errexit and pipefail, in CI_PROJECT_DIR, with the job's
// variables (vars override them) and the runner's predefined ones; PATH
// holds pathDir (where driftgate is, or not) and the system's tools.
func runGitLabJob(t *testing.T, job gitlabJob, pathDir string, vars ...string) gitlabRun {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", "set -eo pipefail\n"+strings.Join(job.Script, "\n"))
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + pathDir + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + dir,
		"CI=true", "GITLAB_CI=true", "CI_PROJECT_DIR=" + dir, "CI_JOB_NAME=driftgate", "CI_PIPELINE_ID=7",
		"GITLAB_USER_LOGIN=alice", "CI_COMMIT_SHA=0123abc"}
	for k, v := range job.Variables {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, vars...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := gitlabRun{stdout: stdout.String(), stderr: stderr.String(), dir: dir}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}

// binDir is a directory holding driftgate, as an image that has it would.
func binDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink(driftgateBin, filepath.Join(dir, "driftgate")); err != nil {
		t.Fatal(err)
	}
	return dir
}

type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
}

// codeQualityIssues checks a Code Quality report against the fields
// GitLab documents (https://docs.gitlab.com/ci/testing/code_quality/):
// an array of issues with description, check_name, fingerprint (unique),
// severity in info|minor|major|critical|blocker, location.path and
// location.lines.begin.
func codeQualityIssues(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var issues []map[string]any
	if err := json.Unmarshal(b, &issues); err != nil || issues == nil {
		t.Fatalf("Code Quality report is not a JSON array: %v\n%s", err, b)
	}
	sev := map[string]bool{"info": true, "minor": true, "major": true, "critical": true, "blocker": true}
	fps := map[string]bool{}
	for i, is := range issues {
		loc, _ := is["location"].(map[string]any)
		lines, _ := loc["lines"].(map[string]any)
		begin, _ := lines["begin"].(float64)
		desc, _ := is["description"].(string)
		check, _ := is["check_name"].(string)
		fp, _ := is["fingerprint"].(string)
		path, _ := loc["path"].(string)
		s, _ := is["severity"].(string)
		if desc == "" || check == "" || fp == "" || path == "" || begin < 1 || !sev[s] || fps[fp] {
			t.Errorf("issue %d lacks a documented field, or repeats a fingerprint: %v", i, is)
		}
		fps[fp] = true
	}
	return issues
}

// TestGitLabTemplateRuns runs the template's script for a pass, a block
// and a could-not-check, and validates both reports and the exit code.
func TestGitLabTemplateRuns(t *testing.T) {
	t.Parallel()
	job := readGitLabJob(t)
	bin := binDir(t)
	for _, tc := range []struct {
		name      string
		prodExtra []string
		emptyProd bool
		code      int
		failures  int
		// checks are the Code Quality check names, in order of first use.
		checks []string
	}{
		{name: "pass", code: 0, checks: nil},
		{name: "blocked", prodExtra: []string{"egress/prod"}, code: 1, failures: 2, checks: []string{"driftgate/network-policy"}},
		{name: "could not check", emptyProd: true, code: 2, failures: 9, checks: []string{"driftgate/could-not-check", "driftgate/dns", "driftgate/leftovers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dev, prod := fixtures(t, tc.prodExtra...)
			if tc.emptyProd {
				prod = t.TempDir() // an empty folder: nothing is proven
			}
			r := runGitLabJob(t, job, bin, "DRIFTGATE_DEV="+dev, "DRIFTGATE_PROD="+prod, "DRIFTGATE_RULES=builtin\n")
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			b, err := os.ReadFile(filepath.Join(r.dir, job.Artifacts.Reports.JUnit))
			if err != nil {
				t.Fatal(err)
			}
			var junit junitDoc
			if err := xml.Unmarshal(b, &junit); err != nil || junit.Tests == 0 {
				t.Fatalf("JUnit report: %v\n%s", err, b)
			}
			if junit.Failures != tc.failures || (junit.Errors > 0) != (tc.code == 2) {
				t.Errorf("JUnit: %d failures, %d errors, for exit %d", junit.Failures, junit.Errors, tc.code)
			}
			b, err = os.ReadFile(filepath.Join(r.dir, job.Artifacts.Reports.CodeQuality))
			if err != nil {
				t.Fatal(err)
			}
			var checks []string
			for _, is := range codeQualityIssues(t, b) {
				if c := is["check_name"].(string); !contains(checks, c) {
					checks = append(checks, c)
				}
				if is["severity"] != "blocker" {
					t.Errorf("severity %v: every issue here blocks", is["severity"])
				}
			}
			if strings.Join(checks, ",") != strings.Join(tc.checks, ",") {
				t.Errorf("Code Quality checks %v, want %v:\n%s", checks, tc.checks, b)
			}
		})
	}
}

// TestGitLabTemplateNeedsAVersion: with no driftgate in the image and no
// DRIFTGATE_VERSION to install, the job says so and fails with 2.
func TestGitLabTemplateNeedsAVersion(t *testing.T) {
	t.Parallel()
	job := readGitLabJob(t)
	r := runGitLabJob(t, job, t.TempDir())
	if r.code != 2 || !strings.Contains(r.stderr, "set DRIFTGATE_VERSION") {
		t.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
}
