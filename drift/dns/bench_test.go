package dns

import (
	"fmt"
	"strings"
	"testing"
)

// largeCorefile is a root block like kubeadm's plus n stub domains, each
// with its own cache and forward options; prodLike varies one in ten
// blocks so Compare has real differences to report.
func largeCorefile(n int, prodLike bool) string {
	var b strings.Builder
	b.WriteString(base)
	for i := range n {
		ttl, up := 30, fmt.Sprintf("10.%d.%d.1", i/250, i%250)
		if prodLike && i%10 == 0 {
			ttl, up = 60, fmt.Sprintf("10.%d.%d.2", i/250, i%250)
		}
		fmt.Fprintf(&b, "stub%d.example.org:53 {\n    errors\n    cache %d {\n        success 9984\n        prefetch 5 1m 20%%\n    }\n"+
			"    forward . %s %s {\n        policy sequential\n        max_concurrent 100\n    }\n"+
			"    rewrite name exact www.stub%d.example.org stub%d.example.org\n}\n", i, ttl, up, "10.200.0.1", i, i)
	}
	return b.String()
}

// BenchmarkCompare compares two parsed 500-stub-domain Corefiles.
func BenchmarkCompare(b *testing.B) {
	dev, err := Parse("dev", []byte(largeCorefile(500, false)))
	if err != nil {
		b.Fatal(err)
	}
	prod, err := Parse("prod", []byte(largeCorefile(500, true)))
	if err != nil {
		b.Fatal(err)
	}
	if n := len(Compare(dev, prod)); n != 150 {
		b.Fatalf("Compare found %d differences, want 150 (3 in each of 50 blocks)", n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Compare(dev, prod)
	}
}

// BenchmarkParse parses the same 500-block Corefile.
func BenchmarkParse(b *testing.B) {
	text := []byte(largeCorefile(500, false))
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Parse("bench", text); err != nil {
			b.Fatal(err)
		}
	}
}
