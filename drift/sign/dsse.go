package sign

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Envelope is a DSSE envelope (protocol v1.0.2): the payload, its type,
// and signatures over PAE(payloadType, payload). Payload and Sig are
// standard base64, as the reference implementation writes them.
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one signature of an Envelope.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// Refusals of Verify. Each is wrapped by an error that says more.
var (
	// ErrUnsigned: there is no signature at all.
	ErrUnsigned = errors.New("not signed")
	// ErrUntrustedKey: signed, but by no trusted key.
	ErrUntrustedKey = errors.New("signed by another key")
	// ErrBadSignature: a signature by the trusted key's id that does not
	// verify (the payload or its type were changed).
	ErrBadSignature = errors.New("signature does not verify")
	// ErrPayloadType: a signature over another kind of statement.
	ErrPayloadType = errors.New("envelope holds another kind of statement")
)

// PAE is DSSE's pre-authentication encoding, what is signed:
// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII
// decimal. Binding the type means a signature is never valid for the same
// bytes read as something else.
func PAE(payloadType string, payload []byte) []byte {
	b := make([]byte, 0, 32+len(payloadType)+len(payload))
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// Sign wraps payload, of payloadType, in an envelope signed by s: Ed25519
// over the PAE bytes, or ECDSA P-256 over their SHA-256, ASN.1 DER encoded
// (what `openssl dgst -sha256 -sign` and cosign produce).
func (s *Signer) Sign(payloadType string, payload []byte) (*Envelope, error) {
	msg := PAE(payloadType, payload)
	var sig []byte
	var err error
	switch k := s.key.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, msg)
	case *ecdsa.PrivateKey:
		sum := sha256.Sum256(msg)
		sig, err = ecdsa.SignASN1(rand.Reader, k, sum[:])
	default:
		err = fmt.Errorf("%T keys are not supported", s.key)
	}
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return &Envelope{
		PayloadType: payloadType,
		Payload:     base64.StdEncoding.EncodeToString(payload),
		Signatures:  []Signature{{KeyID: s.KeyID(), Sig: base64.StdEncoding.EncodeToString(sig)}},
	}, nil
}

// SignJSON is Sign of v's JSON.
func (s *Signer) SignJSON(payloadType string, v any) (*Envelope, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return s.Sign(payloadType, b)
}

// Verify returns the payload of env when one of its signatures is v's
// over it and payloadType; otherwise ErrUnsigned, ErrPayloadType,
// ErrUntrustedKey or ErrBadSignature, wrapped. Every signature is tried
// whatever its keyid says (keyid is a hint an attacker writes), and the
// payload is returned only from a verified envelope.
func (v *Verifier) Verify(env *Envelope, payloadType string) ([]byte, error) {
	if env == nil || len(env.Signatures) == 0 {
		return nil, ErrUnsigned
	}
	if env.PayloadType != payloadType {
		return nil, fmt.Errorf("%w: payloadType %q, want %q", ErrPayloadType, env.PayloadType, payloadType)
	}
	payload, err := decodeBase64(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64", ErrBadSignature)
	}
	msg := PAE(env.PayloadType, payload)
	claimed := false
	var ids []string
	for _, s := range env.Signatures {
		ids = append(ids, s.KeyID)
		claimed = claimed || s.KeyID == v.id
		sig, err := decodeBase64(s.Sig)
		if err != nil {
			continue
		}
		if v.verify(msg, sig) {
			return payload, nil
		}
	}
	if claimed {
		return nil, fmt.Errorf("%w with key %s: the signed statement was changed after signing", ErrBadSignature, v.id)
	}
	return nil, fmt.Errorf("%w: key id(s) %q, trusted key %s (%s)", ErrUntrustedKey, ids, v.id, v.source)
}

func (v *Verifier) verify(msg, sig []byte) bool {
	switch k := v.key.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, msg, sig)
	case *ecdsa.PublicKey:
		sum := sha256.Sum256(msg)
		return ecdsa.VerifyASN1(k, sum[:], sig)
	}
	return false
}

// decodeBase64 takes standard or URL-safe base64, padded or not, as the
// DSSE protocol asks of a verifier.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
