package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	kjson "sigs.k8s.io/json"
)

var trickyStrings = []string{
	"", "plain", "a\"quote", `back\slash`, "<script>&</script>", "tab\tnew\nline\r\b\f",
	"\x00\x01\x1f\x7f", "caf\u00e9", "\u2028\u2029", "emoji \U0001F600", "bad \xff utf8 \xc3",
	"/slash/", strings.Repeat("long ", 40),
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range trickyStrings {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendString(%q) = %s, encoding/json %s", s, got, want)
		}
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0, 0.5, -0.25, 1e-7, 1e-6, 123456.789, 1e20, 1e21, 1.5e300, -2.5e-300, 1 << 53, 3} {
		want, _ := json.Marshal(f)
		got, ok := AppendFloat(nil, f)
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("AppendFloat(%v) = %s, %v; encoding/json %s", f, got, ok, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, ok := AppendFloat(nil, f); ok {
			t.Errorf("AppendFloat(%v) accepted", f)
		}
	}
}

func TestScanNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		n     int
		valid bool
	}{
		{"0", 1, true}, {"-0", 2, true}, {"12,", 2, true}, {"1.5e+3}", 6, true}, {"1E2", 3, true},
		{"01", 1, true}, {"-", 1, false}, {"1.", 2, false}, {"1e", 2, false}, {".5", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		n, ok := ScanNumber(tt.in)
		if n != tt.n || ok != tt.valid {
			t.Errorf("ScanNumber(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.n, tt.valid)
		}
		if got, want := ValidNumber(tt.in), json.Valid([]byte(tt.in)); got != want {
			t.Errorf("ValidNumber(%q) = %v, encoding/json %v", tt.in, got, want)
		}
	}
}

func TestCanonicalNumber(t *testing.T) {
	t.Parallel()
	tests := map[string]any{
		"12": int64(12), "-0": int64(0), "1.0": int64(1), "1e2": int64(100), "0.5": 0.5,
		"9007199254740993": int64(9007199254740993), "1e300": 1e300, "1e400": "1e400",
		"12345678901234567890": 12345678901234567890.0,
	}
	for in, want := range tests {
		if got := CanonicalNumber(in); got != want {
			t.Errorf("CanonicalNumber(%s) = %#v, want %#v", in, got, want)
		}
	}
}

// sample is JSON-like values as objects hold them.
var sample = map[string]any{
	"apiVersion": "v1", "kind": "ConfigMap",
	"metadata": map[string]any{"name": "a<b>", "labels": map[string]any{"app": "web", "tier": "x"}, "empty": map[string]any{}},
	"data":     map[string]any{"k": "v\n\u2028", "list": []any{int64(1), 2.5, "three", nil, true, false, []any{}, []any{[]any{int64(-4)}}}},
	"numbers":  []any{int64(math.MaxInt64), int64(math.MinInt64), 1e21, 1e-7, json.Number("1.5"), 7},
	"nothing":  nil,
	"nilList":  []any(nil),
	"typed":    map[string]string{"z": "<", "a": "&"},
}

func TestWriterMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, indent := range []bool{false, true} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		if indent {
			enc.SetIndent("", " ")
		}
		if err := enc.Encode(sample); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		w := &Writer{W: &got, Indent: indent}
		if err := w.Value(sample, 0); err != nil {
			t.Fatal(err)
		}
		w.Buf = append(w.Buf, '\n')
		w.Flush()
		if diff := cmp.Diff(want.String(), got.String()); diff != "" {
			t.Errorf("indent %v: Writer differs from encoding/json (-want +got):\n%s", indent, diff)
		}
		if !indent {
			if ind := AppendIndented(nil, bytes.TrimSpace(got.Bytes()), 0); true {
				var wantInd bytes.Buffer
				json.Indent(&wantInd, got.Bytes(), "", " ")
				if diff := cmp.Diff(strings.TrimSpace(wantInd.String()), string(ind)); diff != "" {
					t.Errorf("AppendIndented differs from json.Indent (-want +got):\n%s", diff)
				}
			}
		}
	}
	for _, bad := range []any{math.NaN(), json.Number("1x"), map[string]any{"f": func() {}}} {
		if err := (&Writer{}).Value(bad, 0); !errors.Is(err, ErrNotCanonical) {
			t.Errorf("Value(%T) = %v, want ErrNotCanonical", bad, err)
		}
		if Encodable(bad) {
			t.Errorf("Encodable(%T) = true", bad)
		}
	}
	if !Encodable(sample) {
		t.Error("Encodable(sample) = false")
	}
}

// TestDecoderStrictTakesOnlyCanonical: the strict decoder takes what
// Writer writes, indented or not, and refuses the other spellings of it.
func TestDecoderStrictTakesOnlyCanonical(t *testing.T) {
	t.Parallel()
	var canonical bytes.Buffer
	w := &Writer{W: &canonical, Indent: true}
	if err := w.Value(sample, 0); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := roundTripEncodingJSON(t, canonical.Bytes(), false)
	got, err := NewDecoder(canonical.Bytes(), false).Value()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("strict decode (-encoding/json +jsonx):\n%s", diff)
	}
	for _, other := range []string{`"\u0041"`, `"\/"`, `"\u003C"`, `1.0`, `-0`, `1e2`, `{"b":1,"a":2}`, `"<"`, `1e400`} {
		if _, err := NewDecoder([]byte(other), false).Value(); !errors.Is(err, ErrSlowPath) {
			t.Errorf("strict decoder took %s", other)
		}
		if _, err := NewDecoder([]byte(other), true).Value(); err != nil && other != `1e400` {
			t.Errorf("lenient decoder refused %s: %v", other, err)
		}
	}
}

func TestCompactArray(t *testing.T) {
	t.Parallel()
	in := []byte("[\n {\"a\": [1, 2]},\n {\"b\": \"x \\\" y\"},\n {}\n] tail")
	var out bytes.Buffer
	var batches [][2]int
	n := CompactArray(&out, in, 2, func(i, from, to int) { batches = append(batches, [2]int{from, to}) })
	var want bytes.Buffer
	json.Compact(&want, in[:n])
	if n != len(in)-len(" tail") || out.String() != want.String() {
		t.Errorf("CompactArray = %d, %s; want %d, %s", n, out.String(), len(in)-5, want.String())
	}
	if len(batches) != 2 || string(in[batches[1][0]:batches[1][1]]) != "{}" {
		t.Errorf("batches %v", batches)
	}
	for _, bad := range []string{"[1]", "[{},]", "[{} {}]", "[{}", `["a"]`, "{}"} {
		if n := CompactArray(&bytes.Buffer{}, []byte(bad), 2, func(int, int, int) {}); n != -1 {
			t.Errorf("CompactArray(%s) = %d, want -1", bad, n)
		}
	}
}

func TestShareMaps(t *testing.T) {
	t.Parallel()
	d := NewDecoder([]byte(`[{"a":{"x":1}},{"a":{"x":1}}]`), false)
	d.ShareMaps()
	v, err := d.Value()
	if err != nil {
		t.Fatal(err)
	}
	l := v.([]any)
	a, b := l[0].(map[string]any)["a"], l[1].(map[string]any)["a"]
	if reflect.ValueOf(a).UnsafePointer() != reflect.ValueOf(b).UnsafePointer() {
		t.Error("equal small maps are not one map")
	}
}

// roundTripEncodingJSON decodes data with encoding/json as the engine's
// reference: UseNumber then CanonicalNumber when strict, sigs.k8s.io/json
// (as the dynamic client) when lenient.
func roundTripEncodingJSON(t *testing.T, data []byte, lenient bool) any {
	t.Helper()
	var v any
	if lenient {
		if err := kjson.UnmarshalCaseSensitivePreserveInts(data, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return canonical(v)
}

func canonical(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			t[k] = canonical(c)
		}
	case []any:
		for i, c := range t {
			t[i] = canonical(c)
		}
	case json.Number:
		return CanonicalNumber(string(t))
	case float64:
		return CanonicalFloat(t)
	}
	return v
}

// FuzzDecode: no input makes the decoder panic; what it takes, strict or
// lenient, is valid JSON that encoding/json decodes to the same value;
// Writer encodes that value as encoding/json does, and the strict decoder
// takes it back unchanged.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"a":1,"b":[true,false,null,"x\n\u2028"],"c":{"d":-1.5e-7}}`,
		"{\n \"kind\": \"List\",\n \"items\": [\n  {}\n ]\n}",
		`{"z":1,"a":"\ud83d\ude00","b":"\u00E9\/","n":12345678901234567890}`,
		`[1, 2.0, -0, 1E+2, "\u003c"]`, `"bad \xff"`, `{"a":}`, `[`, ``, `1e400`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lenient := range []bool{false, true} {
			d := NewDecoder(data, lenient)
			v, err := d.Value()
			if err != nil || !d.AtEnd() {
				continue
			}
			if !json.Valid(data) {
				t.Fatalf("lenient %v: took invalid JSON %q", lenient, data)
			}
			if want := roundTripEncodingJSON(t, data, lenient); !reflect.DeepEqual(want, v) {
				t.Fatalf("lenient %v: decodes %q differently (-encoding/json +jsonx):\n%s", lenient, data, cmp.Diff(want, v))
			}
			want, werr := json.Marshal(v)
			w := &Writer{}
			if err := w.Value(v, 0); (err != nil) != (werr != nil) {
				t.Fatalf("Writer error %v, encoding/json %v", err, werr)
			}
			if werr != nil {
				continue // a float beyond the range encoding/json writes
			}
			if !bytes.Equal(w.Buf, want) {
				t.Fatalf("Writer wrote %s, encoding/json %s", w.Buf, want)
			}
			back, err := NewDecoder(w.Buf, false).Value()
			if err != nil || !reflect.DeepEqual(back, canonical(v)) {
				t.Fatalf("Writer's %s does not decode back (%v):\n%s", w.Buf, err, cmp.Diff(v, back))
			}
		}
	})
}
