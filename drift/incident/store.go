package incident

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/driftgate/driftgate/internal/atomicfile"
)

// LogFile is the hash-chained log of committed records, one JSON entry a line.
const LogFile = "incidents.log"

// genesis is the previous digest of the first entry.
const genesis = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// Store is a directory of incident records:
//
//	incidents.log        hash-chained log; each entry embeds its record
//	<id>.json            the record, as committed (a readable copy)
//	<id>.md              the postmortem skeleton
//	outbox/<id>.<n>.json deliveries still to make (hook n of the config)
type Store struct {
	Dir string
}

// Entry is one line of the log. Digest covers Seq, Prev and the record's
// canonical JSON; Prev is the Digest of the entry before.
type Entry struct {
	Seq    int             `json:"seq"`
	Prev   string          `json:"prev"`
	Digest string          `json:"digest"`
	Record json.RawMessage `json:"record"`
}

func entryDigest(seq int, prev string, record []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n%s\n", seq, prev)
	h.Write(record)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// lock takes an exclusive lock on the store, so two gates overriding at once
// append one after the other.
func (s *Store) lock() (func(), error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating incident directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
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
// written (atomically) first and the log rewritten and renamed last: the
// rename is the commit. Killed at any point, the store holds either the
// committed record, whole, or at most an uncommitted record file that
// Verify reports and List ignores, never a torn one.
//
// It returns the log entry's digest, the head of the chain, which deliveries
// carry so that a copy of it exists outside this directory.
func (s *Store) Commit(r *Record) (string, error) {
	unlock, err := s.lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	body, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encoding incident: %w", err)
	}
	pretty, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	if err := atomicfile.WriteBytes(filepath.Join(s.Dir, r.ID+".json"), 0o644, append(pretty, '\n')); err != nil {
		return "", err
	}
	entries, raw, err := s.readLog()
	if err != nil {
		return "", err
	}
	prev := genesis
	if n := len(entries); n > 0 {
		prev = entries[n-1].Digest
	}
	e := Entry{Seq: len(entries) + 1, Prev: prev, Record: body}
	e.Digest = entryDigest(e.Seq, e.Prev, body)
	line, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	out := append(raw, append(line, '\n')...)
	if err := atomicfile.WriteBytes(filepath.Join(s.Dir, LogFile), 0o644, out); err != nil {
		return "", err
	}
	return e.Digest, nil
}

// readLog returns the log's entries and its raw bytes (nil when absent).
func (s *Store) readLog() ([]Entry, []byte, error) {
	raw, err := os.ReadFile(filepath.Join(s.Dir, LogFile))
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
	return atomicfile.WriteBytes(filepath.Join(s.Dir, name), 0o644, data)
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
	Fatal   bool
	Message string
}

// Verify checks the chain (every digest, every link), that each committed
// record's file matches its log entry, and reports record files the log does
// not know (written by a gate that was stopped before committing).
func (s *Store) Verify() ([]Problem, int, error) {
	entries, _, err := s.readLog()
	if err != nil {
		var pe *json.SyntaxError
		if errors.As(err, &pe) || strings.Contains(err.Error(), "not a log entry") {
			return []Problem{{Fatal: true, Message: err.Error()}}, 0, nil
		}
		return nil, 0, err
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
		if d := entryDigest(e.Seq, e.Prev, e.Record); d != e.Digest {
			fatal("entry %d's digest does not match its content: the log was edited", e.Seq)
		}
		prev = e.Digest
		var r Record
		if err := json.Unmarshal(e.Record, &r); err != nil {
			fatal("entry %d holds no record: %v", e.Seq, err)
			continue
		}
		known[r.ID] = true
		path := filepath.Join(s.Dir, r.ID+".json")
		data, err := os.ReadFile(path)
		if err != nil {
			fatal("record %s (entry %d) is missing: %v", r.ID, e.Seq, err)
			continue
		}
		var onDisk, inLog any
		if json.Unmarshal(data, &onDisk) != nil || json.Unmarshal(e.Record, &inLog) != nil || !jsonEqual(onDisk, inLog) {
			fatal("record %s differs from what the log committed: it was edited", r.ID)
		}
	}
	files, _ := filepath.Glob(filepath.Join(s.Dir, "dg-*.json"))
	sort.Strings(files)
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".json")
		if !known[id] {
			problems = append(problems, Problem{Message: fmt.Sprintf("record %s was written but never committed to the log (a gate stopped before finishing); it does not count as an incident", id)})
		}
	}
	return problems, len(entries), nil
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
