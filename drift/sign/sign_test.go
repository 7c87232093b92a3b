package sign

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pemOf is the PEM of key in the given form.
func pemOf(t *testing.T, key any, form string) []byte {
	t.Helper()
	var der []byte
	var err error
	typ := "PRIVATE KEY"
	switch form {
	case "pkcs8":
		der, err = x509.MarshalPKCS8PrivateKey(key)
	case "sec1":
		der, err = x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
		typ = "EC PRIVATE KEY"
	case "pkcs1":
		der = x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))
		typ = "RSA PRIVATE KEY"
	case "public":
		der, err = x509.MarshalPKIXPublicKey(key)
		typ = "PUBLIC KEY"
	}
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writeKey(t *testing.T, data []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

func TestLoadSigner(t *testing.T) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	t.Setenv("DRIFTGATE_TEST_SIGN_KEY", string(pemOf(t, edKey, "pkcs8")))
	t.Setenv("DRIFTGATE_TEST_EMPTY", "")
	tests := []struct {
		name string
		spec func(t *testing.T) string
		want string // error substring; "" for none
	}{
		{"ed25519 pkcs8", func(t *testing.T) string { return writeKey(t, pemOf(t, edKey, "pkcs8"), 0o600) }, ""},
		{"p256 pkcs8", func(t *testing.T) string { return writeKey(t, pemOf(t, p256, "pkcs8"), 0o600) }, ""},
		{"p256 sec1", func(t *testing.T) string { return writeKey(t, pemOf(t, p256, "sec1"), 0o400) }, ""},
		{"env", func(*testing.T) string { return "env:DRIFTGATE_TEST_SIGN_KEY" }, ""},
		{"env empty", func(*testing.T) string { return "env:DRIFTGATE_TEST_EMPTY" }, "env:DRIFTGATE_TEST_EMPTY is not set or empty"},
		{"readable by group", func(t *testing.T) string { return writeKey(t, pemOf(t, edKey, "pkcs8"), 0o640) }, "private key is readable by group or others (mode 0640)"},
		{"readable by others", func(t *testing.T) string { return writeKey(t, pemOf(t, edKey, "pkcs8"), 0o604) }, "chmod 600"},
		{"p384", func(t *testing.T) string { return writeKey(t, pemOf(t, p384, "pkcs8"), 0o600) }, "curve P-384 is not supported"},
		{"rsa pkcs8", func(t *testing.T) string { return writeKey(t, pemOf(t, rsaKey, "pkcs8"), 0o600) }, "*rsa.PrivateKey keys are not supported"},
		{"rsa pkcs1", func(t *testing.T) string { return writeKey(t, pemOf(t, rsaKey, "pkcs1"), 0o600) }, "RSA keys are not supported"},
		{"public key", func(t *testing.T) string { return writeKey(t, pemOf(t, p256.Public(), "public"), 0o600) }, `"PUBLIC KEY" is not a private key`},
		{"not pem", func(t *testing.T) string { return writeKey(t, []byte("hello"), 0o600) }, "no PEM block"},
		{"encrypted", func(t *testing.T) string {
			return writeKey(t, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), 0o600)
		}, "encrypted"},
		{"folder", func(t *testing.T) string { return t.TempDir() }, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadSigner(tt.spec(t))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.want == "" && len(s.KeyID()) != 64:
				t.Errorf("key id %q", s.KeyID())
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestLoadVerifier(t *testing.T) {
	t.Parallel()
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"public", pemOf(t, p256.Public(), "public"), ""},
		{"private given as public", pemOf(t, p256, "pkcs8"), `"PRIVATE KEY" is not a public key`},
		{"garbage", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), "bad public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A public key may be readable by anyone.
			v, err := LoadVerifier(writeKey(t, tt.data, 0o644))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.want == "":
				s, _ := ParseSigner(pemOf(t, p256, "pkcs8"))
				if v.KeyID() != s.KeyID() {
					t.Errorf("public key id %s, private key's %s", v.KeyID(), s.KeyID())
				}
			case err == nil || !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// TestPAE checks the encoding against the example of the DSSE protocol.
func TestPAE(t *testing.T) {
	t.Parallel()
	got := string(PAE("http://example.com/HelloWorld", []byte("hello world")))
	if diff := cmp.Diff("DSSEv1 29 http://example.com/HelloWorld 11 hello world", got); diff != "" {
		t.Error(diff)
	}
}

func signers(t *testing.T) map[string]*Signer {
	t.Helper()
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	out := map[string]*Signer{}
	for name, key := range map[string]any{"ed25519": edKey, "p256": p256} {
		s, err := ParseSigner(pemOf(t, key, "pkcs8"))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s
	}
	return out
}

func TestVerify(t *testing.T) {
	t.Parallel()
	const typ = "application/vnd.test+json"
	for name, s := range signers(t) {
		other := signers(t)[name]
		env, err := s.Sign(typ, []byte(`{"a":1}`))
		if err != nil {
			t.Fatal(err)
		}
		edit := func(f func(e *Envelope)) *Envelope {
			c := *env
			c.Signatures = append([]Signature(nil), env.Signatures...)
			f(&c)
			return &c
		}
		tests := []struct {
			name string
			env  *Envelope
			v    *Verifier
			want error
		}{
			{"good", env, s.Public(), nil},
			{"nil", nil, s.Public(), ErrUnsigned},
			{"no signatures", edit(func(e *Envelope) { e.Signatures = nil }), s.Public(), ErrUnsigned},
			{"other key", env, other.Public(), ErrUntrustedKey},
			{"payload changed", edit(func(e *Envelope) { e.Payload = base64.StdEncoding.EncodeToString([]byte(`{"a":2}`)) }), s.Public(), ErrBadSignature},
			{"type changed", edit(func(e *Envelope) { e.PayloadType = "application/other" }), s.Public(), ErrPayloadType},
			{"key id forged", edit(func(e *Envelope) { e.Signatures[0].KeyID = other.KeyID() }), other.Public(), ErrBadSignature},
			{"key id stripped", edit(func(e *Envelope) { e.Signatures[0].KeyID = "" }), s.Public(), nil},
		}
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				payload, err := tt.v.Verify(tt.env, typ)
				if !errors.Is(err, tt.want) {
					t.Fatalf("error %v, want %v", err, tt.want)
				}
				if err == nil && string(payload) != `{"a":1}` {
					t.Errorf("payload %q", payload)
				}
			})
		}
	}
}

// TestOpenSSLVerifies checks the claim of the README: the signature of an
// envelope is an ordinary Ed25519 or ECDSA P-256/SHA-256 signature over
// the PAE bytes, which openssl verifies with the .pub file alone, and the
// keyid is the SHA-256 of the key's DER. Keys made by openssl are read.
func TestOpenSSLVerifies(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	run := func(t *testing.T, dir string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		gen    []string
		verify []string
	}{
		{"ed25519", []string{"genpkey", "-algorithm", "ed25519", "-out", "key.pem"},
			[]string{"pkeyutl", "-verify", "-pubin", "-inkey", "key.pub", "-rawin", "-in", "pae.bin", "-sigfile", "sig.bin"}},
		{"p256 sec1", []string{"ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "key.pem"},
			[]string{"dgst", "-sha256", "-verify", "key.pub", "-signature", "sig.bin", "pae.bin"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			run(t, dir, tt.gen...)
			run(t, dir, "pkey", "-in", "key.pem", "-pubout", "-out", "key.pub")
			if err := os.Chmod(filepath.Join(dir, "key.pem"), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := LoadSigner(filepath.Join(dir, "key.pem"))
			if err != nil {
				t.Fatal(err)
			}
			env, err := s.Sign("application/vnd.test+json", []byte(`{"env":"prod"}`))
			if err != nil {
				t.Fatal(err)
			}
			sig, _ := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
			payload, _ := base64.StdEncoding.DecodeString(env.Payload)
			for name, b := range map[string][]byte{"sig.bin": sig, "pae.bin": PAE(env.PayloadType, payload)} {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if out := run(t, dir, tt.verify...); !strings.Contains(string(out), "Verified") && !strings.Contains(string(out), "Success") {
				t.Errorf("openssl says %s", out)
			}
			der := run(t, dir, "pkey", "-pubin", "-in", "key.pub", "-outform", "DER")
			v, err := LoadVerifier(filepath.Join(dir, "key.pub"))
			if err != nil {
				t.Fatal(err)
			}
			if got := sha256hex(der); got != env.Signatures[0].KeyID || got != v.KeyID() {
				t.Errorf("keyid %s, verifier %s, sha256 of the DER %s", env.Signatures[0].KeyID, v.KeyID(), got)
			}
		})
	}
}
