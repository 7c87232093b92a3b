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
// with a warning and gets its head on the next commit (signed when a key is
// set: trust on first use), or from Reseal.
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
		ps, n, err := s.Verify()
		if err != nil || n != 2 || fatalCount(ps) != 0 || len(ps) != 1 || !ps[0].Warning || !strings.Contains(ps[0].Message, "the next override writes it, signed") || !strings.Contains(ps[0].Message, "`driftgate incidents reseal`") {
			t.Fatalf("verify: %+v %d %v", ps, n, err)
		}
		// The first override after the upgrade is not refused, and seals it.
		r := newRecord(t)
		h, err := s.Commit(r)
		if err != nil || h.Seq != 3 || h.Signature == "" || h.KeyID != s.keyID() {
			t.Fatalf("commit onto a legacy log without a head, with a key set: %+v %v", h, err)
		}
		if ps, n, err := s.Verify(); err != nil || n != 3 || len(ps) != 0 {
			t.Fatalf("after a commit: %+v %d %v", ps, n, err)
		}
		cutLast(t, s, []string{r.ID})
		if ps, _, _ := s.Verify(); fatalCount(ps) == 0 || !ps[0].Truncated {
			t.Errorf("a cut after the upgrade is not detected: %+v", ps)
		}
	})
	t.Run("key, reseal", func(t *testing.T) {
		t.Parallel()
		s := legacy(t, "k1")
		h, err := s.Reseal()
		if err != nil || h.Seq != 2 || h.Signature == "" {
			t.Fatalf("reseal: %+v %v", h, err)
		}
		if ps, n, err := s.Verify(); err != nil || n != 2 || len(ps) != 0 {
			t.Fatalf("after reseal: %+v %d %v", ps, n, err)
		}
	})
	t.Run("key, a format-2 entry before a legacy one", func(t *testing.T) {
		t.Parallel()
		// Only a log whose every entry is legacy is trusted on first use:
		// one written with a head somewhere, and no head, stays fatal, and
		// a commit does not go ahead on the last entry alone.
		s := legacy(t, "k1")
		lines := logLines(t, s)
		var e Entry
		json.Unmarshal([]byte(lines[0]), &e)
		e.Format = entryFormatHead
		e.Digest = entryDigest(e.Format, e.Seq, e.Prev, e.Record)
		b, _ := json.Marshal(e)
		writeLog(t, s, string(b)+"\n", lines[1])
		if ps, _, _ := s.Verify(); fatalCount(ps) == 0 {
			t.Errorf("verify: %+v", ps)
		}
		if _, err := s.Commit(newRecord(t)); err == nil || !strings.Contains(err.Error(), "does not match its head") {
			t.Errorf("commit: %v", err)
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

// TestLogDeletedWithRecords: deleting the log and its head leaves the
// records behind; when they look committed (more than one, or one with its
// postmortem), verify fails and no new chain is started over them. A single
// record without a postmortem is what a gate killed before its first commit
// leaves: a note, and the next commit goes ahead.
func TestLogDeletedWithRecords(t *testing.T) {
	t.Parallel()
	deleteLog := func(t *testing.T, s *Store) {
		t.Helper()
		for _, f := range []string{LogFile, HeadFile} {
			if err := os.Remove(filepath.Join(s.Dir, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name string
		key  string
		edit func(t *testing.T, s *Store)
		want string
	}{
		{"three records, log and head deleted", "", func(t *testing.T, s *Store) {
			for range 3 {
				if _, err := s.Commit(newRecord(t)); err != nil {
					t.Fatal(err)
				}
			}
			deleteLog(t, s)
		}, "3 incident record(s) exist but the log is missing: the log was deleted"},
		{"one record with its postmortem, log and head deleted, key set", "k1", func(t *testing.T, s *Store) {
			r := newRecord(t)
			if _, err := s.Commit(r); err != nil {
				t.Fatal(err)
			}
			if err := s.WriteFile(r.ID+".md", []byte(Postmortem(r))); err != nil {
				t.Fatal(err)
			}
			deleteLog(t, s)
		}, "1 incident record(s) exist but the log is missing: the log was deleted"},
		{"two records, log emptied and head deleted", "", func(t *testing.T, s *Store) {
			for range 2 {
				if _, err := s.Commit(newRecord(t)); err != nil {
					t.Fatal(err)
				}
			}
			os.Truncate(filepath.Join(s.Dir, LogFile), 0)
			os.Remove(filepath.Join(s.Dir, HeadFile))
		}, "2 incident record(s) exist but the log is empty: it was emptied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Store{Dir: t.TempDir(), Key: []byte(tt.key)}
			tt.edit(t, s)
			ps, n, err := s.Verify()
			if err != nil {
				t.Fatal(err)
			}
			p := firstFatal(ps)
			if n != 0 || p == nil || !p.Truncated || !strings.Contains(p.Message, tt.want) {
				t.Fatalf("want a TRUNCATED problem with %q, got %d %+v", tt.want, n, ps)
			}
			before, _ := os.ReadFile(filepath.Join(s.Dir, LogFile))
			if _, err := s.Commit(newRecord(t)); err == nil || !strings.Contains(err.Error(), "run `driftgate incidents verify`") {
				t.Errorf("commit over the deleted log's records: %v", err)
			}
			if after, _ := os.ReadFile(filepath.Join(s.Dir, LogFile)); string(after) != string(before) {
				t.Errorf("a new chain was started: %q", after)
			}
		})
	}
	t.Run("one record without a postmortem is a gate killed before its commit", func(t *testing.T) {
		t.Parallel()
		s := &Store{Dir: t.TempDir(), Key: []byte("k1")}
		b, _ := json.Marshal(newRecord(t))
		os.WriteFile(filepath.Join(s.Dir, "dg-20261122T060000Z-aaaaaa.json"), b, 0o600)
		if ps, n, err := s.Verify(); err != nil || n != 0 || fatalCount(ps) != 0 || len(ps) != 1 || !strings.Contains(ps[0].Message, "never committed") {
			t.Fatalf("verify: %+v %d %v", ps, n, err)
		}
		if _, err := s.Commit(newRecord(t)); err != nil {
			t.Fatal(err)
		}
		if ps, n, err := s.Verify(); err != nil || n != 1 || fatalCount(ps) != 0 {
			t.Errorf("after the commit: %+v %d %v", ps, n, err)
		}
	})
}

// wantReseal is how every message about the key's state ends.
const wantReseal = "if the key was set or rotated on purpose, run `driftgate incidents reseal` with it set, after `driftgate incidents verify` without the key passes"

// TestKeyStateSaysReseal: a head unsigned, or signed with another key,
// while a key is set fails verify and refuses a commit, and both messages
// end with how to reseal when the key changed on purpose.
func TestKeyStateSaysReseal(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, key string }{{"unsigned head", ""}, {"head signed with another key", "old"}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := storeOf3(t, tt.key)
			s.Key = []byte("new")
			ps, _, err := s.Verify()
			if err != nil {
				t.Fatal(err)
			}
			if p := firstFatal(ps); p == nil || !strings.HasSuffix(p.Message, wantReseal) {
				t.Errorf("verify: want a fatal problem ending %q, got %+v", wantReseal, ps)
			}
			if _, err := s.Commit(newRecord(t)); err == nil || !strings.HasSuffix(err.Error(), wantReseal) {
				t.Errorf("commit: want a refusal ending %q, got %v", wantReseal, err)
			}
		})
	}
}

// TestHeadLagsByMoreThanOne: with a key, entries appended past the head by
// more than the one a killed gate leaves are tampering, and no commit
// blesses them; without a key they are a note.
func TestHeadLagsByMoreThanOne(t *testing.T) {
	t.Parallel()
	s, _ := storeOf3(t, "k1")
	if err := s.writeHead(headOf(t, s, 1, "k1")); err != nil {
		t.Fatal(err)
	}
	ps, _, err := s.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if p := firstFatal(ps); p == nil || p.Truncated || !strings.Contains(p.Message, "entries 2..3 were added after the head without it") {
		t.Fatalf("verify: %+v", ps)
	}
	before, _ := os.ReadFile(filepath.Join(s.Dir, LogFile))
	if _, err := s.Commit(newRecord(t)); err == nil || !strings.Contains(err.Error(), "does not match its head") {
		t.Errorf("commit onto entries added without the head: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(s.Dir, LogFile)); string(after) != string(before) {
		t.Errorf("the log changed")
	}
	if _, err := s.Reseal(); err == nil {
		t.Errorf("reseal blessed entries added without the head")
	}
	if ps, _, _ := (&Store{Dir: s.Dir}).Verify(); fatalCount(ps) != 0 {
		t.Errorf("without a key: %+v", ps)
	}
}

// TestLegacyRewriteCaughtByExpect: a log cut, rewritten in the format from
// before heads and stripped of its head looks like a log from before the
// upgrade, which is trusted on first use (a warning, even with a key); a
// digest a hook received is then no entry of the log.
func TestLegacyRewriteCaughtByExpect(t *testing.T) {
	t.Parallel()
	s, ids := storeOf3(t, "k1")
	delivered, err := s.readHead()
	if err != nil {
		t.Fatal(err)
	}
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
	ps, _, err := s.Verify()
	if err != nil || fatalCount(ps) != 0 || len(ps) != 1 || !ps[0].Warning || !strings.Contains(ps[0].Message, "--expect") {
		t.Fatalf("verify: %+v %v", ps, err)
	}
	ps, err = s.Expect(delivered.Digest)
	if err != nil || len(ps) != 1 || !ps[0].Truncated {
		t.Errorf("expect: %+v %v", ps, err)
	}
}
