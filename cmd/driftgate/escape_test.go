package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/internal/textsafe/textsafetest"
)

// hostileText holds a workflow command after a newline and at an indent, a
// legacy ##[ command, an OSC 52 clipboard write, a C1 CSI and a bidi
// override: what a cluster, a file name or an override can carry.
const hostileText = "x\n::add-mask::secret\n   ::error title=Deploy approved::x ##[add-mask]s \x1b]52;c;ZXZpbA==\x07 \u009b31m \u202eevil"

// TestErrorMessageEscapesInput gives a path that does not exist and holds
// textsafetest.Hostile text: the error on stderr quotes it, escaped.
func TestErrorMessageEscapesInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), hostileText)
	r := runCLI(t, "diff", missing, missing)
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "no such snapshot, manifest file or folder") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	textsafetest.AssertTerminalSafe(t, "stderr", r.stderr)
}

// TestOverrideNotesEscapeInput: the override's notes on stderr name the
// person overriding, whose name comes from a flag or the CI environment.
func TestOverrideNotesEscapeInput(t *testing.T) {
	e := newGateEnv(t, "")
	r := e.gate(t, "--override", goodReason, "--ticket", "INC-1", "--override-by", hostileText)
	if r.code != exitBlocked || !strings.Contains(r.stderr, "not in override.allowedBy") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	textsafetest.AssertTerminalSafe(t, "stderr", r.stderr)
}

// TestIncidentsShowEscapesInput records an override whose reason is
// textsafetest.Hostile and shows it with `incidents show` and `incidents list`.
func TestIncidentsShowEscapesInput(t *testing.T) {
	e := newGateEnv(t, "")
	r := e.gate(t, "--override", goodReason+" "+hostileText, "--ticket", "INC-1", "--override-by", "alice")
	if r.code != exitPass {
		t.Fatalf("override: exit %d\n%s", r.code, r.stderr)
	}
	textsafetest.AssertTerminalSafe(t, "gate stderr", r.stderr)
	id := e.records(t)[0].ID
	show := runCLI(t, "incidents", "show", id, "--config", e.config)
	if show.code != 0 || !strings.Contains(show.stdout, "ZXZpbA==") {
		t.Fatalf("incidents show: exit %d\n%s%s", show.code, show.stdout, show.stderr)
	}
	textsafetest.AssertTerminalSafe(t, "incidents show", show.stdout)
	list := runCLI(t, "incidents", "list", "--config", e.config)
	if list.code != 0 {
		t.Fatalf("incidents list: exit %d\n%s", list.code, list.stderr)
	}
	textsafetest.AssertTerminalSafe(t, "incidents list", list.stdout)
}

// TestSnapshotNotesEscapeFileNames: a file skipped in a manifest folder is
// named in a note on stderr, and a file's name is anyone's text.
func TestSnapshotNotesEscapeFileNames(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "app.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\n")
	name := strings.ReplaceAll(hostileText, "/", "_") + ".bak" // one file, not a path
	writeTestFile(t, filepath.Join(dir, name), "kind: whatever")
	r := runCLI(t, "snapshot", "--from-manifests", dir, "-o", filepath.Join(t.TempDir(), "s.json"))
	if r.code != exitPass || !strings.Contains(r.stderr, "driftgate: note: ") {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	textsafetest.AssertTerminalSafe(t, "stderr", r.stderr)
}
