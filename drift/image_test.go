package drift

import "testing"

func TestSameImage(t *testing.T) {
	t.Parallel()
	const x = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	const y = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"nginx:1.27", "docker.io/library/nginx:1.27", true},
		{"nginx:1.27", "index.docker.io/library/nginx:1.27", true},
		{"docker.io/library/nginx:1.27", "index.docker.io/library/nginx:1.27", true},
		{"nginx", "nginx:latest", true},
		{"nginx", "docker.io/library/nginx:latest", true},
		{"nginx:1.27", "nginx:1.28", false},
		{"nginx:1.27", "nginx@" + x, false}, // a tag against a digest pin
		{"nginx:1.27@" + x, "nginx@" + x, true},
		{"nginx:1.27@" + x, "nginx:1.28@" + x, true}, // the digest decides
		{"nginx@" + x, "nginx@" + y, false},
		{"nginx:1.27", "ghcr.io/library/nginx:1.27", false},
		{"team/app:1", "docker.io/team/app:1", true},
		{"registry.local:5000/app:1", "registry.local:5000/app:1", true},
		{"registry.local:5000/app", "registry.local:5000/app:latest", true},
		{"Not A Ref", "Not A Ref", true}, // unparseable: compared as strings
		{"Not A Ref", "not-a-ref", false},
	} {
		if got := SameImage(tc.a, tc.b); got != tc.want {
			t.Errorf("SameImage(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := SameImage(tc.b, tc.a); got != tc.want {
			t.Errorf("SameImage(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestDiffFieldsImages(t *testing.T) {
	t.Parallel()
	pod := func(image, initImage, envValue string) map[string]any {
		return map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers":     []any{map[string]any{"name": "app", "image": image, "env": []any{map[string]any{"name": "IMG", "value": envValue}}}},
			"initContainers": []any{map[string]any{"name": "init", "image": initImage}},
		}}}}
	}
	got := DiffFields(pod("nginx:1.27", "busybox", "nginx:1.27"), pod("docker.io/library/nginx:1.27", "busybox:latest", "docker.io/library/nginx:1.27"))
	// Only image fields are references; an env value that looks like one is a string.
	if len(got) != 1 || got[0].Path != "spec.template.spec.containers[name=app].env[name=IMG].value" {
		t.Errorf("diffs: %+v", got)
	}
	got = DiffFields(pod("nginx:1.27", "busybox", "x"), pod("nginx:1.28", "busybox", "x"))
	if len(got) != 1 || got[0].Path != "spec.template.spec.containers[name=app].image" {
		t.Errorf("diffs: %+v", got)
	}
}
