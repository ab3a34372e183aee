package wslua

import (
	"fmt"
	"sort"
	"strings"
)

// Profile selects which Wireshark release (and which Lua dialect) the
// emulator imitates. Only the API points that release has are visible to the
// script; using one it lacks fails with a message naming the first release
// that has it.
type Profile struct {
	name string // "1.10", "1.10/5.2", "4.4", ...
	ver  int    // major*100+minor: 110, 112, 206, 306, 400, 404
	lua  int    // 51, 52 or 54
}

// The profiles the emulator knows.
var (
	// Profile110 is Wireshark 1.10 built with Lua 5.1 (CentOS 7): has the
	// `bit` global, no `bit32`.
	Profile110 = Profile{"1.10", 110, 51}
	// Profile110Lua52 is Wireshark 1.10 built with Lua 5.2: `bit32` but no
	// `bit` global.
	Profile110Lua52 = Profile{"1.10/5.2", 110, 52}
	Profile112      = Profile{"1.12", 112, 52}
	Profile26       = Profile{"2.6", 206, 52}
	Profile36       = Profile{"3.6", 306, 52}
	Profile40       = Profile{"4.0", 400, 52}
	// Profile44 is Wireshark 4.4 with Lua 5.4: no bit32, unpack, loadstring,
	// setfenv, module.
	Profile44 = Profile{"4.4", 404, 54}
)

var allProfiles = []Profile{Profile110, Profile110Lua52, Profile112, Profile26, Profile36, Profile40, Profile44}

// Profiles returns every known profile, oldest first.
func Profiles() []Profile { return append([]Profile(nil), allProfiles...) }

// ProfileByName returns the profile called name ("1.10", "1.10/5.2",
// "1.12", "2.6", "3.6", "4.0", "4.4").
func ProfileByName(name string) (Profile, error) {
	for _, p := range allProfiles {
		if p.name == name {
			return p, nil
		}
	}
	names := make([]string, len(allProfiles))
	for i, p := range allProfiles {
		names[i] = p.name
	}
	sort.Strings(names)
	return Profile{}, fmt.Errorf("wslua: unknown profile %q (known: %s)", name, strings.Join(names, ", "))
}

// String returns the profile name.
func (p Profile) String() string { return p.name }

// Wireshark returns the imitated Wireshark release as "major.minor".
func (p Profile) Wireshark() string { return fmt.Sprintf("%d.%d", p.ver/100, p.ver%100) }

// Lua returns the Lua dialect as "5.1", "5.2" or "5.4".
func (p Profile) Lua() string { return fmt.Sprintf("%d.%d", p.lua/10, p.lua%10) }

// IsZero reports whether p is the zero Profile (Options then use Profile40).
func (p Profile) IsZero() bool { return p.ver == 0 }

func (p Profile) atLeast(v int) bool { return p.ver >= v }

// versionString is what get_version() returns.
func (p Profile) versionString() string {
	switch p.ver {
	case 110:
		return "1.10.14"
	case 112:
		return "1.12.13"
	case 206:
		return "2.6.20"
	case 306:
		return "3.6.24"
	case 400:
		return "4.0.17"
	case 404:
		return "4.4.9"
	}
	return p.Wireshark() + ".0"
}

func verName(v int) string { return fmt.Sprintf("%d.%d", v/100, v%100) }

// missing returns the error text used when a script touches an API point
// the profile lacks.
func (p Profile) missing(what string, since int) string {
	return fmt.Sprintf("wslua: %s is not available in Wireshark %s (first in %s)", what, p.Wireshark(), verName(since))
}

// missingLua is the error for a Lua library feature absent from the dialect.
func (p Profile) missingLua(what, note string) string {
	return fmt.Sprintf("wslua: %s is not available in Lua %s (Wireshark %s)%s", what, p.Lua(), p.Wireshark(), note)
}
