// Package version reports driftgate's own version, set at link time by the
// Makefile and otherwise read from the module's build information.
package version

import "runtime/debug"

// Version is set with -ldflags "-X github.com/driftgate/driftgate/internal/version.Version=...".
var Version = ""

// String returns the version of this build: the linked-in value, else the
// module version, else "devel".
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
