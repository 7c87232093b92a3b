package drift

import (
	"github.com/distribution/reference"
)

// SameImage reports whether two container image references name the same
// image once both are written out in full: "nginx:1.27",
// "docker.io/library/nginx:1.27" and "index.docker.io/library/nginx:1.27"
// are one image, and so are "nginx" and "nginx:latest".
//
// A digest decides where there is one: two references with the same digest
// are the same image whatever their tags say ("nginx:1.27@sha256:X" is
// "nginx@sha256:X", since the runtime pulls by digest and ignores the tag),
// and a tag is never the same as a digest pin, because the tag can move.
// References that do not parse are compared as strings.
func SameImage(a, b string) bool {
	if a == b {
		return true
	}
	ra, errA := reference.ParseNormalizedNamed(a)
	rb, errB := reference.ParseNormalizedNamed(b)
	if errA != nil || errB != nil {
		return false // a == b was the string comparison
	}
	if ra.Name() != rb.Name() {
		return false
	}
	da, aDigested := ra.(reference.Digested)
	db, bDigested := rb.(reference.Digested)
	switch {
	case aDigested && bDigested:
		return da.Digest() == db.Digest()
	case aDigested || bDigested:
		return false
	}
	return tagOf(ra) == tagOf(rb)
}

func tagOf(r reference.Named) string {
	if t, ok := reference.TagNameOnly(r).(reference.Tagged); ok {
		return t.Tag()
	}
	return ""
}

// containerListKeys are the pod spec lists whose items' image field is an
// image reference.
var containerListKeys = map[string]bool{"containers": true, "initContainers": true, "ephemeralContainers": true}

// isImageLeaf reports whether the field k of a map reached through the
// list parent is a container's image: ...containers[name=app].image, in a
// pod, a pod template or a CronJob's job template.
func isImageLeaf(parent, k string) bool { return k == "image" && containerListKeys[parent] }

// sameImageValue is SameImage for two compared leaves, which are strings
// where the objects are well formed.
func sameImageValue(a, b any) bool {
	sa, okA := a.(string)
	sb, okB := b.(string)
	return okA && okB && SameImage(sa, sb)
}
