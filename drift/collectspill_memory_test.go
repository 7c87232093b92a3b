package drift

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// spillMemoryEnv tells the test binary, run again as a child, to take the
// snapshot TestCollectSpilledMemory measures: "spill" or "memory" (the
// in-memory path), the server's URL and the file to write.
const spillMemoryEnv = "DRIFTGATE_SPILL_MEMORY_CHILD"

// spillMemoryBound is the peak RSS the spilled snapshot of the large input
// may take. It took 81 MiB here, the in-memory path 332 MiB for the same
// input (and that grows with the input; this does not).
const spillMemoryBound = 160 << 20

// TestCollectSpilledMemory snapshots 120,000 generated objects (about
// 300 MB as the file holds them) from a fake API server in a child
// process under GOMEMLIMIT=96MiB, spilled and then in memory, and reads
// each child's peak RSS (VmHWM, which exec starts afresh): the spilled
// one stays under spillMemoryBound, which the in-memory one exceeds, and
// the two files are the same. About a minute on two shared cores (the
// in-memory child spends most of it collecting garbage under the limit).
func TestCollectSpilledMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large input: 120,000 objects, about 40 s")
	}
	const perType = 60_000
	api := &fakeAPI{types: []*fakeAPIType{
		{version: "v1", kind: "ConfigMap", resource: "configmaps", namespaced: true, n: perType, item: spillMemoryConfigMap},
		{group: "apps", version: "v1", kind: "Deployment", resource: "deployments", namespaced: true, n: perType, item: spillMemoryDeployment},
	}}
	cfg := api.start(t)
	dir := t.TempDir()
	peak := map[string]int64{}
	for _, mode := range []string{"spill", "memory"} {
		start := time.Now()
		out := filepath.Join(dir, mode+".json")
		cmd := exec.Command(os.Args[0], "-test.run=^TestCollectSpilledMemoryChild$", "-test.v")
		cmd.Env = append(os.Environ(), "GOMEMLIMIT=96MiB", "TMPDIR="+dir, spillMemoryEnv+"="+mode+" "+cfg.Host+" "+out)
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s child: %v\n%s", mode, err, got)
		}
		m := strings.Fields(string(got[bytes.Index(got, []byte("VmHWM:")):]))
		kb, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			t.Fatalf("%s child's output: %s", mode, got)
		}
		peak[mode] = kb << 10
		t.Logf("%s: peak RSS %d MiB, %s", mode, kb>>10, time.Since(start).Round(time.Millisecond))
	}
	a, b := readMaybeGzip(t, filepath.Join(dir, "spill.json")), readMaybeGzip(t, filepath.Join(dir, "memory.json"))
	if !bytes.Equal(a, b) {
		t.Fatalf("the two files differ:\n%s", firstDifference(b, a))
	}
	if peak["spill"] > spillMemoryBound {
		t.Errorf("the spilled snapshot of %d objects took %d MiB at peak; the bound is %d MiB", 2*perType, peak["spill"]>>20, spillMemoryBound>>20)
	}
	if peak["memory"] <= spillMemoryBound {
		t.Errorf("the in-memory snapshot took %d MiB, within the bound: the input is too small to tell the paths apart", peak["memory"]>>20)
	}
}

// TestCollectSpilledMemoryChild is the child of TestCollectSpilledMemory.
func TestCollectSpilledMemoryChild(t *testing.T) {
	spec := os.Getenv(spillMemoryEnv)
	if spec == "" {
		t.Skip("run by TestCollectSpilledMemory")
	}
	f := strings.Fields(spec)
	mode, host, out := f[0], f[1], f[2]
	cfg := (&fakeAPI{}).config(host)
	opts := CollectOptions{ChunkSize: 500, Concurrency: 8, Now: time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC), ForWriting: true}
	var err error
	if mode == "spill" {
		var sp *SpilledSnapshot
		if sp, err = CollectSpilled(context.Background(), cfg, opts, SpillOptions{}); err == nil {
			err = sp.Save(out)
			sp.Close()
		}
	} else {
		var s *Snapshot
		if s, err = Collect(context.Background(), cfg, opts); err == nil {
			err = s.Save(out)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmHWM:") {
			fmt.Println(sc.Text())
		}
	}
}

// spillMemoryConfigMap is ConfigMap i of the large input: about 2 KB.
func spillMemoryConfigMap(i int) []byte {
	return fmt.Appendf(nil, `{"metadata":{"name":"settings-%06d","namespace":"ns-%04d","uid":"%08x-0000-4000-8000-000000000000","resourceVersion":"%d","creationTimestamp":"2026-03-14T09:26:53Z","labels":{"app":"app-%d","team":"t%d"},"managedFields":[{"manager":"helm","operation":"Update","apiVersion":"v1","time":"2026-03-14T09:26:53Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:config.yaml":{}}}}]},"data":{"config.yaml":"%s","index":"%d"}}`,
		i, i/500, i, 1000+i, i%40, i%7, strings.Repeat(fmt.Sprintf("setting-%d: value-%d\\n", i%13, i), 80), i)
}

// spillMemoryDeployment is Deployment i of the large input, with status.
func spillMemoryDeployment(i int) []byte {
	return fmt.Appendf(nil, `{"metadata":{"name":"web-%06d","namespace":"ns-%04d","uid":"%08x-0000-4000-8000-000000000001","resourceVersion":"%d","generation":1,"creationTimestamp":"2026-03-14T09:26:53Z","labels":{"app":"app-%d"},"annotations":{"meta.helm.sh/release-name":"rel-%d"},"managedFields":[{"manager":"helm","operation":"Update","apiVersion":"apps/v1","time":"2026-03-14T09:26:53Z","fieldsType":"FieldsV1","fieldsV1":{"f:spec":{"f:replicas":{}}}}]},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"app-%d"}},"template":{"metadata":{"labels":{"app":"app-%d"}},"spec":{"containers":[{"name":"web","image":"registry.example/app-%d:1.%d","args":[%s"--port=8080"],"env":[{"name":"MODE","value":"prod"}],"resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]}}},"status":{"replicas":2,"readyReplicas":2,"observedGeneration":1}}`,
		i, i/500, i, 2000+i, i%40, i, i%40, i%40, i%40, i%9, strings.Repeat(fmt.Sprintf(`"--flag-%d=%d",`, i%11, i), 30))
}

// BenchmarkCollectSpilled takes a snapshot of 20,000 generated objects
// (ConfigMaps and Deployments, about 50 MB as the file holds them) from a
// fake API server in this process and writes it, in memory (Collect,
// Save) and spilled (CollectSpilled, Save): what spilling costs or saves,
// the server's share being the same in both.
func BenchmarkCollectSpilled(b *testing.B) {
	const perType = 10_000
	api := &fakeAPI{types: []*fakeAPIType{
		{version: "v1", kind: "ConfigMap", resource: "configmaps", namespaced: true, n: perType, item: spillMemoryConfigMap},
		{group: "apps", version: "v1", kind: "Deployment", resource: "deployments", namespaced: true, n: perType, item: spillMemoryDeployment},
	}}
	cfg := api.start(b)
	out := filepath.Join(b.TempDir(), "s.json")
	opts := CollectOptions{ChunkSize: 500, Concurrency: 8, ForWriting: true}
	b.Run("in-memory", func(b *testing.B) {
		for b.Loop() {
			s, err := Collect(context.Background(), cfg, opts)
			if err == nil {
				err = s.Save(out)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("spilled", func(b *testing.B) {
		for b.Loop() {
			sp, err := CollectSpilled(context.Background(), cfg, opts, SpillOptions{Dir: b.TempDir()})
			if err == nil {
				err = sp.Save(out)
				sp.Close()
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
