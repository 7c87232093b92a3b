// Package signtest gives tests of other packages a fresh signing key, so
// each does not write its own key generation.
package signtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/driftgate/driftgate/drift/sign"
)

// NewSigner returns a signer with a new Ed25519 key, loaded through the
// same PEM path as a key file.
func NewSigner(t testing.TB) *sign.Signer {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sign.ParseSigner(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
