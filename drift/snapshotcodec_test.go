package drift

// The snapshot file's fast paths (snapshotencode.go, snapshotdecode.go) must give
// exactly what encoding/json gives, or the digests of old snapshots would
// change: these tests hold them to it, and the benchmarks below and in
// drift_bench_test.go measure them.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// trickyStrings exercise every escaping rule of encoding/json.
var trickyStrings = []string{
	"", "plain", "a\"quote", `back\slash`, "<script>&</script>", "tab\tnew\nline\r\b\f",
	"\x00\x01\x1f\x7f", "caf\u00e9", "\u2028\u2029", "emoji \U0001F600", "bad \xff utf8 \xc3",
	"/slash/", "key.with.dots", strings.Repeat("long ", 40),
}

var trickyNumbers = []any{
	int64(0), int64(-1), int64(255), int64(256), int64(math.MaxInt64), int64(math.MinInt64),
	0.5, -0.25, 1e-7, 1e-6, 123456.789, 1e20, 1e21, 1.5e300, -2.5e-300, float64(1 << 53), 3.0,
	json.Number("12"), json.Number("1.0"), json.Number("-0"), json.Number("1e400"), json.Number("1E+2"), json.Number(""),
	7, int32(8), float32(0.1), uint8(9),
}

// randomValue returns a JSON-like value as objects hold them, with the odd
// other type that encoding/json encodes by reflection.
func randomValue(r *rand.Rand, depth int) any {
	n := r.IntN(12)
	if depth > 4 {
		n = 4 + r.IntN(8)
	}
	switch n {
	case 0, 1:
		m := map[string]any{}
		for range r.IntN(6) {
			m[randomString(r)] = randomValue(r, depth+1)
		}
		return m
	case 2:
		var l []any
		if r.IntN(4) > 0 {
			l = []any{}
		}
		for range r.IntN(5) {
			l = append(l, randomValue(r, depth+1))
		}
		return l
	case 3:
		switch r.IntN(4) {
		case 0:
			return map[string]any(nil)
		case 1:
			return map[string]string{"a": "<b>", "c": randomString(r)}
		case 2:
			return []string{randomString(r)}
		}
		return nil
	case 4, 5, 6:
		return randomString(r)
	case 7:
		return r.IntN(2) == 0
	case 8:
		return trickyNumbers[r.IntN(len(trickyNumbers))]
	case 9:
		return r.Int64() >> r.IntN(64)
	case 10:
		return (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(60)-30))
	}
	return int64(r.IntN(300))
}

func randomString(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return trickyStrings[r.IntN(len(trickyStrings))]
	}
	const alphabet = "abcXYZ09-_./ <>&\"\\\n\u00e9\u2028"
	var b strings.Builder
	for range r.IntN(12) {
		rs := []rune(alphabet)
		b.WriteRune(rs[r.IntN(len(rs))])
	}
	return b.String()
}

func randomSnapshot(r *rand.Rand, objects int) *Snapshot {
	s := &Snapshot{
		APIVersion: SnapshotAPIVersion, Kind: SnapshotKind,
		Metadata: SnapshotMeta{Source: SourceCluster, Context: randomString(r), CapturedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
			Scope: Scope{Namespaces: []string{"a"}, Exclude: DefaultExcludes}, SecretDigest: "none", Folded: r.IntN(9)},
		Resources: []ResourceType{{Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments", Namespaced: true}},
	}
	if r.IntN(5) == 0 {
		s.Unobserved = []Unobserved{{ResourceType: ResourceType{Version: "v1", Kind: "Secret", Resource: "secrets"}, Reason: "forbidden: <no>"}}
	}
	for i := range objects {
		obj, _ := randomValue(r, 0).(map[string]any)
		if obj == nil && r.IntN(3) > 0 {
			obj = map[string]any{"apiVersion": "v1", "data": randomValue(r, 1)}
		}
		o := Object{Version: "v1", Kind: "ConfigMap", Name: fmt.Sprintf("%s-%d", randomString(r), i), Object: obj}
		if r.IntN(2) == 0 {
			o.Group, o.Namespace = "apps", randomString(r)
		}
		if r.IntN(2) == 0 {
			o.Provenance = randomProvenance(r)
		}
		s.Objects = append(s.Objects, o)
	}
	return s
}

func randomProvenance(r *rand.Rand) Provenance {
	var p Provenance
	for range r.IntN(3) {
		m := Manager{Manager: randomString(r), Operation: "Update"}
		if r.IntN(2) == 0 {
			m.Subresource = "status"
		}
		if r.IntN(2) == 0 {
			m.Fields = []string{"metadata", randomString(r)}
		}
		if r.IntN(3) == 0 {
			m.Paths = []string{`spec.containers[name=app].image`, randomString(r)}
		}
		p.Managers = append(p.Managers, m)
	}
	p.LastApplied = r.IntN(2) == 0
	if r.IntN(2) == 0 {
		p.Owner = &OwnerRef{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: randomString(r), Controller: r.IntN(2) == 0}
	}
	if r.IntN(2) == 0 {
		p.DeployTool = map[string]string{"helm.sh/chart": randomString(r), "app.kubernetes.io/managed-by": "Helm"}
	}
	return p
}

// validSnapshot is a snapshot of pod-like objects, every string valid
// UTF-8, so that the fast path takes it whole.
func validSnapshot(r *rand.Rand, objects int) *Snapshot {
	s := randomSnapshot(r, 0)
	for i := range objects {
		o := Object{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: fmt.Sprintf("ns-%d", i%7), Name: fmt.Sprintf("web-%d", i), Object: podLike(r)}
		if i%3 == 0 {
			o.Provenance = Provenance{Managers: []Manager{{Manager: "helm", Operation: "Update", Fields: []string{"metadata", "spec"}}}, LastApplied: true,
				Owner: &OwnerRef{APIVersion: "v1", Kind: "X", Name: "o", Controller: true}, DeployTool: map[string]string{"helm.sh/chart": "web-1.2.3"}}
		}
		s.Objects = append(s.Objects, o)
	}
	return s
}

// referenceJSON is what encoding/json writes for the snapshot.
func referenceJSON(t testing.TB, s *Snapshot, indent, forDigest bool) ([]byte, error) {
	t.Helper()
	c := *s
	if forDigest {
		c.Metadata.CapturedAt = time.Time{}
		c.Digest = ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	if indent {
		enc.SetIndent("", " ")
	}
	err := enc.Encode(&c)
	return buf.Bytes(), err
}

// encodingCase is the i-th snapshot the encoder is held to encoding/json
// with: a few random objects, now and then enough to be encoded in
// parallel chunks, and first none (nil) and none (empty).
func encodingCase(r *rand.Rand, i int) *Snapshot {
	s := randomSnapshot(r, r.IntN(6))
	if i%50 == 3 {
		s = randomSnapshot(r, 1000+r.IntN(1000)) // chunks encoded in parallel
	}
	switch i {
	case 0:
		s.Objects = nil
	case 1:
		s.Objects = []Object{}
	}
	return s
}

func TestDigestMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		s := encodingCase(r, i)
		want, wantErr := referenceJSON(t, s, false, true)
		var got bytes.Buffer
		err := s.writeDigestJSON(&got)
		if wantErr != nil {
			if err == nil {
				t.Fatalf("snapshot %d: encoding/json fails (%v), writeDigestJSON does not", i, wantErr)
			}
		} else if err != nil {
			t.Fatalf("snapshot %d: writeDigestJSON: %v", i, err)
		} else if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("snapshot %d: writeDigestJSON differs from encoding/json:\n%s", i, cmp.Diff(string(want), got.String()))
		}
		gotDigest, err := s.ComputeDigest()
		wantDigest, wantErr := s.computeDigestReflect()
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || gotDigest != wantDigest {
			t.Fatalf("snapshot %d: ComputeDigest = %q, %v; encoding/json gives %q, %v", i, gotDigest, err, wantDigest, wantErr)
		}
	}
}

// TestEncodeMatchesEncodingJSON holds Encode to what it wrote with
// encoding/json (Seal, then an indented Encoder): the same bytes and
// digest, or the same error and nothing written.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(17, 18))
	for i := range 400 {
		s := encodingCase(r, i)
		if i == 2 {
			s.Objects = append(s.Objects, Object{Version: "v1", Kind: "X", Name: "nan", Object: map[string]any{"v": math.NaN()}})
		}
		ref := *s
		ref.Objects = slices.Clone(s.Objects)
		var want bytes.Buffer
		wantErr := ref.Seal()
		if wantErr == nil {
			enc := json.NewEncoder(&want)
			enc.SetIndent("", " ")
			wantErr = enc.Encode(&ref)
		}
		var got bytes.Buffer
		err := s.Encode(&got)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("snapshot %d: Encode error %v, encoding/json %v", i, err, wantErr)
		}
		if wantErr != nil {
			if got.Len() > 0 {
				t.Fatalf("snapshot %d: Encode wrote %d bytes before failing", i, got.Len())
			}
			continue
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("snapshot %d: Encode differs from encoding/json:\n%s", i, cmp.Diff(want.String(), got.String()))
		}
		if s.Digest != ref.Digest {
			t.Fatalf("snapshot %d: digest %s, encoding/json %s", i, s.Digest, ref.Digest)
		}
	}
}

// TestSnapshotFieldsKnown fails when a field is added to the snapshot's
// types: snapshotencode.go and snapshotdecode.go spell the fields out and must learn it.
func TestSnapshotFieldsKnown(t *testing.T) {
	t.Parallel()
	want := map[reflect.Type]string{
		reflect.TypeFor[Snapshot]():   "apiVersion kind metadata resources unobserved objects digest integrity,omitempty signature,omitempty - -", // - : SignWith, Notes
		reflect.TypeFor[Object]():     "group,omitempty version kind namespace,omitempty name object provenance -",                                // - : Encoded
		reflect.TypeFor[Provenance](): "managers,omitempty lastApplied,omitempty owner,omitempty deployTool,omitempty",
		reflect.TypeFor[Manager]():    "manager operation subresource,omitempty fields,omitempty paths,omitempty",
		reflect.TypeFor[OwnerRef]():   "apiVersion kind name controller,omitempty",
	}
	for typ, fields := range want {
		var tags []string
		for f := range typ.Fields() {
			tags = append(tags, f.Tag.Get("json"))
		}
		if got := strings.Join(tags, " "); got != fields {
			t.Errorf("%s has fields %q, the fast encoder and decoder (snapshotencode.go, snapshotdecode.go) know %q: teach them the change", typ, got, fields)
		}
	}
}

// checkFastDecode holds decodeSnapshot to the reference decoder: the same
// snapshot when both accept, the same error otherwise.
func checkFastDecode(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := decodeSnapshotReflect(bytes.NewReader(data), DefaultMaxSnapshotSize)
	if fast, ok := decodeSnapshotFast(data); ok {
		if wantErr != nil {
			t.Fatalf("fast path accepts what the reference refuses (%v):\n%q", wantErr, data)
		}
		if !reflect.DeepEqual(want, fast) {
			t.Fatalf("fast path decodes differently (-reference +fast):\n%s", cmp.Diff(want, fast))
		}
	}
	if wantErr == nil {
		// DecodeSnapshot then checks the integrity digest, orders the
		// objects, and refuses one twice.
		if wantErr = want.checkIntegrity(); wantErr == nil {
			wantErr = want.checkObjects()
		}
		if wantErr != nil {
			want = nil
		}
	}
	got, err := DecodeSnapshot(bytes.NewReader(data))
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("DecodeSnapshot error %v, reference %v", err, wantErr)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("DecodeSnapshot differs from the reference (-reference +got):\n%s", cmp.Diff(want, got))
	}
}

func TestFastDecodeMatchesReference(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	accepted := 0
	for i := range 120 {
		s := randomSnapshot(r, r.IntN(5))
		if i%20 == 7 {
			s = validSnapshot(r, 500+r.IntN(1000)) // decoded in batches, in parallel
		}
		var buf bytes.Buffer
		if err := s.Encode(&buf); err != nil {
			continue // a NaN or an invalid number: never written
		}
		data := buf.Bytes()
		if _, ok := decodeSnapshotFast(data); ok {
			accepted++
		}
		checkFastDecode(t, data)
		if len(s.Objects) > objectBatchSize {
			// The batches' seams: a comma lost, one too many.
			checkFastDecode(t, bytes.Replace(data, []byte("},\n  {"), []byte("}\n  {"), 300))
			checkFastDecode(t, bytes.Replace(data, []byte("},\n  {"), []byte("},,\n  {"), 300))
			continue
		}
		// Edits: each must be refused, or decoded as the reference does.
		for _, edit := range []func([]byte) []byte{
			func(b []byte) []byte { return b[:r.IntN(len(b))] },
			func(b []byte) []byte { b[r.IntN(len(b))] ^= byte(1 << r.IntN(8)); return b },
			func(b []byte) []byte { return bytes.Replace(b, []byte(`": 1`), []byte(`": 1.0`), 1) },
			func(b []byte) []byte { return bytes.Replace(b, []byte(`": 0`), []byte(`": -0`), 1) },
			func(b []byte) []byte { return bytes.Replace(b, []byte(`"kind"`), []byte(`"Kind"`), 1) },
			func(b []byte) []byte { return bytes.Replace(b, []byte(`"name": "`), []byte(`"name": "\u0041`), 1) },
			func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"version"`), []byte(`"version": "v2", "version"`), 1)
			},
			func(b []byte) []byte { return bytes.Replace(b, []byte("\n  "), []byte("\n\t  "), -1) },
			func(b []byte) []byte { return append(b, " {}"...) },
			func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"provenance": {}`), []byte(`"provenance": null`), 1)
			},
			func(b []byte) []byte { return bytes.Replace(b, []byte(`\u003c`), []byte(`<`), 1) },
			func(b []byte) []byte { return bytes.Replace(b, []byte(`\u003c`), []byte(`\u003C`), 1) },
			func(b []byte) []byte { return bytes.Replace(b, []byte(`/`), []byte(`\/`), 1) },
			func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"version"`), []byte(`"group": "", "version"`), 1)
			},
			func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"provenance": {`), []byte(`"provenance": {"managers": [], `), 1)
			},
			func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"apiVersion": "v1",`), []byte(`"zz": 1, "apiVersion": "v1",`), 1)
			},
			func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"digest"`), []byte(`"objects": null, "digest"`), 1)
			},
		} {
			checkFastDecode(t, edit(bytes.Clone(data)))
		}
	}
	t.Logf("the fast path accepted %d of 120 snapshots", accepted)
	if accepted < 60 {
		t.Errorf("the fast path accepted %d of the snapshots driftgate wrote; it should take nearly all", accepted)
	}
}

func FuzzFastDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 8 {
		var buf bytes.Buffer
		if err := randomSnapshot(r, 2).Encode(&buf); err == nil {
			f.Add(buf.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkFastDecode(t, data) })
}
