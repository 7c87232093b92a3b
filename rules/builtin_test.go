package rules

import "testing"

func TestBuiltinLoads(t *testing.T) {
	t.Parallel()
	rs, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Rules) < 15 {
		t.Errorf("built-in pack has %d rules", len(rs.Rules))
	}
	for _, r := range rs.Rules {
		if r.Severity == "" || r.Description == "" {
			t.Errorf("rule %s lacks severity or description", r.ID)
		}
	}
}
