package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/driftgate/driftgate/drift/incident"
)

// TestOverrideSurvivesSIGKILL kills the gate with SIGKILL at moments spread
// over an override (reading, comparing, recording, delivering) and checks
// after each kill that the incident log verifies and every record file is
// whole: the record is committed whole or not at all.
func TestOverrideSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes; skipped by -short")
	}
	hook := filepath.Join(t.TempDir(), "slow-hook.sh")
	writeTestFile(t, hook, "#!/bin/sh\ncat >/dev/null\nsleep 0.2\n")
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newGateEnv(t, "  hooks:\n  - {type: exec, command: ["+hook+"]}\n")
	gate := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "gate", "--config", e.config, "--override", goodReason, "--ticket", "INC-77", "--override-by", "alice")
		cmd.Env = append(os.Environ(), "DRIFTGATE_TEST_AS_MAIN=1")
		return cmd
	}
	// How long one whole override takes here, to spread the kills over it.
	start := time.Now()
	if out, err := gate().CombinedOutput(); err != nil {
		t.Fatalf("an uninterrupted override failed: %v\n%s", err, out)
	}
	// The exec hook sleeps 200ms after the commit; kills are spread over the
	// part before it, and a little beyond.
	window := time.Since(start) - 150*time.Millisecond
	store := &incident.Store{Dir: e.incidents}
	const runs = 30
	before, after := 0, 0
	for i := range runs {
		_, committed, _ := store.Verify()
		cmd := gate()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Uniform over the whole run, so kills land before, during and after the commit.
		time.Sleep(time.Duration(rand.Int64N(int64(window))))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()

		problems, n, err := store.Verify()
		if err != nil {
			t.Fatalf("run %d: verify: %v", i, err)
		}
		for _, p := range problems {
			if p.Fatal {
				t.Fatalf("run %d: the log does not verify after SIGKILL: %s", i, p.Message)
			}
		}
		files, _ := filepath.Glob(filepath.Join(e.incidents, "dg-*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			var r incident.Record
			if err != nil || json.Unmarshal(b, &r) != nil || r.ID == "" || len(r.Findings) == 0 {
				t.Fatalf("run %d: %s is not a whole record: %v\n%s", i, f, err, b)
			}
		}
		if tmp, _ := filepath.Glob(filepath.Join(e.incidents, ".*tmp*")); len(tmp) > 0 {
			t.Logf("run %d: temporary files left by the kill (harmless, never read): %v", i, tmp)
		}
		if n > committed {
			after++
		} else {
			before++
		}
	}
	t.Logf("%d runs killed before the commit, %d after", before, after)
	if before == 0 || after == 0 {
		t.Errorf("kills did not land on both sides of the commit (%d before, %d after); the window (%s) is off", before, after, window)
	}
	recs, err := store.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 2 || len(recs) > runs+1 {
		t.Errorf("%d committed records after %d killed runs", len(recs), runs)
	}
	// A kill between the log and its head leaves the head behind (a note);
	// the next whole override moves it to the end of the log again.
	if out, err := gate().CombinedOutput(); err != nil {
		t.Fatalf("an override after the kills failed: %v\n%s", err, out)
	}
	problems, _, err := store.Verify()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if p.Fatal || strings.Contains(p.Message, "after the head") {
			t.Errorf("after a whole override: %s", p.Message)
		}
	}
}
