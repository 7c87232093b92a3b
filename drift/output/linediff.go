package output

import (
	"strings"

	"github.com/driftgate/driftgate/internal/textsafe"
)

// lineDiff renders two multi-line strings (a Corefile, a config file in a
// ConfigMap) as changed lines with one line of context, "-" for dev and "+"
// for prod. ok is false when either value is not a multi-line string. Each
// line's text goes through textsafe.Line: the values come from the
// clusters, and a line of a ConfigMap may hold "::add-mask::" or a \r.
func lineDiff(dev, prod any) (lines []string, ok bool) {
	a, okA := dev.(string)
	b, okB := prod.(string)
	if !okA || !okB || (!strings.Contains(a, "\n") && !strings.Contains(b, "\n")) {
		return nil, false
	}
	x := strings.Split(strings.TrimSuffix(a, "\n"), "\n")
	y := strings.Split(strings.TrimSuffix(b, "\n"), "\n")
	if len(x)*len(y) > 4_000_000 {
		return nil, false // too large for a quadratic table; show the values whole
	}
	// Longest common subsequence table, from the end.
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type op struct {
		kind byte
		text string
	}
	var ops []op
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			ops = append(ops, op{' ', x[i]})
			i++
			j++
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', x[i]})
			i++
		default:
			ops = append(ops, op{'+', y[j]})
			j++
		}
	}
	const context = 1
	keep := make([]bool, len(ops))
	for k, o := range ops {
		if o.kind != ' ' {
			for c := max(0, k-context); c <= min(len(ops)-1, k+context); c++ {
				keep[c] = true
			}
		}
	}
	gap := false
	for k, o := range ops {
		if !keep[k] {
			gap = true
			continue
		}
		if gap && len(lines) > 0 {
			lines = append(lines, "  ...")
		}
		gap = false
		lines = append(lines, string(o.kind)+" "+textsafe.Line(o.text))
	}
	return lines, true
}
