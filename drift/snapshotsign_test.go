package drift

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift/sign"
)

func testSigner(t *testing.T) *sign.Signer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.ParseSigner(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSignedSnapshotRoundTrip writes a signed snapshot and reads it back
// through both decoders: the signature survives, is outside the content
// digest (the unsigned snapshot has the same), and verifies.
func TestSignedSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	key := testSigner(t)
	s := snapshotOf(t, "", clusterIdentity("2")...)
	s.Metadata.Source = SourceCluster
	s.Metadata.Cluster = &ClusterIdentity{Server: "https://10.0.0.2:6443", UID: "uid-2"}
	var unsigned bytes.Buffer
	if err := s.Encode(&unsigned); err != nil {
		t.Fatal(err)
	}
	digest := s.Digest
	s.SignWith = &SnapshotSigning{Signer: key, Environment: "prod"}
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if s.Digest != digest {
		t.Errorf("signing changed the content digest: %s, unsigned %s", s.Digest, digest)
	}
	checkFastDecode(t, buf.Bytes())
	if _, ok := decodeSnapshotFast(buf.Bytes()); !ok {
		t.Error("the fast decoder does not take a signed snapshot as driftgate writes it")
	}
	got, err := DecodeSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	st, err := got.VerifySignature(SnapshotTrust{Key: key.Public(), Environment: "prod", Cluster: &ClusterIdentity{UID: "uid-2"}})
	if err != nil {
		t.Fatal(err)
	}
	want := SnapshotStatement{Environment: "prod", Cluster: *s.Metadata.Cluster, CapturedAt: s.Metadata.CapturedAt, Digest: s.Digest, Integrity: s.Integrity}
	if diff := cmp.Diff(want, *st); diff != "" {
		t.Errorf("statement (-want +got):\n%s", diff)
	}
	// An unsigned file reads as before, without a signature.
	old, err := DecodeSnapshot(bytes.NewReader(unsigned.Bytes()))
	if err != nil || old.Signature != nil {
		t.Fatalf("unsigned file: signature %v, error %v", old.Signature, err)
	}
	if _, err := old.VerifySignature(SnapshotTrust{Key: key.Public(), Environment: "prod"}); !errors.Is(err, sign.ErrUnsigned) {
		t.Errorf("unsigned file verifies with %v, want ErrUnsigned", err)
	}
}

// TestSignRefusesWithoutIdentity checks that a snapshot that does not know
// its cluster is not signed, before anything is written.
func TestSignRefusesWithoutIdentity(t *testing.T) {
	t.Parallel()
	key := testSigner(t)
	tests := []struct {
		name   string
		source string
		want   string
	}{
		{"manifests", SourceManifests, "only a snapshot of a live cluster is signed"},
		{"kube-system unreadable", SourceCluster, "grant get on namespaces/kube-system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := snapshotOf(t, "", clusterIdentity("2")...)
			s.Metadata.Source = tt.source
			s.SignWith = &SnapshotSigning{Signer: key, Environment: "prod"}
			var buf bytes.Buffer
			err := s.Encode(&buf)
			if !errors.Is(err, ErrNoClusterIdentity) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want ErrNoClusterIdentity saying %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written", buf.Len())
			}
		})
	}
}
