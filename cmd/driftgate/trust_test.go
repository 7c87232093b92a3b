package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/sign"
)

// keyPair writes an Ed25519 private key (0600) and its public key in dir,
// and returns their paths and the signer.
func keyPair(t *testing.T, dir, name string) (priv, pub string, s *sign.Signer) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub")
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(priv, privPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err = sign.ParseSigner(privPEM); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, pub, string(s.Public().PublicPEM()))
	return priv, pub, s
}

// signedProd writes prod's manifests as a signed snapshot of a cluster
// would be, for environment env, and returns its path.
func signedProd(t *testing.T, e gateEnv, s *sign.Signer, env, name string) string {
	t.Helper()
	snap, err := drift.SnapshotFromManifests([]string{e.prod}, drift.ManifestOptions{Now: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	snap.Metadata.Source = drift.SourceCluster
	snap.Metadata.Cluster = &drift.ClusterIdentity{Server: "https://prod:6443", UID: "prod-uid"}
	if s != nil {
		snap.SignWith = &drift.SnapshotSigning{Signer: s, Environment: env}
	}
	path := filepath.Join(e.dir, name)
	if err := snap.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGateTrust runs gate and diff with trusted keys from the flag and the
// config: a prod signed by the key passes the check (and is then compared:
// blocked by the image), everything else exits 2 naming why.
func TestGateTrust(t *testing.T) {
	keys := t.TempDir()
	_, pub, key := keyPair(t, keys, "prod")
	_, otherPub, otherKey := keyPair(t, keys, "other")
	e := newGateEnv(t, "")
	good := signedProd(t, e, key, "prod", "good.json")
	unsigned := signedProd(t, e, nil, "", "unsigned.json")
	byOther := signedProd(t, e, otherKey, "prod", "other.json")
	staging := signedProd(t, e, key, "staging", "staging.json")
	trusting := func(extra string) string {
		cfg := filepath.Join(t.TempDir(), "driftgate.yaml")
		writeTestFile(t, cfg, "apiVersion: driftgate.dev/v1alpha1\nkind: Config\nenvironments:\n  dev: {manifests: "+e.dev+"}\n  prod:\n    snapshot: "+good+"\n    trust: "+pub+"\n"+extra)
		return cfg
	}
	cfg := trusting("")
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"gate, --trust, signed", []string{"gate", "--config", e.config, "--prod", good, "--trust", pub}, exitBlocked, ""},
		{"gate, --trust, unsigned", []string{"gate", "--config", e.config, "--prod", unsigned, "--trust", pub}, exitCouldNoCheck, "prod: snapshot " + unsigned + " is not trusted: not signed"},
		{"gate, --trust, another key", []string{"gate", "--config", e.config, "--prod", byOther, "--trust", pub}, exitCouldNoCheck, "signed by another key"},
		{"gate, --trust, staging's statement", []string{"gate", "--config", e.config, "--prod", staging, "--trust", pub}, exitCouldNoCheck, `signed for another environment: the statement is for environment "staging", this side is "prod"`},
		{"gate, --trust, prod is manifests", []string{"gate", "--config", e.config, "--trust", pub}, exitCouldNoCheck, "so it must be a snapshot signed with it, and " + e.prod + " is a folder of manifests"},
		{"gate, config trust, signed", []string{"gate", "--config", cfg}, exitBlocked, ""},
		{"gate, config trust, --prod cannot drop it", []string{"gate", "--config", cfg, "--prod", unsigned}, exitCouldNoCheck, "not signed"},
		{"gate, config trust, --prod manifests", []string{"gate", "--config", cfg, "--prod", e.prod}, exitCouldNoCheck, "must be a snapshot signed with it"},
		{"gate, --trust disagrees with config", []string{"gate", "--config", cfg, "--trust", otherPub}, exitCouldNoCheck, "is not environments.prod.trust"},
		{"gate, config expects another cluster", []string{"gate", "--config", trusting("    cluster: {uid: other-uid}\n")}, exitCouldNoCheck, "not the expected cluster: the snapshot is of https://prod:6443 (kube-system uid prod-uid), prod expects"},
		{"gate, config expects this cluster", []string{"gate", "--config", trusting("    cluster: {uid: prod-uid, server: \"https://prod:6443\"}\n")}, exitBlocked, ""},
		{"diff, --trust, unsigned", []string{"diff", "--config", e.config, e.dev, unsigned, "--trust", pub}, exitCouldNoCheck, "not signed"},
		{"diff, --trust, signed", []string{"diff", "--config", e.config, e.dev, good, "--trust", pub}, exitBlocked, ""},
		{"diff, --trust, no such key", []string{"diff", "--config", e.config, e.dev, good, "--trust", filepath.Join(keys, "nope.pub")}, exitCouldNoCheck, "--trust: reading key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("exit %d, want %d; stderr %q, want it to say %q", r.code, tt.code, r.stderr, tt.msg)
			}
		})
	}
}

// TestSnapshotSignKeyRefusals: signing flags that cannot work exit 2
// before any cluster is read.
func TestSnapshotSignKeyRefusals(t *testing.T) {
	keys := t.TempDir()
	priv, pub, _ := keyPair(t, keys, "prod")
	open := filepath.Join(keys, "open.pem")
	b, _ := os.ReadFile(priv)
	writeTestFile(t, open, string(b))
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	dev, _ := twoEnvs(t, strings.ReplaceAll(appYAML, "IMAGE", "1"), strings.ReplaceAll(appYAML, "IMAGE", "1"))
	out := filepath.Join(t.TempDir(), "s.json")
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"no environment", []string{"--context", "nowhere", "--sign-key", priv}, "--sign-key needs --environment NAME"},
		{"environment without key", []string{"--context", "nowhere", "--environment", "prod"}, "give --sign-key too"},
		{"key readable by others", []string{"--context", "nowhere", "--sign-key", open, "--environment", "prod"}, "private key is readable by group or others (mode 0644)"},
		{"public key", []string{"--context", "nowhere", "--sign-key", pub, "--environment", "prod"}, "is readable by group or others"},
		{"from manifests", []string{"--from-manifests", dev, "--sign-key", priv, "--environment", "prod"}, "a snapshot --from-manifests has none"},
		{"unset variable", []string{"--context", "nowhere", "--sign-key", "env:DRIFTGATE_TEST_UNSET_KEY", "--environment", "prod"}, "env:DRIFTGATE_TEST_UNSET_KEY is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, append([]string{"snapshot", "-o", out}, tt.args...)...)
			if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, tt.msg) {
				t.Errorf("exit %d; stderr %q, want it to say %q", r.code, r.stderr, tt.msg)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a snapshot was written")
			}
		})
	}
}
