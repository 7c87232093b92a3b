// Package ci_test runs driftgate's CI integrations as the CI systems do:
// the GitHub Action (action.yml at the repository root, its scripts in
// ci/github) with the environment variables a runner sets, and the GitLab
// template (ci/gitlab) with GitLab's, against manifest fixtures, with a
// driftgate the action's own install script built.
package ci_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// repoRoot is the repository: where action.yml is, and what the action's
// checkout holds.
var repoRoot, _ = filepath.Abs("..")

// driftgateBin is the binary ci/github/install.sh built, as the action's
// first step does.
var driftgateBin string

func TestMain(m *testing.M) {
	code, err := buildWithInstallScript(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(code)
}

// buildWithInstallScript runs install.sh as the action's install step (the
// checkout is this repository) and runs the tests with what it built.
func buildWithInstallScript(m *testing.M) (int, error) {
	tmp, err := os.MkdirTemp("", "driftgate-ci-test")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	outputs := filepath.Join(tmp, "github_output")
	if err := os.WriteFile(outputs, nil, 0o644); err != nil {
		return 0, err
	}
	cmd := exec.Command(filepath.Join(repoRoot, "ci/github/install.sh"))
	cmd.Env = append(os.Environ(), "GITHUB_ACTION_PATH="+repoRoot, "RUNNER_TEMP="+tmp, "GITHUB_OUTPUT="+outputs, "GITHUB_ACTION_REF="+testVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("install.sh: %v\n%s", err, out)
	} else if !strings.Contains(string(out), testVersion) {
		return 0, fmt.Errorf("install.sh: the binary does not say the version it was stamped with, %s:\n%s", testVersion, out)
	}
	b, err := os.ReadFile(outputs)
	if err != nil {
		return 0, err
	}
	kv := parseOutputs(string(b))
	if driftgateBin = kv["bin"]; driftgateBin == "" {
		return 0, fmt.Errorf("install.sh wrote no bin output: %q", b)
	}
	return m.Run(), nil
}

// testVersion is the action ref the test pretends the workflow pinned.
const testVersion = "v0.0.0-citest"

// parseOutputs reads name=value lines, as $GITHUB_OUTPUT holds them.
func parseOutputs(s string) map[string]string {
	kv := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// fixtures builds dev and prod manifest folders from the scenarios: the
// shop both clusters share, and for prod also the folders in prodExtra
// (fixtures/scenarios/egress/prod isolates the shop's egress in prod only).
func fixtures(t *testing.T, prodExtra ...string) (dev, prod string) {
	t.Helper()
	dir := t.TempDir()
	dev, prod = filepath.Join(dir, "dev"), filepath.Join(dir, "prod")
	copyYAML(t, filepath.Join(repoRoot, "fixtures/scenarios/base/both"), dev)
	copyYAML(t, filepath.Join(repoRoot, "fixtures/scenarios/base/both"), prod)
	for _, extra := range prodExtra {
		copyYAML(t, filepath.Join(repoRoot, "fixtures/scenarios", extra), prod)
	}
	return dev, prod
}

func copyYAML(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(from, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", from, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runner is one job's worth of what a GitHub runner provides.
type runner struct {
	dir, workspace, temp, summary, output string
}

func newRunner(t *testing.T) runner {
	t.Helper()
	dir := t.TempDir()
	r := runner{dir: dir, workspace: filepath.Join(dir, "workspace"), temp: filepath.Join(dir, "runner-temp"),
		summary: filepath.Join(dir, "step_summary"), output: filepath.Join(dir, "github_output")}
	for _, d := range []string{r.workspace, r.temp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Earlier steps wrote here: the action appends.
	if err := os.WriteFile(r.summary, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.output, []byte("earlier=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

type stepResult struct {
	code           int
	stdout, stderr string
	summary        string
	outputs        map[string]string
}

// runGateStep runs ci/github/gate.sh as the action's gate step: in the
// workspace, with the runner's variables and the step's env (the inputs),
// and nothing of the test's own environment but PATH.
func (r runner) runGateStep(t *testing.T, env ...string) stepResult {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot, "ci/github/gate.sh"))
	cmd.Dir = r.workspace
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + r.dir,
		"CI=true", "GITHUB_ACTIONS=true", "GITHUB_WORKSPACE=" + r.workspace, "RUNNER_TEMP=" + r.temp,
		"GITHUB_STEP_SUMMARY=" + r.summary, "GITHUB_OUTPUT=" + r.output, "GITHUB_ACTION_PATH=" + repoRoot,
		"GITHUB_ACTOR=alice", "GITHUB_REPOSITORY=shop/payments", "GITHUB_RUN_ID=42", "GITHUB_SHA=0123abc",
		"DRIFTGATE_BIN=" + driftgateBin,
	}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := stepResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	summary, err := os.ReadFile(r.summary)
	if err != nil {
		t.Fatal(err)
	}
	res.summary = string(summary)
	out, err := os.ReadFile(r.output)
	if err != nil {
		t.Fatal(err)
	}
	res.outputs = parseOutputs(string(out))
	return res
}

// sarifLog is what the test reads of a SARIF file.
type sarifLog struct {
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name string `json:"name"`
			} `json:"driver"`
		} `json:"tool"`
		Results []struct {
			RuleID string `json:"ruleId"`
			Level  string `json:"level"`
		} `json:"results"`
		Invocations []struct {
			ExecutionSuccessful bool `json:"executionSuccessful"`
		} `json:"invocations"`
	} `json:"runs"`
}

func readSARIF(t *testing.T, path string) sarifLog {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("SARIF file: %v", err)
	}
	var log sarifLog
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatalf("SARIF is not JSON: %v\n%s", err, b)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "driftgate" {
		t.Fatalf("SARIF version %q, %d runs: %s", log.Version, len(log.Runs), b)
	}
	return log
}

// annotationRE is a workflow command line as the runner parses it.
var annotationRE = regexp.MustCompile(`^::(error|warning|notice)( [^:]*)?::(.*)$`)

func annotations(stdout string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		if annotationRE.MatchString(sc.Text()) {
			out = append(out, sc.Text())
		}
	}
	return out
}

// TestGitHubActionGate runs the gate step for a pass, a block and two ways
// of could-not-check, and checks everything the workflow reads.
func TestGitHubActionGate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		prodExtra []string
		env       []string
		code      int
		verdict   string
		summary   string
		// annotation is a line the job log must hold; results the SARIF
		// results' rules, nil for no SARIF file.
		annotation string
		results    []string
		log        string
	}{
		{name: "pass", code: 0, verdict: "pass", summary: "### ✅ driftgate: pass",
			annotation: "::notice title=driftgate::pass: dev reproduces prod", results: []string{}},
		{name: "blocked", prodExtra: []string{"egress/prod"}, code: 1, verdict: "blocked", summary: "### ⛔ driftgate: blocked",
			annotation: "::error title=driftgate network-policy%3A default/Deployment.apps/checkout::dev allows egress traffic that prod denies", results: []string{"network-policy"}},
		{name: "blocked, text in the log", prodExtra: []string{"egress/prod"}, env: []string{"INPUT_FORMAT=text"}, code: 1, verdict: "blocked", summary: "### ⛔ driftgate: blocked",
			annotation: "::error title=driftgate network-policy%3A default/Deployment.apps/checkout::dev allows egress traffic that prod denies", results: []string{"network-policy"}, log: "BLOCK  default/Deployment.apps/checkout"},
		{name: "nothing in scope", env: []string{"INPUT_RULES=builtin\n  \n", "INPUT_MAX_AGE=1h"}, code: 2, verdict: "could-not-check", summary: "### ⚠️ driftgate: could not check",
			annotation: "::error title=driftgate%3A could not check::nothing in scope on prod", results: []string{"dns", "leftovers"}},
		{name: "no result", env: []string{"INPUT_CONFIG=missing.yaml"}, code: 2, verdict: "could-not-check", summary: "### ⚠️ driftgate: could not check (exit 2)",
			annotation: "", results: nil, log: "missing.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t)
			dev, prod := fixtures(t, tc.prodExtra...)
			if tc.name == "nothing in scope" {
				prod = t.TempDir() // an empty folder: nothing is proven
			}
			env := append([]string{"INPUT_DEV=" + dev, "INPUT_PROD=" + prod}, tc.env...)
			res := r.runGateStep(t, env...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, tc.code, res.stdout, res.stderr)
			}
			if !strings.HasPrefix(res.summary, "earlier step\n"+tc.summary) {
				t.Errorf("step summary does not append %q:\n%s", tc.summary, res.summary)
			}
			if !strings.Contains(res.stdout+res.stderr, tc.log) {
				t.Errorf("job log lacks %q:\n%s%s", tc.log, res.stdout, res.stderr)
			}
			ann := annotations(res.stdout)
			if tc.annotation != "" && !slicesHasPrefix(ann, tc.annotation) {
				t.Errorf("no annotation %q among:\n%s", tc.annotation, strings.Join(ann, "\n"))
			}
			want := map[string]string{"earlier": "1", "exit-code": fmt.Sprint(tc.code), "verdict": tc.verdict}
			for k, v := range want {
				if res.outputs[k] != v {
					t.Errorf("output %s=%q, want %q (all: %v)", k, res.outputs[k], v, res.outputs)
				}
			}
			sarif := res.outputs["sarif-file"]
			if tc.results == nil {
				if sarif != "" {
					t.Errorf("sarif-file=%s with no result", sarif)
				}
				return
			}
			if !strings.HasPrefix(sarif, r.temp+"/") {
				t.Fatalf("sarif-file=%q, want a file in RUNNER_TEMP", sarif)
			}
			log := readSARIF(t, sarif)
			var rules []string
			for _, res := range log.Runs[0].Results {
				if !contains(rules, res.RuleID) {
					rules = append(rules, res.RuleID)
				}
			}
			if fmt.Sprint(rules) != fmt.Sprint(tc.results) {
				t.Errorf("SARIF results for rules %v, want %v", rules, tc.results)
			}
			if ok := log.Runs[0].Invocations[0].ExecutionSuccessful; ok != (tc.code != 2) {
				t.Errorf("SARIF executionSuccessful %v with exit %d", ok, tc.code)
			}
		})
	}
}

// TestGitHubActionOverride: the override inputs reach driftgate through
// the environment, and the summary, annotations and SARIF are written
// after the override, so they say why a blocked gate exited 0.
func TestGitHubActionOverride(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	dev, prod := fixtures(t, "egress/prod")
	config := filepath.Join(r.workspace, "driftgate.yaml")
	if err := os.WriteFile(config, []byte(`apiVersion: driftgate.dev/v1alpha1
kind: Config
environments:
  dev: {manifests: `+dev+`}
  prod: {manifests: `+prod+`}
override:
  allowedBy: [alice]
  ticketPattern: '^INC-[0-9]+$'
  trustClaimedIdentity: true
incidents:
  dir: ./incidents
`), 0o644); err != nil {
		t.Fatal(err)
	}
	res := r.runGateStep(t, "DRIFTGATE_OVERRIDE_REASON=egress policy lands in dev with this release", "DRIFTGATE_OVERRIDE_TICKET=INC-42")
	if res.code != 0 || res.outputs["exit-code"] != "0" || res.outputs["verdict"] != "pass" {
		t.Fatalf("exit %d, outputs %v\n%s%s", res.code, res.outputs, res.stdout, res.stderr)
	}
	if !strings.Contains(res.summary, "override accepted") || !strings.Contains(res.stdout, "::notice title=driftgate note::override accepted") {
		t.Errorf("the summary or the annotations do not say the override was accepted:\n%s\n%s", res.summary, res.stdout)
	}
	if recs, _ := filepath.Glob(filepath.Join(r.workspace, "incidents", "dg-*.json")); len(recs) != 1 {
		t.Errorf("incident records: %v", recs)
	}
}

// TestGitHubActionInputsAreData: an input that looks like shell is passed
// to driftgate as one argument, never run.
func TestGitHubActionInputsAreData(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	pwned := filepath.Join(r.dir, "pwned")
	hostile := `x"; touch ` + pwned + `; echo "$(touch ` + pwned + `)` + "`touch " + pwned + "`"
	res := r.runGateStep(t, "INPUT_DEV="+hostile, "INPUT_PROD="+hostile, "INPUT_RULES="+hostile, "INPUT_FORMAT=text")
	if _, err := os.Stat(pwned); err == nil {
		t.Fatal("an input ran as a command")
	}
	if res.code != 2 {
		t.Errorf("exit %d for a side that does not exist", res.code)
	}
	// A sarif-file with a line break would add outputs of its own.
	res = r.runGateStep(t, "INPUT_SARIF_FILE=a.sarif\nverdict=pass")
	if res.code != 2 || res.outputs["verdict"] != "could-not-check" {
		t.Errorf("a sarif-file with a line break: exit %d, outputs %v", res.code, res.outputs)
	}
}

// TestGitHubActionSummaryLimit: a report past the step summary's 1 MiB
// is cut with a note rather than refused whole.
func TestGitHubActionSummaryLimit(t *testing.T) {
	t.Parallel()
	r := newRunner(t)
	dev, prod := t.TempDir(), t.TempDir()
	var d, p strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&d, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d-%s, namespace: shop}\ndata: {k: dev}\n", i, strings.Repeat("x", 200))
		fmt.Fprintf(&p, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d-%s, namespace: shop}\ndata: {k: prod}\n", i, strings.Repeat("x", 200))
	}
	if err := os.WriteFile(filepath.Join(dev, "cm.yaml"), []byte(d.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prod, "cm.yaml"), []byte(p.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	res := r.runGateStep(t, "INPUT_DEV="+dev, "INPUT_PROD="+prod, "INPUT_FORMAT=json")
	if res.code == 2 {
		t.Fatalf("exit 2:\n%s", res.stderr)
	}
	if n := len(res.summary); n > 1000*1000+200 || !strings.HasSuffix(res.summary, "see the job log or the SARIF report for the rest.\n") {
		t.Errorf("summary of %d bytes, ending %q", n, res.summary[max(0, n-200):])
	}
}

// actionFile is what the tests read of action.yml.
type actionFile struct {
	Inputs  map[string]struct{} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionStep struct {
	ID    string            `yaml:"id"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
}

// runInjections lists the run: bodies that hold an expression. The runner
// pastes `${{ }}` into the script before the shell sees it, so an input (or
// a branch name, a PR title) there is code: inputs go through env: instead.
func runInjections(a actionFile) []string {
	var bad []string
	for i, s := range a.Runs.Steps {
		if strings.Contains(s.Run, "${{") {
			bad = append(bad, fmt.Sprintf("step %d (%s): %s", i, s.ID, s.Run))
		}
	}
	return bad
}

func TestActionRunBodiesHoldNoExpressions(t *testing.T) {
	t.Parallel()
	// The check itself sees an injection.
	var bad actionFile
	if err := yaml.Unmarshal([]byte("runs:\n  steps:\n    - run: echo \"${{ inputs.dev }}\"\n      shell: bash\n"), &bad); err != nil {
		t.Fatal(err)
	}
	if len(runInjections(bad)) != 1 {
		t.Fatal("runInjections misses ${{ inputs.dev }} in a run body")
	}

	a := readAction(t)
	if got := runInjections(a); len(got) > 0 {
		t.Errorf("run: bodies with expressions (pass them through env:):\n%s", strings.Join(got, "\n"))
	}
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

// TestActionWiring: a composite action whose every input reaches the gate
// step's environment under a name gate.sh reads, whose actions are pinned
// by commit, whose scripts exist and are executable, and whose outputs are
// the ones gate.sh writes.
func TestActionWiring(t *testing.T) {
	t.Parallel()
	a := readAction(t)
	if a.Runs.Using != "composite" {
		t.Fatalf("runs.using %q", a.Runs.Using)
	}
	gateScript, err := os.ReadFile(filepath.Join(repoRoot, "ci/github/gate.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var gate *actionStep
	for i, s := range a.Runs.Steps {
		switch {
		case s.Uses != "":
			if !regexp.MustCompile(`@[0-9a-f]{40}$`).MatchString(strings.Fields(s.Uses)[0]) {
				t.Errorf("step %d uses %s: pin actions by commit", i, s.Uses)
			}
		case s.Run != "":
			if s.Shell != "bash" {
				t.Errorf("step %d: shell %q, want bash", i, s.Shell)
			}
			m := regexp.MustCompile(`^"\$GITHUB_ACTION_PATH/(ci/github/[a-z]+\.sh)"$`).FindStringSubmatch(s.Run)
			if m == nil {
				t.Errorf("step %d runs %q, want a script of ci/github", i, s.Run)
				continue
			}
			if fi, err := os.Stat(filepath.Join(repoRoot, m[1])); err != nil || fi.Mode()&0o111 == 0 {
				t.Errorf("step %d: %s is not an executable file: %v", i, m[1], err)
			}
			if m[1] == "ci/github/gate.sh" {
				gate = &a.Runs.Steps[i]
			}
		}
	}
	if gate == nil || gate.ID != "gate" {
		t.Fatalf("no step with id gate runs ci/github/gate.sh")
	}
	for name := range a.Inputs {
		var env string
		for k, v := range gate.Env {
			if v == "${{ inputs."+name+" }}" {
				env = k
			}
		}
		if env == "" {
			t.Errorf("input %s does not reach the gate step's env", name)
		} else if !strings.Contains(string(gateScript), env) && !strings.HasPrefix(env, "DRIFTGATE_OVERRIDE_") {
			t.Errorf("gate.sh never reads %s (input %s)", env, name)
		}
	}
	for name, o := range a.Outputs {
		if o.Value != "${{ steps.gate.outputs."+name+" }}" || !strings.Contains(string(gateScript), name+"=") {
			t.Errorf("output %s: value %q, or gate.sh does not write it", name, o.Value)
		}
	}
}

func slicesHasPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
