package luagen

import (
	"testing"

	"github.com/mqttdissect/mqttdissect/luagen/wslua"
)

// TestLimits keeps the generator's facts about Wireshark 1.x equal to the
// emulator's, and the prefixes safe in the worst case.
func TestLimits(t *testing.T) {
	if EphemeralCeiling != wslua.EphemeralCeiling {
		t.Fatalf("ceiling %d, emulator %d", EphemeralCeiling, wslua.EphemeralCeiling)
	}
	for _, abbrev := range []string{"mqtt.msg", "mqttlua.msg", "mqtt.prop_unknown"} {
		// FT_BYTES: "abbrev == " and 3n-1 characters and a NUL.
		n := ExportBytesLimit(abbrev)
		if cost := func(n int) int { return len(abbrev) + 4 + 3*n - 1 + 1 }; cost(n) >= EphemeralCeiling || cost(n+1) < EphemeralCeiling {
			t.Errorf("%s: bytes limit %d is not the largest safe one", abbrev, n)
		}
		// Strings: 3 bytes shown per byte at worst, each escaped as \xNN,
		// 2 quotes, "abbrev == " and a NUL.
		if n := ExportTextLimit(abbrev); len(abbrev)+4+12*n+2+1 >= EphemeralCeiling {
			t.Errorf("%s: text limit %d is not safe", abbrev, n)
		}
	}
	if TextChunk+1 >= EphemeralCeiling {
		t.Errorf("chunk %d is not below the ceiling", TextChunk)
	}
}
