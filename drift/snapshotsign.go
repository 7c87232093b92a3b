package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/drift/sign"
)

// ClusterIdentity names one cluster: its API server's URL, as the client
// reached it, and the uid of its kube-system namespace, which the cluster
// chose when it was created and no one can set.
type ClusterIdentity struct {
	Server string `json:"server" yaml:"server"`
	UID    string `json:"uid" yaml:"uid"`
}

func (c *ClusterIdentity) String() string {
	if c == nil {
		return "an unknown cluster"
	}
	return fmt.Sprintf("%s (kube-system uid %s)", c.Server, c.UID)
}

// SnapshotStatementType is the DSSE payloadType of a SnapshotStatement.
const SnapshotStatementType = "application/vnd.driftgate.snapshot-statement+json"

// SnapshotStatement is what signing a snapshot vouches for: this is the
// named environment's cluster, captured then, with this content (Digest)
// and metadata (Integrity, which covers the capture time and Digest).
type SnapshotStatement struct {
	Environment string          `json:"environment"`
	Cluster     ClusterIdentity `json:"cluster"`
	CapturedAt  time.Time       `json:"capturedAt"`
	Digest      string          `json:"digest"`
	Integrity   string          `json:"integrity"`
}

// SnapshotSigning says how Encode signs a snapshot.
type SnapshotSigning struct {
	Signer *sign.Signer
	// Environment is the name the statement gives the snapshot ("prod"):
	// a verifier expecting another refuses it.
	Environment string
}

// ErrNoClusterIdentity is returned when a snapshot to be signed does not
// know its cluster: a statement must name it.
var ErrNoClusterIdentity = errors.New("the snapshot has no cluster identity to sign")

// canSign refuses, before anything is written, a snapshot that SignWith
// asks to sign but that cannot be.
func (s *Snapshot) canSign() error {
	switch {
	case s.SignWith == nil:
		return nil
	case s.SignWith.Environment == "":
		return errors.New("signing a snapshot needs the environment's name")
	case s.Metadata.Cluster == nil || s.Metadata.Cluster.UID == "" || s.Metadata.Cluster.Server == "":
		if s.Metadata.Source != SourceCluster {
			return fmt.Errorf("%w: only a snapshot of a live cluster is signed, and this one was built from %s", ErrNoClusterIdentity, s.Metadata.Source)
		}
		return fmt.Errorf("%w: the kube-system namespace could not be read; grant get on namespaces/kube-system (driftgate rbac) to the identity taking the snapshot", ErrNoClusterIdentity)
	}
	return nil
}

// sign sets Signature from SignWith, once the digests are set.
func (s *Snapshot) sign() error {
	if s.SignWith == nil {
		return nil
	}
	if err := s.canSign(); err != nil {
		return err
	}
	env, err := s.SignWith.Signer.SignJSON(SnapshotStatementType, SnapshotStatement{
		Environment: s.SignWith.Environment,
		Cluster:     *s.Metadata.Cluster,
		CapturedAt:  s.Metadata.CapturedAt,
		Digest:      s.Digest,
		Integrity:   s.Integrity,
	})
	if err != nil {
		return fmt.Errorf("signing snapshot: %w", err)
	}
	s.Signature = env
	return nil
}

// SnapshotTrust is what a snapshot must be to be trusted: signed by Key,
// for Environment and, when Cluster is set, of that cluster.
type SnapshotTrust struct {
	Key         *sign.Verifier
	Environment string
	Cluster     *ClusterIdentity
}

// Refusals of VerifySignature, besides sign's (ErrUnsigned,
// ErrUntrustedKey, ErrBadSignature, ErrPayloadType).
var (
	ErrOtherEnvironment = errors.New("signed for another environment")
	ErrOtherCluster     = errors.New("not the expected cluster")
	ErrSignedContent    = errors.New("content does not match the signed digest")
)

// VerifySignature checks the snapshot's signature against t and returns
// the verified statement. LoadSnapshot has already checked the digests
// against the content; an attacker can recompute those, not the
// signature, so the statement's digests must be the file's.
func (s *Snapshot) VerifySignature(t SnapshotTrust) (*SnapshotStatement, error) {
	if s.Signature == nil {
		return nil, fmt.Errorf("%w: the snapshot carries no signature, and a trusted key (%s) is set for it: take it with snapshot --sign-key", sign.ErrUnsigned, t.Key.Source())
	}
	payload, err := t.Key.Verify(s.Signature, SnapshotStatementType)
	if err != nil {
		return nil, err
	}
	var st SnapshotStatement
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: the signed statement is not a snapshot statement: %v", sign.ErrBadSignature, err)
	}
	switch {
	case st.Digest != s.Digest || st.Integrity != s.Integrity:
		return nil, fmt.Errorf("%w: the signature vouches for content %s (integrity %s), the file holds %s (integrity %s): the file was changed after it was signed",
			ErrSignedContent, st.Digest, st.Integrity, s.Digest, s.Integrity)
	case st.Environment != t.Environment:
		return nil, fmt.Errorf("%w: the statement is for environment %q, this side is %q", ErrOtherEnvironment, st.Environment, t.Environment)
	case s.Metadata.Cluster == nil || *s.Metadata.Cluster != st.Cluster || !st.CapturedAt.Equal(s.Metadata.CapturedAt):
		// Integrity covers the metadata, so only a forged statement
		// gets here; said all the same.
		return nil, fmt.Errorf("%w: the statement's cluster or capture time is not the file's metadata", ErrSignedContent)
	case t.Cluster != nil && (t.Cluster.UID != st.Cluster.UID || (t.Cluster.Server != "" && t.Cluster.Server != st.Cluster.Server)):
		return nil, fmt.Errorf("%w: the snapshot is of %s, %s expects %s", ErrOtherCluster, &st.Cluster, t.Environment, t.Cluster)
	}
	return &st, nil
}

// readClusterIdentity reads the uid of the kube-system namespace behind rc,
// or nil when it cannot (RBAC, a server without one): the snapshot is
// then taken without an identity, and cannot be signed.
func readClusterIdentity(ctx context.Context, rc rest.Interface, server string, timeout time.Duration) (*ClusterIdentity, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	raw, err := rc.Get().AbsPath("/api/v1/namespaces/kube-system").Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var ns struct {
		Metadata struct {
			UID string `json:"uid"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &ns); err != nil {
		return nil, fmt.Errorf("decoding namespace kube-system: %w", err)
	}
	if ns.Metadata.UID == "" {
		return nil, errors.New("namespace kube-system has no uid")
	}
	return &ClusterIdentity{Server: server, UID: ns.Metadata.UID}, nil
}
