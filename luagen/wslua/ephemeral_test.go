package wslua

import "testing"

func TestFormatText110(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain/topic", "plain/topic"},
		{"ü", `\303\274`},
		{"a\tb\nc\rd\ae\bf\fg\vh", `a\tb\nc\rd\ae\bf\fg\vh`},
		{"\x00\x01\x7f", `\000\001\177`},
		{`back\slash`, `back\slash`},
		{"\xef\xbf\xbd", `\357\277\275`}, // U+FFFD, as the script passes it
	} {
		if got := FormatText110(tc.in); got != tc.want {
			t.Errorf("FormatText110(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEphemeralCeiling(t *testing.T) {
	if EphemeralCeiling != 2621440 {
		t.Fatalf("ceiling %d", EphemeralCeiling)
	}
	for _, p := range Profiles() {
		want := 0
		if p.Wireshark() == "1.10" {
			want = EphemeralCeiling
		}
		if got := p.EphemeralCeiling(); got != want {
			t.Errorf("%s: ceiling %d, want %d", p, got, want)
		}
	}
	// The largest FT_BYTES item of mqtt.msg 1.10 can export, and strings.
	for _, tc := range []struct {
		it   Item
		want int
	}{
		{Item{Abbrev: "mqtt.msg", Value: make([]byte, 873809)}, 2621439},
		{Item{Abbrev: "mqtt.msg", Value: make([]byte, 873810)}, 2621442},
		{Item{Abbrev: "mqtt.msg", Value: []byte{}}, 13},
		{Item{Abbrev: "t", Value: "a\\\"\x01\xc3\xbc"}, 6 + 2 + 1 + 2 + 2 + 4 + 8},
		{Item{Abbrev: "t", Value: 7}, 0},
	} {
		if got := ExportSize(&tc.it); got != tc.want {
			t.Errorf("ExportSize(%s %q) = %d, want %d", tc.it.Abbrev, tc.it.Value, got, tc.want)
		}
	}
}
