package incident

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/sign"
	"github.com/driftgate/driftgate/internal/atomicfile"
	"github.com/driftgate/driftgate/internal/regularfile"
)

// LogFile is the hash-chained log of committed records, one JSON entry a line.
const LogFile = "incidents.log"

// HeadFile holds the log's head: how many entries it has and the last
// one's digest, signed when the store has a key. A log that lost its last
// entries still chains, so only a head kept apart from it shows that it
// was cut short.
const HeadFile = "incidents.head"

// genesis is the previous digest of the first entry.
const genesis = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// Files of the store are private to the user running the gate: records
// hold reasons and findings, and the log cannot be purged later.
const (
	fileMode os.FileMode = 0o600
	dirMode  os.FileMode = 0o700
)

// Store is a directory of incident records:
//
//	incidents.log        hash-chained log; each entry embeds its record
//	incidents.head       the log's entry count and last digest, signed with Key
//	<id>.json            the record, as committed (a readable copy)
//	<id>.md              the postmortem skeleton
//	outbox/<id>.<n>.json deliveries still to make (hook n of the config)
//
// Its files are written 0600 and never read or written through a symlink.
type Store struct {
	Dir string
	// Key signs the head (HMAC-SHA256), so that someone who can write the
	// directory but does not hold the key cannot cut the log short and
	// rewrite the head to match. Empty leaves the head unsigned. driftgate
	// uses DRIFTGATE_DIGEST_KEY, the key of Secret digests.
	Key []byte
	// Signer, when set, signs each entry's chain head (its sequence number
	// and digest) with a private key (incidents.signKey), so that the log
	// can be checked with the public key alone (Trust): rewriting it then
	// takes the private key, not just the HMAC key every verifier holds.
	Signer *sign.Signer
	// Trust, when set, are the public keys Verify requires the log's
	// signatures to be made with (incidents verify --trust).
	Trust []*sign.Verifier
}

// entryFormatHead marks entries written by a driftgate that keeps a head
// file. Their digest covers the format, so the mark cannot be stripped to
// pass a log whose head was deleted off as one written before heads.
const entryFormatHead = 2

// Entry is one line of the log. Digest covers Format (when set), Seq, Prev
// and the record's canonical JSON; Prev is the Digest of the entry before.
type Entry struct {
	Format int             `json:"format,omitempty"`
	Seq    int             `json:"seq"`
	Prev   string          `json:"prev"`
	Digest string          `json:"digest"`
	Record json.RawMessage `json:"record"`
	// Signature, when the store has a Signer, is a DSSE envelope over the
	// HeadStatement of this entry. Digest does not cover it (it signs
	// Digest), and Prev of the next entry does not either.
	Signature *sign.Envelope `json:"signature,omitempty"`
}

func entryDigest(format, seq int, prev string, record []byte) string {
	h := sha256.New()
	if format != 0 {
		fmt.Fprintf(h, "driftgate incident entry %d\n", format)
	}
	fmt.Fprintf(h, "%d\n%s\n", seq, prev)
	h.Write(record)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Head is the state of the log after its last entry. Deliveries carry its
// Digest (the payload's logDigest), so a receiver that keeps them can tell
// when the log no longer holds an entry it was told about.
type Head struct {
	// Seq is the number of entries; Digest is the last one's.
	Seq    int    `json:"seq"`
	Digest string `json:"digest"`
	// KeyID names the key that signed the head, as snapshots' secretDigest
	// does, without revealing it; empty when the head is unsigned.
	KeyID     string `json:"keyId,omitempty"`
	Signature string `json:"signature,omitempty"`
	// Envelope is the last entry's Signature, when it has one: the head
	// signed with the private key, which a verifier holding only the
	// public key can check.
	Envelope *sign.Envelope `json:"envelope,omitempty"`
}

func (s *Store) keyID() string { return drift.NewNormalizer(s.Key).SecretDigest() }

func (s *Store) headSignature(h Head) string {
	m := hmac.New(sha256.New, s.Key)
	fmt.Fprintf(m, "driftgate incident head\n%d\n%s", h.Seq, h.Digest)
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// sign returns h signed with the store's key, or unsigned without one.
func (s *Store) sign(h Head) Head {
	h.KeyID, h.Signature = "", ""
	if len(s.Key) > 0 {
		h.KeyID, h.Signature = s.keyID(), s.headSignature(h)
	}
	return h
}

// ErrSymlink is returned for a store file that is a symbolic link: nothing
// driftgate writes there is one, and following it would let whoever
// planted it choose what is read or locked.
var ErrSymlink = errors.New("is a symbolic link; driftgate does not follow links in the incident store: remove it")

// openNoFollow opens a store file without following a symlink, and only
// when it is a regular file. O_NONBLOCK keeps a FIFO planted there from
// blocking the open; it changes nothing for a regular file.
func openNoFollow(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, perm)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s %w", path, ErrSymlink)
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = regularfile.Refusal(path, fi.Mode(), "remove it: driftgate writes only regular files in the incident store")
		}
		return nil, err
	}
	return f, nil
}

// readFile is os.ReadFile for store files: no symlinks, regular files only.
func readFile(path string) ([]byte, error) {
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// lock takes an exclusive lock on the store, so two gates overriding at once
// append one after the other. The lock file is opened without following a
// symlink: a link planted there would make the gate create or lock a file
// of the attacker's choosing.
func (s *Store) lock() (func(), error) {
	if err := os.MkdirAll(s.Dir, dirMode); err != nil {
		return nil, fmt.Errorf("creating incident directory: %w", err)
	}
	f, err := openNoFollow(filepath.Join(s.Dir, ".lock"), os.O_CREATE|os.O_RDWR, fileMode)
	if err != nil {
		return nil, fmt.Errorf("locking incident directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking incident directory: %w", err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// Commit writes the record and appends it to the log. The record file is
// written (atomically) first, the log rewritten and renamed next (the
// rename is the commit), and the head last. Killed at any point, the store
// holds either the committed record, whole, or at most an uncommitted
// record file that Verify reports and List ignores, never a torn one; killed
// between the log and the head, the head lags one entry, which Verify notes
// and the next Commit repairs.
//
// Commit refuses to append to a log that does not match its head (cut
// short, rewritten, entries added past the head while the store has a key,
// or its head unsigned or signed with another key while the store has a
// key): a record added there would make the rewind look legitimate. It
// also refuses to start a new log beside records that were committed to
// one that was deleted. A log written before heads were kept, with no head
// file, gets its head (signed when the store has a key) on trust.
//
// It returns the new head, whose digest deliveries carry so that a copy of
// it exists outside this directory.
func (s *Store) Commit(r *Record) (Head, error) {
	unlock, err := s.lock()
	if err != nil {
		return Head{}, err
	}
	defer unlock()
	entries, raw, err := s.readLog()
	if err != nil {
		return Head{}, err
	}
	head, herr := s.readHead()
	if herr != nil {
		return Head{}, herr
	}
	if p := firstFatal(s.checkHead(entries, head)); p != nil {
		if p.signature {
			// The message ends with what to do about the key.
			return Head{}, fmt.Errorf("incident log %s does not match its head: %s", filepath.Join(s.Dir, LogFile), p.Message)
		}
		return Head{}, fmt.Errorf("incident log %s does not match its head: %s; run `driftgate incidents verify`", filepath.Join(s.Dir, LogFile), p.Message)
	}
	if len(entries) == 0 {
		if p := s.checkRecordsWithoutLog(raw != nil, nil); p != nil {
			return Head{}, fmt.Errorf("a new incident log is not started over the records of the old one: %s; run `driftgate incidents verify`", p.Message)
		}
	}
	if s.Signer != nil {
		// Signing the new head vouches for every entry before it: never
		// for a chain whose signatures say it was rewritten.
		if p := firstFatal(checkSignatures(entries, head, []*sign.Verifier{s.Signer.Public()}, true)); p != nil {
			return Head{}, fmt.Errorf("incident log %s does not match its signatures, so no entry is signed onto it: %s; run `driftgate incidents verify --trust KEY.pub`", filepath.Join(s.Dir, LogFile), p.Message)
		}
	}
	body, err := json.Marshal(r)
	if err != nil {
		return Head{}, fmt.Errorf("encoding incident: %w", err)
	}
	pretty, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return Head{}, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(s.Dir, r.ID+".json"), fileMode, append(pretty, '\n')); err != nil {
		return Head{}, err
	}
	prev := genesis
	if n := len(entries); n > 0 {
		prev = entries[n-1].Digest
	}
	e := Entry{Format: entryFormatHead, Seq: len(entries) + 1, Prev: prev, Record: body}
	e.Digest = entryDigest(e.Format, e.Seq, e.Prev, body)
	if s.Signer != nil {
		if e.Signature, err = s.Signer.SignJSON(HeadStatementType, HeadStatement{Seq: e.Seq, Digest: e.Digest}); err != nil {
			return Head{}, err
		}
	}
	line, err := json.Marshal(e)
	if err != nil {
		return Head{}, err
	}
	out := append(raw, append(line, '\n')...)
	if err := atomicfile.WriteBytes(filepath.Join(s.Dir, LogFile), fileMode, out); err != nil {
		return Head{}, err
	}
	h := s.sign(Head{Seq: e.Seq, Digest: e.Digest})
	h.Envelope = e.Signature
	if err := s.writeHead(h); err != nil {
		return Head{}, fmt.Errorf("the record is committed, but its head could not be written (the next override writes it): %w", err)
	}
	return h, nil
}

// Reseal writes the head of a log that verifies, signed with the store's
// current key: after a key is set or rotated, or for a log written before
// heads were kept. It refuses a log with any fatal problem other than its
// head's signature: a log cut short is never made to look whole.
func (s *Store) Reseal() (Head, error) {
	if err := s.exists(); err != nil {
		return Head{}, err
	}
	unlock, err := s.lock()
	if err != nil {
		return Head{}, err
	}
	defer unlock()
	problems, entries, err := s.verify(false)
	if err != nil {
		return Head{}, err
	}
	if p := firstFatal(problems); p != nil {
		return Head{}, fmt.Errorf("incident log %s does not verify, so its head is not rewritten: %s", filepath.Join(s.Dir, LogFile), p.Message)
	}
	if len(entries) == 0 {
		return Head{}, fmt.Errorf("incident log %s is empty: there is no head to write", filepath.Join(s.Dir, LogFile))
	}
	last := entries[len(entries)-1]
	h := s.sign(Head{Seq: last.Seq, Digest: last.Digest})
	h.Envelope = last.Signature
	return h, s.writeHead(h)
}

func (s *Store) writeHead(h Head) error {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(s.Dir, HeadFile), fileMode, append(b, '\n'))
}

// readHead returns the head, nil when there is no head file.
func (s *Store) readHead() (*Head, error) {
	path := filepath.Join(s.Dir, HeadFile)
	b, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the incident log's head: %w", err)
	}
	var h Head
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%s: not a log head: %w", path, err)
	}
	return &h, nil
}

// readLog returns the log's entries and its raw bytes (nil when absent).
func (s *Store) readLog() ([]Entry, []byte, error) {
	raw, err := readFile(filepath.Join(s.Dir, LogFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading incident log: %w", err)
	}
	var entries []Entry
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: not a log entry: %w", filepath.Join(s.Dir, LogFile), line, err)
		}
		entries = append(entries, e)
	}
	return entries, raw, sc.Err()
}

// WriteFile writes a file beside the records (the postmortem), atomically.
func (s *Store) WriteFile(name string, data []byte) error {
	return atomicfile.WriteBytes(filepath.Join(s.Dir, name), fileMode, data)
}

// List returns the committed records, oldest first.
func (s *Store) List() ([]*Record, error) {
	entries, _, err := s.readLog()
	if err != nil {
		return nil, err
	}
	out := make([]*Record, 0, len(entries))
	for _, e := range entries {
		var r Record
		if err := json.Unmarshal(e.Record, &r); err != nil {
			return nil, fmt.Errorf("incident log entry %d: %w", e.Seq, err)
		}
		out = append(out, &r)
	}
	return out, nil
}

// Get returns the committed record with id (a unique prefix is enough).
func (s *Store) Get(id string) (*Record, error) {
	rs, err := s.List()
	if err != nil {
		return nil, err
	}
	var found []*Record
	for _, r := range rs {
		if r.ID == id {
			return r, nil
		}
		if strings.HasPrefix(r.ID, id) {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("no incident %q in %s", id, s.Dir)
	}
	return nil, fmt.Errorf("%q matches %d incidents; give more of the id", id, len(found))
}

// Problem is one thing Verify found wrong.
type Problem struct {
	// Fatal problems mean the log or a record was edited or removed.
	Fatal bool
	// Truncated (always Fatal) means the log lost entries its head vouches
	// for, or its head: it was cut short or rewound.
	Truncated bool
	// Warning marks what is not proof of tampering but leaves the log less
	// protected than it should be (a log without a head).
	Warning bool
	Message string
	// signature marks problems with the head's signature only, which
	// Reseal, run with the key, may fix.
	signature bool
}

func firstFatal(ps []Problem) *Problem {
	for i := range ps {
		if ps[i].Fatal {
			return &ps[i]
		}
	}
	return nil
}

// exists refuses a store whose folder is missing: "nothing recorded" and
// "the records were deleted" must not look alike.
func (s *Store) exists() error {
	fi, err := os.Stat(s.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("incident store %s does not exist: no override was recorded here, or the folder was deleted; check incidents.dir", s.Dir)
	case err != nil:
		return fmt.Errorf("incident store: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("incident store %s is not a folder", s.Dir)
	}
	return nil
}

// Verify checks the chain (every digest, every link), the log against its
// head (count, last digest and, when the store has a key, the signature),
// that each committed record's file matches its log entry, and reports
// record files the log does not know (written by a gate that was stopped
// before committing). A store whose folder does not exist is an error; an
// existing empty one verifies with no records.
func (s *Store) Verify() ([]Problem, int, error) {
	if err := s.exists(); err != nil {
		return nil, 0, err
	}
	problems, entries, err := s.verify(true)
	return problems, len(entries), err
}

func (s *Store) verify(signature bool) ([]Problem, []Entry, error) {
	entries, _, err := s.readLog()
	if err != nil {
		var pe *json.SyntaxError
		if errors.As(err, &pe) || strings.Contains(err.Error(), "not a log entry") {
			return []Problem{{Fatal: true, Message: err.Error()}}, nil, nil
		}
		return nil, nil, err
	}
	var problems []Problem
	fatal := func(format string, args ...any) {
		problems = append(problems, Problem{Fatal: true, Message: fmt.Sprintf(format, args...)})
	}
	prev := genesis
	known := map[string]bool{}
	for i, e := range entries {
		if e.Seq != i+1 {
			fatal("entry %d has sequence number %d: an entry was removed or reordered", i+1, e.Seq)
		}
		if e.Prev != prev {
			fatal("entry %d does not follow entry %d (prev %s, want %s): the log was edited", e.Seq, i, e.Prev, prev)
		}
		if d := entryDigest(e.Format, e.Seq, e.Prev, e.Record); d != e.Digest {
			fatal("entry %d's digest does not match its content: the log was edited", e.Seq)
		}
		if i > 0 && e.Format < entries[i-1].Format {
			fatal("entry %d is in an older format than entry %d before it: the log was edited", e.Seq, i)
		}
		prev = e.Digest
		var r Record
		if err := json.Unmarshal(e.Record, &r); err != nil {
			fatal("entry %d holds no record: %v", e.Seq, err)
			continue
		}
		known[r.ID] = true
		data, err := readFile(filepath.Join(s.Dir, r.ID+".json"))
		if err != nil {
			fatal("record %s (entry %d) is missing or unreadable: %v", r.ID, e.Seq, err)
			continue
		}
		var onDisk, inLog any
		if json.Unmarshal(data, &onDisk) != nil || json.Unmarshal(e.Record, &inLog) != nil || !jsonEqual(onDisk, inLog) {
			fatal("record %s differs from what the log committed: it was edited", r.ID)
		}
	}
	head, err := s.readHead()
	if err != nil {
		fatal("%v", err)
	} else {
		for _, p := range s.checkHead(entries, head) {
			if signature || !p.signature {
				problems = append(problems, p)
			}
		}
		if len(s.Trust) > 0 {
			problems = append(problems, checkSignatures(entries, head, s.Trust, false)...)
		}
	}
	if len(entries) == 0 {
		_, err := os.Lstat(filepath.Join(s.Dir, LogFile))
		if p := s.checkRecordsWithoutLog(err == nil, known); p != nil {
			return append(problems, *p), entries, nil
		}
	}
	for _, id := range s.uncommitted(known) {
		problems = append(problems, Problem{Message: fmt.Sprintf("record %s was written but never committed to the log (a gate stopped before finishing); it does not count as an incident", id)})
	}
	return problems, entries, nil
}

// uncommitted returns the ids of record files whose record is not in known.
func (s *Store) uncommitted(known map[string]bool) []string {
	files, _ := filepath.Glob(filepath.Join(s.Dir, "dg-*.json"))
	sort.Strings(files)
	var ids []string
	for _, f := range files {
		if id := strings.TrimSuffix(filepath.Base(f), ".json"); !known[id] {
			ids = append(ids, id)
		}
	}
	return ids
}

// checkRecordsWithoutLog reports record files left by a log that has no
// entries (deleted, or emptied, along with its head) when they look
// committed: more than one, or one whose postmortem exists (Override writes
// it after the commit). A single record without one is what a gate killed
// before its first commit leaves, and is only noted.
func (s *Store) checkRecordsWithoutLog(logExists bool, known map[string]bool) *Problem {
	ids := s.uncommitted(known)
	committed := len(ids) > 1
	for _, id := range ids {
		if _, err := os.Lstat(filepath.Join(s.Dir, id+".md")); err == nil {
			committed = true
		}
	}
	if !committed {
		return nil
	}
	state := "missing: the log was deleted"
	if logExists {
		state = "empty: it was emptied"
	}
	return &Problem{Fatal: true, Truncated: true, Message: fmt.Sprintf(
		"%d incident record(s) exist but the log is %s (with its head), and its records with it as far as the log can tell; restore %s and %s, or move the folder aside (keeping it as evidence) to start a new log",
		len(ids), state, LogFile, HeadFile)}
}

// Expect checks that each digest, as deliveries carried it (logDigest), is
// an entry of the log. A receiver's copy of a digest the log no longer
// holds shows a rewind that the head, rewritten along with the log by
// someone holding the key (or with no key set), cannot.
func (s *Store) Expect(digests ...string) ([]Problem, error) {
	entries, _, err := s.readLog()
	if err != nil {
		return nil, err
	}
	seq := make(map[string]int, len(entries))
	for _, e := range entries {
		seq[e.Digest] = e.Seq
	}
	var problems []Problem
	for _, d := range digests {
		if seq[d] == 0 {
			problems = append(problems, Problem{Fatal: true, Truncated: true, Message: fmt.Sprintf(
				"%s, delivered as the log's head, is no entry of the log: the log was rewound or rewritten since", d)})
		}
	}
	return problems, nil
}

// checkHead compares the log's entries with its head. It trusts the
// entries' stored digests; the chain itself is Verify's to check.
func (s *Store) checkHead(entries []Entry, h *Head) []Problem {
	n := len(entries)
	headPath := filepath.Join(s.Dir, HeadFile)
	if h == nil {
		switch {
		case n == 0:
			return nil
		case hasHeadFormat(entries):
			return []Problem{{Fatal: true, Truncated: true, Message: fmt.Sprintf(
				"%s is missing, but the log's entries were written with one: it was deleted, and the log may have been cut short with it; restore it, or move the folder aside (keeping it as evidence) to start a new log", headPath)}}
		}
		// Every entry is from before heads: the log is trusted on first
		// use, with or without a key, so that the first override after an
		// upgrade is not refused. Someone without the key could forge this
		// state (rewrite the chain the old way, delete the head); the
		// digests hooks received (verify --expect) show that.
		signed := ""
		if len(s.Key) > 0 {
			signed = ", signed with DRIFTGATE_DIGEST_KEY"
		}
		return []Problem{{Warning: true, Message: fmt.Sprintf(
			"%s is missing: this log was written before driftgate kept a head (no entry has one), so a removed last entry cannot be detected; the next override writes it%s (or run `driftgate incidents reseal`); if this log had a head before, check it against the logDigest hooks received with `driftgate incidents verify --expect`", headPath, signed)}}
	}
	var problems []Problem
	switch {
	case h.Seq > n:
		return []Problem{{Fatal: true, Truncated: true, Message: fmt.Sprintf(
			"the log has %d entries but its head says %d: %s removed (the log was cut short or rewound)", n, h.Seq, entryRange(n+1, h.Seq, "was", "were"))}}
	case h.Seq < 0 || (h.Seq == 0 && h.Digest != genesis):
		return []Problem{{Fatal: true, Message: fmt.Sprintf("%s is not a head this log could have (entry %d, digest %s): it was edited", headPath, h.Seq, h.Digest)}}
	case h.Seq > 0 && entries[h.Seq-1].Digest != h.Digest:
		return []Problem{{Fatal: true, Truncated: true, Message: fmt.Sprintf(
			"entry %d is not the entry the head vouches for (digest %s, head says %s): the log was rewound and rewritten from there", h.Seq, entries[h.Seq-1].Digest, h.Digest)}}
	case h.Seq < n-1 && len(s.Key) > 0:
		// A gate killed between the log and the head leaves one entry
		// behind, and the next commit moves the head on: more than one is
		// someone without the key appending to the log.
		return []Problem{{Fatal: true, Message: fmt.Sprintf(
			"entries %d..%d were added after the head without it (entry %d): a gate stopped between the log and the head leaves one entry behind, never more, so they were appended by someone without the key (DRIFTGATE_DIGEST_KEY)", h.Seq+1, n, h.Seq)}}
	case h.Seq < n:
		problems = append(problems, Problem{Message: fmt.Sprintf(
			"%s after the head (entry %d): a gate was stopped between committing and writing the head; the next override moves the head on", entryRange(h.Seq+1, n, "comes", "come"), h.Seq)})
	}
	sigProblem := func(format string, args ...any) {
		problems = append(problems, Problem{Fatal: true, signature: true, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case len(s.Key) == 0 && h.Signature != "":
		problems = append(problems, Problem{Message: fmt.Sprintf(
			"the head is signed (key id %s), but no key is set here, so its signature was not checked: set DRIFTGATE_DIGEST_KEY to check it", h.KeyID)})
	case len(s.Key) == 0:
	case h.Signature == "":
		sigProblem("the head is not signed, but a key is set (DRIFTGATE_DIGEST_KEY): it was rewritten by someone without the key, or the key was set after the last override; %s", resealAdvice)
	case h.KeyID != s.keyID():
		sigProblem("the head is signed with key id %s, but the key set here has id %s: the key changed, or the head was forged; %s", h.KeyID, s.keyID(), resealAdvice)
	case !hmac.Equal([]byte(h.Signature), []byte(s.headSignature(*h))):
		sigProblem("the head's signature does not match its content: the head was edited")
	}
	return problems
}

// resealAdvice ends every problem caused by the key's state. Reseal, run
// with the key, re-signs the head of a log that passes every check but the
// signature's; verify without the key runs those checks.
const resealAdvice = "if the key was set or rotated on purpose, run `driftgate incidents reseal` with it set, after `driftgate incidents verify` without the key passes"

// hasHeadFormat reports whether any entry was written by a driftgate that
// keeps a head.
func hasHeadFormat(entries []Entry) bool {
	for _, e := range entries {
		if e.Format >= entryFormatHead {
			return true
		}
	}
	return false
}

// entryRange names entries a to b with the verb agreeing: "entry 3 was",
// "entries 3 to 5 were".
func entryRange(a, b int, one, many string) string {
	if a == b {
		return fmt.Sprintf("entry %d %s", a, one)
	}
	return fmt.Sprintf("entries %d to %d %s", a, b, many)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
