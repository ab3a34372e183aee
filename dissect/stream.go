package dissect

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/mqttdissect/mqttdissect/spec"
)

// PDU is one MQTT control packet found in a TCP stream.
//
// Buffer lifetime: a PDU and its Packet are reused; both are valid only
// during the call to the handler that receives them.
type PDU struct {
	Frame   int       // number of the frame whose bytes completed the packet
	Time    time.Time // that frame's timestamp
	Src     netip.AddrPort
	Dst     netip.AddrPort
	Dir     Direction
	Conn    ConnKey
	Index   int // position among the packets completed by the same frame
	Packet  *Packet
	State   *ConnState // the connection's state after this packet
	ConnSeq int        // connection number in order of first appearance, from 1
	// Via describes TLS and WebSocket under the packet; nil for plain TCP
	// read without transport layers (transport.go).
	Via *Via
}

// DefaultMaxPacketBuffer bounds the bytes kept of one MQTT packet that spans
// segments; the rest of a larger packet is counted, not stored, and the
// packet is decoded as truncated. It keeps memory flat on hostile lengths
// (only bytes present in the capture are kept in any case). 64 MiB: a
// PUBLISH of tens of megabytes, which Wireshark reads whole, is read whole.
const DefaultMaxPacketBuffer = 64 << 20

// StreamConfig configures the MQTT layer over reassembled TCP streams.
type StreamConfig struct {
	Options
	// MaxPacketBuffer overrides DefaultMaxPacketBuffer when > 0.
	MaxPacketBuffer int
	// OnPDU receives every packet in capture order of completion.
	OnPDU func(*PDU)
	// OnClose, if set, is called when a connection ends: end is the frame
	// whose FIN or RST closed it, nil when the capture ended first.
	OnClose func(key ConnKey, st *ConnState, end *Frame, atEOF bool)
	// Counters, if set, receives the totals of the streams' work.
	Counters *StreamCounters
	// Transport, if set, reads TLS and WebSocket under MQTT (transport.go).
	Transport *TransportConfig
	// OnConnNote receives what the transport layers say about a connection.
	OnConnNote func(ConnNote)
}

// StreamCounters are totals over all connections of a Streams.
type StreamCounters struct {
	// SkippedBytes counts captured bytes that belong to no decodable
	// packet (after lost bytes); the next packet's mqtt.skipped note
	// names their frames.
	SkippedBytes int64
	// SkippedAtEnd lists (up to MaxSkippedAtEnd) the skipped bytes no
	// packet followed, so no note could name them: the connection or the
	// capture ended first.
	SkippedAtEnd []SkippedRange
}

// MaxSkippedAtEnd bounds StreamCounters.SkippedAtEnd.
const MaxSkippedAtEnd = 10

// SkippedRange is a run of captured bytes of one direction that were not
// read as MQTT, and the frames that carried them.
type SkippedRange struct {
	Conn        ConnKey
	Dir         Direction
	Bytes       int
	First, Last int // frame numbers
}

// Streams builds the MQTT layer for an Assembler: it returns the function
// the Assembler calls for each new connection.
func Streams(cfg *StreamConfig) func(ConnKey, *Frame) StreamHandler {
	shared := &streamShared{cfg: cfg}
	if cfg.MaxPacketBuffer <= 0 {
		cfg.MaxPacketBuffer = DefaultMaxPacketBuffer
	}
	ts := newTransportShared(cfg.Transport, cfg.OnConnNote)
	return func(key ConnKey, f *Frame) StreamHandler {
		shared.conns++
		var s *mqttStream
		if n := len(shared.free); n > 0 {
			s, shared.free = shared.free[n-1], shared.free[:n-1]
		} else {
			s = new(mqttStream)
		}
		*s = mqttStream{shared: shared, key: key, seq: shared.conns, st: NewConnState(&cfg.Options)}
		return ts.wrap(key, s)
	}
}

// streamShared holds what all connections share: the reusable PDU and
// Packet the handler sees, so steady-state decoding allocates nothing.
type streamShared struct {
	cfg      *StreamConfig
	pdu      PDU
	packet   Packet
	lastFrm  int
	frameIdx int
	conns    int
	// free holds closed streams for reuse (their ConnState is not reused:
	// handlers may keep it).
	free []*mqttStream
}

// mqttStream splits both directions of one connection into MQTT packets.
type mqttStream struct {
	shared *streamShared
	key    ConnKey
	seq    int
	st     *ConnState
	dirs   [2]dirState
	// last is the number and time of the connection's latest frame, for
	// packets completed by the end of the connection.
	lastNum  int
	lastTime time.Time
	// emitNote, if set, is a note (without verbs) for the packet emitted.
	emitNote *spec.Rule
	via      *Via // layers under MQTT, nil when not read
}

// dirState holds one direction's partial packet.
type dirState struct {
	// pending holds the first bytes of a packet that spans segments (a copy:
	// segment buffers are reused).
	pending []byte
	// need is the packet's declared length once its header is complete, or
	// -1 while the Remaining Length is still incomplete.
	need int
	// skipped counts bytes of an oversized packet that were not kept.
	skipped int
	// gap is set after lost bytes until a packet is decoded.
	gap     bool
	gapLost int
	// unsynced is set when a gap left the packet boundaries unknown.
	unsynced bool
	// skipNext is the number of bytes of the next data that still belong to
	// a packet broken by a gap.
	skipNext int
	// pendFrame and pendTime are the frame that carried the latest byte of
	// pending: a packet is reported at the frame of its last byte, also
	// when a gap, the connection's end or the capture's end completes it.
	pendFrame int
	pendTime  time.Time
	// skip counts captured bytes that belong to no decodable packet (the
	// rest of a packet cut by a gap, or bytes before a packet boundary is
	// found again), with the first and last frame that carried them; the
	// next packet of the direction carries a note naming them.
	skip skipped
}

// skipped accounts for captured bytes that were not decoded.
type skipped struct {
	bytes       int
	first, last int
}

func (k *skipped) add(n int, frame int) {
	if n <= 0 {
		return
	}
	if k.bytes == 0 {
		k.first = frame
	}
	k.bytes += n
	k.last = frame
}

// frames names the frames that carried the skipped bytes: "7" or "7-9".
func (k *skipped) frames() string {
	if k.first == k.last {
		return strconv.Itoa(k.first)
	}
	return strconv.Itoa(k.first) + "-" + strconv.Itoa(k.last)
}

func (s *mqttStream) Data(dir Direction, data []byte, f *Frame) {
	s.seen(f)
	ds := &s.dirs[dir&1]
	if ds.skipNext > 0 {
		n := min(ds.skipNext, len(data))
		ds.skipNext -= n
		data = data[n:]
		s.skipBytes(ds, n, f)
	}
	if ds.unsynced && len(data) > 0 {
		if !plausibleHeader(data) {
			// Wait for a segment that starts with a packet; the next
			// packet's note names what was passed over.
			s.skipBytes(ds, len(data), f)
			return
		}
		ds.unsynced = false
	}
	if len(ds.pending) > 0 || ds.skipped > 0 {
		data = s.fillPending(ds, dir, data, f)
	}
	for len(data) > 0 {
		total, ok := packetLength(data)
		if !ok {
			// Header incomplete: keep it and wait for more (a Remaining
			// Length split across segments is read whole next time).
			ds.pending = append(ds.pending[:0], data...)
			ds.need = -1
			ds.pendFrame, ds.pendTime = f.Number, f.Time
			return
		}
		if total < 0 {
			// A Remaining Length that never ends: decode what there is as
			// malformed, then look for the next packet in the next segment.
			s.emit(ds, dir, data, f)
			ds.unsynced = true
			return
		}
		if total > len(data) {
			s.keep(ds, data, total)
			ds.pendFrame, ds.pendTime = f.Number, f.Time
			return
		}
		s.emit(ds, dir, data[:total], f)
		data = data[total:]
	}
}

// fillPending adds data to the partial packet and returns what is left over.
func (s *mqttStream) fillPending(ds *dirState, dir Direction, data []byte, f *Frame) []byte {
	if len(data) > 0 {
		ds.pendFrame, ds.pendTime = f.Number, f.Time
	}
	if ds.need < 0 {
		// Complete the header first: at most 11 bytes.
		for len(data) > 0 {
			ds.pending = append(ds.pending, data[0])
			data = data[1:]
			total, ok := packetLength(ds.pending)
			if !ok {
				continue
			}
			if total < 0 {
				s.emit(ds, dir, ds.pending, f)
				ds.pending = ds.pending[:0]
				ds.unsynced = true
				return nil
			}
			ds.need = total
			break
		}
		if ds.need < 0 {
			return nil
		}
	}
	have := len(ds.pending) + ds.skipped
	take := min(ds.need-have, len(data))
	s.keep(ds, data[:take], ds.need)
	data = data[take:]
	if len(ds.pending)+ds.skipped == ds.need {
		s.emitPending(ds, dir, f)
	}
	return data
}

// keep stores bytes of a partial packet, up to the buffer bound.
func (s *mqttStream) keep(ds *dirState, data []byte, total int) {
	ds.need = total
	room := s.shared.cfg.MaxPacketBuffer - len(ds.pending)
	if room < 0 {
		room = 0
	}
	n := min(room, len(data))
	if len(ds.pending)+n > cap(ds.pending) {
		// Grow by doubling, up to what the packet declares (and the
		// bound): append's slower growth of large slices would allocate
		// five times a large packet's size while it is reassembled.
		c := max(2*cap(ds.pending), len(ds.pending)+n, 512)
		c = min(c, max(total, len(ds.pending)+n), max(s.shared.cfg.MaxPacketBuffer, len(ds.pending)+n))
		grown := make([]byte, len(ds.pending), c)
		copy(grown, ds.pending)
		ds.pending = grown
	}
	ds.pending = append(ds.pending, data[:n]...)
	ds.skipped += len(data) - n
}

// emitPending decodes the completed partial packet; an oversized one is
// decoded from its kept prefix, as a truncated packet.
func (s *mqttStream) emitPending(ds *dirState, dir Direction, f *Frame) {
	s.emit(ds, dir, ds.pending, f)
	ds.pending, ds.skipped, ds.need = ds.pending[:0], 0, -1
	if cap(ds.pending) > 64<<10 {
		ds.pending = nil // do not hold a large buffer for the connection's life
	}
}

// packetLength returns the declared length of the packet at the start of b:
// ok is false while the header is incomplete, and total is -1 when the
// Remaining Length is malformed.
func packetLength(b []byte) (total int, ok bool) {
	if len(b) < 2 {
		return 0, false
	}
	v, n, err := readVarInt(b[1:], spec.MaxVarIntBytesLenient)
	switch err {
	case ErrTruncated:
		return 0, false
	case ErrMalformed:
		return -1, true
	}
	if v > spec.MaxRemainingLength {
		return -1, true
	}
	return 1 + n + int(v), true
}

// plausibleHeader says whether b could start an MQTT packet: a first byte
// the table allows and a Remaining Length of at most 4 bytes (or one still
// incomplete). It is used only to find a packet boundary again after lost
// bytes.
func plausibleHeader(b []byte) bool {
	if len(b) < 2 || !spec.PlausibleFirstByte(b[0]) {
		return false
	}
	_, _, err := readVarInt(b[1:], spec.MaxVarIntBytes)
	return err == nil || (err == ErrTruncated && len(b) < 1+spec.MaxVarIntBytes)
}

func (s *mqttStream) emit(ds *dirState, dir Direction, raw []byte, f *Frame) {
	sh := s.shared
	if f.Number != sh.lastFrm {
		sh.lastFrm, sh.frameIdx = f.Number, 0
	}
	p := &sh.packet
	_ = Decode(p, raw, s.st, dir, &sh.cfg.Options)
	if ds.skipped > 0 {
		p.Len = len(raw) + ds.skipped
	}
	if ds.gap {
		if ds.gapLost >= 0 {
			p.Notes = append(p.Notes, Note{Rule: spec.RuleGap, Severity: spec.RuleGap.Severity, Message: fmt.Sprintf(spec.RuleGap.Message, ds.gapLost)})
		} else {
			p.Notes = append(p.Notes, Note{Rule: spec.RuleGapUnknown, Severity: spec.RuleGapUnknown.Severity, Message: spec.RuleGapUnknown.Message})
		}
		ds.gap = false
	}
	if r := s.emitNote; r != nil {
		p.Notes = append(p.Notes, Note{Rule: r, Severity: r.Severity, Message: r.Message})
	}
	if ds.skip.bytes > 0 {
		r := spec.RuleSkipped
		p.Notes = append(p.Notes, Note{Rule: r, Severity: r.Severity, Message: fmt.Sprintf(r.Message, ds.skip.bytes, ds.skip.frames())})
		ds.skip = skipped{}
	}
	pdu := &sh.pdu
	*pdu = PDU{Frame: f.Number, Time: f.Time, Dir: dir, Conn: s.key, Index: sh.frameIdx, Packet: p, State: s.st, ConnSeq: s.seq}
	if dir == ToServer {
		pdu.Src, pdu.Dst = s.key.Client, s.key.Server
	} else {
		pdu.Src, pdu.Dst = s.key.Server, s.key.Client
	}
	pdu.Via = s.via
	sh.frameIdx++
	if sh.cfg.OnPDU != nil {
		sh.cfg.OnPDU(pdu)
	}
}

func (s *mqttStream) skipBytes(ds *dirState, n int, f *Frame) {
	ds.skip.add(n, f.Number)
	if c := s.shared.cfg.Counters; c != nil {
		c.SkippedBytes += int64(n)
	}
}

// seen records the connection's latest frame. Bytes held while a gap was
// unresolved arrive with the older frame that carried them.
func (s *mqttStream) seen(f *Frame) {
	if f.Number >= s.lastNum {
		s.lastNum, s.lastTime = f.Number, f.Time
	}
}

// pendingFrame is the frame that carried the last byte of ds.pending.
func (ds *dirState) pendingFrame(fallback *Frame) *Frame {
	if ds.pendFrame == 0 {
		return fallback
	}
	return &Frame{Number: ds.pendFrame, Time: ds.pendTime}
}

func (s *mqttStream) Gap(dir Direction, lost int, f *Frame) {
	s.seen(f)
	ds := &s.dirs[dir&1]
	s.st.Gaps[dir&1]++
	if ds.gap && ds.gapLost >= 0 && lost >= 0 {
		lost += ds.gapLost // a second gap before any packet: one note for both
	} else if ds.gap {
		lost = -1
	}
	ds.gap, ds.gapLost = true, lost
	if len(ds.pending) > 0 || ds.skipped > 0 {
		if ds.need > 0 && lost >= 0 {
			// The broken packet's end is known: skip the rest of it and
			// resume exactly at the next packet.
			rest := ds.need - len(ds.pending) - ds.skipped - lost
			if rest >= 0 {
				ds.skipNext = rest
			} else {
				ds.unsynced = true
			}
		} else {
			ds.unsynced = true
		}
		// Decode the part we have as a truncated packet, at the frame
		// that carried its last byte.
		s.emit(ds, dir, ds.pending, ds.pendingFrame(f))
		ds.pending, ds.skipped, ds.need = ds.pending[:0], 0, -1
		ds.gap, ds.gapLost = true, lost // still owed to the next packet after the gap
		return
	}
	if ds.skipNext > 0 && lost >= 0 && lost <= ds.skipNext {
		// A further gap inside the packet an earlier gap broke: its end
		// is still known, so decoding resumes exactly after it.
		ds.skipNext -= lost
		return
	}
	// Lost bytes between packets, past the end of the broken packet, or of
	// unknown extent: the next segment may start anywhere.
	ds.skipNext = 0
	ds.unsynced = true
}

// Evict is called when the Assembler drops the connection for its ceiling
// on open connections: a packet in progress is decoded as truncated, with
// a note that says why, and the state is marked so that stats can tell.
func (s *mqttStream) Evict(f *Frame) {
	s.st.Evicted = true
	for dir := range s.dirs {
		ds := &s.dirs[dir]
		if len(ds.pending) == 0 {
			continue
		}
		s.emitNote = spec.RuleEvicted
		s.emit(ds, Direction(dir), ds.pending, ds.pendingFrame(&Frame{Number: s.lastNum, Time: s.lastTime}))
		s.emitNote = nil
		ds.pending = nil
	}
}

func (s *mqttStream) Close(end *Frame, atEOF bool) {
	last := &Frame{Number: s.lastNum, Time: s.lastTime}
	if end != nil {
		last = end
	}
	for dir := range s.dirs {
		ds := &s.dirs[dir]
		if c := s.shared.cfg.Counters; c != nil && ds.skip.bytes > 0 && len(ds.pending) == 0 && len(c.SkippedAtEnd) < MaxSkippedAtEnd {
			c.SkippedAtEnd = append(c.SkippedAtEnd, SkippedRange{Conn: s.key, Dir: Direction(dir), Bytes: ds.skip.bytes, First: ds.skip.first, Last: ds.skip.last})
		}
		if len(ds.pending) > 0 {
			// The capture or the connection ended inside a packet.
			s.emit(ds, Direction(dir), ds.pending, ds.pendingFrame(last))
			ds.pending = nil
		}
	}
	sh := s.shared
	if cfg := sh.cfg; cfg.OnClose != nil {
		cfg.OnClose(s.key, s.st, end, atEOF)
	}
	if len(sh.free) < 256 {
		*s = mqttStream{}
		sh.free = append(sh.free, s)
	}
}
