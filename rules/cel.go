package rules

import (
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/yamlx"
)

// celEnv declares dev and prod as dynamic values: the normalized objects, or
// null when the object is absent on that side.
var celEnv, celEnvErr = cel.NewEnv(
	cel.Variable("dev", cel.DynType),
	cel.Variable("prod", cel.DynType),
)

// compileCEL compiles the rule's expression once, at load; a syntax or type
// error is reported at its position in the file.
func (r *Rule) compileCEL(file string, n *yamlx.Node) error {
	if celEnvErr != nil {
		return celEnvErr
	}
	ast, iss := celEnv.Compile(r.Expression)
	if iss != nil && iss.Err() != nil {
		e := iss.Errors()[0]
		line, col := celPosition(n, e.Location.Line(), e.Location.Column())
		return yamlx.Errorf(file, &yamlx.Node{Line: line, Column: col}, "see https://github.com/google/cel-spec",
			"rule %s: CEL: %s", r.ID, strings.TrimSpace(e.Message))
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return yamlx.Errorf(file, n, "the expression must be true when dev and prod agree",
			"rule %s: CEL expression returns %s, not bool", r.ID, t)
	}
	prg, err := celEnv.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return yamlx.Errorf(file, n, "", "rule %s: CEL: %v", r.ID, err)
	}
	r.program = prg
	return nil
}

// celPosition maps a position inside an expression (line 1-based, column
// 0-based) to the file. A block scalar (| or >) starts on the line after its
// key, indented by two more columns than the key by convention.
func celPosition(n *yamlx.Node, line, col int) (int, int) {
	if n.Style&(yamlx.LiteralStyle|yamlx.FoldedStyle) != 0 {
		return n.Line + line, n.Column + 2 + col
	}
	offset := 0
	if n.Style&(yamlx.DoubleQuotedStyle|yamlx.SingleQuotedStyle) != 0 {
		offset = 1
	}
	if line == 1 {
		return n.Line, n.Column + offset + col
	}
	return n.Line + line - 1, col + 1
}

// evalCEL runs the expression; the error says why it could not decide.
func (r *Rule) evalCEL(dev, prod *drift.Object) (bool, error) {
	vars := map[string]any{"dev": celValue(dev), "prod": celValue(prod)}
	out, _, err := r.program.Eval(vars)
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
