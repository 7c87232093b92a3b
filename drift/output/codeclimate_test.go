package output

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/textsafe/textsafetest"
)

// assertCodeQuality checks out against what GitLab documents for a Code
// Quality report (https://docs.gitlab.com/ci/testing/code_quality/,
// "Code Quality report format"): a JSON array of objects, each with a
// string description, check_name and fingerprint, a severity among info,
// minor, major, critical and blocker, a string location.path and an
// integer location.lines.begin of at least 1; fingerprints unique in the
// report. It decodes into generic values, so a field of the wrong JSON
// type or a missing one fails, which decoding into ccIssue would hide.
// It returns the issues.
func assertCodeQuality(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var issues []map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&issues); err != nil {
		t.Fatalf("not a JSON array of objects: %v\n%s", err, out)
	}
	if issues == nil {
		t.Fatalf("not an array: %s", out)
	}
	severities := map[string]bool{"info": true, "minor": true, "major": true, "critical": true, "blocker": true}
	seen := map[string]bool{}
	for i, is := range issues {
		for _, field := range []string{"description", "check_name", "fingerprint"} {
			if s, ok := is[field].(string); !ok || s == "" {
				t.Errorf("issue %d: %s is %#v, want a non-empty string", i, field, is[field])
			}
		}
		if s, _ := is["severity"].(string); !severities[s] {
			t.Errorf("issue %d: severity %#v is not one of info, minor, major, critical, blocker", i, is["severity"])
		}
		loc, _ := is["location"].(map[string]any)
		if p, ok := loc["path"].(string); !ok || p == "" {
			t.Errorf("issue %d: location.path is %#v", i, loc["path"])
		}
		lines, _ := loc["lines"].(map[string]any)
		if n, ok := lines["begin"].(json.Number); !ok {
			t.Errorf("issue %d: location.lines.begin is %#v, want a number", i, lines["begin"])
		} else if v, err := n.Int64(); err != nil || v < 1 {
			t.Errorf("issue %d: location.lines.begin is %v, want a line number", i, n)
		}
		fp, _ := is["fingerprint"].(string)
		if seen[fp] {
			t.Errorf("issue %d: fingerprint %s repeats", i, fp)
		}
		seen[fp] = true
	}
	return issues
}

func TestCodeClimateFormat(t *testing.T) {
	t.Parallel()
	res := sampleResult()
	issues := assertCodeQuality(t, render(t, CodeClimate, res))
	// One issue per finding and per unobserved type: could-not-check is
	// shown in the merge request, not left out of it.
	if want := len(res.Findings) + len(res.Unobserved); len(issues) != want {
		t.Fatalf("%d issues, want %d", len(issues), want)
	}
	got := map[string]string{}
	for _, is := range issues {
		got[is["check_name"].(string)+" "+is["location"].(map[string]any)["path"].(string)] = is["severity"].(string)
	}
	want := map[string]string{
		"driftgate/could-not-check driftgate/unobserved/prod/shop/NetworkPolicy.networking.k8s.io": "blocker",
		"driftgate/workload-spec driftgate/shop/Deployment.apps/web":                               "blocker",
		"driftgate/missing-in-dev driftgate/shop/ConfigMap/settings":                               "blocker",
		"driftgate/extra-in-dev driftgate/shop/ConfigMap/debug|tmp":                                "major",
		"driftgate/workload-replicas driftgate/shop/Deployment.apps/web":                           "info",
		"driftgate/configmap-data driftgate/shop/ConfigMap/flags":                                  "info", // waived
	}
	for k, sev := range want {
		if got[k] != sev {
			t.Errorf("%s: severity %q, want %q (all: %v)", k, got[k], sev, got)
		}
	}
}

// TestCodeClimateFingerprints checks fingerprints are the same run after
// run, survive a value change (the finding is the same finding), differ
// between objects, and stay unique when two findings share every
// identifying field.
func TestCodeClimateFingerprints(t *testing.T) {
	t.Parallel()
	fingerprints := func(res *drift.Result) []string {
		var fps []string
		for _, is := range assertCodeQuality(t, render(t, CodeClimate, res)) {
			fps = append(fps, is["fingerprint"].(string))
		}
		return fps
	}
	first, again := fingerprints(sampleResult()), fingerprints(sampleResult())
	if len(first) == 0 || first[1] != again[1] || first[len(first)-1] != again[len(again)-1] {
		t.Errorf("fingerprints differ between runs: %v, %v", first, again)
	}
	changed := sampleResult()
	changed.Findings[0].Fields[0].Dev = "web:1.4"
	changed.Findings[0].Message = "the image differs again"
	if fp := fingerprints(changed); fp[1] != first[1] {
		t.Errorf("a new value changed the finding's fingerprint: %s, was %s", fp[1], first[1])
	}
	other := sampleResult()
	other.Findings[0].Object.Name = "api"
	if fp := fingerprints(other); fp[1] == first[1] {
		t.Errorf("findings on different objects share fingerprint %s", fp[1])
	}
	twice := sampleResult()
	dup := twice.Findings[1]
	dup.Message = "the same finding, said differently"
	twice.Findings = append(twice.Findings, dup, dup)
	twice.Finish()
	fingerprints(twice) // assertCodeQuality fails on a repeated fingerprint
}

// TestCodeClimateEscapesHostileInput: the merge request shows descriptions
// and paths, so cluster text reaches them on one line with no control
// character, while the report stays valid.
func TestCodeClimateEscapesHostileInput(t *testing.T) {
	t.Parallel()
	for _, s := range textsafetest.Hostile {
		t.Run(s, func(t *testing.T) {
			for _, is := range assertCodeQuality(t, render(t, CodeClimate, hostileResult(s))) {
				for _, v := range []string{is["description"].(string), is["check_name"].(string), is["location"].(map[string]any)["path"].(string)} {
					textsafetest.AssertTerminalSafe(t, "codeclimate", v)
					if bytes.ContainsAny([]byte(v), "\n\r") {
						t.Errorf("a line break reached %q", v)
					}
				}
			}
		})
	}
}
