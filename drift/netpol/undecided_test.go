package netpol

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Conditions the model cannot decide are compared as text: equal text on
// both sides is nothing, whichever policy holds it; a difference is
// undecided unless it can only make dev stricter (dev's extras restrict and
// prod's extras allow).
func TestCompareOpaque(t *testing.T) {
	t.Parallel()
	fqdn := func(pol, what string) opaqueUse { return opaqueUse{opaque: opaque{what, effectAllows}, policy: pol} }
	l7 := func(pol, what string) opaqueUse { return opaqueUse{opaque: opaque{what, effectRestricts}, policy: pol} }
	other := func(pol, what string) opaqueUse { return opaqueUse{opaque: opaque{what, effectUnknown}, policy: pol} }
	tests := []struct {
		name      string
		dev, prod []opaqueUse
		want      bool
		stricter  bool
		devOnly   []string
		prodOnly  []string
	}{
		{name: "none"},
		{name: "same text, other policy names", dev: []opaqueUse{fqdn("a", "x")}, prod: []opaqueUse{fqdn("b", "x")}},
		{name: "prod allows a domain dev does not", dev: nil, prod: []opaqueUse{fqdn("p", "x")}, want: true, stricter: true, prodOnly: []string{"p: x"}},
		{name: "dev allows a domain prod does not", dev: []opaqueUse{fqdn("d", "x")}, want: true, devOnly: []string{"d: x"}},
		{name: "dev filters at L7, prod does not", dev: []opaqueUse{l7("d", "http GET /")}, want: true, stricter: true, devOnly: []string{"d: http GET /"}},
		{name: "prod filters at L7, dev does not", prod: []opaqueUse{l7("p", "http GET /")}, want: true, prodOnly: []string{"p: http GET /"}},
		{name: "another API's policy", prod: []opaqueUse{other("p", "istio")}, want: true, prodOnly: []string{"p: istio"}},
		{name: "twice in prod, once in dev", dev: []opaqueUse{fqdn("a", "x")}, prod: []opaqueUse{fqdn("a", "x"), fqdn("b", "x")}, want: true, stricter: true, prodOnly: []string{"b: x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x, got := compareOpaque(tc.dev, tc.prod)
			if got != tc.want {
				t.Fatalf("undecided = %v, want %v", got, tc.want)
			}
			if !got {
				return
			}
			if x.Stricter != tc.stricter {
				t.Errorf("stricter = %v, want %v", x.Stricter, tc.stricter)
			}
			if diff := cmp.Diff(tc.devOnly, x.DevOnly); diff != "" {
				t.Errorf("dev only (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.prodOnly, x.ProdOnly); diff != "" {
				t.Errorf("prod only (-want +got):\n%s", diff)
			}
		})
	}
}

// An allowance the model cannot decide (a domain name) that only one side
// has matters only where the other side may deny: against a workload that
// no policy restricts it cannot allow more, so it is not reported; against
// an isolated one it is (prod allowing a domain dev does not is dev being
// stricter).
func TestCompareAllAllowanceAgainstOpenSide(t *testing.T) {
	t.Parallel()
	objs := []map[string]any{deployment("x", "a", "pod=a")}
	fqdn := cnpDoc("x", "fqdn", `
endpointSelector: {matchLabels: {pod: a}}
egress:
- toFQDNs: [{matchName: api.example.com}]
- toCIDR: [192.0.2.0/24]`)
	world := cnpDoc("x", "cidr", `
endpointSelector: {matchLabels: {pod: a}}
egress:
- toCIDR: [192.0.2.0/24]`)
	tests := []struct {
		name      string
		dev, prod string
		undecided int
		stricter  bool
	}{
		{name: "prod allows a domain, dev has no policy", dev: "", prod: fqdn},
		{name: "dev allows a domain, prod has no policy", dev: fqdn, prod: ""},
		{name: "prod allows a domain, dev is isolated", dev: world, prod: fqdn, undecided: 1, stricter: true},
		{name: "dev allows a domain, prod is isolated", dev: fqdn, prod: world, undecided: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, got := CompareAll(mustBuild(t, objs, tc.dev), mustBuild(t, objs, tc.prod))
			if len(got) != tc.undecided {
				t.Fatalf("undecided: %+v, want %d", got, tc.undecided)
			}
			if tc.undecided > 0 && (got[0].Stricter != tc.stricter || got[0].Direction != DirectionEgress) {
				t.Errorf("undecided %+v, want stricter %v on egress", got[0], tc.stricter)
			}
		})
	}
}
