package yamlx

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/driftgate/driftgate/internal/inputerr"
)

// aliasDoc is a config-shaped document whose list holds the anchored
// scalar once and then uses aliases of it.
func aliasDoc(scalar, uses int) string {
	return "name: x\nitems:\n- &big " + strings.Repeat("a", scalar) + "\n" + strings.Repeat("- *big\n", uses)
}

type aliasTarget struct {
	Name  string   `yaml:"name"`
	Items []string `yaml:"items"`
}

// TestDecodeBoundsAliasExpansion: aliases are bounded by the size they
// expand to, not only by their count: a 117 KB anchored scalar used 2,000
// times (234 MB expanded) is refused, naming the file and the alias's
// line, before it is expanded; aliases that expand modestly decode.
func TestDecodeBoundsAliasExpansion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		doc      string
		wantLine int // 0: decodes
	}{
		{"large anchor, many aliases", aliasDoc(117_000, 2_000), 0},
		{"small anchor, many aliases", aliasDoc(100, 2_000), 0},
		{"large anchor, few aliases", aliasDoc(117_000, 5), 0},
	}
	// 8 MiB (the floor, ten times the document being less) is passed at
	// the 71st alias of the 117,000-byte scalar (each use counts its bytes
	// and one for its node: 72 uses with the anchor's own, 8,424,072 bytes).
	tests[0].wantLine = 3 + 71
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v aliasTarget
			start := time.Now()
			err := Decode("c.yaml", []byte(tt.doc), &v)
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %s", elapsed)
			}
			if tt.wantLine == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ie *inputerr.Error
			if !errors.As(err, &ie) {
				t.Fatalf("want an inputerr.Error, got %v", err)
			}
			want := fmt.Sprintf("c.yaml:%d:3: excessive aliasing: aliases expand this document to more than 8.0 MiB (anchor &big at line 3, 114.3 KiB expanded, used 71 times up to here)", tt.wantLine)
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

// TestCheckAliasesSeesEveryDocument: in a stream, each document is checked
// on its own; a document without an anchor is not parsed twice.
func TestCheckAliasesSeesEveryDocument(t *testing.T) {
	t.Parallel()
	ok := "a: 1\n"
	bomb := aliasDoc(117_000, 2_000)
	if err := CheckAliases("m.yaml", []byte(ok+"---\n"+ok), 1); err != nil {
		t.Errorf("plain documents refused: %v", err)
	}
	err := CheckAliases("m.yaml", []byte(ok+"---\n"+bomb), 1)
	var ie *inputerr.Error
	if !errors.As(err, &ie) || ie.File != "m.yaml" || ie.Line != 2+3+71 {
		t.Errorf("want a refusal at m.yaml:%d, got %v", 2+3+71, err)
	}
}

func TestHasIndicator(t *testing.T) {
	t.Parallel()
	tests := []struct {
		data string
		want bool
	}{
		{"a: &x 1", true},
		{"&x 1", true},
		{"[&x 1, *x]", true},
		{"url: https://a/?b=1&c=2", false},
		{"{\"a\":&x 1}", true},
		{"\ufeff&x [1]", true},
		{"a: *\"quoted name", true}, // a name may start with a quote
		{"a: & x", false},
		{"a: &", false},
	}
	for _, tt := range tests {
		c := byte('&')
		if strings.Contains(tt.data, "*") && !strings.Contains(tt.data, "&") {
			c = '*'
		}
		if got := hasIndicator([]byte(tt.data), c); got != tt.want {
			t.Errorf("hasIndicator(%q, %q) = %v, want %v", tt.data, c, got, tt.want)
		}
	}
}
