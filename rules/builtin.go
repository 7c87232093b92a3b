package rules

import (
	_ "embed"
	"fmt"
)

// BuiltinName is how a config or flag names the built-in pack.
const BuiltinName = "builtin"

//go:embed builtin.yaml
var builtinYAML []byte

// Builtin returns the built-in rule pack.
func Builtin() (*RuleSet, error) {
	rs, err := Parse(BuiltinName, builtinYAML)
	if err != nil {
		return nil, fmt.Errorf("built-in rule pack: %w", err) // a bug in driftgate, caught by its tests
	}
	return rs, nil
}

// Load reads rule sets by name: "builtin" or a file path.
func Load(names []string) ([]*RuleSet, error) {
	var out []*RuleSet
	for _, n := range names {
		var rs *RuleSet
		var err error
		if n == BuiltinName {
			rs, err = Builtin()
		} else {
			rs, err = LoadFile(n)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rs)
	}
	return out, nil
}

// Find returns the rule with id in sets, and its set.
func Find(sets []*RuleSet, id string) (*Rule, *RuleSet) {
	for _, s := range sets {
		for _, r := range s.Rules {
			if r.ID == id {
				return r, s
			}
		}
	}
	return nil, nil
}
