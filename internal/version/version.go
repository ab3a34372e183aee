// Package version is the version of mqttdissect, as .ci/release stamps it
// into release binaries at link time:
//
//	go build -ldflags "-X github.com/mqttdissect/mqttdissect/internal/version.Stamp=v1.2.3" ./cmd/mqttdissect
//
// (Go's own VCS stamping is not used: it is off in GOFLAGS on some machines
// and misses git worktrees and source tarballs.)
package version

import "runtime/debug"

// Stamp is set by the linker; empty in builds that did not set it.
var Stamp string

// String returns the stamped version, else the main module's version from
// the build information (a tag or pseudo-version when Go stamped one),
// else "(devel)".
func String() string {
	if Stamp != "" {
		return Stamp
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
