package rules

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/yamlx"
)

// Limits on one expression. cel-go's defaults (100,000 characters, nesting
// 250) let a single expression take tens of seconds to compile (a chain of
// thousands of comparisons joined by ||, lists nested 200 deep); within these
// an expression compiles in well under a second.
const (
	celMaxSize    = 10_000
	celMaxNesting = 64
)

// celEnv declares dev and prod as dynamic values: the normalized objects, or
// null when the object is absent on that side.
var celEnv, celEnvErr = cel.NewEnv(
	cel.Variable("dev", cel.DynType),
	cel.Variable("prod", cel.DynType),
	cel.ParserExpressionSizeLimit(celMaxSize),
	cel.ParserRecursionLimit(celMaxNesting),
)

// celCostLimit bounds one evaluation as Kubernetes bounds one CEL
// expression of a ValidatingAdmissionPolicy (its PerCallLimit): nested
// comprehensions that would run for hours fail instead, which the rule
// reports as a finding.
const celCostLimit = 1_000_000

// celInterruptEvery is how many comprehension iterations run between looks
// at the context (an evaluation near the cost limit takes most of a
// second). Every one: cel-go's look is not sticky, so with a larger
// interval only the comprehension whose iteration lands on it stops, and
// the comprehensions around it run on to the cost limit. A look is a
// select on a channel, small beside an iteration.
const celInterruptEvery = 1

// compileCEL compiles the rule's expression once, at load; a syntax or type
// error is reported at its position in src, the file's content.
func (r *Rule) compileCEL(file string, src []byte, n *yamlx.Node) error {
	if celEnvErr != nil {
		return celEnvErr
	}
	ast, iss := celEnv.Compile(r.Expression)
	if iss != nil && iss.Err() != nil {
		e := iss.Errors()[0]
		msg := strings.TrimSpace(e.Message)
		line, col, exact := celPosition(src, n, r.Expression, e.Location.Line(), e.Location.Column())
		if !exact && e.Location.Line() >= 1 && e.Location.Column() >= 0 {
			msg += fmt.Sprintf(" (line %d, column %d of the expression)", e.Location.Line(), e.Location.Column()+1)
		}
		hint := "see https://github.com/google/cel-spec"
		if strings.Contains(msg, "exceeds limit") || strings.Contains(msg, "limit exceeded") || strings.Contains(msg, "recursion depth") {
			hint = fmt.Sprintf("split it into several rules: an expression may hold %d characters and nest %d deep", celMaxSize, celMaxNesting)
		}
		return yamlx.Errorf(file, &yamlx.Node{Line: line, Column: col}, hint, "rule %s: CEL: %s", r.ID, msg)
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return yamlx.Errorf(file, n, "the expression must be true when dev and prod agree",
			"rule %s: CEL expression returns %s, not bool", r.ID, t)
	}
	prg, err := celEnv.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(celCostLimit), cel.InterruptCheckFrequency(celInterruptEvery))
	if err != nil {
		return yamlx.Errorf(file, n, "", "rule %s: CEL: %v", r.ID, err)
	}
	r.program = prg
	return nil
}

// celPosition maps a position inside the expression held by scalar node n
// (line 1-based, column 0-based, in characters) to the file whose content is
// src. It checks the mapping against src: where the scalar's text differs
// from the expression's up to the position (a folded line, an escape, a
// doubled quote), it returns the scalar's start and exact false.
func celPosition(src []byte, n *yamlx.Node, expr string, line, col int) (int, int, bool) {
	exprLines := strings.Split(expr, "\n")
	if line < 1 || line > len(exprLines) || col < 0 {
		return n.Line, n.Column, false
	}
	if n.Style&(yamlx.LiteralStyle|yamlx.FoldedStyle) != 0 {
		// Content starts on the line after the indicator; each line is the
		// block's indentation, then the expression's line as written.
		text := sourceLines(src, n.Line+1, line)
		if len(text) < line {
			return n.Line, n.Column, false
		}
		indent := -1
		for i, e := range exprLines[:line] {
			if e == "" {
				if strings.Trim(text[i], " ") != "" {
					return n.Line, n.Column, false
				}
				continue
			}
			pad, ok := strings.CutSuffix(text[i], e)
			if !ok || strings.Trim(pad, " ") != "" || (indent >= 0 && len(pad) != indent) {
				return n.Line, n.Column, false
			}
			indent = len(pad)
		}
		return n.Line + line, max(indent, 0) + col + 1, true
	}
	if line == 1 {
		offset := 0
		if n.Style&(yamlx.DoubleQuotedStyle|yamlx.SingleQuotedStyle) != 0 {
			offset = 1
		}
		want := []rune(exprLines[0])
		want = want[:min(col+1, len(want))]
		if text := sourceLines(src, n.Line, 1); len(text) == 1 {
			runes := []rune(text[0])
			if start := n.Column - 1 + offset; start >= 0 && start <= len(runes) && strings.HasPrefix(string(runes[start:]), string(want)) {
				return n.Line, n.Column + offset + col, true
			}
		}
	}
	return n.Line, n.Column, false
}

// sourceLines returns up to count lines of src from line first (1-based),
// without their line breaks.
func sourceLines(src []byte, first, count int) []string {
	for i := 1; i < first; i++ {
		nl := bytes.IndexByte(src, '\n')
		if nl < 0 {
			return nil
		}
		src = src[nl+1:]
	}
	var out []string
	for len(out) < count {
		l, rest, found := bytes.Cut(src, []byte("\n"))
		out = append(out, strings.TrimSuffix(string(l), "\r"))
		if !found {
			break
		}
		src = rest
	}
	return out
}

// evalCEL runs the expression, stopping soon after ctx is done; the error
// says why it could not decide.
func (r *Rule) evalCEL(ctx context.Context, dev, prod *drift.Object) (bool, error) {
	vars := map[string]any{"dev": celValue(dev), "prod": celValue(prod)}
	out, _, err := r.program.ContextEval(ctx, vars)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("expression returned %v, not a bool", out.Value())
	}
	return b, nil
}

func celValue(o *drift.Object) any {
	if o == nil {
		return types.NullValue
	}
	return o.Object
}

var templateFuncs = template.FuncMap{
	// keys lists a map's keys, sorted: {{ keys .Dev.data }}.
	"keys": func(v any) string {
		m, _ := v.(map[string]any)
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, ", ")
	},
}

// messageData is what a rule's message template sees.
type messageData struct {
	Object string
	Dev    map[string]any
	Prod   map[string]any
}

func (r *Rule) renderMessage(id drift.ObjectID, dev, prod *drift.Object, fallback string) string {
	if r.message == nil {
		return fallback
	}
	d := messageData{Object: id.String()}
	if dev != nil {
		d.Dev = dev.Object
	}
	if prod != nil {
		d.Prod = prod.Object
	}
	var b strings.Builder
	if err := r.message.Execute(&b, d); err != nil {
		return fallback + " (message template failed: " + err.Error() + ")"
	}
	return b.String()
}
