package validate

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mqttdissect/mqttdissect/dissect"
)

// TestUnformatText: unformatText inverts dissect.FormatText on the text a
// dissector shows (well-formed UTF-8, no backslashes).
func TestUnformatText(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune{'a', 'Z', ' ', '\t', '\n', '\r', '\a', '\b', '\f', '\v', 0, 1, 0x1f, 0x7f, 'é', 'ü', '€', 0x2028, 0xFEFF, 0x1F600, 0xFFFD, 0x85}
	for i := 0; i < 2000; i++ {
		var b strings.Builder
		for n := r.IntN(12); n > 0; n-- {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		s := b.String()
		if !utf8.ValidString(s) {
			continue
		}
		if got := unformatText(dissect.FormatText(s)); got != s {
			t.Fatalf("unformatText(FormatText(%q)) = %q", s, got)
		}
	}
}

func TestUncut(t *testing.T) {
	ref := &Tree{Items: []Item{{Abbrev: "mqtt"}, {Abbrev: "mqtt.msg", Depth: 1, Offset: 20, Len: 3000000, Show: "00:01:02:03", Label: "Message: 00010203"}}}
	note := Expert{Severity: "Note", Group: "Undecoded", Item: 1,
		Message: "mqttlua.msg has 3000000 bytes: Wireshark 1.10.14 can export only the first 873813 of one field (more aborts tshark), so the item covers those"}
	for _, tc := range []struct {
		name  string
		lua   Item
		fixed bool
	}{
		{"prefix", Item{Abbrev: "mqttlua.msg", Depth: 1, Offset: 20, Len: 873813, Show: "00:01"}, true},
		{"other bytes", Item{Abbrev: "mqttlua.msg", Depth: 1, Offset: 20, Len: 873813, Show: "00:02"}, false},
		{"other place", Item{Abbrev: "mqttlua.msg", Depth: 1, Offset: 21, Len: 873813, Show: "00:01"}, false},
		{"longer", Item{Abbrev: "mqttlua.msg", Depth: 1, Offset: 20, Len: 3000001, Show: "00:01"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &Tree{Proto: "mqttlua", Items: []Item{{Abbrev: "mqttlua"}, tc.lua}, Experts: []Expert{note}}
			got := uncut(l, ref, mapper{from: "mqttlua", to: NativePrefix})
			fixed := got.Items[1].Len == 3000000 && len(got.Experts) == 0
			if fixed != tc.fixed {
				t.Errorf("uncut: %+v, want fixed %v", got, tc.fixed)
			}
			if l.Items[1] != tc.lua || len(l.Experts) != 1 {
				t.Error("uncut changed its argument")
			}
		})
	}
}
