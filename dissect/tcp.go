package dissect

import (
	"slices"
	"time"
)

// TCP reassembly.
//
// The Assembler turns the frames of a capture into the in-order byte
// streams of each connection. Captures lose packets, reorder them and
// repeat them; the Assembler trims repeated bytes, holds early segments
// until the hole before them fills, and when the capture shows the hole
// will never fill it reports a gap instead of joining bytes that are not
// adjacent. In-order segments, the common case, go straight from the
// frame's payload to the handler without a copy.

const (
	// maxBufferedSegments and maxBufferedBytes bound the out-of-order
	// segments held per direction; beyond them the hole before the first
	// buffered segment is declared lost. Real reordering spans a few
	// segments; the bound keeps memory flat when the capture lost data.
	maxBufferedSegments = 64
	maxBufferedBytes    = 1 << 20
	// maxClosed is how many recently closed connections are remembered, so
	// that their stray segments (a retransmitted FIN, data in flight when
	// an RST went out) are dropped rather than opening a connection.
	maxClosed = 1024
	// maxFree bounds the recycled segment buffers kept for reuse.
	maxFree = 256
)

// DefaultMaxConns bounds the connections an Assembler follows at once. A
// capture of a million connections that each sent a partial header would
// otherwise hold a million states; past the bound the connection idle the
// longest is dropped (its handler told through Evict, if it has one).
const DefaultMaxConns = 20000

// Evicter is implemented by a StreamHandler that wants to know that its
// connection is being dropped for the connection ceiling: Evict is called
// just before Close.
type Evicter interface {
	Evict(f *Frame)
}

// AssemblerStats counts what an Assembler has done.
type AssemblerStats struct {
	Open      int   // connections open now
	Conns     int   // connections started (including ones already closed)
	Gaps      int   // gaps reported
	LostBytes int64 // bytes reported lost by those gaps
	Evicted   int   // connections dropped for the MaxConns ceiling
}

// Assembler reassembles the TCP connections of watched ports. It is not
// safe for concurrent use. Handlers must not call back into the Assembler.
type Assembler struct {
	// MaxConns overrides DefaultMaxConns when > 0.
	MaxConns int

	ports   portSet
	newConn func(key ConnKey, f *Frame) StreamHandler
	conns   map[ConnKey]*tcpConn
	last    *tcpConn // connection of the previous frame: a one-entry lookup cache
	nextID  uint64

	closed     map[ConnKey]struct{}
	closedRing []ConnKey // FIFO eviction order of closed
	closedPos  int

	free  [][]byte // recycled buffers for out-of-order segments
	stats AssemblerStats
	// held describes a buffered segment's own frame when it is delivered.
	held Frame
	// idle lists the open connections, most recently active first: the
	// ring's head is a sentinel.
	idle      tcpConn
	freeConns []*tcpConn
}

type tcpConn struct {
	key  ConnKey
	h    StreamHandler
	id   uint64 // creation order, for a deterministic Flush
	half [2]tcpHalf
	// number and time of the connection's latest frame, to describe the
	// end of the capture to handlers at Flush
	lastNum  int
	lastTime time.Time
	// newer and older link the connections by activity (Assembler.idle).
	newer, older *tcpConn
}

// tcpHalf is the state of one direction.
type tcpHalf struct {
	started  bool   // next is known
	synSeen  bool   // isn is known
	finDone  bool   // the FIN was reached in order: the direction is over
	ackValid bool   // peerAck holds an ACK from the other direction
	isn      uint32 // initial sequence number (the SYN's)
	next     uint32 // sequence number of the next byte to deliver
	peerAck  uint32 // highest acknowledgement the other direction sent
	segs     []oooSeg
	bytes    int // captured bytes held in segs
}

// oooSeg is a buffered future segment. data is owned by the Assembler.
type oooSeg struct {
	seq  uint32
	data []byte
	lost int  // bytes after data that the snap length cut off
	fin  bool // a FIN follows the segment's bytes
	// frame and t are the number and time of the frame that carried the
	// segment: its bytes are delivered as that frame's, whichever frame
	// later makes them deliverable (as Wireshark reports them).
	frame int
	t     time.Time
}

// Serial-number arithmetic (RFC 1982): sequence numbers wrap at 2^32, so a
// precedes b when the signed distance is negative.
func seqDiff(a, b uint32) int  { return int(int32(a - b)) }
func seqLess(a, b uint32) bool { return int32(a-b) < 0 }

// NewAssembler returns an Assembler for connections with a port in ports
// (1883 when empty). newConn is called when a connection starts, with the
// frame that started it; it may return nil to ignore the connection.
func NewAssembler(ports []uint16, newConn func(key ConnKey, f *Frame) StreamHandler) *Assembler {
	a := &Assembler{
		newConn: newConn,
		conns:   make(map[ConnKey]*tcpConn),
		closed:  make(map[ConnKey]struct{}),
	}
	a.ports.set(ports)
	a.idle.newer, a.idle.older = &a.idle, &a.idle
	return a
}

// touch makes c the most recently active connection.
func (a *Assembler) touch(c *tcpConn) {
	if a.idle.older == c {
		return
	}
	if c.older != nil {
		c.older.newer, c.newer.older = c.newer, c.older
	}
	c.older, c.newer = a.idle.older, &a.idle
	a.idle.older.newer = c
	a.idle.older = c
}

// unlink takes c out of the activity list.
func (a *Assembler) unlink(c *tcpConn) {
	if c.older != nil {
		c.older.newer, c.newer.older = c.newer, c.older
		c.older, c.newer = nil, nil
	}
}

// evictIdle drops the connection idle the longest: its buffered segments
// are discarded, its handler told (Evict, then Close with no end frame).
func (a *Assembler) evictIdle(f *Frame) {
	c := a.idle.newer
	if c == &a.idle {
		return
	}
	a.stats.Evicted++
	for dir := range c.half {
		h := &c.half[dir]
		for i := range h.segs {
			a.release(h.segs[i].data)
		}
		h.segs, h.bytes = nil, 0
	}
	if e, ok := c.h.(Evicter); ok {
		e.Evict(f)
	}
	c.h.Close(nil, false)
	delete(a.conns, c.key)
	a.unlink(c)
	if a.last == c {
		a.last = nil
	}
	a.recycle(c)
}

// recycle keeps a few ended connections' structures for reuse.
func (a *Assembler) recycle(c *tcpConn) {
	if len(a.freeConns) < 256 {
		*c = tcpConn{}
		a.freeConns = append(a.freeConns, c)
	}
}

// Stats returns counts of the Assembler's work so far.
func (a *Assembler) Stats() AssemblerStats {
	s := a.stats
	s.Open = len(a.conns)
	return s
}

// Add feeds one frame. Frames of other ports are ignored. f and its
// payload are only used during the call; out-of-order bytes are copied.
func (a *Assembler) Add(f *Frame) {
	c, dir := a.lookup(f)
	if c == nil {
		return
	}
	c.lastNum, c.lastTime = f.Number, f.Time
	a.touch(c)
	h, o := &c.half[dir], &c.half[1-dir]

	// An acknowledgement tells what the other direction's receiver got. It
	// was sent after those bytes, so it is applied before this frame's own.
	if f.Flags&TCPAck != 0 {
		if !o.ackValid || seqLess(o.peerAck, f.Ack) {
			o.peerAck, o.ackValid = f.Ack, true
		}
		if len(o.segs) > 0 {
			a.resolve(c, 1-dir, f)
		}
	}
	if f.Flags&TCPRst != 0 {
		a.finish(c, false, f)
		return
	}

	seq := f.Seq
	if f.Flags&TCPSyn != 0 {
		if !h.synSeen {
			h.synSeen, h.isn, h.started, h.next = true, f.Seq, true, f.Seq+1
		}
		seq++ // the SYN takes one sequence number; data follows it
	}
	if !h.started {
		// No SYN seen: the capture started mid-connection.
		h.started, h.next = true, seq
	}
	if !h.finDone {
		data := f.Payload
		lost := max(f.PayloadLen-len(data), 0)
		fin := f.Flags&TCPFin != 0
		if len(data) > 0 || lost > 0 || fin {
			a.segment(c, dir, seq, data, lost, fin, f)
		}
	}
	if c.half[0].finDone && c.half[1].finDone {
		a.finish(c, false, f)
	}
}

// lookup finds or starts the connection of f and the direction of f in it.
func (a *Assembler) lookup(f *Frame) (*tcpConn, Direction) {
	srcW, dstW := a.ports.has(f.Src.Port()), a.ports.has(f.Dst.Port())
	var key ConnKey
	dir := ToServer
	switch {
	case dstW && !srcW:
		key = ConnKey{Client: f.Src, Server: f.Dst}
	case srcW && !dstW:
		key, dir = ConnKey{Client: f.Dst, Server: f.Src}, ToClient
	case srcW && dstW:
		// Both ports watched: an open connection decides, else the SYN's
		// sender is the client, else the sender of this frame.
		rev := ConnKey{Client: f.Dst, Server: f.Src}
		if _, ok := a.conns[rev]; ok || f.Flags&(TCPSyn|TCPAck) == TCPSyn|TCPAck {
			key, dir = rev, ToClient
		} else {
			key = ConnKey{Client: f.Src, Server: f.Dst}
		}
	default:
		return nil, 0
	}

	c := a.last
	if c == nil || c.key != key {
		c = a.conns[key]
	}
	if c != nil && f.Flags&TCPSyn != 0 && c.restartedBy(dir, f) {
		// A SYN with a new initial sequence number on the same addresses
		// is a new connection: the old one ended unseen.
		a.finish(c, false, f)
		c = nil
	}
	if c == nil {
		if _, ok := a.closed[key]; ok {
			if f.Flags&TCPSyn == 0 {
				return nil, 0 // a straggler of a closed connection
			}
			delete(a.closed, key)
		}
		// Only a SYN or data starts a connection: a bare ACK, FIN or RST
		// of an unknown connection has nothing to deliver.
		if f.Flags&TCPSyn == 0 && len(f.Payload) == 0 && f.PayloadLen <= 0 {
			return nil, 0
		}
		limit := a.MaxConns
		if limit <= 0 {
			limit = DefaultMaxConns
		}
		for len(a.conns) >= limit {
			a.evictIdle(f)
		}
		if n := len(a.freeConns); n > 0 {
			c, a.freeConns = a.freeConns[n-1], a.freeConns[:n-1]
		} else {
			c = new(tcpConn)
		}
		c.key, c.id = key, a.nextID
		a.nextID++
		if c.h = a.newConn(key, f); c.h == nil {
			c.h = discardHandler{}
		}
		a.conns[key] = c
		a.stats.Conns++
	}
	a.last = c
	return c, dir
}

// restartedBy reports whether SYN frame f begins a new connection rather
// than repeating this one's SYN.
func (c *tcpConn) restartedBy(dir Direction, f *Frame) bool {
	h := &c.half[dir]
	if h.synSeen {
		return f.Seq != h.isn
	}
	return h.started
}

// segment processes a segment of dir whose bytes start at seq: data was
// captured, lost more bytes were cut off by the snap length, and fin says
// a FIN follows.
func (a *Assembler) segment(c *tcpConn, dir Direction, seq uint32, data []byte, lost int, fin bool, f *Frame) {
	h := &c.half[dir]
	var ok bool
	if seq, data, lost, ok = trim(h.next, seq, data, lost, fin); !ok {
		return // a retransmission of bytes already delivered
	}
	if seq == h.next {
		a.deliver(c, dir, data, lost, fin, f)
		a.drain(c, dir, f, false)
		return
	}
	a.insert(h, seq, data, lost, fin, f)
	a.resolve(c, dir, f)
}

// trim drops the part of a segment before next, the first byte not yet
// delivered. ok is false when nothing new remains.
func trim(next, seq uint32, data []byte, lost int, fin bool) (uint32, []byte, int, bool) {
	d := seqDiff(next, seq)
	if d <= 0 {
		return seq, data, lost, true
	}
	switch n := len(data) + lost; {
	case d < len(data):
		data = data[d:]
	case d < n:
		lost -= d - len(data)
		data = nil
	case d == n && fin:
		data, lost = nil, 0 // only the FIN is new
	default:
		return 0, nil, 0, false
	}
	return next, data, lost, true
}

// deliver hands in-order bytes to the handler and advances next.
func (a *Assembler) deliver(c *tcpConn, dir Direction, data []byte, lost int, fin bool, f *Frame) {
	h := &c.half[dir]
	if len(data) > 0 {
		c.h.Data(dir, data, f)
		h.next += uint32(len(data))
	}
	if lost > 0 {
		a.gap(c, dir, lost, f)
		h.next += uint32(lost)
	}
	if fin {
		h.next++
		h.finDone = true
		// Nothing follows a FIN: whatever is still buffered is bogus.
		for i := range h.segs {
			a.release(h.segs[i].data)
		}
		h.segs, h.bytes = h.segs[:0], 0
	}
}

// drain delivers buffered segments that the hole no longer separates. When
// f filled the hole, the bytes are delivered as f's: the data became whole
// there, as Wireshark's reassembly completes there. After a gap (afterGap),
// each segment keeps its own frame: a reader that did not wait for the lost
// bytes (Wireshark) read them where they were captured.
func (a *Assembler) drain(c *tcpConn, dir Direction, f *Frame, afterGap bool) {
	h := &c.half[dir]
	for len(h.segs) > 0 && !seqLess(h.next, h.segs[0].seq) {
		s := h.segs[0]
		copy(h.segs, h.segs[1:])
		h.segs = h.segs[:len(h.segs)-1]
		h.bytes -= len(s.data)
		if _, data, lost, ok := trim(h.next, s.seq, s.data, s.lost, s.fin); ok {
			df := f
			if afterGap {
				df = a.heldFrame(f, &s)
			}
			a.deliver(c, dir, data, lost, s.fin, df)
		}
		a.release(s.data)
	}
}

// heldFrame describes the frame that carried buffered segment s: f (the
// frame that made s deliverable) with s's own number and time.
func (a *Assembler) heldFrame(f *Frame, s *oooSeg) *Frame {
	if s.frame == 0 || s.frame == f.Number {
		return f
	}
	a.held = *f
	a.held.Number, a.held.Time = s.frame, s.t
	a.held.Payload = nil
	return &a.held
}

// insert buffers a copy of a future segment in sequence order, dropping it
// when a buffered segment already covers it.
func (a *Assembler) insert(h *tcpHalf, seq uint32, data []byte, lost int, fin bool, f *Frame) {
	i := 0
	for ; i < len(h.segs); i++ {
		s := &h.segs[i]
		if s.seq == seq && len(s.data)+s.lost >= len(data)+lost && (s.fin || !fin) {
			return // a retransmission of a buffered segment
		}
		if seqLess(seq, s.seq) {
			break
		}
	}
	buf := a.alloc(len(data))
	copy(buf, data)
	h.segs = slices.Insert(h.segs, i, oooSeg{seq: seq, data: buf, lost: lost, fin: fin, frame: f.Number, t: f.Time})
	h.bytes += len(buf)
}

// resolve declares the gap before the first buffered segment when the
// capture proves it will not fill: the other side acknowledged bytes past
// it (they reached the receiver, the capture missed them) or the buffer is
// over its bounds. It then delivers what became contiguous, and repeats.
func (a *Assembler) resolve(c *tcpConn, dir Direction, f *Frame) {
	h := &c.half[dir]
	for len(h.segs) > 0 {
		to := h.segs[0].seq
		switch {
		case len(h.segs) > maxBufferedSegments || h.bytes > maxBufferedBytes:
		case h.ackValid && seqLess(h.next, h.peerAck):
			if seqLess(h.peerAck, to) {
				// Only the acknowledged bytes are proven lost; the rest
				// of the hole may still arrive.
				to = h.peerAck
			}
		default:
			return
		}
		a.gap(c, dir, seqDiff(to, h.next), f)
		h.next = to
		a.drain(c, dir, f, true)
	}
}

func (a *Assembler) gap(c *tcpConn, dir Direction, lost int, f *Frame) {
	a.stats.Gaps++
	a.stats.LostBytes += int64(lost)
	c.h.Gap(dir, lost, f)
}

// finish ends a connection: buffered segments are delivered after a gap,
// the handler is closed and the state dropped. f is the frame that ended
// it, or nil at the end of the capture.
func (a *Assembler) finish(c *tcpConn, atEOF bool, f *Frame) {
	for dir := range c.half {
		h := &c.half[dir]
		if len(h.segs) == 0 {
			continue
		}
		df := f
		if df == nil {
			df = c.endFrame(Direction(dir))
		}
		for len(h.segs) > 0 {
			to := h.segs[0].seq
			a.gap(c, Direction(dir), seqDiff(to, h.next), df)
			h.next = to
			a.drain(c, Direction(dir), df, true)
		}
	}
	c.h.Close(f, atEOF)
	delete(a.conns, c.key)
	a.unlink(c)
	if a.last == c {
		a.last = nil
	}
	if !atEOF {
		a.remember(c.key)
	}
	a.recycle(c)
}

// endFrame describes the end of the capture for a connection's Gap
// reports at Flush: the number and time of its last frame, no payload.
func (c *tcpConn) endFrame(dir Direction) *Frame {
	f := &Frame{Number: c.lastNum, Time: c.lastTime, Src: c.key.Client, Dst: c.key.Server, Flags: TCPAck}
	if dir == ToClient {
		f.Src, f.Dst = f.Dst, f.Src
	}
	f.Seq = c.half[dir].next
	return f
}

// remember records a closed connection, forgetting the oldest beyond
// maxClosed.
func (a *Assembler) remember(key ConnKey) {
	if len(a.closedRing) < maxClosed {
		a.closedRing = append(a.closedRing, key)
	} else {
		delete(a.closed, a.closedRing[a.closedPos])
		a.closedRing[a.closedPos] = key
		a.closedPos = (a.closedPos + 1) % maxClosed
	}
	a.closed[key] = struct{}{}
}

// Flush ends the capture: in every open connection, buffered segments are
// delivered after the gaps before them, and the handler's Close is called
// with atEOF true, in the order the connections started. The Assembler is
// empty afterwards. Gap frames at Flush carry the number and time of the
// connection's last frame and no payload.
func (a *Assembler) Flush() {
	open := make([]*tcpConn, 0, len(a.conns))
	for _, c := range a.conns {
		open = append(open, c)
	}
	slices.SortFunc(open, func(x, y *tcpConn) int {
		if x.id < y.id {
			return -1
		}
		return 1
	})
	for _, c := range open {
		a.finish(c, true, nil)
	}
}

func (a *Assembler) alloc(n int) []byte {
	if k := len(a.free); k > 0 && cap(a.free[k-1]) >= n {
		b := a.free[k-1]
		a.free = a.free[:k-1]
		return b[:n]
	}
	return make([]byte, n, max(n, 2048))
}

func (a *Assembler) release(b []byte) {
	if b != nil && len(a.free) < maxFree && cap(b) <= 64<<10 {
		a.free = append(a.free, b[:0])
	}
}

// discardHandler stands in for a connection newConn chose to ignore.
type discardHandler struct{}

func (discardHandler) Data(Direction, []byte, *Frame) {}
func (discardHandler) Gap(Direction, int, *Frame)     {}
func (discardHandler) Close(*Frame, bool)             {}
