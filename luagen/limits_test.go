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
	// FT_BYTES: 3n bytes of text with its NUL.
	if 3*ExportBytesPrefix >= EphemeralCeiling || 3*(ExportBytesPrefix+1) < EphemeralCeiling {
		t.Errorf("bytes prefix %d is not the largest safe one", ExportBytesPrefix)
	}
	// Strings: 3 bytes shown per byte at worst, each escaped as \xNN in the
	// filter form, 2 quotes and a NUL.
	if 12*ExportTextPrefix+3 >= EphemeralCeiling {
		t.Errorf("text prefix %d is not safe", ExportTextPrefix)
	}
	if TextChunk+1 >= EphemeralCeiling {
		t.Errorf("chunk %d is not below the ceiling", TextChunk)
	}
}
