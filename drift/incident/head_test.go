package incident

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// storeOf3 commits three records to a new store with key.
func storeOf3(t *testing.T, key string) (*Store, []string) {
	t.Helper()
	s := &Store{Dir: t.TempDir(), Key: []byte(key)}
	var ids []string
	for range 3 {
		r := newRecord(t)
		if _, err := s.Commit(r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	return s, ids
}

func logLines(t *testing.T, s *Store) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
}

func writeLog(t *testing.T, s *Store, lines ...string) {
	t.Helper()
	out := strings.Join(lines, "")
	if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	if err := os.WriteFile(filepath.Join(s.Dir, LogFile), []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
}

// cutLast removes the log's last entry and its record, as someone hiding
// the last override would.
func cutLast(t *testing.T, s *Store, ids []string) {
	t.Helper()
	lines := logLines(t, s)
	writeLog(t, s, lines[:len(lines)-1]...)
	os.Remove(filepath.Join(s.Dir, ids[len(ids)-1]+".json"))
}

// headOf returns the head an honest writer would have written for the
// log's first n entries, signed with key (unsigned when empty).
func headOf(t *testing.T, s *Store, n int, key string) Head {
	t.Helper()
	entries, _, err := s.readLog()
	if err != nil {
		t.Fatal(err)
	}
	signer := &Store{Key: []byte(key)}
	return signer.sign(Head{Seq: n, Digest: entries[n-1].Digest})
}

// TestVerifyDetectsRewind covers what a head adds to the chain: a log cut
// short, or rewound and rewritten, no longer passes; with a key, neither
// does a head rewritten to match without the key.
func TestVerifyDetectsRewind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		edit func(t *testing.T, s *Store, ids []string)
		want string
	}{
		{"last entry and record removed", "", cutLast, "the log has 2 entries but its head says 3"},
		{"last entry removed and the head deleted", "", func(t *testing.T, s *Store, ids []string) {
			cutLast(t, s, ids)
			os.Remove(filepath.Join(s.Dir, HeadFile))
		}, "incidents.head is missing, but the log's entries were written with one"},
		{"rewound and rewritten from entry 3", "", func(t *testing.T, s *Store, ids []string) {
			lines := logLines(t, s)
			var e Entry
			json.Unmarshal([]byte(lines[2]), &e)
			e.Record = json.RawMessage(strings.Replace(string(e.Record), "INC-42", "INC-43", 1))
			e.Digest = entryDigest(e.Format, e.Seq, e.Prev, e.Record)
			b, _ := json.Marshal(e)
			writeLog(t, s, lines[0], lines[1], string(b))
			os.WriteFile(filepath.Join(s.Dir, ids[2]+".json"), e.Record, 0o600)
		}, "entry 3 is not the entry the head vouches for"},
		{"cut, and the head rewritten without the key", "k1", func(t *testing.T, s *Store, ids []string) {
			cutLast(t, s, ids)
			s.writeHead(headOf(t, s, 2, ""))
		}, "the head is not signed, but a key is set"},
		{"cut, and the head signed with another key", "k1", func(t *testing.T, s *Store, ids []string) {
			cutLast(t, s, ids)
			s.writeHead(headOf(t, s, 2, "guess"))
		}, "the head is signed with key id"},
		{"cut, and the head's count edited under the old signature", "k1", func(t *testing.T, s *Store, ids []string) {
			h := headOf(t, s, 3, "k1")
			cutLast(t, s, ids)
			sig := h.Signature
			h = headOf(t, s, 2, "")
			h.KeyID, h.Signature = (&Store{Key: []byte("k1")}).keyID(), sig
			s.writeHead(h)
		}, "the head's signature does not match its content"},
		{"cut, head deleted, chain rewritten the old way, key set", "k1", func(t *testing.T, s *Store, ids []string) {
			lines := logLines(t, s)
			prev := genesis
			var legacy []string
			for _, l := range lines[:2] {
				var e Entry
				json.Unmarshal([]byte(l), &e)
				e.Format, e.Prev = 0, prev
				e.Digest = entryDigest(0, e.Seq, e.Prev, e.Record)
				prev = e.Digest
				b, _ := json.Marshal(e)
				legacy = append(legacy, string(b)+"\n")
			}
			writeLog(t, s, legacy...)
			os.Remove(filepath.Join(s.Dir, ids[2]+".json"))
			os.Remove(filepath.Join(s.Dir, HeadFile))
		}, "incidents.head is missing and a key is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, ids := storeOf3(t, tt.key)
			tt.edit(t, s, ids)
			ps, _, err := s.Verify()
			if err != nil {
				t.Fatal(err)
			}
			p := firstFatal(ps)
			if p == nil || !strings.Contains(p.Message, tt.want) {
				t.Fatalf("want a fatal problem with %q, got %+v", tt.want, ps)
			}
			// Nothing is appended to a rewound log.
			before, _ := os.ReadFile(filepath.Join(s.Dir, LogFile))
			if _, err := s.Commit(newRecord(t)); err == nil || !strings.Contains(err.Error(), "does not match its head") {
				t.Errorf("commit onto the rewound log: %v", err)
			}
			if after, _ := os.ReadFile(filepath.Join(s.Dir, LogFile)); string(after) != string(before) {
				t.Errorf("the log changed")
			}
		})
	}
}

// TestHeadLagsAfterKill: a gate killed between the log's rename and the
// head's leaves the head one entry behind; that is a note, and the next
// commit moves the head on.
func TestHeadLagsAfterKill(t *testing.T) {
	t.Parallel()
	s, _ := storeOf3(t, "k1")
	if err := s.writeHead(headOf(t, s, 2, "k1")); err != nil {
		t.Fatal(err)
	}
	ps, n, err := s.Verify()
	if err != nil || n != 3 || fatalCount(ps) != 0 || len(ps) != 1 || !strings.Contains(ps[0].Message, "entry 3 comes after the head") {
		t.Fatalf("verify: %+v %d %v", ps, n, err)
	}
	if _, err := s.Commit(newRecord(t)); err != nil {
		t.Fatal(err)
	}
	if ps, n, err := s.Verify(); err != nil || n != 4 || len(ps) != 0 {
		t.Errorf("after the next commit: %+v %d %v", ps, n, err)
	}
}

// TestLegacyLogWithoutHead: a log written before heads existed verifies
// with a warning (no key) and gets its head on the next commit; with a key
// it must be resealed first.
func TestLegacyLogWithoutHead(t *testing.T) {
	t.Parallel()
	legacy := func(t *testing.T, key string) *Store {
		s := &Store{Dir: t.TempDir(), Key: []byte(key)}
		prev := genesis
		var lines []string
		for i := range 2 {
			r := newRecord(t)
			body, _ := json.Marshal(r)
			pretty, _ := json.MarshalIndent(r, "", "  ")
			os.WriteFile(filepath.Join(s.Dir, r.ID+".json"), pretty, 0o644)
			e := Entry{Seq: i + 1, Prev: prev, Record: body}
			e.Digest = entryDigest(0, e.Seq, e.Prev, body)
			prev = e.Digest
			b, _ := json.Marshal(e)
			lines = append(lines, string(b)+"\n")
		}
		writeLog(t, s, lines...)
		return s
	}
	t.Run("no key", func(t *testing.T) {
		t.Parallel()
		s := legacy(t, "")
		ps, n, err := s.Verify()
		if err != nil || n != 2 || fatalCount(ps) != 0 || len(ps) != 1 || !ps[0].Warning || !strings.Contains(ps[0].Message, "written before driftgate kept a head") {
			t.Fatalf("verify: %+v %d %v", ps, n, err)
		}
		r := newRecord(t)
		if _, err := s.Commit(r); err != nil {
			t.Fatal(err)
		}
		if ps, n, err := s.Verify(); err != nil || n != 3 || len(ps) != 0 {
			t.Fatalf("after a commit: %+v %d %v", ps, n, err)
		}
		cutLast(t, s, []string{r.ID})
		if ps, _, _ := s.Verify(); fatalCount(ps) == 0 || !ps[0].Truncated {
			t.Errorf("a cut after the upgrade is not detected: %+v", ps)
		}
	})
	t.Run("key", func(t *testing.T) {
		t.Parallel()
		s := legacy(t, "k1")
		if ps, _, _ := s.Verify(); fatalCount(ps) != 1 || !strings.Contains(ps[0].Message, "run `driftgate incidents reseal`") {
			t.Fatalf("verify: %+v", ps)
		}
		if _, err := s.Commit(newRecord(t)); err == nil {
			t.Fatal("commit onto a legacy log without a head, with a key set, succeeded")
		}
		h, err := s.Reseal()
		if err != nil || h.Seq != 2 || h.Signature == "" {
			t.Fatalf("reseal: %+v %v", h, err)
		}
		if ps, n, err := s.Verify(); err != nil || n != 2 || len(ps) != 0 {
			t.Fatalf("after reseal: %+v %d %v", ps, n, err)
		}
		if _, err := s.Commit(newRecord(t)); err != nil {
			t.Errorf("commit after reseal: %v", err)
		}
	})
}

// TestHeadKeyRotation: a head signed with one key fails under another, is
// a note without a key, and is resealed under the new key.
func TestHeadKeyRotation(t *testing.T) {
	t.Parallel()
	s, _ := storeOf3(t, "old")
	if ps, _, _ := (&Store{Dir: s.Dir}).Verify(); fatalCount(ps) != 0 || len(ps) != 1 || !strings.Contains(ps[0].Message, "no key is set here") {
		t.Errorf("without a key: %+v", ps)
	}
	rotated := &Store{Dir: s.Dir, Key: []byte("new")}
	if ps, _, _ := rotated.Verify(); fatalCount(ps) != 1 || !strings.Contains(ps[0].Message, "signed with key id") {
		t.Errorf("with another key: %+v", ps)
	}
	if _, err := rotated.Reseal(); err != nil {
		t.Fatal(err)
	}
	if ps, _, err := rotated.Verify(); err != nil || len(ps) != 0 {
		t.Errorf("after reseal: %+v %v", ps, err)
	}
	// Reseal never blesses a log that was cut short.
	cutLast(t, rotated, []string{mustLastID(t, rotated)})
	if _, err := rotated.Reseal(); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("reseal of a cut log: %v", err)
	}
}

func mustLastID(t *testing.T, s *Store) string {
	t.Helper()
	rs, err := s.List()
	if err != nil || len(rs) == 0 {
		t.Fatal(err)
	}
	return rs[len(rs)-1].ID
}

// TestOverrideDeliversHeadDigest: the logDigest a receiver gets is the
// digest the head file holds, so a receiver's copy anchors the log.
func TestOverrideDeliversHeadDigest(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rc.record(r); w.WriteHeader(http.StatusAccepted) }))
	t.Cleanup(srv.Close)
	req, _ := overrideRequest(t, "alice", Hook{Type: HookWebhook, URL: srv.URL})
	req.Store.Key = []byte("k1")
	out, err := Override(context.Background(), req)
	if err != nil || out.Status != OverrideAccepted {
		t.Fatalf("override: %+v %v", out, err)
	}
	h, err := req.Store.readHead()
	if err != nil || h == nil || h.Seq != 1 || h.Signature == "" {
		t.Fatalf("head: %+v %v", h, err)
	}
	var p Payload
	if rc.count() != 1 || json.Unmarshal(rc.bodies[0], &p) != nil || p.LogDigest != h.Digest || out.LogHead != h.Digest {
		t.Errorf("delivered %q, outcome %q, head %q", p.LogDigest, out.LogHead, h.Digest)
	}
}

// TestExpectCatchesRewindByKeyHolder: someone holding the key can cut the
// log and sign a matching head, but a digest a hook received is then no
// entry of the log.
func TestExpectCatchesRewindByKeyHolder(t *testing.T) {
	t.Parallel()
	s, ids := storeOf3(t, "k1")
	delivered, err := s.readHead()
	if err != nil {
		t.Fatal(err)
	}
	cutLast(t, s, ids)
	if err := s.writeHead(headOf(t, s, 2, "k1")); err != nil {
		t.Fatal(err)
	}
	if ps, _, err := s.Verify(); err != nil || len(ps) != 0 {
		t.Fatalf("a key holder's rewind passes the head check, as expected: %+v %v", ps, err)
	}
	ps, err := s.Expect(headOf(t, s, 1, "").Digest, delivered.Digest)
	if err != nil || len(ps) != 1 || !ps[0].Truncated || !strings.Contains(ps[0].Message, delivered.Digest+", delivered as the log's head, is no entry of the log") {
		t.Errorf("expect: %+v %v", ps, err)
	}
}
