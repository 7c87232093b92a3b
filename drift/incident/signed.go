package incident

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/driftgate/driftgate/drift/sign"
)

// HeadStatementType is the DSSE payloadType of a HeadStatement.
const HeadStatementType = "application/vnd.driftgate.incident-head+json"

// HeadStatement is what an entry's signature vouches for: the log had Seq
// entries, the last with Digest. Digest chains every entry before it, so
// one signature covers the whole log up to there.
type HeadStatement struct {
	Seq    int    `json:"seq"`
	Digest string `json:"digest"`
}

// verifyHead returns the statement of env when one of keys signed it.
func verifyHead(env *sign.Envelope, keys []*sign.Verifier) (*HeadStatement, error) {
	var err error
	for _, k := range keys {
		var payload []byte
		if payload, err = k.Verify(env, HeadStatementType); err != nil {
			if errors.Is(err, sign.ErrUntrustedKey) {
				continue
			}
			return nil, err
		}
		var st HeadStatement
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			return nil, fmt.Errorf("not a head statement: %v", err)
		}
		return &st, nil
	}
	return nil, err
}

// checkSignatures checks the entries' signatures and the head's against
// keys. Once one entry is signed, every later one must be: an unsigned
// entry after it was appended without the key. The last entry must be
// signed (vouching for the chain before it) unless forCommit, where a log
// never signed is signed from now on, on trust, as a new HMAC key is.
// forCommit also passes signatures by keys other than keys (a rotated
// key): verify, given the old key too, checks those.
func checkSignatures(entries []Entry, head *Head, keys []*sign.Verifier, forCommit bool) []Problem {
	var problems []Problem
	fatal := func(format string, args ...any) {
		problems = append(problems, Problem{Fatal: true, Message: fmt.Sprintf(format, args...)})
	}
	check := func(what string, env *sign.Envelope, seq int, digest string) {
		st, err := verifyHead(env, keys)
		switch {
		case forCommit && errors.Is(err, sign.ErrUntrustedKey):
		case err != nil:
			fatal("%s's signature is refused: %v", what, err)
		case st.Seq != seq || st.Digest != digest:
			fatal("%s's signature vouches for entry %d (%s), not for entry %d (%s): the log was rewritten", what, st.Seq, st.Digest, seq, digest)
		}
	}
	first := 0
	for _, e := range entries {
		if e.Signature == nil {
			if first > 0 {
				fatal("entry %d is not signed, but entry %d before it is: it was added by someone without incidents.signKey", e.Seq, first)
			}
			continue
		}
		if first == 0 {
			first = e.Seq
		}
		check(fmt.Sprintf("entry %d", e.Seq), e.Signature, e.Seq, e.Digest)
	}
	if head != nil && head.Envelope != nil {
		check("the head", head.Envelope, head.Seq, head.Digest)
		if first == 0 {
			fatal("the head is signed, but no entry of the log is: the signatures were stripped and the log rewritten")
		}
	}
	n := len(entries)
	switch {
	case forCommit || n == 0:
	case first == 0:
		fatal("no entry of the log is signed: it was rewritten whole, or written before incidents.signKey was set (then nothing vouches for it with a key)")
	case first > 1:
		problems = append(problems, Problem{Message: fmt.Sprintf(
			"entries 1 to %d were written before incidents.signKey was set: entry %d's signature vouches for them, as they stood then", first-1, first)})
	}
	return problems
}
