package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/driftgate/driftgate/fixtures/s3bed"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// runAs runs this test binary as driftgate in a process of its own, with
// the environment's AWS settings replaced by env (an identity's keys, or
// none): each run gets exactly the credentials the test means, and nothing
// from the machine's. It fails the test when any output holds a secret the
// S3 server knows, as a user would see it.
func runAs(t *testing.T, s *s3bed.Server, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "AWS_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(append(cmd.Env, "DRIFTGATE_TEST_AS_MAIN=1"), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r := result{code: code, stdout: out.String(), stderr: errOut.String()}
	for _, id := range []s3bed.Identity{s.Admin, s.Publisher, s.Reader, s.Outsider} {
		for _, secret := range []string{id.AccessKey, id.SecretKey} {
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("driftgate %s printed a credential of %s:\n%s%s", strings.Join(args, " "), id.Name, r.stdout, r.stderr)
			}
		}
	}
	return r
}

// s3Env is a test bed with a namespace holding the same app on dev and
// prod, and an S3 server to publish prod to.
type s3Env struct {
	bed    *testbed.Bed
	s3     *s3bed.Server
	ns     string
	config string // dev and prod live, scoped to ns
	prod   string // s3://snapshots/<ns>/prod on the server
}

func newS3Env(t *testing.T) s3Env {
	t.Helper()
	bed := testbed.Need(t)
	s := s3bed.Need(t, s3bed.Options{})
	ns := bed.Namespace(t, nil)
	e := s3Env{bed: bed, s3: s, ns: ns, config: liveConfig(t, bed.Kubeconfig, ns, ""), prod: s.URL(s3bed.Bucket, ns+"/prod")}
	e.apply(t, bed.Dev, "1")
	e.apply(t, bed.Prod, "1")
	return e
}

func (e s3Env) apply(t *testing.T, c *testbed.Cluster, image string) {
	t.Helper()
	app := strings.ReplaceAll(strings.ReplaceAll(appYAML, "IMAGE", image), "namespace: shop", "namespace: "+e.ns)
	app = strings.Replace(app, "spec:\n  replicas: 3\n", "spec:\n  replicas: 3\n  selector: {matchLabels: {app: web}}\n", 1)
	app = strings.Replace(app, "  template:\n    spec:", "  template:\n    metadata: {labels: {app: web}}\n    spec:", 1)
	if err := c.Apply(context.Background(), []byte(app), e.ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}
}

// publish snapshots prod's namespace to e.prod as id.
func (e s3Env) publish(t *testing.T, id s3bed.Identity, extra ...string) result {
	t.Helper()
	args := append([]string{"snapshot", "--kubeconfig", e.bed.Kubeconfig, "--context", "prod", "-n", e.ns, "-o", e.prod}, extra...)
	return runAs(t, e.s3, id.Env(), args...)
}

// gate gates dev live against prod from the bucket, reading as id.
func (e s3Env) gate(t *testing.T, id s3bed.Identity, extra ...string) result {
	t.Helper()
	args := append([]string{"gate", "--config", e.config, "--prod", e.prod}, extra...)
	return runAs(t, e.s3, id.Env(), args...)
}

var snapshotObject = regexp.MustCompile(`/prod/[^/]+\.json\.gz$`)

// objects returns the snapshot objects stored under the env's prefix, and
// whether a latest pointer is there.
func (e s3Env) objects(t *testing.T) (snapshots []s3bed.Object, latest bool) {
	t.Helper()
	objs, err := e.s3.List(s3bed.Bucket, e.ns+"/prod")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		switch {
		case snapshotObject.MatchString("/" + o.Key):
			snapshots = append(snapshots, o)
		case o.Key == e.ns+"/prod/latest":
			latest = true
		}
	}
	return snapshots, latest
}

// TestS3PublishThenGateFromBucket: prod publishes its snapshot to a real
// S3 server with the publisher's keys; the gate reads dev live and prod from
// the bucket with the reader's keys, passes while dev matches prod and
// blocks once it does not. Every run's output is free of credentials.
func TestS3PublishThenGateFromBucket(t *testing.T) {
	e := newS3Env(t)
	if r := e.publish(t, e.s3.Publisher); r.code != exitPass {
		t.Fatalf("publishing prod: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	snaps, latest := e.objects(t)
	if len(snaps) != 1 || !latest {
		t.Fatalf("after publishing, the bucket holds snapshots %v and latest %v; want one and a latest pointer", snaps, latest)
	}

	if r := e.gate(t, e.s3.Reader); r.code != exitPass || !strings.Contains(r.stdout, "pass") {
		t.Fatalf("dev equal to prod from the bucket: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Dev drifts; the published prod is the reference the gate uses.
	e.apply(t, e.bed.Dev, "2")
	r := e.gate(t, e.s3.Reader)
	if r.code != exitBlocked || !strings.Contains(r.stdout, "image") {
		t.Fatalf("dev drifted from prod in the bucket: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Prod catches up and publishes again: latest moves, and the gate passes.
	e.apply(t, e.bed.Prod, "2")
	time.Sleep(1100 * time.Millisecond) // capture times to the second name the objects
	if r := e.publish(t, e.s3.Publisher); r.code != exitPass {
		t.Fatalf("publishing prod again: exit %d\n%s", r.code, r.stderr)
	}
	if snaps, _ := e.objects(t); len(snaps) != 2 {
		t.Fatalf("after publishing twice, the bucket holds %v", snaps)
	}
	if r := e.gate(t, e.s3.Reader); r.code != exitPass {
		t.Fatalf("dev equal to the newly published prod: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestS3WithoutPermission: identities the bucket refuses get exit 2 naming
// the bucket, never a pass and never a blocked verdict drawn from nothing.
func TestS3WithoutPermission(t *testing.T) {
	e := newS3Env(t)
	if r := e.publish(t, e.s3.Publisher); r.code != exitPass {
		t.Fatalf("publishing prod: exit %d\n%s", r.code, r.stderr)
	}
	for _, tc := range []struct {
		name string
		run  func() result
	}{
		{"an outsider reads", func() result { return e.gate(t, e.s3.Outsider) }},
		{"no credentials read", func() result { return e.gate(t, s3bed.Identity{Name: "nobody"}) }},
		{"wrong secret key reads", func() result {
			return e.gate(t, s3bed.Identity{Name: "forger", AccessKey: e.s3.Reader.AccessKey, SecretKey: e.s3.Publisher.SecretKey})
		}},
		{"the reader publishes", func() result { return e.publish(t, e.s3.Reader) }},
		{"an outsider publishes", func() result { return e.publish(t, e.s3.Outsider) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run()
			if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "bucket "+s3bed.Bucket) {
				t.Errorf("exit %d, want 2 naming bucket %s\n%s%s", r.code, s3bed.Bucket, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout, "pass") {
				t.Errorf("the output claims a pass:\n%s", r.stdout)
			}
		})
	}
	// Refused writers left prod's published snapshot as it was.
	if snaps, latest := e.objects(t); len(snaps) != 1 || !latest {
		t.Errorf("after refused publishes, the bucket holds %v, latest %v", snaps, latest)
	}
}

// bulkyConfigMaps returns n ConfigMaps of size bytes of random,
// incompressible data each: a prod whose snapshot takes a while to upload.
func bulkyConfigMaps(t *testing.T, n, size int) []byte {
	t.Helper()
	var b strings.Builder
	for i := range n {
		data := make([]byte, size*3/4)
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bulk-%d}\ndata: {blob: %s}\n", i, base64.StdEncoding.EncodeToString(data))
	}
	return []byte(b.String())
}

// TestS3ServerKilledMidUpload kills the S3 server with SIGKILL while a
// large snapshot is being uploaded, restarts it on the same data and checks
// that latest still names the whole snapshot published before, which the
// gate reads; no partial object is ever what latest points at. Publishing
// again afterwards moves latest to a whole new snapshot.
func TestS3ServerKilledMidUpload(t *testing.T) {
	e := newS3Env(t)
	if r := e.publish(t, e.s3.Publisher); r.code != exitPass {
		t.Fatalf("publishing prod: exit %d\n%s", r.code, r.stderr)
	}
	before, _ := e.objects(t)
	pointer, err := e.s3.Get(s3bed.Bucket, e.ns+"/prod/latest")
	if err != nil {
		t.Fatal(err)
	}

	// Prod grows to a snapshot of several megabytes, and drifts from dev.
	if err := e.bed.Prod.Apply(context.Background(), bulkyConfigMaps(t, 12, 512<<10), e.ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	fired := e.s3.KillDuringPut(".json.gz", 1<<20)
	r := e.publish(t, e.s3.Publisher)
	select {
	case <-fired:
	default:
		t.Fatalf("the server was not killed during the upload; publish exit %d\n%s", r.code, r.stderr)
	}
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "bucket "+s3bed.Bucket) {
		t.Errorf("publishing into a server killed mid-upload: exit %d, want 2 naming the bucket\n%s%s", r.code, r.stdout, r.stderr)
	}

	if err := e.s3.Restart(); err != nil {
		t.Fatal(err)
	}
	after, _ := e.objects(t)
	got, err := e.s3.Get(s3bed.Bucket, e.ns+"/prod/latest")
	if err != nil {
		t.Fatalf("latest after the crash: %v", err)
	}
	if !bytes.Equal(got, pointer) {
		t.Errorf("latest moved to a snapshot whose upload was cut off:\nbefore %s\nafter  %s", pointer, got)
	}
	for _, o := range after {
		if !strings.Contains(string(pointer), o.Key[strings.LastIndex(o.Key, "/")+1:]) {
			t.Logf("object left by the cut-off upload (not pointed at): %+v", o)
		}
	}
	if len(after) < len(before) {
		t.Errorf("objects lost in the crash: before %v, after %v", before, after)
	}
	// The gate reads the whole snapshot from before the crash: dev still
	// matches it (the bulky ConfigMaps are not in it).
	if r := e.gate(t, e.s3.Reader); r.code != exitPass {
		t.Fatalf("gate after the crash: exit %d, want a pass against the snapshot before it\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Published again, the whole large snapshot becomes latest.
	if r := e.publish(t, e.s3.Publisher); r.code != exitPass {
		t.Fatalf("publishing after the restart: exit %d\n%s", r.code, r.stderr)
	}
	if got, _ := e.s3.Get(s3bed.Bucket, e.ns+"/prod/latest"); bytes.Equal(got, pointer) {
		t.Errorf("latest did not move after a whole publish")
	}
	if r := e.gate(t, e.s3.Reader); r.code != exitBlocked || !strings.Contains(r.stdout, "bulk-") {
		t.Errorf("gate against the large snapshot: exit %d, want blocked on the ConfigMaps dev lacks\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// writeKeyPair writes a fresh ECDSA P-256 key pair as PEM files (the
// private one readable by its owner only) and returns their paths.
func writeKeyPair(t *testing.T) (private, public string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	private, public = filepath.Join(dir, "prod.key"), filepath.Join(dir, "prod.pub")
	if err := os.WriteFile(private, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(public, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		t.Fatal(err)
	}
	return private, public
}

// TestS3SignedPublishGateWithTrust: prod publishes a signed snapshot to
// the bucket; CI gates dev live against it with --trust and --max-age and
// passes. Write access to the bucket is not enough to pass the gate: an
// unsigned snapshot, or one signed with another key, published over it by
// an identity that may write the bucket, is refused with exit 2.
func TestS3SignedPublishGateWithTrust(t *testing.T) {
	e := newS3Env(t)
	key, pub := writeKeyPair(t)
	otherKey, otherPub := writeKeyPair(t)
	if r := e.publish(t, e.s3.Publisher, "--environment", "prod", "--sign-key", key); r.code != exitPass {
		t.Fatalf("publishing signed: exit %d\n%s", r.code, r.stderr)
	}
	if r := e.gate(t, e.s3.Reader, "--trust", pub, "--max-age", "1h"); r.code != exitPass {
		t.Fatalf("gate trusting prod's key: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := e.gate(t, e.s3.Reader, "--trust", otherPub, "--max-age", "1h"); r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "not trusted") {
		t.Errorf("gate trusting another key: exit %d, want 2, not trusted\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Someone who can write the bucket, without prod's key, publishes over it.
	for _, tc := range []struct {
		name  string
		extra []string
		says  string
	}{
		{"unsigned", nil, "not signed"},
		{"signed with another key", []string{"--environment", "prod", "--sign-key", otherKey}, "not trusted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			time.Sleep(1100 * time.Millisecond) // capture times to the second name the objects
			if r := e.publish(t, e.s3.Publisher, tc.extra...); r.code != exitPass {
				t.Fatalf("publishing: exit %d\n%s", r.code, r.stderr)
			}
			r := e.gate(t, e.s3.Reader, "--trust", pub, "--max-age", "1h")
			if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, tc.says) {
				t.Errorf("gate trusting prod's key: exit %d, want 2 saying %q\n%s%s", r.code, tc.says, r.stdout, r.stderr)
			}
		})
	}
}
