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
// the build information (a tag or pseudo-version when Go stamped one, or
// "(devel)") with the VCS revision the go tool recorded, if any.
func String() string {
	if Stamp != "" {
		return Stamp
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (revision " + rev + modified + ")"
	}
	return v
}
