// Package sign signs and verifies what driftgate vouches for (snapshots,
// the incident log's chain) with Ed25519 or ECDSA P-256 keys, as DSSE
// envelopes (https://github.com/secure-systems-lab/dsse): a signature over
// the payload and its type, so that a signature made for one kind of
// statement is never accepted as another.
package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/driftgate/driftgate/internal/inputerr"
	"github.com/driftgate/driftgate/internal/regularfile"
)

// EnvPrefix marks a key given in an environment variable rather than a
// file: env:VAR holds the PEM itself (a CI secret).
const EnvPrefix = "env:"

// Signer holds a private key. Its KeyID names the public half.
type Signer struct {
	key crypto.Signer
	pub *Verifier
}

// Verifier holds a trusted public key.
type Verifier struct {
	key crypto.PublicKey
	id  string
	// source says where the key came from, for messages.
	source string
}

// KeyID is the id of the signer's public key (see Verifier.KeyID).
func (s *Signer) KeyID() string { return s.pub.id }

// Public is the verifier of the signer's signatures.
func (s *Signer) Public() *Verifier { return s.pub }

// KeyID is the hex SHA-256 of the public key's PKIX DER encoding: what a
// DSSE signature's keyid holds, and what `openssl pkey -pubin -outform DER
// | sha256sum` prints for the .pub file.
func (v *Verifier) KeyID() string { return v.id }

// Source is where the key was read from.
func (v *Verifier) Source() string { return v.source }

// LoadSigner reads a private key from spec: a PEM file, or env:VAR for a
// variable holding the PEM. A file that group or others may read is
// refused, as ssh refuses one: whoever can read it can sign prod's state.
func LoadSigner(spec string) (*Signer, error) {
	data, where, err := readKey(spec, true)
	if err != nil {
		return nil, err
	}
	s, err := ParseSigner(data)
	if err != nil {
		return nil, &inputerr.Error{File: where, Msg: err.Error(), Hint: "give an Ed25519 or ECDSA P-256 private key in PEM, such as `openssl genpkey -algorithm ed25519` writes"}
	}
	s.pub.source = where
	return s, nil
}

// LoadVerifier reads a public key (PEM "PUBLIC KEY", PKIX) from a file,
// or from env:VAR.
func LoadVerifier(spec string) (*Verifier, error) {
	data, where, err := readKey(spec, false)
	if err != nil {
		return nil, err
	}
	v, err := ParseVerifier(data)
	if err != nil {
		return nil, &inputerr.Error{File: where, Msg: err.Error(), Hint: "give the public key in PEM, such as `openssl pkey -pubout` writes"}
	}
	v.source = where
	return v, nil
}

// readKey returns the PEM spec names and how to name it in messages.
func readKey(spec string, private bool) ([]byte, string, error) {
	if name, ok := strings.CutPrefix(spec, EnvPrefix); ok {
		v := os.Getenv(name)
		if v == "" {
			return nil, "", fmt.Errorf("%s is not set or empty: set it to the PEM of the key", spec)
		}
		return []byte(v), "$" + name, nil
	}
	if spec == "" {
		return nil, "", errors.New("no key given")
	}
	f, info, err := regularfile.Open(spec, "give the key as a PEM file")
	if err != nil {
		return nil, "", fmt.Errorf("reading key: %w", err)
	}
	defer f.Close()
	if perm := info.Mode().Perm(); private && perm&0o077 != 0 {
		return nil, "", &inputerr.Error{File: spec,
			Msg:  fmt.Sprintf("private key is readable by group or others (mode %04o): whoever can read it can sign as you", perm),
			Hint: "chmod 600 " + spec + ", or give it in an environment variable as env:VAR"}
	}
	data := make([]byte, 0, 4096)
	buf := make([]byte, 4096)
	for len(data) < 64<<10 {
		n, err := f.Read(buf)
		data = append(data, buf[:n]...)
		if err != nil {
			break
		}
	}
	return data, spec, nil
}

// ParseSigner reads a PEM private key: Ed25519 or ECDSA P-256 in PKCS#8
// ("PRIVATE KEY"), or ECDSA P-256 in SEC 1 ("EC PRIVATE KEY"). Anything
// else (RSA, another curve, an encrypted key) is refused: two algorithms
// with fixed parameters leave a verifier nothing to choose.
func ParseSigner(data []byte) (*Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block: not a key file")
	}
	var key any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(b.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the private key is encrypted: driftgate reads unencrypted keys; keep it in a secret store or a file only you can read")
	case "RSA PRIVATE KEY":
		return nil, errors.New("RSA keys are not supported: use Ed25519 or ECDSA P-256")
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("bad private key: %v", err)
	}
	var signer crypto.Signer
	switch k := key.(type) {
	case ed25519.PrivateKey:
		signer = k
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA key on curve %s is not supported: use P-256", k.Curve.Params().Name)
		}
		signer = k
	default:
		return nil, fmt.Errorf("%T keys are not supported: use Ed25519 or ECDSA P-256", key)
	}
	v, err := newVerifier(signer.Public())
	if err != nil {
		return nil, err
	}
	return &Signer{key: signer, pub: v}, nil
}

// ParseVerifier reads a PEM public key ("PUBLIC KEY", PKIX): Ed25519 or
// ECDSA P-256.
func ParseVerifier(data []byte) (*Verifier, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM block: not a key file")
	}
	if b.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("PEM block %q is not a public key (want PUBLIC KEY)", b.Type)
	}
	key, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("bad public key: %v", err)
	}
	return newVerifier(key)
}

func newVerifier(key crypto.PublicKey) (*Verifier, error) {
	switch k := key.(type) {
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ECDSA key on curve %s is not supported: use P-256", k.Curve.Params().Name)
		}
	default:
		return nil, fmt.Errorf("%T keys are not supported: use Ed25519 or ECDSA P-256", key)
	}
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &Verifier{key: key, id: hex.EncodeToString(sum[:])}, nil
}

// PublicPEM is the public key in PEM, as LoadVerifier reads it.
func (v *Verifier) PublicPEM() []byte {
	der, _ := x509.MarshalPKIXPublicKey(v.key) // newVerifier marshalled it already
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
