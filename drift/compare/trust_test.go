package compare

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/sign"
	"github.com/driftgate/driftgate/drift/sign/signtest"
)

// errAny, as a test's wanted error, is any error.
var errAny = errors.New("any error")

var prodCluster = drift.ClusterIdentity{Server: "https://prod.example:6443", UID: "6f1d3c2a-0000-4000-8000-000000000001"}

// clusterSnapshot is a snapshot of the manifests in dir as a live capture
// of cluster, taken at captured, would be.
func clusterSnapshot(t *testing.T, dir string, cluster drift.ClusterIdentity, captured time.Time) *drift.Snapshot {
	t.Helper()
	s, err := drift.SnapshotFromManifests([]string{dir}, drift.ManifestOptions{Now: captured})
	if err != nil {
		t.Fatal(err)
	}
	s.Metadata.Source = drift.SourceCluster
	s.Metadata.Server = cluster.Server
	s.Metadata.Cluster = &cluster
	return s
}

func save(t *testing.T, s *drift.Snapshot, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadTampering is the README's tampering table: each way to hand the
// gate a prod it should not trust, with what it is refused with.
func TestLoadTampering(t *testing.T) {
	t.Parallel()
	dir := manifestDir(t, "1")
	key, otherKey := signtest.NewSigner(t), signtest.NewSigner(t)
	now := time.Now()
	signed := func(s *drift.Snapshot, k *sign.Signer, env string) *drift.Snapshot {
		s.SignWith = &drift.SnapshotSigning{Signer: k, Environment: env}
		return s
	}
	good := save(t, signed(clusterSnapshot(t, dir, prodCluster, now.Add(-time.Hour)), key, "prod"), "good.json.gz")

	// Edited content under the old signature, digests recomputed as
	// anyone can: the signed statement names the old digest.
	edited := clusterSnapshot(t, dir, prodCluster, now.Add(-time.Hour))
	edited.SignWith = &drift.SnapshotSigning{Signer: key, Environment: "prod"}
	save(t, edited, "sign.json") // sets edited.Signature
	edited.SignWith = nil
	edited.Objects[0].Object["spec"].(map[string]any)["replicas"] = int64(9)
	editedPath := save(t, edited, "edited.json")

	// An old signed snapshot whose capture time was moved forward, the
	// integrity digest recomputed: the signature still names the old one.
	replayed := clusterSnapshot(t, dir, prodCluster, now.Add(-48*time.Hour))
	replayed.SignWith = &drift.SnapshotSigning{Signer: key, Environment: "prod"}
	oldPath := save(t, replayed, "old.json")
	replayed.SignWith = nil
	replayed.Metadata.CapturedAt = now.Add(-time.Minute).UTC().Truncate(time.Second)
	replayedPath := save(t, replayed, "replayed.json")

	// The signature of a good snapshot moved onto an unsigned one (of dev).
	devDir := manifestDir(t, "2")
	moved := clusterSnapshot(t, devDir, prodCluster, now.Add(-time.Hour))
	donor := signed(clusterSnapshot(t, dir, prodCluster, now.Add(-time.Hour)), key, "prod")
	save(t, donor, "donor.json")
	moved.Signature = donor.Signature
	movedPath := save(t, moved, "moved.json")

	otherCluster := drift.ClusterIdentity{Server: prodCluster.Server, UID: "6f1d3c2a-0000-4000-8000-000000000002"}
	tests := []struct {
		name    string
		source  string
		trust   *sign.Verifier
		cluster *drift.ClusterIdentity
		maxAge  time.Duration
		want    error
		msg     string
	}{
		{"signed by the trusted key", good, key.Public(), &prodCluster, 2 * time.Hour, nil, ""},
		{"unsigned", save(t, clusterSnapshot(t, dir, prodCluster, now), "unsigned.json"), key.Public(), nil, 0, sign.ErrUnsigned, "carries no signature"},
		{"signed by another key", save(t, signed(clusterSnapshot(t, dir, prodCluster, now), otherKey, "prod"), "other.json"), key.Public(), nil, 0, sign.ErrUntrustedKey, "signed by another key"},
		{"another environment's statement", save(t, signed(clusterSnapshot(t, dir, prodCluster, now), key, "staging"), "staging.json"), key.Public(), nil, 0, drift.ErrOtherEnvironment, `for environment "staging", this side is "prod"`},
		{"another cluster's statement", save(t, signed(clusterSnapshot(t, dir, otherCluster, now), key, "prod"), "cluster.json"), key.Public(), &prodCluster, 0, drift.ErrOtherCluster, "kube-system uid 6f1d3c2a-0000-4000-8000-000000000002"},
		{"edited content, old signature", editedPath, key.Public(), nil, 0, drift.ErrSignedContent, "changed after it was signed"},
		{"signature moved to other content", movedPath, key.Public(), nil, 0, drift.ErrSignedContent, "changed after it was signed"},
		{"capture time moved forward, old signature", replayedPath, key.Public(), nil, 2 * time.Hour, drift.ErrSignedContent, "changed after it was signed"},
		{"old signed snapshot past max-age", oldPath, key.Public(), nil, 2 * time.Hour, errAny, "was captured 48h0m0s ago"},
		{"trusted key set, side is manifests", dir, key.Public(), nil, 0, sign.ErrUnsigned, "must be a snapshot signed with it"},
		{"expected cluster, side is manifests", dir, nil, &prodCluster, 0, drift.ErrOtherCluster, "is a folder of manifests, which names no cluster"},
		{"unsigned, expected cluster differs", save(t, clusterSnapshot(t, dir, otherCluster, now), "unsigned-other.json"), nil, &prodCluster, 0, drift.ErrOtherCluster, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Load(context.Background(), Environment{Name: "prod", Source: tt.source, Trust: tt.trust, Cluster: tt.cluster}, Options{MaxAge: tt.maxAge})
			if tt.want == errAny && err != nil {
				tt.want = err
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

// TestLoadSignedMaxAge checks that --max-age measures a signed snapshot's
// signed capture time: an old one is refused as old.
func TestLoadSignedMaxAge(t *testing.T) {
	t.Parallel()
	key := signtest.NewSigner(t)
	s := clusterSnapshot(t, manifestDir(t, "1"), prodCluster, time.Now().Add(-48*time.Hour))
	s.SignWith = &drift.SnapshotSigning{Signer: key, Environment: "prod"}
	path := save(t, s, "old.json")
	env := Environment{Name: "prod", Source: path, Trust: key.Public()}
	if _, _, err := Load(context.Background(), env, Options{}); err != nil {
		t.Fatalf("without --max-age: %v", err)
	}
	_, _, err := Load(context.Background(), env, Options{MaxAge: 24 * time.Hour})
	if err == nil || !strings.Contains(err.Error(), "was captured 48h0m0s ago") {
		t.Errorf("error %v, want the snapshot refused as captured 48h ago", err)
	}
}

// TestRunRecordsTheVerifyingKey: a result says which key vouched for a
// signed side, so records and reports of it say so too.
func TestRunRecordsTheVerifyingKey(t *testing.T) {
	t.Parallel()
	key := signtest.NewSigner(t)
	dir := manifestDir(t, "1")
	s := clusterSnapshot(t, dir, prodCluster, time.Now())
	s.SignWith = &drift.SnapshotSigning{Signer: key, Environment: "prod"}
	prod := save(t, s, "prod.json")
	res, err := Run(context.Background(), Environment{Name: "dev", Source: dir}, Environment{Name: "prod", Source: prod, Trust: key.Public()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Prod.SignedBy != key.KeyID() || res.Dev.SignedBy != "" {
		t.Errorf("prod signed by %q, dev by %q; want %s and none", res.Prod.SignedBy, res.Dev.SignedBy, key.KeyID())
	}
}
