package dns

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/driftgate/driftgate/internal/memwatch"
)

// largeCorefileBound is the memory a 50,000-line Corefile may take to parse
// and compare, several times what it takes today.
const largeCorefileBound = 1 << 30

// TestLargeCorefile parses and compares Corefiles of 50,000 lines: one of
// stub domains (a block each), one with a hosts block of 50,000 entries,
// and shapes that would make a careless parser quadratic.
func TestLargeCorefile(t *testing.T) {
	if testing.Short() {
		t.Skip("large input: 50,000-line Corefiles")
	}
	const lines = 50_000
	hosts := func(variant int) string {
		var b strings.Builder
		b.WriteString(".:53 {\n    errors\n    hosts {\n")
		for i := range lines - 7 {
			if i == lines/2 {
				i += variant // prod names another host in the middle
			}
			fmt.Fprintf(&b, "        10.%d.%d.%d host%d.example.org\n", i>>16, i>>8&0xff, i&0xff, i)
		}
		b.WriteString("        fallthrough\n    }\n    forward . /etc/resolv.conf\n}\n")
		return b.String()
	}
	tests := []struct {
		name      string
		dev, prod string
		wantErr   string // empty: parses; else a substring of the error
		wantDiffs int
	}{
		// largeCorefile has 12 lines a stub domain; prod differs in one block of ten.
		{"stub domains", largeCorefile(lines/12, false), largeCorefile(lines/12, true), "", 3 * ((lines/12 + 9) / 10)},
		{"hosts entries", hosts(0), hosts(1), "", 1},
		{"unclosed snippets", strings.Repeat("(s) {\n", lines), "", "syntax error", 0},
		{"snippets and imports", strings.Repeat("(s) {\n  errors\n}\n", lines/6) + strings.Repeat(". {\n  import s\n}\n", lines/6), "", "snippet imports expand beyond", 0},
		{"one long line", ". {\n" + strings.Repeat("  errors ", lines) + "\n}\n", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			watch := memwatch.Start(10 * time.Millisecond)
			start := time.Now()
			dev, derr := Parse("dev", []byte(tt.dev))
			var diffs []Difference
			if derr == nil && tt.prod != "" {
				prod, err := Parse("prod", []byte(tt.prod))
				if err != nil {
					t.Fatalf("prod: %v", err)
				}
				diffs = Compare(dev, prod)
			}
			elapsed := time.Since(start)
			peak := watch.Stop()
			t.Logf("%d lines: parsed and compared in %s (error: %v); %d differences; %s",
				strings.Count(tt.dev, "\n"), elapsed.Round(time.Millisecond), derr, len(diffs), peak)
			if (derr == nil) != (tt.wantErr == "") || derr != nil && !strings.Contains(derr.Error(), tt.wantErr) {
				t.Errorf("error %v, want one with %q", derr, tt.wantErr)
			}
			var pe *ParseError
			if derr != nil && (!errors.As(derr, &pe) || pe.Line < 1) {
				t.Errorf("error without a line: %v", derr)
			}
			if len(diffs) != tt.wantDiffs {
				t.Errorf("%d differences, want %d", len(diffs), tt.wantDiffs)
			}
			if elapsed > 20*time.Second {
				t.Errorf("took %s", elapsed)
			}
			if peak.Max() > largeCorefileBound {
				t.Errorf("took %s of memory; the bound is %s", memwatch.MiB(peak.Max()), memwatch.MiB(largeCorefileBound))
			}
		})
	}
}
