package drift

// looksSecret stands in for secretEnvName.MatchString in Normalize: this
// test holds it to the regexp, and the benchmark compares the two.

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestLooksSecretMatchesRegexp(t *testing.T) {
	t.Parallel()
	parts := []string{"pass", "PASSWORD", "passwd", "Secret", "sec", "TOKEN", "tok", "API", "api_key", "APIKEY", "Api_Key",
		"api__key", "CREDENTIAL", "credentials", "PRIVATE", "private_key", "privatekey", "ACCESS", "access_key", "accesskey",
		"KEY", "_", "-", "DB", "HOST", "x", "ſecret", "tO\u212aEN", "é", strings.Repeat("A", 70), ""}
	r := rand.New(rand.NewPCG(19, 20))
	matched := 0
	for range 100000 {
		var b strings.Builder
		for range r.IntN(4) + 1 {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		name := b.String()
		want := secretEnvName.MatchString(name)
		if got := looksSecret(name); got != want {
			t.Fatalf("looksSecret(%q) = %v, the regexp says %v", name, got, want)
		}
		if want {
			matched++
		}
	}
	if matched < 10000 || matched > 90000 {
		t.Errorf("%d of 100000 names matched: the test does not exercise both answers", matched)
	}
}

func BenchmarkLooksSecret(b *testing.B) {
	names := []string{"DB_PASSWORD", "GOMAXPROCS", "OTEL_EXPORTER_OTLP_ENDPOINT", "APP_NAME", "API_KEY"}
	b.Run("looksSecret", func(b *testing.B) {
		for b.Loop() {
			for _, n := range names {
				looksSecret(n)
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			for _, n := range names {
				secretEnvName.MatchString(n)
			}
		}
	})
}
