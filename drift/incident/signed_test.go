package incident

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift/sign"
	"github.com/driftgate/driftgate/drift/sign/signtest"
)

const hmacKey = "digest-key"

// commitN commits n records to s.
func commitN(t *testing.T, s *Store, n int) {
	t.Helper()
	for range n {
		if _, err := s.Commit(newRecord(t)); err != nil {
			t.Fatal(err)
		}
	}
}

// rewriteLog replaces the entries' JSON lines by what edit makes of them.
func rewriteLog(t *testing.T, s *Store, edit func(entries []Entry)) {
	t.Helper()
	entries, _, err := s.readLog()
	if err != nil {
		t.Fatal(err)
	}
	edit(entries)
	var lines []string
	for _, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b)+"\n")
	}
	writeLog(t, s, lines...)
}

// fatals are the messages of the fatal problems.
func fatals(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		if p.Fatal {
			out = append(out, p.Message)
		}
	}
	return out
}

// TestVerifyTrust: with entries signed by incidents.signKey, verify
// --trust detects what the HMAC head cannot when the one rewriting the log
// holds the HMAC key: the log rewritten whole, entries appended, a
// signature moved; and it passes a log signed since some entry, or by a
// rotated key when both keys are given.
func TestVerifyTrust(t *testing.T) {
	t.Parallel()
	key, other := signtest.NewSigner(t), signtest.NewSigner(t)
	tests := []struct {
		name  string
		build func(t *testing.T, dir string)
		trust []*sign.Verifier
		want  string // a fatal problem's message contains it; "" for none
		// hmacPasses says that verify without --trust (the HMAC head,
		// with its key) finds nothing: the case --trust is for.
		hmacPasses bool
	}{
		{"signed log", func(t *testing.T, dir string) {
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: key}, 3)
		}, []*sign.Verifier{key.Public()}, "", true},
		{"signed from the third entry", func(t *testing.T, dir string) {
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey)}, 2)
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: key}, 2)
		}, []*sign.Verifier{key.Public()}, "", true},
		{"rewritten whole by the HMAC key's holder", func(t *testing.T, dir string) {
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: key}, 3)
			emptyDir(t, dir)
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey)}, 2)
		}, []*sign.Verifier{key.Public()}, "no entry of the log is signed", true},
		{"rewritten whole with another key", func(t *testing.T, dir string) {
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: key}, 3)
			emptyDir(t, dir)
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: other}, 2)
		}, []*sign.Verifier{key.Public()}, "entry 1's signature is refused: signed by another key", true},
		{"entry appended without the sign key", func(t *testing.T, dir string) {
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: key}, 2)
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey)}, 1)
		}, []*sign.Verifier{key.Public()}, "entry 3 is not signed, but entry 1 before it is", true},
		{"signature moved to another entry", func(t *testing.T, dir string) {
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: key}, 3)
			rewriteLog(t, &Store{Dir: dir}, func(es []Entry) { es[2].Signature = es[1].Signature })
		}, []*sign.Verifier{key.Public()}, "entry 3's signature vouches for entry 2", true},
		{"signatures stripped, head signed", func(t *testing.T, dir string) {
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: key}, 2)
			rewriteLog(t, &Store{Dir: dir}, func(es []Entry) {
				for i := range es {
					es[i].Signature = nil
				}
			})
		}, []*sign.Verifier{key.Public()}, "the head is signed, but no entry of the log is", true},
		{"rotated key, both trusted", func(t *testing.T, dir string) {
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: other}, 2)
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: key}, 1)
		}, []*sign.Verifier{key.Public(), other.Public()}, "", true},
		{"rotated key, only the new one trusted", func(t *testing.T, dir string) {
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: other}, 2)
			commitN(t, &Store{Dir: dir, Key: []byte(hmacKey), Signer: key}, 1)
		}, []*sign.Verifier{key.Public()}, "entry 1's signature is refused: signed by another key", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.build(t, dir)
			if tt.hmacPasses {
				ps, _, err := (&Store{Dir: dir, Key: []byte(hmacKey)}).Verify()
				if err != nil || len(fatals(ps)) > 0 {
					t.Fatalf("without --trust: %v %q", err, fatals(ps))
				}
			}
			ps, _, err := (&Store{Dir: dir, Key: []byte(hmacKey), Trust: tt.trust}).Verify()
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(fatals(ps), "\n")
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("fatal problems %q, want one saying %q", got, tt.want)
			}
		})
	}
}

// emptyDir removes the store's files, as someone rewriting it whole would.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(dir, n.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCommitRefusesToSignOverUnsignedEntries: the gate, holding the key,
// does not sign a new head onto a log whose signatures show it was
// tampered with, which would vouch for the tampering.
func TestCommitRefusesToSignOverUnsignedEntries(t *testing.T) {
	t.Parallel()
	key := signtest.NewSigner(t)
	dir := t.TempDir()
	gate := &Store{Dir: dir, Key: []byte(hmacKey), Signer: key}
	commitN(t, gate, 2)
	commitN(t, &Store{Dir: dir, Key: []byte(hmacKey)}, 1) // no sign key
	_, err := gate.Commit(newRecord(t))
	if err == nil || !strings.Contains(err.Error(), "does not match its signatures, so no entry is signed onto it: entry 3 is not signed") {
		t.Errorf("error %v", err)
	}
	// The head the last commit wrote is signed too, with the entry's signature.
	h, err := (&Store{Dir: dir}).readHead()
	if err != nil || h.Seq != 3 || h.Envelope != nil {
		t.Fatalf("head %+v, error %v", h, err)
	}
	dir2 := t.TempDir()
	commitN(t, &Store{Dir: dir2, Signer: key}, 1)
	h, err = (&Store{Dir: dir2}).readHead()
	if err != nil || h.Envelope == nil {
		t.Fatalf("head %+v, error %v: no envelope", h, err)
	}
	if st, err := verifyHead(h.Envelope, []*sign.Verifier{key.Public()}); err != nil || st.Seq != 1 || st.Digest != h.Digest {
		t.Errorf("head statement %+v, error %v", st, err)
	}
}
