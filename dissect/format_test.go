package dissect

import (
	"encoding/json"
	"testing"
	"time"
)

// TestAppendUTCNano: the hand-written JSONL time equals time.Format's.
func TestAppendUTCNano(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000000Z07:00"
	for _, tm := range []time.Time{
		time.Unix(0, 0),
		time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 12, 7, 9, 0, 0, 120000000, time.FixedZone("x", 3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 1, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		want := tm.UTC().Format(layout)
		if got := string(appendUTCNano(nil, tm)); got != want {
			t.Errorf("%v: %q, want %q", tm, got, want)
		}
	}
}

// TestAppendJSONBytes: what appendJSONBytes writes reads back as the same
// text, whatever control bytes or quotes it holds.
func TestAppendJSONBytes(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "\x00\x01\n\r\t\x1f\x7f", "ü/€/😀", "end\\"} {
		var back string
		if err := json.Unmarshal(appendJSONBytes(nil, []byte(s)), &back); err != nil || back != s {
			t.Errorf("%q: read back %q (%v)", s, back, err)
		}
	}
}
