package dissect

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/hostile"
	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
	"github.com/mqttdissect/mqttdissect/spec"
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

// decodeAll runs the decoder over capture with every output format, as
// `decode`, `decode -V` and `decode --format jsonl` do.
func decodeAll(t testing.TB, capture []byte, cfg RunConfig) (packets []*Packet, rs RunStats) {
	t.Helper()
	var buf []byte
	cfg.OnPDU = func(p *PDU) {
		buf = AppendSummary(buf[:0], p, p.Time)
		buf = AppendTree(buf[:0], p)
		buf = AppendJSON(buf[:0], p)
		c := *p.Packet
		c.Nodes, c.Notes = append([]Node(nil), c.Nodes...), append([]Note(nil), c.Notes...)
		packets = append(packets, &c)
	}
	rs, err := Run(context.Background(), bytes.NewReader(capture), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	return packets, rs
}

// TestBigSubscribeBounded (issue 11, case 3): one SUBSCRIBE of millions of
// topic filters builds a tree of DefaultMaxRepeat entries and a note on the
// rest, so memory does not grow with the count.
func TestBigSubscribeBounded(t *testing.T) {
	sizes := []int{10000, 400000}
	if !testing.Short() {
		sizes = append(sizes, 4000000) // the 16 MB packet
	}
	for _, n := range sizes {
		capture := hostile.BigSubscribe(n)
		var packets []*Packet
		alloc := allocated(func() { packets, _ = decodeAll(t, capture, RunConfig{}) })
		if len(packets) != 3 {
			t.Fatalf("n=%d: %d packets", n, len(packets))
		}
		p := packets[2]
		filters := 0
		for _, node := range p.Nodes {
			if node.Field == spec.Topic {
				filters++
			}
		}
		var note string
		for _, nt := range p.Notes {
			if nt.Rule == spec.RuleRepeatsHidden {
				note = nt.Message
			}
		}
		if filters != DefaultMaxRepeat || p.Hidden != n-DefaultMaxRepeat || !strings.HasPrefix(note, itoa(n-DefaultMaxRepeat)+" more mqtt.topic entries not shown") {
			t.Errorf("n=%d: %d filters shown, %d hidden, note %q", n, filters, p.Hidden, note)
		}
		if len(p.Info()) > 8*DefaultMaxRepeat {
			t.Errorf("n=%d: info of %d bytes", n, len(p.Info()))
		}
		// The packet's bytes (4 bytes per filter) are kept once while it
		// is reassembled; the tree adds a fixed amount on top.
		limit := uint64(3*4*n) + 8<<20
		t.Logf("n=%d: %.1f MB allocated", n, float64(alloc)/1e6)
		if alloc > limit {
			t.Errorf("n=%d: %d bytes allocated, want at most %d", n, alloc, limit)
		}
	}
}

func itoa(n int) string { return fmtInt(n) }

func fmtInt(n int) string {
	var b []byte
	return string(appendInt(b, n))
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// TestUserPropertiesBounded: the ceiling holds for the properties of a block
// as for the entries of a list.
func TestUserPropertiesBounded(t *testing.T) {
	const n = 50000
	var props []byte
	for range n {
		props = append(props, 0x26, 0, 1, 'k', 0, 1, 'v')
	}
	body := append([]byte{0, 3, 'a', '/', 'b'}, append(pcapbuild.Varint(len(props)), props...)...)
	pkt := append(append([]byte{0x30}, pcapbuild.Varint(len(body))...), body...)
	var p Packet
	st := NewConnState(&Options{DefaultVersion: spec.V5})
	if err := Decode(&p, pkt, st, ToServer, &Options{}); err != nil {
		t.Fatal(err)
	}
	if p.Hidden != n-DefaultMaxRepeat || len(p.Nodes) > 6*DefaultMaxRepeat+20 {
		t.Errorf("%d hidden, %d nodes", p.Hidden, len(p.Nodes))
	}
}

// TestWriteHostile writes the hostile captures of issue 11 at their full
// sizes into $MQTTDISSECT_HOSTILE_DIR, for the README's measurements with
// /usr/bin/time -v on the built binary.
func TestWriteHostile(t *testing.T) {
	dir := os.Getenv("MQTTDISSECT_HOSTILE_DIR")
	if dir == "" {
		t.Skip("set MQTTDISSECT_HOSTILE_DIR to write the hostile captures")
	}
	files := []struct {
		name  string
		build func() []byte
	}{
		{"big-subscribe.pcap", func() []byte { return hostile.BigSubscribe(4000000) }},
		{"subscribe-5000.pcap", func() []byte { return hostile.BigSubscribe(5000) }},
		{"sharp-filters.pcap", func() []byte { return hostile.SharpFilters(1000, 20, 60000) }},
		{"many-subscriptions.pcap", func() []byte { return hostile.ManySubscriptions(10000, 10000) }},
		{"deep-topics.pcap", func() []byte { return hostile.DeepTopics(10000, 10000, 200) }},
		{"big-unsubscribes.pcap", func() []byte { return hostile.BigUnsubscribes(20, 10000) }},
		{"partial-headers.pcap", func() []byte { return hostile.PartialHeaders(1000000) }},
		{"lost-deliveries.pcap", func() []byte { return hostile.ManyPublishes(10000, 3486) }},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.build(), 0o644); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
	}
}

// TestConnectionCeiling (issue 11, case 5): connections that each send a
// partial header are evicted, the one idle the longest first, so the state
// stays bounded by MaxConns; each evicted one's partial packet is shown
// with an mqtt.evicted note and counted.
func TestConnectionCeiling(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 20000
	}
	const ceiling = 1000
	capture := hostile.PartialHeaders(n)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, uint64(0)
	packets, evictedNotes := 0, 0
	firstEvicted := ""
	cfg := RunConfig{MaxConns: ceiling}
	cfg.OnPDU = func(p *PDU) {
		packets++
		for _, note := range p.Packet.Notes {
			if note.Rule == spec.RuleEvicted {
				evictedNotes++
				if firstEvicted == "" {
					firstEvicted = p.Src.String()
				}
			}
		}
		if packets%1024 == 0 {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
		}
	}
	rs, err := Run(context.Background(), bytes.NewReader(capture), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if packets != n || rs.Evicted != n-ceiling || evictedNotes != n-ceiling {
		t.Errorf("%d packets, %d evicted, %d notes; want %d, %d", packets, rs.Evicted, evictedNotes, n, n-ceiling)
	}
	if firstEvicted != "10.0.0.0:40000" {
		t.Errorf("first evicted %s, want the oldest, 10.0.0.0:40000", firstEvicted)
	}
	t.Logf("%d connections, ceiling %d: heap peaked %.1f MB above the start", n, ceiling, float64(peak)/1e6)
	// Without the ceiling each connection's state stays: about 1 KB each.
	// (The sampled heap includes garbage not yet collected.)
	if peak > 40<<20 {
		t.Errorf("heap peaked %d bytes above the start, want under 40 MB", peak)
	}
}

// TestEvictOldestIdle: a connection active all along survives the
// ceiling; the one idle longest goes first.
func TestEvictOldestIdle(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	busy := b.Conn(testClient, testServer)
	busy.Handshake()
	busy.Send(pcapbuild.ToServer, unhex(t, connect311))
	for i := range 10 {
		c := b.Conn(netip.AddrPortFrom(netip.MustParseAddr("192.0.2.50"), uint16(50000+i)), testServer)
		c.Send(pcapbuild.ToServer, []byte{0x30})
		busy.Send(pcapbuild.ToServer, unhex(t, pingreq))
	}
	var got []string
	busyPackets := 0
	cfg := RunConfig{MaxConns: 3}
	cfg.OnPDU = func(p *PDU) {
		if p.Src == testClient {
			if p.State.SawConnect && !p.State.Evicted {
				busyPackets++ // the busy connection kept its state
			}
			return
		}
		got = append(got, p.Src.String()+":"+ruleNames(p.Packet))
	}
	rs, err := Run(context.Background(), bytes.NewReader(b.Pcap()), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Evicted != 8 || len(got) != 10 || busyPackets != 11 || !strings.HasPrefix(got[0], "192.0.2.50:50000:") || !strings.Contains(got[0], "mqtt.evicted") {
		t.Errorf("evicted %d; packets %q", rs.Evicted, got)
	}
}
