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
	// The largest FT_BYTES item 1.10 can export: 3n < ceiling.
	if n := (EphemeralCeiling - 1) / 3; ExportSize(&Item{Value: make([]byte, n)}) >= EphemeralCeiling ||
		ExportSize(&Item{Value: make([]byte, n+1)}) < EphemeralCeiling {
		t.Errorf("bytes limit is not at %d", n)
	}
}
