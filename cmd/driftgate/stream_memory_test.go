package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures/bench/gen"
)

// streamMemory says how large a pair TestDiffStreamsUnderMemoryLimit
// compares and what it allows: make test's default, or
// DRIFTGATE_STREAM_TEST_OBJECTS objects a side (make bench-stream: 200000).
// Measured on 2 cores: the streaming diff of 100,000 objects a side
// peaked at 290 MiB under the limit, the in-memory one at 688 MiB (more
// than 1 GiB without the limit); the test took 3.5 minutes, most of it
// generating the pair and the in-memory diff.
const (
	streamTestObjects = 100_000
	streamMemoryLimit = 256 << 20 // GOMEMLIMIT of the streaming diff
	streamMaxRSS      = 400 << 20 // its peak RSS must stay below
)

// streamGenEnv, set to DIR:OBJECTS, makes TestStreamMemoryGenerate write
// dev.json and prod.json of OBJECTS objects a side into DIR: run as a
// process of its own, so that the test's process stays small (a child's
// peak RSS counts its parent's RSS at exec, see fixtures/bench/timer).
const streamGenEnv = "DRIFTGATE_STREAM_GEN"

// TestStreamMemoryGenerate generates the pair TestDiffStreamsUnderMemoryLimit
// compares, when run by it; otherwise it does nothing.
func TestStreamMemoryGenerate(t *testing.T) {
	spec := os.Getenv(streamGenEnv)
	if spec == "" {
		t.Skip("run by TestDiffStreamsUnderMemoryLimit")
	}
	dir, n, ok := cutLast(spec, ":")
	objects, err := strconv.Atoi(n)
	if !ok || err != nil {
		t.Fatalf("%s=%q: want DIR:OBJECTS", streamGenEnv, spec)
	}
	for _, v := range []gen.Variant{gen.Dev, gen.Prod} {
		s, err := scaledSnapshot(objects, v)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Save(filepath.Join(dir, v.String()+".json")); err != nil {
			t.Fatal(err)
		}
	}
}

func cutLast(s, sep string) (string, string, bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return "", "", false
}

// scaledSnapshot is a generated snapshot of about objects objects: 100
// generated namespaces of 100 objects, copied into renamed namespaces
// (bench-0007-r3) as fixtures/bench/synth.go copies a live snapshot,
// which is much faster than generating them all. Copies share what they
// do not change.
func scaledSnapshot(objects int, v gen.Variant) (*drift.Snapshot, error) {
	base, err := gen.Snapshot(100, 100, v)
	if err != nil {
		return nil, err
	}
	copies := max(1, objects/len(base.Objects))
	out := *base
	out.Objects = nil
	for _, o := range base.Objects {
		out.Objects = append(out.Objects, o)
		isNS := o.Group == "" && o.Kind == "Namespace"
		ns := o.Namespace
		if isNS {
			ns = o.Name
		}
		if ns == "" {
			continue
		}
		for r := 1; r < copies; r++ {
			to := fmt.Sprintf("%s-r%d", ns, r)
			c := o
			c.Object = maps.Clone(o.Object)
			meta := maps.Clone(c.Object["metadata"].(map[string]any))
			c.Object["metadata"] = meta
			if isNS {
				c.Name, meta["name"] = to, to
				if l, ok := meta["labels"].(map[string]any); ok {
					l = maps.Clone(l)
					l["kubernetes.io/metadata.name"] = to
					meta["labels"] = l
				}
			} else {
				c.Namespace, meta["namespace"] = to, to
			}
			out.Objects = append(out.Objects, c)
		}
	}
	out.Digest, out.Integrity = "", ""
	return &out, out.Seal()
}

// runMeasured runs this test binary as driftgate with args and env, and
// returns its stdout, exit code and peak RSS.
func runMeasured(t *testing.T, env []string, args ...string) ([]byte, int, int64) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(append(os.Environ(), "DRIFTGATE_TEST_AS_MAIN=1"), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no rusage on this platform")
	}
	if code := cmd.ProcessState.ExitCode(); code > 1 {
		t.Fatalf("driftgate %v: exit %d\n%s", args, code, errOut.String())
	}
	return out.Bytes(), cmd.ProcessState.ExitCode(), ru.Maxrss << 10 // Linux reports KiB
}

// diff of two snapshot files far larger than what the in-memory comparison
// holds in a memory limit streams them past: under GOMEMLIMIT its peak RSS
// stays below a bound that the in-memory comparison of the same files
// exceeds, and both write the same report.
func TestDiffStreamsUnderMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and compares two snapshots of 100,000 objects")
	}
	objects := streamTestObjects
	if v := os.Getenv("DRIFTGATE_STREAM_TEST_OBJECTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10_000 {
			t.Fatalf("DRIFTGATE_STREAM_TEST_OBJECTS=%q: want a number of at least 10000", v)
		}
		objects = n
	}
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	g := exec.Command(self, "-test.run=^TestStreamMemoryGenerate$", "-test.count=1")
	g.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d", streamGenEnv, dir, objects))
	if out, err := g.CombinedOutput(); err != nil {
		t.Fatalf("generating: %v\n%s", err, out)
	}
	dev, prod := filepath.Join(dir, "dev.json"), filepath.Join(dir, "prod.json")
	info, err := os.Stat(dev)
	if err != nil {
		t.Fatal(err)
	}
	limit := fmt.Sprintf("GOMEMLIMIT=%dMiB", streamMemoryLimit>>20)
	streamed, code, rss := runMeasured(t, []string{limit}, "diff", dev, prod, "-o", "json")
	t.Logf("streamed: %d objects a side (%d MiB file), peak RSS %d MiB under %s, exit %d", objects, info.Size()>>20, rss>>20, limit, code)
	if code != 1 {
		t.Errorf("streamed diff exits %d, want 1 (the generated dev drifted)", code)
	}
	if rss >= streamMaxRSS {
		t.Errorf("streamed diff peaked at %d MiB RSS, want under %d MiB", rss>>20, streamMaxRSS>>20)
	}
	inMemory, code, rss := runMeasured(t, []string{limit, "DRIFTGATE_COMPARE_IN_MEMORY=1"}, "diff", dev, prod, "-o", "json")
	t.Logf("in memory: peak RSS %d MiB under %s, exit %d", rss>>20, limit, code)
	if rss <= streamMaxRSS {
		t.Errorf("the in-memory diff peaked at %d MiB RSS, within the bound (%d MiB): the pair is too small to show anything", rss>>20, streamMaxRSS>>20)
	}
	if !bytes.Equal(streamed, inMemory) {
		t.Errorf("the streamed and in-memory reports differ:\n%s\n---\n%s", streamed, inMemory)
	}
}
