package dissect

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

var (
	asmClient = netip.MustParseAddrPort("10.0.0.1:50000")
	asmServer = netip.MustParseAddrPort("10.0.0.2:1883")
)

// asmHarness feeds hand-built frames to an Assembler and records the
// handler calls as strings such as `0 data to-server "abc" @3`.
type asmHarness struct {
	t      testing.TB
	a      *Assembler
	events []string
	conns  int
	frame  Frame
	buf    [65536]byte // payload buffer, reused and scribbled like the reader's
	client netip.AddrPort
	server netip.AddrPort
}

func newAsmHarness(t testing.TB) *asmHarness {
	h := &asmHarness{t: t, client: asmClient, server: asmServer}
	h.a = NewAssembler(nil, func(key ConnKey, f *Frame) StreamHandler {
		id := h.conns
		h.conns++
		h.events = append(h.events, fmt.Sprintf("%d new %v->%v @%d", id, key.Client, key.Server, f.Number))
		return &asmRecorder{h: h, id: id}
	})
	return h
}

type asmRecorder struct {
	h  *asmHarness
	id int
}

func (r *asmRecorder) Data(dir Direction, data []byte, f *Frame) {
	r.h.events = append(r.h.events, fmt.Sprintf("%d data %v %q @%d", r.id, dir, data, f.Number))
}

func (r *asmRecorder) Gap(dir Direction, lost int, f *Frame) {
	r.h.events = append(r.h.events, fmt.Sprintf("%d gap %v %d @%d", r.id, dir, lost, f.Number))
}

func (r *asmRecorder) Close(_ *Frame, atEOF bool) {
	r.h.events = append(r.h.events, fmt.Sprintf("%d close eof=%v", r.id, atEOF))
}

// seg adds a frame from dir; its number is the next frame number.
func (h *asmHarness) seg(dir Direction, seq, ack uint32, flags TCPFlags, payload string) {
	h.segCut(dir, seq, ack, flags, payload, len(payload))
}

// segCut adds a frame of which only the first captured bytes of payload
// were captured.
func (h *asmHarness) segCut(dir Direction, seq, ack uint32, flags TCPFlags, payload string, captured int) {
	f := &h.frame
	f.Number++
	f.Src, f.Dst = h.client, h.server
	if dir == ToClient {
		f.Src, f.Dst = f.Dst, f.Src
	}
	f.Seq, f.Ack, f.Flags = seq, ack, flags
	f.Payload = h.buf[:copy(h.buf[:], payload[:captured])]
	f.PayloadLen = len(payload)
	f.Truncated = captured < len(payload)
	h.a.Add(f)
	// The reader reuses its buffer: anything the Assembler kept without
	// copying would now read as garbage.
	for i := range f.Payload {
		f.Payload[i] = '#'
	}
}

// handshake: client ISN 100, server ISN 500.
func (h *asmHarness) handshake() {
	h.seg(ToServer, 100, 0, TCPSyn, "")
	h.seg(ToClient, 500, 101, TCPSyn|TCPAck, "")
	h.seg(ToServer, 101, 501, TCPAck, "")
}

func (h *asmHarness) expect(want ...string) {
	h.t.Helper()
	got := strings.Join(h.events, "\n")
	if w := strings.Join(want, "\n"); got != w {
		h.t.Errorf("events:\n%s\nwant:\n%s", got, w)
	}
	h.events = nil
}

const newConn0 = "0 new 10.0.0.1:50000->10.0.0.2:1883 @1"

func TestAssemblerInOrder(t *testing.T) {
	h := newAsmHarness(t)
	h.handshake()
	h.seg(ToServer, 101, 501, TCPAck, "hello")
	h.seg(ToServer, 106, 501, TCPAck, "world")
	h.seg(ToClient, 501, 111, TCPAck, "ok")
	h.seg(ToServer, 111, 503, TCPFin|TCPAck, "")
	if h.a.Stats().Open != 1 {
		t.Error("connection closed after one FIN")
	}
	h.seg(ToClient, 503, 112, TCPFin|TCPAck, "")
	h.seg(ToServer, 112, 504, TCPAck, "") // last ACK of a closed connection
	h.expect(newConn0,
		`0 data to-server "hello" @4`,
		`0 data to-server "world" @5`,
		`0 data to-client "ok" @6`,
		`0 close eof=false`)
	if st := h.a.Stats(); st.Open != 0 || st.Conns != 1 || st.Gaps != 0 {
		t.Errorf("stats %+v", st)
	}
	h.a.Flush()
	h.expect()
}

func TestAssemblerRetransmission(t *testing.T) {
	h := newAsmHarness(t)
	h.handshake()
	h.seg(ToServer, 101, 501, TCPAck, "hello")
	h.seg(ToServer, 101, 501, TCPAck, "hello")      // full repeat
	h.seg(ToServer, 103, 501, TCPAck, "llo world")  // partial overlap
	h.seg(ToServer, 104, 501, TCPAck, "lo wo")      // inside delivered bytes
	h.seg(ToServer, 100, 501, TCPSyn, "")           // repeated SYN: same ISN, same connection
	h.seg(ToServer, 110, 501, TCPAck|TCPFin, "ld!") // overlap then FIN
	h.seg(ToServer, 110, 501, TCPAck|TCPFin, "ld!") // repeated FIN
	h.seg(ToServer, 113, 501, TCPAck, "after fin")  // nothing follows a FIN
	h.expect(newConn0,
		`0 data to-server "hello" @4`,
		`0 data to-server " world" @6`,
		`0 data to-server "!" @9`)
	h.a.Flush()
	h.expect(`0 close eof=true`)
}

func TestAssemblerOutOfOrder(t *testing.T) {
	h := newAsmHarness(t)
	h.handshake()
	h.seg(ToServer, 111, 501, TCPAck, "ccccc")
	h.seg(ToServer, 106, 501, TCPAck, "bbbbb")
	h.seg(ToServer, 111, 501, TCPAck, "ccccc") // a repeat of a buffered segment
	h.seg(ToServer, 101, 501, TCPAck, "aaaaa")
	h.expect(newConn0,
		`0 data to-server "aaaaa" @7`,
		`0 data to-server "bbbbb" @7`,
		`0 data to-server "ccccc" @7`)
	// Overlapping buffered segments are trimmed when delivered.
	h.seg(ToServer, 120, 501, TCPAck, "34567")
	h.seg(ToServer, 118, 501, TCPAck, "12345")
	h.seg(ToServer, 125, 501, TCPAck|TCPFin, "") // FIN out of order
	h.seg(ToServer, 116, 501, TCPAck, "xx")
	h.expect(`0 data to-server "xx" @11`,
		`0 data to-server "12345" @11`,
		`0 data to-server "67" @11`)
	if st := h.a.Stats(); st.Gaps != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestAssemblerFinOutOfOrder(t *testing.T) {
	h := newAsmHarness(t)
	h.handshake()
	h.seg(ToServer, 106, 501, TCPFin|TCPAck, "")
	h.seg(ToClient, 501, 101, TCPFin|TCPAck, "") // acknowledges nothing yet
	h.seg(ToServer, 101, 502, TCPAck, "hello")
	h.expect(newConn0, `0 data to-server "hello" @6`, `0 close eof=false`)
}

func TestAssemblerMidConnection(t *testing.T) {
	h := newAsmHarness(t)
	h.seg(ToClient, 9000, 7000, TCPAck, "") // a bare ACK starts nothing
	h.seg(ToServer, 7000, 9000, TCPAck, "xyz")
	h.seg(ToServer, 6990, 9000, TCPAck, "old") // before the first seen byte
	h.seg(ToClient, 9000, 7003, TCPAck, "reply")
	h.seg(ToServer, 7003, 9005, TCPAck, "more")
	h.expect("0 new 10.0.0.1:50000->10.0.0.2:1883 @2",
		`0 data to-server "xyz" @2`,
		`0 data to-client "reply" @4`,
		`0 data to-server "more" @5`)
}

func TestAssemblerGapByAck(t *testing.T) {
	t.Run("ack after the later segment", func(t *testing.T) {
		h := newAsmHarness(t)
		h.handshake()
		h.seg(ToServer, 101, 501, TCPAck, "aaaaa")
		h.seg(ToServer, 111, 501, TCPAck, "ccccc") // 106..110 lost by the capture
		h.seg(ToClient, 501, 116, TCPAck, "")
		h.expect(newConn0,
			`0 data to-server "aaaaa" @4`,
			`0 gap to-server 5 @6`,
			`0 data to-server "ccccc" @5`) // at the frame that carried it
		if st := h.a.Stats(); st.Gaps != 1 || st.LostBytes != 5 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("ack before the later segment", func(t *testing.T) {
		h := newAsmHarness(t)
		h.handshake()
		h.seg(ToClient, 501, 116, TCPAck, "r") // ACK covers bytes never seen
		h.seg(ToServer, 111, 502, TCPAck, "ccccc")
		h.expect(newConn0,
			`0 data to-client "r" @4`,
			`0 gap to-server 10 @5`,
			`0 data to-server "ccccc" @5`)
	})
	t.Run("ack covers part of the hole", func(t *testing.T) {
		h := newAsmHarness(t)
		h.handshake()
		h.seg(ToServer, 111, 501, TCPAck, "ccccc")
		h.seg(ToClient, 501, 104, TCPAck, "") // 101..103 proven lost
		h.seg(ToServer, 104, 501, TCPAck, "4567890")
		h.expect(newConn0,
			`0 gap to-server 3 @5`,
			`0 data to-server "4567890" @6`,
			`0 data to-server "ccccc" @6`)
	})
	t.Run("ack spans two holes", func(t *testing.T) {
		h := newAsmHarness(t)
		h.handshake()
		h.seg(ToServer, 103, 501, TCPAck, "b")
		h.seg(ToServer, 106, 501, TCPAck, "d")
		h.seg(ToClient, 501, 107, TCPAck, "")
		h.expect(newConn0,
			`0 gap to-server 2 @6`,
			`0 data to-server "b" @4`,
			`0 gap to-server 2 @6`,
			`0 data to-server "d" @5`)
	})
	t.Run("ack without a later segment", func(t *testing.T) {
		h := newAsmHarness(t)
		h.handshake()
		h.seg(ToClient, 501, 120, TCPAck, "") // no evidence yet of what follows
		h.seg(ToServer, 101, 501, TCPAck, "in order after all")
		h.expect(newConn0, `0 data to-server "in order after all" @5`)
	})
}

func TestAssemblerGapAtFlush(t *testing.T) {
	h := newAsmHarness(t)
	h.handshake()
	h.seg(ToServer, 101, 501, TCPAck, "aa")
	h.seg(ToServer, 110, 501, TCPAck, "later")
	h.seg(ToClient, 501, 103, TCPAck, "ok")
	// A second connection, started later, is flushed after the first.
	h.client = netip.MustParseAddrPort("10.0.0.9:40000")
	h.seg(ToServer, 1, 0, TCPAck, "x")
	h.seg(ToServer, 5, 0, TCPAck|TCPFin, "y")
	h.expect(newConn0,
		`0 data to-server "aa" @4`,
		`0 data to-client "ok" @6`,
		"1 new 10.0.0.9:40000->10.0.0.2:1883 @7",
		`1 data to-server "x" @7`)
	h.a.Flush()
	h.expect(`0 gap to-server 7 @6`,
		`0 data to-server "later" @5`,
		`0 close eof=true`,
		`1 gap to-server 3 @8`,
		`1 data to-server "y" @8`,
		`1 close eof=true`)
	if st := h.a.Stats(); st.Open != 0 || st.Gaps != 2 || st.LostBytes != 10 {
		t.Errorf("stats %+v", st)
	}
}

func TestAssemblerBufferOverflow(t *testing.T) {
	t.Run("segments", func(t *testing.T) {
		h := newAsmHarness(t)
		h.handshake()
		// 101..110 lost; then 65 segments of 2 bytes.
		for i := range maxBufferedSegments {
			h.seg(ToServer, uint32(111+2*i), 501, TCPAck, fmt.Sprintf("%02d", i))
		}
		h.expect(newConn0)
		h.seg(ToServer, uint32(111+2*maxBufferedSegments), 501, TCPAck, "zz")
		if len(h.events) != 2+maxBufferedSegments {
			t.Fatalf("%d events", len(h.events))
		}
		if h.events[0] != `0 gap to-server 10 @68` || h.events[1] != `0 data to-server "00" @4` || h.events[65] != `0 data to-server "zz" @68` {
			t.Errorf("events %q ... %q", h.events[:2], h.events[65])
		}
	})
	t.Run("bytes", func(t *testing.T) {
		h := newAsmHarness(t)
		h.handshake()
		const size = 20000 // so the byte bound trips before the segment bound
		big := strings.Repeat("x", size)
		n := maxBufferedBytes/size + 1
		for i := range n {
			h.seg(ToServer, uint32(102+size*i), 501, TCPAck, big)
		}
		if len(h.events) != 2+n || h.events[1] != "0 gap to-server 1 @"+fmt.Sprint(3+n) {
			t.Fatalf("%d events: %q", len(h.events), h.events[:2])
		}
	})
}

func TestAssemblerSequenceWrap(t *testing.T) {
	h := newAsmHarness(t)
	isn := uint32(0xfffffff8)
	h.seg(ToServer, isn, 0, TCPSyn, "")
	h.seg(ToClient, 500, isn+1, TCPSyn|TCPAck, "")
	h.seg(ToServer, isn+1+10, 501, TCPAck, "KLMNO")   // after the wrap, early
	h.seg(ToServer, isn+1, 501, TCPAck, "ABCDEFGHIJ") // crosses 2^32
	h.seg(ToServer, isn+1+12, 501, TCPAck, "MNOPQ")   // overlaps across the wrap
	h.seg(ToClient, 501, isn+1+17, TCPAck, "")
	h.seg(ToServer, isn+1+20, 501, TCPAck, "UV") // 17..19 lost
	h.seg(ToClient, 501, isn+1+22, TCPAck, "")
	h.expect(newConn0,
		`0 data to-server "ABCDEFGHIJ" @4`,
		`0 data to-server "KLMNO" @4`,
		`0 data to-server "PQ" @5`,
		`0 gap to-server 3 @8`,
		`0 data to-server "UV" @7`)
}

func TestAssemblerSynReuse(t *testing.T) {
	h := newAsmHarness(t)
	h.handshake()
	h.seg(ToServer, 101, 501, TCPAck, "first")
	h.seg(ToServer, 106, 501, TCPFin|TCPAck, "")
	h.seg(ToClient, 501, 107, TCPFin|TCPAck, "")
	h.seg(ToServer, 106, 501, TCPFin|TCPAck, "") // a late FIN repeat: no new connection
	h.seg(ToServer, 3000, 0, TCPSyn, "")         // same addresses, new connection
	h.seg(ToClient, 8000, 3001, TCPSyn|TCPAck, "")
	h.seg(ToServer, 3001, 8001, TCPAck, "second")
	// A SYN with another ISN while the connection is open also starts anew.
	h.seg(ToServer, 4000, 0, TCPSyn, "")
	h.seg(ToServer, 4001, 0, TCPAck, "third")
	h.expect(newConn0,
		`0 data to-server "first" @4`,
		`0 close eof=false`,
		"1 new 10.0.0.1:50000->10.0.0.2:1883 @8",
		`1 data to-server "second" @10`,
		`1 close eof=false`,
		"2 new 10.0.0.1:50000->10.0.0.2:1883 @11",
		`2 data to-server "third" @12`)
	if st := h.a.Stats(); st.Conns != 3 || st.Open != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestAssemblerReset(t *testing.T) {
	h := newAsmHarness(t)
	h.handshake()
	h.seg(ToServer, 101, 501, TCPAck, "abc")
	h.seg(ToServer, 110, 501, TCPAck, "buffered")
	h.seg(ToClient, 501, 104, TCPRst|TCPAck, "")
	h.seg(ToServer, 118, 501, TCPAck, "in flight") // a straggler: dropped
	h.seg(ToServer, 200, 0, TCPSyn, "")
	h.expect(newConn0,
		`0 data to-server "abc" @4`,
		`0 gap to-server 6 @6`,
		`0 data to-server "buffered" @5`,
		`0 close eof=false`,
		"1 new 10.0.0.1:50000->10.0.0.2:1883 @8")
	if h.a.Stats().Open != 1 {
		t.Error("new connection after RST not open")
	}
}

func TestAssemblerTruncatedSegments(t *testing.T) {
	h := newAsmHarness(t)
	h.handshake()
	h.segCut(ToServer, 101, 501, TCPAck, "0123456789", 4)
	h.seg(ToServer, 111, 501, TCPAck, "next")
	h.segCut(ToServer, 120, 501, TCPAck, "abcdef", 2) // out of order and cut
	h.seg(ToServer, 115, 501, TCPAck, "fill!")
	h.segCut(ToServer, 120, 501, TCPAck, "abcdef", 6) // the retransmission is whole, but too late
	h.expect(newConn0,
		`0 data to-server "0123" @4`,
		`0 gap to-server 6 @4`,
		`0 data to-server "next" @5`,
		`0 data to-server "fill!" @7`,
		`0 data to-server "ab" @7`,
		`0 gap to-server 4 @7`)
}

func TestAssemblerDirections(t *testing.T) {
	t.Run("both ports watched", func(t *testing.T) {
		h := newAsmHarness(t)
		h.client = netip.MustParseAddrPort("10.0.0.1:1883")
		h.seg(ToClient, 500, 0, TCPSyn|TCPAck, "") // the SYN-ACK's sender is the server
		h.seg(ToServer, 101, 501, TCPAck, "up")
		h.seg(ToClient, 501, 103, TCPAck, "down")
		h.expect("0 new 10.0.0.1:1883->10.0.0.2:1883 @1",
			`0 data to-server "up" @2`,
			`0 data to-client "down" @3`)
	})
	t.Run("unwatched ports", func(t *testing.T) {
		h := newAsmHarness(t)
		h.server = netip.MustParseAddrPort("10.0.0.2:80")
		h.seg(ToServer, 1, 0, TCPAck, "GET /")
		h.expect()
	})
	t.Run("ignored connection", func(t *testing.T) {
		a := NewAssembler([]uint16{8883}, func(ConnKey, *Frame) StreamHandler { return nil })
		f := &Frame{Src: asmClient, Dst: netip.MustParseAddrPort("10.0.0.2:8883"), Payload: []byte("x"), Flags: TCPAck}
		a.Add(f)
		f.Seq = 5
		a.Add(f)
		a.Flush()
		if st := a.Stats(); st.Conns != 1 || st.Open != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestAssemblerAllocs(t *testing.T) {
	h := newAsmHarness(t)
	h.handshake()
	seq := uint32(101)
	payload := strings.Repeat("m", 100)
	h.events = make([]string, 0, 4096)
	a := NewAssembler(nil, func(ConnKey, *Frame) StreamHandler { return discardHandler{} })
	f := &Frame{Src: asmClient, Dst: asmServer, Flags: TCPAck, Payload: []byte(payload)}
	allocs := testing.AllocsPerRun(1000, func() {
		f.Seq = seq
		a.Add(f)
		seq += 100
	})
	if allocs != 0 {
		t.Errorf("%v allocations per in-order segment", allocs)
	}
}

// TestAssemblerFromCapture runs pcapbuild's impairments through the
// capture reader and the Assembler.
func TestAssemblerFromCapture(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{Link: pcapbuild.Link{Type: 276}})
	c := b.Conn(capClient4, capServer4)
	c.Handshake()
	c.Send(pcapbuild.ToServer, []byte("connect|"))
	c.SendOutOfOrder(pcapbuild.ToServer, []byte("one|two|three|"), []int{4, 8}, 2, 0, 1)
	c.Retransmit(pcapbuild.ToServer, 2, 10)
	c.Send(pcapbuild.ToClient, []byte("ack|"))
	c.Drop(pcapbuild.ToServer, 5)
	c.Send(pcapbuild.ToServer, []byte("after-gap|"))
	c.Ack(pcapbuild.ToClient)
	c.Close()

	r, err := OpenCapture(bytes.NewReader(b.Pcapng()), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got [2]strings.Builder
	closed := 0
	a := NewAssembler(nil, func(ConnKey, *Frame) StreamHandler {
		return &funcHandler{
			data:  func(d Direction, p []byte, _ *Frame) { got[d].Write(p) },
			gap:   func(d Direction, n int, _ *Frame) { fmt.Fprintf(&got[d], "[gap %d]", n) },
			close: func(bool) { closed++ },
		}
	})
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		a.Add(f)
	}
	a.Flush()
	if s := got[ToServer].String(); s != "connect|one|two|three|[gap 5]after-gap|" {
		t.Errorf("to server: %q", s)
	}
	if s := got[ToClient].String(); s != "ack|" {
		t.Errorf("to client: %q", s)
	}
	if closed != 1 {
		t.Errorf("%d closes", closed)
	}
}

type funcHandler struct {
	data  func(Direction, []byte, *Frame)
	gap   func(Direction, int, *Frame)
	close func(bool)
}

func (h *funcHandler) Data(d Direction, p []byte, f *Frame) { h.data(d, p, f) }
func (h *funcHandler) Gap(d Direction, n int, f *Frame)     { h.gap(d, n, f) }
func (h *funcHandler) Close(_ *Frame, eof bool)             { h.close(eof) }

// asmCheck is a StreamHandler that checks every delivered byte against the
// streams the generator sent: Data must continue exactly where the last
// Data or Gap ended, and never go past what was sent.
type asmCheck struct {
	t      testing.TB
	g      *asmGen
	pos    [2]int // stream offset of the next byte
	closes int
}

func (c *asmCheck) Data(d Direction, p []byte, f *Frame) {
	s := c.g.stream[d]
	if c.pos[d] < 0 || c.pos[d]+len(p) > c.g.sent[d] || !bytes.Equal(p, s[c.pos[d]:c.pos[d]+len(p)]) {
		c.t.Fatalf("dir %v: delivered %d bytes at %d that differ from the stream (sent %d)", d, len(p), c.pos[d], c.g.sent[d])
	}
	c.pos[d] += len(p)
}

func (c *asmCheck) Gap(d Direction, n int, f *Frame) {
	if n <= 0 {
		c.t.Fatalf("dir %v: gap of %d", d, n)
	}
	c.pos[d] += n
	if c.pos[d] > c.g.sent[d] {
		c.t.Fatalf("dir %v: gap to %d beyond the %d bytes sent", d, c.pos[d], c.g.sent[d])
	}
}

func (c *asmCheck) Close(*Frame, bool) { c.closes++ }

// asmGen turns a byte string into an impaired TCP conversation: in-order
// sends, drops, repeats, held-back (reordered) segments, snap-length cuts,
// ACKs (true and bogus), a FIN or RST.
type asmGen struct {
	stream [2][]byte
	isn    [2]uint32
	sent   [2]int // stream bytes sent so far (captured or not)
	base   [2]int // stream offset where the Assembler starts the direction
	seen   [2]bool
	open   bool
	syn    bool
	held   []Frame
}

func runAsmGen(t testing.TB, in []byte) {
	rd := bytes.NewReader(in)
	next := func() byte { b, _ := rd.ReadByte(); return b }
	u32 := func() uint32 { var b [4]byte; _, _ = rd.Read(b[:]); return binary.LittleEndian.Uint32(b[:]) }
	g := &asmGen{}
	g.isn = [2]uint32{u32(), u32()}
	for d := range g.stream {
		g.stream[d] = make([]byte, 4096)
		for i := range g.stream[d] {
			g.stream[d][i] = byte(i*7 + d*13 + i/251)
		}
	}
	chk := &asmCheck{t: t, g: g}
	a := NewAssembler(nil, func(ConnKey, *Frame) StreamHandler { return chk })
	g.syn = next()&1 == 1
	seqOf := func(d int, off int) uint32 {
		s := g.isn[d] + uint32(off)
		if g.syn {
			s++
		}
		return s
	}
	frame := func(d int, off, n, captured int, flags TCPFlags) Frame {
		f := Frame{Src: asmClient, Dst: asmServer, Flags: flags | TCPAck, Seq: seqOf(d, off)}
		if d == 1 {
			f.Src, f.Dst = f.Dst, f.Src
		}
		f.Ack = seqOf(1-d, g.sent[1-d])
		f.Payload = bytes.Clone(g.stream[d][off : off+captured])
		f.PayloadLen = n
		return f
	}
	num := 0
	add := func(d int, f Frame) {
		num++
		f.Number = num
		if len(f.Payload) > 0 || f.PayloadLen > 0 || f.Flags&TCPSyn != 0 {
			g.open = true // data or a SYN starts the connection
		}
		if g.open && !g.seen[d] && f.Flags&TCPRst == 0 {
			// The Assembler starts a direction at its first segment once
			// the connection exists, bare ACKs included.
			g.seen[d] = true
			g.base[d] = int(f.Seq - seqOf(d, 0))
			chk.pos[d] = g.base[d]
		}
		a.Add(&f)
		for i := range f.Payload {
			f.Payload[i] ^= 0xff
		}
	}
	if g.syn {
		add(0, Frame{Src: asmClient, Dst: asmServer, Flags: TCPSyn, Seq: g.isn[0]})
		add(1, Frame{Src: asmServer, Dst: asmClient, Flags: TCPSyn | TCPAck, Seq: g.isn[1], Ack: g.isn[0] + 1})
		g.seen = [2]bool{true, true}
		chk.pos = [2]int{0, 0}
	}
	for ops := 0; rd.Len() > 0 && ops < 500; ops++ {
		op, arg := next(), int(next())
		d := int(op>>7) & 1
		n := min(arg%200+1, len(g.stream[d])-g.sent[d])
		switch op & 7 {
		case 0, 1: // send in order
			if n > 0 {
				f := frame(d, g.sent[d], n, n, 0)
				g.sent[d] += n
				add(d, f)
			}
		case 2: // lost by the capture
			g.sent[d] += n
		case 3: // repeat earlier bytes
			if g.sent[d] > 0 {
				off := int(next()) * g.sent[d] / 256
				m := min(n, g.sent[d]-off)
				add(d, frame(d, off, m, m, 0))
			}
		case 4: // hold back for later (reordering)
			if n > 0 {
				g.held = append(g.held, frame(d, g.sent[d], n, n, 0))
				g.sent[d] += n
			}
		case 5: // release a held segment
			if len(g.held) > 0 {
				i := arg % len(g.held)
				f := g.held[i]
				g.held = append(g.held[:i], g.held[i+1:]...)
				dd := 0
				if f.Src == asmServer {
					dd = 1
				}
				add(dd, f)
			}
		case 6: // cut by the snap length
			if n > 0 {
				f := frame(d, g.sent[d], n, int(next())%(n+1), 0)
				g.sent[d] += n
				add(d, f)
			}
		case 7: // bare ACK, sometimes bogus
			f := frame(d, g.sent[d], 0, 0, 0)
			if arg&1 == 1 {
				f.Ack = u32()
			}
			add(d, f)
		}
		if op&0x78 == 0x78 && arg&3 == 0 { // rarely: FIN or RST
			flag := TCPFin
			if arg&4 != 0 {
				flag = TCPRst
			}
			add(d, frame(d, g.sent[d], 0, 0, flag))
			if flag == TCPRst {
				break
			}
		}
	}
	a.Flush()
	if chk.closes > 1 {
		t.Fatalf("%d closes", chk.closes)
	}
	if st := a.Stats(); st.Open != 0 {
		t.Fatalf("stats after Flush: %+v", st)
	}
}

// TestAssemblerRandom runs the generator on random inputs; FuzzAssembler
// explores further.
func TestAssemblerRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		in := make([]byte, 8+r.IntN(600))
		for j := range in {
			in[j] = byte(r.Uint32())
		}
		if i%3 == 0 {
			// Sequence numbers near the wrap.
			binary.LittleEndian.PutUint32(in, 0xffffff00+uint32(r.IntN(256)))
		}
		t.Run("", func(t *testing.T) { runAsmGen(t, in) })
		if t.Failed() {
			t.Fatalf("input %x", in)
		}
	}
}

func FuzzAssembler(f *testing.F) {
	f.Add([]byte("\x00\x01\x00\x00\x00\x05\x00\x00\x01\x00\x10\x02\x10\x00\x20\x80\x30\x07\x01"))
	f.Add(bytes.Repeat([]byte{0xf0, 0xff, 0x00, 0x40, 0x04, 0x10, 0x05, 0x00, 0x02, 0x05, 0x87, 0x01}, 30))
	f.Add(append([]byte{0xf8, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1}, bytes.Repeat([]byte{0x00, 0x31, 0x04, 0x20, 0x02, 0x09, 0x05, 0x01, 0x86, 0x40, 0x07}, 20)...))
	f.Fuzz(func(t *testing.T, in []byte) { runAsmGen(t, in) })
}
