package stats

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/internal/hostile"
	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// reportAll analyzes capture and writes the report in every format, as
// `stats` does. peak is the most heap in use, above what was in use
// before, sampled every 1,024 packets and after each step.
func reportAll(t testing.TB, capture []byte) (r *Report, peak uint64) {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	sample := func() {
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
			peak = ms.HeapAlloc - base
		}
	}
	rc := &dissect.RunConfig{}
	n := 0
	rc.OnPDU = func(*dissect.PDU) {
		if n++; n%1024 == 0 {
			sample()
		}
	}
	r, _, err := Analyze(context.Background(), bytes.NewReader(capture), rc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	sample()
	for _, w := range []func(io.Writer, *Report) error{WriteText, WriteMarkdown, WriteJSON} {
		if err := w(io.Discard, r); err != nil {
			t.Fatal(err)
		}
		sample()
	}
	return r, peak
}

// TestCraftedSubscriptionsBounded (issue 11, case 4): subscriptions and
// topics built to make matching quadratic and the report huge. The bytes
// allocated stay within a multiple of the capture's size plus a constant,
// whatever the counts. Sizes are a tenth of the unless -short is
// off and the full size is cheap.
func TestCraftedSubscriptionsBounded(t *testing.T) {
	tests := []struct {
		name    string
		capture func(scale int) []byte
		check   func(t *testing.T, r *Report)
	}{
		{"1,000 # filters, 20 topics of 60 KB", func(s int) []byte { return hostile.SharpFilters(100*s, 20, 60000) }, func(t *testing.T, r *Report) {
			row := r.Subscriptions.Rows[0]
			if len(row.Matched) != 20 || len(row.Matched[0]) > 300 || !strings.HasSuffix(row.Matched[0], " bytes)") {
				t.Errorf("row 0 matched %d topics, first of %d bytes", len(row.Matched), len(row.Matched[0]))
			}
		}},
		{"10,000 subscriptions x 10,000 topics", func(s int) []byte { return hostile.ManySubscriptions(1000*s, 1000*s) }, func(t *testing.T, r *Report) {
			// "+/0" matches t/0; "t/1" matches t/1.
			if m := r.Subscriptions.Rows[0].Matched; len(m) != 1 || m[0] != "t/0" {
				t.Errorf("+/0 matched %q", m)
			}
			if m := r.Subscriptions.Rows[1].Matched; len(m) != 1 || m[0] != "t/1" {
				t.Errorf("t/1 matched %q", m)
			}
		}},
		{"200-level topics", func(s int) []byte { return hostile.DeepTopics(1000*s, 1000*s, 200) }, func(t *testing.T, r *Report) {
			if r.Subscriptions.MatchIncomplete != 0 {
				t.Errorf("matching cut for %d topics", r.Subscriptions.MatchIncomplete)
			}
			// Filter 2 is "a/a/#": it matches every topic.
			if s := r.Subscriptions.Rows[2]; len(s.Matched)+s.MatchedMore != len(r.Topics.Rows) {
				t.Errorf("%s matched %d+%d of %d topics", s.Filter, len(s.Matched), s.MatchedMore, len(r.Topics.Rows))
			}
		}},
		{"20 UNSUBSCRIBEs of 10,000 filters", func(s int) []byte { return hostile.BigUnsubscribes(2*s, 1000*s) }, func(t *testing.T, r *Report) {
			if n := len(r.Subscriptions.Rows) + r.Subscriptions.Omitted; n != 2*1000 && n != 20*10000 {
				t.Errorf("%d rows and omitted", n)
			}
		}},
	}
	scales := []int{1, 10}
	if testing.Short() {
		scales = scales[:1]
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, scale := range scales {
				capture := tt.capture(scale)
				var r *Report
				var peak uint64
				alloc := allocated(func() { r, peak = reportAll(t, capture) })
				tt.check(t, r)
				t.Logf("scale %d: capture %.1f MB, %.1f MB allocated, peak heap %.1f MB", scale, float64(len(capture))/1e6, float64(alloc)/1e6, float64(peak)/1e6)
				// Live memory: a ceiling whatever the counts. Work: linear
				// in the capture's bytes (the report is written three
				// times, each topic and filter copied a few times).
				if peak > 96<<20 {
					t.Errorf("scale %d: heap peaked %d bytes above the start, want under 96 MB", scale, peak)
				}
				if limit := uint64(64*len(capture)) + 128<<20; alloc > limit {
					t.Errorf("scale %d: %d bytes allocated for a capture of %d, want at most %d", scale, alloc, len(capture), limit)
				}
			}
		})
	}
}

// TestSharedSubscriptionMatches (issue 11, case 7): "$share/grp/v5/shared/#"
// matches as "v5/shared/#" (MQTT 5.0 §4.8.2).
func TestSharedSubscriptionMatches(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client1, broker)
	c.Handshake()
	c.Send(up, connect311("worker", 60, ""))
	c.Send(down, connack)
	c.Send(up, subscribe(1, "$share/grp/v5/shared/#", 1))
	c.Send(down, suback(1, 1))
	c.Send(down, publish("v5/shared/job", 1, 9, false, "x"))
	r := analyze(t, b.Pcap(), Config{})
	s := r.Subscriptions.Rows[0]
	if len(s.Matched) != 1 || s.Matched[0] != "v5/shared/job" || s.SharedGroup != "grp" {
		t.Errorf("row %+v", s)
	}
}

// TestMissedDeliveries (issue 11, case 8): 10,000 QoS 1 messages published,
// 3,486 delivered to the only QoS 1 subscriber: the row shows the ratio
// and Problems says so.
func TestMissedDeliveries(t *testing.T) {
	r := analyze(t, hostile.ManyPublishes(10000, 3486), Config{})
	s := r.Subscriptions.Rows[0]
	if s.Published != 10000 || s.Delivered != 3486 {
		t.Errorf("published %d, delivered %d", s.Published, s.Delivered)
	}
	p := problemOf(r, "delivery.missed")
	if p == nil || !strings.Contains(p.Message, "subscriber got 3486 of the 10000") {
		t.Fatalf("problem %+v", p)
	}
	var out bytes.Buffer
	if err := WriteText(&out, r); err != nil || !strings.Contains(out.String(), "3486/10000") {
		t.Errorf("text report lacks the ratio (%v)", err)
	}
	// All delivered: no problem.
	r = analyze(t, hostile.ManyPublishes(100, 100), Config{})
	if p := problemOf(r, "delivery.missed"); p != nil {
		t.Errorf("problem %+v with every message delivered", p)
	}
	js, _ := json.Marshal(r.Subscriptions.Rows[0])
	if !strings.Contains(string(js), `"published_qos12":100,"delivered_qos12":100`) {
		t.Errorf("json %s", js)
	}
}

// TestDamagedCapture (issue 11, case 6): a capture cut in the middle of a
// record says so in every format, and what the cut may explain (a PUBLISH
// never answered, a session still open) is marked as such.
func TestDamagedCapture(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client1, broker)
	c.Handshake()
	c.Send(up, connect311("cut", 60, ""))
	c.Send(down, connack)
	c.Send(down, publish("a/b", 1, 5, false, "x")) // its PUBACK is past the cut
	c.Send(up, puback(5))
	full := b.Pcap()
	capture := full[:len(full)-10]
	r, _, err := Analyze(context.Background(), bytes.NewReader(capture), nil, Config{})
	if err == nil {
		t.Fatal("no error for a cut capture")
	}
	if !strings.Contains(r.Summary.Damaged, "truncated capture") {
		t.Errorf("summary damaged = %q", r.Summary.Damaged)
	}
	p := problemOf(r, "delivery.unanswered")
	if p == nil || !p.PossiblyCut || !strings.Contains(p.Message, "possibly because the capture is cut short") {
		t.Errorf("problem %+v", p)
	}
	if e := r.Sessions.Rows[0].Ended; !strings.Contains(e.Text, "damaged capture") {
		t.Errorf("ended %q", e.Text)
	}
	var text, md, js bytes.Buffer
	WriteText(&text, r)
	WriteMarkdown(&md, r)
	WriteJSON(&js, r)
	for name, out := range map[string]string{"text": text.String(), "markdown": md.String()} {
		if !strings.Contains(out, "The capture is damaged") {
			t.Errorf("%s report does not say the capture is damaged", name)
		}
	}
	if !strings.Contains(js.String(), `"capture_damaged": "dissect: truncated capture`) || !strings.Contains(js.String(), `"possibly_cut": true`) {
		t.Errorf("json lacks capture_damaged or possibly_cut")
	}
	// The whole capture: nothing marked.
	r = analyze(t, full, Config{})
	if r.Summary.Damaged != "" || problemOf(r, "delivery.unanswered") != nil {
		t.Errorf("full capture: damaged %q, problems %+v", r.Summary.Damaged, r.Problems)
	}
}

// TestEvictedSessions: stats counts the connections the reader dropped for
// its ceiling and ends their sessions as "evicted".
func TestEvictedSessions(t *testing.T) {
	rc := &dissect.RunConfig{MaxConns: 100}
	r, _, err := Analyze(context.Background(), bytes.NewReader(hostile.PartialHeaders(1000)), rc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Evicted != 900 || r.Sessions.Rows[0].Ended.Kind != "evicted" || r.Sessions.Rows[999].Ended.Kind != "open" {
		t.Errorf("evicted %d, first session %+v", r.Summary.Evicted, r.Sessions.Rows[0].Ended)
	}
}

// TestWriteJSONStreamsSameBytes: the row-by-row JSON writer writes what
// encoding/json writes for the whole report, empty lists included.
func TestWriteJSONStreamsSameBytes(t *testing.T) {
	for _, r := range []*Report{
		analyze(t, hostile.ManyPublishes(20, 10), Config{}),
		New(Config{}).Report(dissect.RunStats{}),
		{},
	} {
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&got, r); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("streamed JSON differs:\n%s\nwant:\n%s", got.String(), want.String())
		}
	}
}

// TestBranchingFiltersBounded: filters that branch at every level ('+' or
// 'a' at each of 12 levels: 4,096 filters, all matching one topic) make
// each match stop at its budget, proportional to the topic's levels; the
// report says the counts may be short.
func TestBranchingFiltersBounded(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client1, broker)
	c.Handshake()
	c.Send(up, connect311("brancher", 60, ""))
	const levels = 12
	var filters []string
	for m := range 1 << levels {
		var f []string
		for l := range levels {
			if m>>l&1 == 1 {
				f = append(f, "+")
			} else {
				f = append(f, "a")
			}
		}
		filters = append(filters, strings.Join(f, "/"))
	}
	for i := 0; i < len(filters); i += 512 {
		c.Send(up, hostile.Subscribe(i/512+1, filters[i:i+512]))
	}
	topic := strings.TrimSuffix(strings.Repeat("a/", levels), "/")
	p := b.Conn(client2, broker)
	p.Handshake()
	p.Send(up, connect311("pub", 60, ""))
	for i := range 1000 {
		p.Send(up, publish(topic, 1, i+1, false, "x"))
	}
	r := analyze(t, b.Pcap(), Config{})
	if r.Subscriptions.MatchIncomplete == 0 {
		t.Error("no match was cut")
	}
	var out bytes.Buffer
	if err := WriteText(&out, r); err != nil || !strings.Contains(out.String(), "Matching stopped early") {
		t.Errorf("text report does not say matching was cut (%v)", err)
	}
}
