package stats

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

// Packet builders for synthetic captures (MQTT 3.1.1 unless stated).

func packet(first byte, body ...[]byte) []byte {
	var all []byte
	for _, b := range body {
		all = append(all, b...)
	}
	return append(append([]byte{first}, pcapbuild.Varint(len(all))...), all...)
}

func str(s string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

func u16(v int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }

// connect311 builds a CONNECT with clean session; a non-empty will topic
// adds a QoS 1 will.
func connect311(id string, keepAlive int, willTopic string) []byte {
	flags := byte(0x02)
	var will []byte
	if willTopic != "" {
		flags |= 0x04 | 0x08
		will = append(str(willTopic), str("gone")...)
	}
	return packet(0x10, str("MQTT"), []byte{4, flags}, u16(keepAlive), str(id), will)
}

// connect5 builds a v5 CONNECT with clean start and no properties.
func connect5(id string, keepAlive int) []byte {
	return packet(0x10, str("MQTT"), []byte{5, 0x02}, u16(keepAlive), []byte{0}, str(id))
}

var (
	connack     = []byte{0x20, 0x02, 0x00, 0x00}
	connack5    = []byte{0x20, 0x03, 0x00, 0x00, 0x00}
	pingreq     = []byte{0xc0, 0x00}
	pingresp    = []byte{0xd0, 0x00}
	disconnect  = []byte{0xe0, 0x00}
	connackAuth = []byte{0x20, 0x02, 0x00, 0x05}
)

func publish(topic string, qos int, id int, dup bool, payload string) []byte {
	first := byte(0x30 | qos<<1)
	if dup {
		first |= 0x08
	}
	var pid []byte
	if qos > 0 {
		pid = u16(id)
	}
	return packet(first, str(topic), pid, []byte(payload))
}

func puback(id int) []byte  { return packet(0x40, u16(id)) }
func pubrec(id int) []byte  { return packet(0x50, u16(id)) }
func pubrel(id int) []byte  { return packet(0x62, u16(id)) }
func pubcomp(id int) []byte { return packet(0x70, u16(id)) }
func subscribe(id int, filter string, qos byte) []byte {
	return packet(0x82, u16(id), str(filter), []byte{qos})
}
func suback(id int, code byte) []byte { return packet(0x90, u16(id), []byte{code}) }

var (
	broker  = netip.MustParseAddrPort("192.0.2.1:1883")
	client1 = netip.MustParseAddrPort("192.0.2.10:40001")
	client2 = netip.MustParseAddrPort("192.0.2.11:40002")
	client3 = netip.MustParseAddrPort("192.0.2.12:40003")
)

const (
	up   = pcapbuild.ToServer
	down = pcapbuild.ToClient
)

func analyze(t testing.TB, capture []byte, cfg Config) *Report {
	t.Helper()
	r, _, err := Analyze(context.Background(), bytes.NewReader(capture), nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func flowOf(r *Report, kind, from string) Flow {
	for _, f := range r.Delivery.Flows {
		if f.Kind == kind && f.From == from {
			return f
		}
	}
	return Flow{}
}

func problemOf(r *Report, kind string) *Problem {
	for i := range r.Problems {
		if r.Problems[i].Kind == kind {
			return &r.Problems[i]
		}
	}
	return nil
}

func TestUnansweredQoS1(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client1, broker)
	c.Handshake()
	c.Send(up, connect311("pub", 60, ""))
	c.Send(down, connack)
	c.Send(up, publish("a/b", 1, 7, false, "x"))
	pubFrame := b.Len()
	c.Send(up, publish("a/b", 1, 8, false, "y"))
	c.Send(down, puback(8))
	r := analyze(t, b.Pcap(), Config{})

	f := flowOf(r, "qos1", "client")
	if f.Started != 2 || f.Completed != 1 || f.Unanswered != 1 || f.UnknownID != 0 {
		t.Errorf("flow = %+v, want 2 started, 1 completed, 1 unanswered", f)
	}
	p := problemOf(r, "delivery.unanswered")
	if p == nil || p.Count != 1 || len(p.Frames) != 1 || p.Frames[0] != pubFrame {
		t.Errorf("unanswered problem = %+v, want frame %d", p, pubFrame)
	}
	s := r.Sessions.Rows[0]
	if s.Ended.Kind != "open" || s.Ended.Text != "open at capture end" {
		t.Errorf("ended = %+v", s.Ended)
	}
}

func TestKeepAliveBreach(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client1, broker)
	c.Handshake()
	c.Send(up, connect311("sleepy", 2, ""))
	c.Send(down, connack)
	c.Send(up, pingreq) // 1 ms later: fine
	c.Send(down, pingresp)
	b.Sleep(2900 * time.Millisecond) // 2.9 s < 3 s: fine
	c.Send(up, pingreq)
	c.Send(down, pingresp)
	b.Sleep(4 * time.Second) // 4 s > 1.5 x 2 s
	c.Send(up, pingreq)
	late := b.Len()
	c.Send(down, pingresp)
	c.Send(up, disconnect)
	c.Close()

	// A second client whose keep-alive runs out while the capture goes on,
	// and a third with keep-alive 0 (no limit).
	d := b.Conn(client2, broker)
	d.Handshake()
	d.Send(up, connect311("idle", 5, ""))
	d.Send(down, connack)
	e := b.Conn(client3, broker)
	e.Handshake()
	e.Send(up, connect311("nolimit", 0, ""))
	e.Send(down, connack)
	b.Sleep(10 * time.Second)
	e.Send(up, pingreq)
	e.Send(down, pingresp)

	r := analyze(t, b.Pcap(), Config{})
	if len(r.Sessions.Rows) != 3 {
		t.Fatalf("%d sessions", len(r.Sessions.Rows))
	}
	s := r.Sessions.Rows[0].Ended
	if !s.KeepAliveExceeded || s.KeepAliveFrame != late || s.KeepAliveGapS < 4 || s.KeepAliveGapS > 4.1 || s.Kind != "disconnect" {
		t.Errorf("session 1 ended = %+v, want keep-alive exceeded at frame %d", s, late)
	}
	if s := r.Sessions.Rows[1].Ended; !s.KeepAliveExceeded || s.KeepAliveFrame != 0 || s.Kind != "open" {
		t.Errorf("session 2 ended = %+v, want open with keep-alive exceeded before the end", s)
	}
	if s := r.Sessions.Rows[2].Ended; s.KeepAliveExceeded {
		t.Errorf("session 3 (keep-alive 0) ended = %+v", s)
	}
	if p := problemOf(r, "session.keep_alive_exceeded"); p == nil || p.Count != 2 || p.Frames[0] != late {
		t.Errorf("problem = %+v", p)
	}
}

func TestReusedIDDupAndUnknownAck(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client1, broker)
	c.Handshake()
	c.Send(up, connect311("pub", 60, ""))
	c.Send(down, connack)
	c.Send(up, publish("a", 1, 5, false, "1"))
	c.Send(up, publish("a", 1, 5, false, "2")) // reused while in flight
	reused := b.Len()
	c.Send(down, puback(5))
	c.Send(up, publish("a", 1, 6, false, "3"))
	c.Send(up, publish("a", 1, 6, true, "3")) // DUP re-send: the same flow
	dup := b.Len()
	c.Send(down, puback(6))
	c.Send(down, puback(99)) // nothing in flight
	unknown := b.Len()
	// QoS 2 both ways, with a PUBREL nobody asked for.
	c.Send(up, publish("b", 2, 10, false, "q2"))
	c.Send(down, pubrec(10))
	c.Send(up, pubrel(10))
	c.Send(down, pubcomp(10))
	c.Send(down, publish("b", 2, 1, false, "q2"))
	c.Send(up, pubrec(1))
	c.Send(down, pubrel(1))
	c.Send(up, pubcomp(1))
	c.Send(up, pubrel(11))
	c.Send(up, disconnect)
	c.Close()
	r := analyze(t, b.Pcap(), Config{})

	f := flowOf(r, "qos1", "client")
	// PUBACK 99 answers the client's identifiers: it counts there.
	want := Flow{Kind: "qos1", From: "client", Started: 3, Completed: 2, UnknownID: 1, ReusedID: 1, DupResends: 1}
	if f != want {
		t.Errorf("qos1 flow = %+v\nwant %+v", f, want)
	}
	if f := flowOf(r, "qos2", "client"); f.Started != 1 || f.Completed != 1 || f.UnknownID != 1 {
		t.Errorf("qos2 client flow = %+v", f)
	}
	if f := flowOf(r, "qos2", "broker"); f.Started != 1 || f.Completed != 1 {
		t.Errorf("qos2 broker flow = %+v", f)
	}
	for kind, frame := range map[string]int{"delivery.reused_id": reused, "delivery.dup_resend": dup, "delivery.unknown_id": unknown} {
		if p := problemOf(r, kind); p == nil || p.Frames[0] != frame {
			t.Errorf("%s = %+v, want frame %d", kind, p, frame)
		}
	}
	var steps []string
	for _, l := range r.Delivery.Latency {
		steps = append(steps, l.Step+" "+l.From)
	}
	if len(steps) != 5 {
		t.Errorf("latency rows %q", steps)
	}
}

func TestTCPCloseWillAndDisconnect(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	watch := b.Conn(client1, broker)
	watch.Handshake()
	watch.Send(up, connect311("watcher", 60, ""))
	watch.Send(down, connack)
	watch.Send(up, subscribe(1, "w/#", 1))
	watch.Send(down, suback(1, 1))

	// Sends the will topic while alive (must not count as the will).
	victim := b.Conn(client2, broker)
	victim.Handshake()
	victim.Send(up, connect311("victim", 60, "w/victim"))
	victim.Send(down, connack)
	victim.Send(up, publish("w/victim", 0, 0, false, "online"))
	watch.Send(down, publish("w/victim", 0, 0, false, "online"))
	victim.Close() // no DISCONNECT
	watch.Send(down, publish("w/victim", 1, 1, false, "gone"))
	willFrame := b.Len()
	watch.Send(up, puback(1))

	// RST without DISCONNECT, and a v5 session the broker ends.
	rst := b.Conn(client3, broker)
	rst.Handshake()
	rst.Send(up, connect311("reset", 60, ""))
	rst.Send(down, connack)
	rst.Reset(up)

	v5 := b.Conn(netip.MustParseAddrPort("192.0.2.13:40004"), broker)
	v5.Handshake()
	v5.Send(up, connect5("five", 30))
	v5.Send(down, connack5)
	v5.Send(down, []byte{0xe0, 0x02, 0x8e, 0x00}) // session taken over
	v5.Close()

	watch.Send(up, disconnect)
	watch.Close()
	r := analyze(t, b.Pcap(), Config{})
	if len(r.Sessions.Rows) != 4 {
		t.Fatalf("%d sessions", len(r.Sessions.Rows))
	}
	byID := map[string]Session{}
	for _, s := range r.Sessions.Rows {
		byID[s.ClientID] = s
	}
	v := byID["victim"]
	if v.Ended.Kind != "tcp_close" || v.Ended.WillPublished != willFrame || v.Will == nil || v.Will.Topic != "w/victim" || v.Will.QoS != 1 {
		t.Errorf("victim = %+v, will %+v; want tcp_close, will published at %d", v.Ended, v.Will, willFrame)
	}
	if want := "TCP close without DISCONNECT; will published (frame " + itoa(willFrame) + ")"; v.Ended.Text != want {
		t.Errorf("victim text %q, want %q", v.Ended.Text, want)
	}
	if s := byID["reset"]; s.Ended.Kind != "tcp_close" || s.Ended.WillPublished != 0 {
		t.Errorf("reset = %+v", s.Ended)
	}
	if s := byID["five"]; s.Ended.Kind != "disconnect" || s.Ended.DisconnectBy != "broker" || s.Ended.ReasonCode != 0x8e ||
		s.Ended.Text != "DISCONNECT from broker (Session taken over (0x8E))" {
		t.Errorf("five = %+v", s.Ended)
	}
	if s := byID["watcher"]; s.Ended.Kind != "disconnect" || s.Ended.Text != "DISCONNECT" {
		t.Errorf("watcher = %+v", s.Ended)
	}
	if len(r.Subscriptions.Rows) != 1 || len(r.Subscriptions.Rows[0].Matched) != 1 || r.Subscriptions.Rows[0].Result != "granted QoS 1" {
		t.Errorf("subscriptions = %+v", r.Subscriptions.Rows)
	}
}

func TestRefusedAndMissingConnack(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client1, broker)
	c.Handshake()
	c.Send(up, connect311("nope", 60, "w/x"))
	c.Send(down, connackAuth)
	refused := b.Len()
	c.Close()
	d := b.Conn(client2, broker)
	d.Handshake()
	d.Send(up, connect311("silent", 60, ""))
	connectFrame := b.Len()
	d.Close()
	r := analyze(t, b.Pcap(), Config{})
	s := r.Sessions.Rows[0]
	if s.Connack == nil || s.Connack.Accepted || s.Connack.Result != "Connection Refused: not authorized (5)" {
		t.Errorf("connack = %+v", s.Connack)
	}
	if s.Ended.Text != "TCP close without DISCONNECT" {
		t.Errorf("a refused session expects no will: %q", s.Ended.Text)
	}
	if p := problemOf(r, "connack.refused"); p == nil || p.Frames[0] != refused {
		t.Errorf("refused = %+v", p)
	}
	if p := problemOf(r, "connack.missing"); p == nil || p.Frames[0] != connectFrame {
		t.Errorf("missing = %+v", p)
	}
}

func TestCaps(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	for i := 0; i < 3; i++ {
		c := b.Conn(netip.AddrPortFrom(client1.Addr(), uint16(41000+i)), broker)
		c.Handshake()
		c.Send(up, connect311("c"+itoa(i), 60, ""))
		c.Send(down, connack)
		for j := 0; j < 4; j++ {
			c.Send(up, publish("t/"+itoa(i)+"/"+itoa(j), 1, j+1, false, "p"))
		}
		c.Send(up, disconnect)
		c.Close()
	}
	r := analyze(t, b.Pcap(), Config{MaxSessions: 2, MaxTopics: 5, MaxInflight: 3, MaxFrames: 2})
	if len(r.Sessions.Rows) != 2 || r.Sessions.Omitted == nil || r.Sessions.Omitted.Count != 1 || r.Sessions.Omitted.Ended["disconnect"] != 1 {
		t.Errorf("sessions: %d rows, omitted %+v", len(r.Sessions.Rows), r.Sessions.Omitted)
	}
	if !r.Topics.Overflow || len(r.Topics.Rows) != 6 || r.Topics.Rows[5].Topic != "(other)" || r.Topics.Rows[5].Published != 7 {
		t.Errorf("topics: %+v", r.Topics)
	}
	f := flowOf(r, "qos1", "client")
	if f.Started != 12 || f.Unanswered != 9 || r.Delivery.Untracked != 3 {
		t.Errorf("flow %+v, untracked %d", f, r.Delivery.Untracked)
	}
	if p := problemOf(r, "delivery.unanswered"); p == nil || len(p.Frames) != 2 || !p.MoreFrames || p.Count != 9 {
		t.Errorf("unanswered = %+v", p)
	}

	r = analyze(t, b.Pcap(), Config{TopicDepth: 1})
	if len(r.Topics.Rows) != 1 || r.Topics.Rows[0].Topic != "t/#" || r.Topics.Rows[0].Topics != 12 || len(r.Topics.Rows[0].Publishers) != 3 {
		t.Errorf("depth 1: %+v", r.Topics.Rows)
	}
}

func TestRollUpAndShorten(t *testing.T) {
	for _, tc := range []struct {
		topic string
		depth int
		want  string
	}{
		{"a/b/c", 0, "a/b/c"}, {"a/b/c", 1, "a/#"}, {"a/b/c", 2, "a/b/#"}, {"a/b/c", 3, "a/b/c"},
		{"a", 1, "a"}, {"/x", 1, "/#"}, {"a//b", 2, "a//#"},
	} {
		if got := rollUp(tc.topic, tc.depth); got != tc.want {
			t.Errorf("rollUp(%q, %d) = %q, want %q", tc.topic, tc.depth, got, tc.want)
		}
	}
	if got := shortenMiddle("sensors/building-7/floor-3/room-12/temperature", 20); got != "sensors/bu…mperature" {
		t.Errorf("shortenMiddle = %q", got)
	}
	if got := shortenMiddle("short", 20); got != "short" {
		t.Errorf("shortenMiddle = %q", got)
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := 1; i <= 100; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	if !h.exactAll() || h.quantile(0.5) != 50*time.Millisecond || h.quantile(0.99) != 99*time.Millisecond || h.max != 100*time.Millisecond {
		t.Errorf("exact: p50 %v p99 %v", h.quantile(0.5), h.quantile(0.99))
	}
	var big histogram
	for i := 1; i <= 100000; i++ {
		big.add(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := q * 100000 * float64(time.Microsecond)
		got := float64(big.quantile(q))
		if got < want*0.95 || got > want*1.05 {
			t.Errorf("p%v = %v, want about %v", q*100, time.Duration(got), time.Duration(want))
		}
	}
}

// TestMemoryFlat runs 200,000 QoS 1 messages over 100 connections and
// compares the heap after 20,000 messages with the heap at the end.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("large capture")
	}
	const conns, messages, batch = 100, 200000, 10
	capture := buildLoad(conns, messages, batch)
	var heap20k, heapEnd uint64
	published := 0
	measure := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	rc := &dissect.RunConfig{}
	rc.OnPDU = func(p *dissect.PDU) {
		if p.Packet.Type == 3 {
			published++
			switch published {
			case 20000:
				heap20k = measure()
			case messages:
				heapEnd = measure()
			}
		}
	}
	r, _, err := Analyze(context.Background(), bytes.NewReader(capture), rc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	f := flowOf(r, "qos1", "client")
	if f.Started != messages || f.Completed != messages || published != messages {
		t.Fatalf("flow %+v, %d published", f, published)
	}
	t.Logf("heap in use after 20,000 messages: %.1f MiB; after %d: %.1f MiB (capture %.1f MiB held by the test)",
		float64(heap20k)/(1<<20), messages, float64(heapEnd)/(1<<20), float64(len(capture))/(1<<20))
	if heapEnd > heap20k+4<<20 {
		t.Errorf("heap grew from %d to %d bytes", heap20k, heapEnd)
	}
	if !r.Topics.Overflow || len(r.Topics.Rows) != 10001 {
		t.Errorf("topics: overflow %v, %d rows", r.Topics.Overflow, len(r.Topics.Rows))
	}
}

// buildLoad writes a capture of QoS 1 PUBLISH/PUBACK traffic, batch
// messages per segment.
func buildLoad(conns, messages, batch int) []byte {
	b := pcapbuild.New(pcapbuild.Options{Step: 100 * time.Microsecond})
	cs := make([]*pcapbuild.Conn, conns)
	for i := range cs {
		cs[i] = b.Conn(netip.AddrPortFrom(netip.MustParseAddr("10.1.0.1"), uint16(20000+i)), broker)
		cs[i].Handshake()
		cs[i].Send(up, connect311("client-"+itoa(i), 60, ""))
		cs[i].Send(down, connack)
	}
	id := make([]int, conns)
	var ups, downs []byte
	for m := 0; m < messages; m += batch * conns {
		for i, c := range cs {
			ups, downs = ups[:0], downs[:0]
			for k := 0; k < batch; k++ {
				id[i] = id[i]%65535 + 1
				// 30,000 distinct topics: past the 10,000 kept.
				topic := "site/" + itoa(i) + "/sensor/" + itoa((m/conns+k)%300)
				ups = append(ups, publish(topic, 1, id[i], false, "payload-of-some-size")...)
				downs = append(downs, puback(id[i])...)
			}
			c.Send(up, ups)
			c.Send(down, downs)
		}
	}
	for _, c := range cs {
		c.Send(up, disconnect)
		c.Close()
	}
	return b.Pcap()
}

// TestKeepAliveAcrossGap (issue 11, case 2): the client's bytes between two
// packets are known lost (the broker acknowledged them): the keep-alive
// interval is not judged across them.
func TestKeepAliveAcrossGap(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client1, broker)
	c.Handshake()
	c.Send(up, connect311("lossy", 10, ""))
	c.Send(down, connack)
	c.Drop(up, 2980)
	b.Sleep(100 * time.Second)
	c.Send(up, pingreq)
	c.Send(down, pingresp)
	c.Send(up, disconnect)
	r := analyze(t, b.Pcap(), Config{})
	if e := r.Sessions.Rows[0].Ended; e.KeepAliveExceeded {
		t.Errorf("ended = %+v, want no keep-alive breach across lost client bytes", e)
	}
	if p := problemOf(r, "session.keep_alive_exceeded"); p != nil {
		t.Errorf("problem %+v", p)
	}
}
