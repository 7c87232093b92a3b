package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// slowComparison writes dev and prod folders of ConfigMaps and a rule set
// whose CEL expression costs most of a second for each of them (it ends
// at the cost limit): a comparison of small files that runs for a minute.
func slowComparison(t *testing.T) (dev, prod, ruleSet string) {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	for i := range 60 {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: shop}\ndata:\n", i)
		for k := range 100 {
			fmt.Fprintf(&b, "  k%d: v\n", k)
		}
	}
	for _, side := range []string{"dev", "prod"} {
		if err := os.MkdirAll(filepath.Join(dir, side), 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(dir, side, "cms.yaml"), b.String())
	}
	ruleSet = filepath.Join(dir, "slow.yaml")
	writeTestFile(t, ruleSet, `apiVersion: driftgate.dev/v1alpha1
kind: RuleSet
rules:
- id: slow
  description: every key against every pair of keys
  match: {kinds: [ConfigMap]}
  check: cel
  expression: dev == null || prod == null || dev.data.all(a, prod.data.all(b, prod.data.all(c, a != c || b != c || true)))
  severity: warn
`)
	return filepath.Join(dir, "dev"), filepath.Join(dir, "prod"), ruleSet
}

// TestDiffInterruptedExitsPromptly sends SIGINT (and SIGTERM) to a diff
// while its rules run, and checks that it exits 2 within a bound, says it
// was interrupted, and wrote nothing to its output file. Uninterrupted, the
// comparison runs for tens of seconds.
func TestDiffInterruptedExitsPromptly(t *testing.T) {
	dev, prod, ruleSet := slowComparison(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			outFile := filepath.Join(t.TempDir(), "result.json")
			out, err := os.Create(outFile)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			cmd := exec.Command(os.Args[0], "diff", dev, prod, "--rules", ruleSet, "-o", "json", "-v")
			cmd.Env = append(os.Environ(), "DRIFTGATE_TEST_AS_MAIN=1")
			cmd.Stdout = out
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			evaluating := make(chan struct{})
			var mu sync.Mutex
			var errText strings.Builder
			go func() {
				sc := bufio.NewScanner(stderr)
				once := sync.Once{}
				for sc.Scan() {
					mu.Lock()
					errText.WriteString(sc.Text() + "\n")
					mu.Unlock()
					if strings.Contains(sc.Text(), "evaluating rules") {
						once.Do(func() { close(evaluating) })
					}
				}
			}()
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-evaluating:
			case err := <-exited:
				t.Fatalf("diff ended before its rules ran: %v\n%s", err, errText.String())
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("diff did not start evaluating within 60s")
			}
			sent := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			const bound = 10 * time.Second
			select {
			case err = <-exited:
			case <-time.After(bound):
				_ = cmd.Process.Kill()
				<-exited
				t.Fatalf("diff still ran %s after %s", bound, sig)
			}
			t.Logf("exited %s after %s", time.Since(sent).Round(time.Millisecond), sig)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitCouldNoCheck {
				t.Errorf("exit: %v, want code %d", err, exitCouldNoCheck)
			}
			mu.Lock()
			defer mu.Unlock()
			if !strings.Contains(errText.String(), "driftgate: interrupted; nothing was checked") {
				t.Errorf("stderr does not say it was interrupted:\n%s", errText.String())
			}
			if fi, err := os.Stat(outFile); err != nil || fi.Size() != 0 {
				b, _ := os.ReadFile(outFile)
				t.Errorf("output file after %s: %v, %d bytes:\n%s", sig, err, len(b), b)
			}
		})
	}
}
