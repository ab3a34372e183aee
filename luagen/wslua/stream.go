package wslua

import (
	"fmt"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/mqttdissect/mqttdissect/dissect"
)

// Direction is the direction of a segment within a connection.
type Direction = dissect.Direction

// Directions (re-exported from package dissect).
const (
	ToServer = dissect.ToServer
	ToClient = dissect.ToClient
)

// maxReassembly is TCP's limit on bytes held for one PDU (1 MiB).
const maxReassembly = 1024 * 1024

// dissection is the context of one dissector call.
type dissection struct {
	call  *Call
	pinfo *pinfoState
	tvb   *Tvb
	done  bool
	// abort: Wireshark would have aborted during this call (see ephemeral.go)
	abort *LuaError
}

// dirState is the reassembly state of one direction (Wireshark's
// multisegment PDU, msp).
type dirState struct {
	pending    bool
	held       []byte // bytes of the PDU so far, from its first byte
	need       int    // bytes still needed (when !entire)
	entire     bool   // DESEGMENT_ONE_MORE_SEGMENT: take all of the next segment
	firstFrame int
}

// Conn drives a State's Lua dissector over one TCP connection the way
// Wireshark's TCP dissector (desegment_tcp) does.
type Conn struct {
	s     *State
	fixed *Proto
	dirs  [2]dirState
	first time.Time
	last  time.Time
	// OnFrame, if set, receives the result of every segment fed through the
	// dissect.StreamHandler methods (Data, Gap).
	OnFrame func(*FrameResult)
	// Closed is set by Close.
	Closed bool
}

// NewConn returns a driver that picks the dissector per segment from the
// "tcp.port" table by the segment's ports (lower port first, as Wireshark).
func (s *State) NewConn() *Conn { return &Conn{s: s} }

// NewConnFor returns a driver that always calls the named Lua protocol's
// dissector (like Wireshark's "Decode As").
func (s *State) NewConnFor(proto string) (*Conn, error) {
	p := s.protoByName[strings.ToLower(proto)]
	if p == nil {
		return nil, fmt.Errorf("wslua: no protocol %q", proto)
	}
	if p.dissector == nil {
		return nil, fmt.Errorf("wslua: protocol %q has no dissector", proto)
	}
	return &Conn{s: s, fixed: p}, nil
}

// Segment feeds one TCP segment's payload of one direction and returns what
// the dissector did with it. Bytes held back for reassembly are copied;
// payload may be reused by the caller afterwards.
func (c *Conn) Segment(dir Direction, payload []byte, fi FrameInfo) *FrameResult {
	s := c.s
	var initErr error
	if !s.initDone {
		initErr = s.Init()
	}
	if fi.Len == 0 {
		fi.Len = len(payload)
	}
	ps := newPinfo(fi)
	if c.first.IsZero() {
		c.first = fi.Time
		c.last = fi.Time
	}
	ps.rel = fi.Time.Sub(c.first)
	ps.delta = fi.Time.Sub(c.last)
	c.last = fi.Time
	fr := &FrameResult{Number: fi.Number}
	if le, ok := initErr.(*LuaError); ok {
		// A failing proto.init is reported with the first frame.
		le.Frame = fi.Number
		le.Message = "init: " + le.Message
		fr.Calls = append(fr.Calls, &Call{Frame: fi.Number, FirstFrame: fi.Number, Err: le})
	}
	s.ensureUD(ps)
	st := &c.dirs[dir&1]
	// One copy per segment: calls, items and held-back bytes alias it.
	seg := append([]byte(nil), payload...)
	off := 0
	for off < len(seg) {
		ps.desegOff, ps.desegLen = 0, 0
		called := false
		another := 0
		var call *Call
		if st.pending {
			take := len(seg) - off
			if !st.entire && st.need < take {
				take = st.need
			}
			st.held = append(st.held, seg[off:off+take]...)
			if !st.entire && take < st.need {
				st.need -= take
				off += take
				break // PDU still incomplete: no dissector call in this frame
			}
			if off+take < len(seg) {
				another = off + take
			}
			lastFrag := take
			data := st.held
			st.pending, st.entire, st.held = false, false, nil
			call = c.call(data, 0, true, st.firstFrame, ps, fr)
			called = true
			oldLen := len(data) - lastFrag
			if ps.desegLen != 0 && ps.desegOff <= oldLen && !call.Rejected {
				// Still not enough for the PDU that started earlier: keep
				// reassembling from the same first byte.
				st.pending = true
				st.held = data
				if ps.desegLen == DesegmentOneMoreSegment {
					st.entire = true
				} else {
					st.need = ps.desegLen
				}
				c.finishIteration(ps, called)
				off += lastFrag
				continue
			}
			if ps.desegLen != 0 && !call.Rejected {
				// The reassembled PDU is done but a new one starts at the
				// end of this segment.
				start := len(seg) - (len(data) - ps.desegOff)
				if start < off {
					start = off
				}
				c.startMSP(st, seg[start:], ps, fi.Number)
				another = 0
			}
		} else {
			call = c.call(seg, off, false, fi.Number, ps, fr)
			called = true
			if ps.desegLen != 0 && !call.Rejected {
				start := off + ps.desegOff
				if start > len(seg) {
					start = len(seg)
				}
				if start < off {
					start = off
				}
				c.startMSP(st, seg[start:], ps, fi.Number)
			}
		}
		c.finishIteration(ps, called)
		if another == 0 {
			break
		}
		// Another PDU follows in this segment: fence the Info column and
		// freeze the Protocol column, as TCP does.
		ps.info.fence = len(ps.info.text)
		ps.proto.writable = false
		off = another
	}
	if len(fr.Calls) == 0 && st.pending {
		ps.proto.text = "TCP"
		appendSep(ps.info, "[TCP segment of a reassembled PDU]")
	}
	fr.Protocol = ps.proto.text
	fr.Info = ps.info.text
	ps.expired = true
	if c.OnFrame != nil {
		c.OnFrame(fr)
	}
	return fr
}

func appendSep(c *column, t string) {
	if c.text != "" {
		c.text += " "
	}
	c.text += t
	c.cut()
}

// finishIteration applies TCP's column handling after a call that left
// bytes undissected at the start of its data.
func (c *Conn) finishIteration(ps *pinfoState, called bool) {
	if called && ps.desegLen != 0 && ps.desegOff == 0 {
		if ps.proto.writable {
			ps.proto.text = "TCP"
		}
		appendSep(ps.info, "[TCP segment of a reassembled PDU]")
	}
}

func (c *Conn) startMSP(st *dirState, rest []byte, ps *pinfoState, frame int) {
	if len(rest) > maxReassembly {
		return
	}
	st.pending = true
	st.held = append(make([]byte, 0, len(rest)+64), rest...)
	st.firstFrame = frame
	st.entire = ps.desegLen == DesegmentOneMoreSegment
	st.need = ps.desegLen
}

// Gap drops the bytes held back for reassembly in one direction (lost data
// precedes the next segment). It satisfies dissect.StreamHandler.
func (c *Conn) Gap(dir Direction, lost int, f *dissect.Frame) {
	c.dirs[dir&1] = dirState{}
}

// Data feeds a segment delivered by dissect's assembler (satisfies
// dissect.StreamHandler); the result goes to OnFrame.
func (c *Conn) Data(dir Direction, data []byte, f *dissect.Frame) {
	fi := FrameInfo{Number: f.Number, Time: f.Time, Src: f.Src, Dst: f.Dst, Len: f.WireLen}
	c.Segment(dir, data, fi)
}

// Close marks the connection closed (satisfies dissect.StreamHandler).
// Bytes still held back were never dissected, as in Wireshark.
func (c *Conn) Close(atEOF bool) {
	c.Closed = true
	c.dirs = [2]dirState{}
}

// Pending reports how many bytes are held back for reassembly in dir.
func (c *Conn) Pending(dir Direction) int { return len(c.dirs[dir&1].held) }

// pickProtos returns the dissectors to try for a frame, in Wireshark's
// order (lower port first).
func (c *Conn) pickProtos(fi FrameInfo) []*Proto {
	if c.fixed != nil {
		return []*Proto{c.fixed}
	}
	t := c.s.tables["tcp.port"]
	lo, hi := uint32(fi.Src.Port()), uint32(fi.Dst.Port())
	if hi < lo {
		lo, hi = hi, lo
	}
	var out []*Proto
	if p := t.entries[lo]; p != nil && lo != 0 {
		out = append(out, p)
	}
	if p := t.entries[hi]; p != nil && hi != 0 && hi != lo && (len(out) == 0 || out[0] != p) {
		out = append(out, p)
	}
	return out
}

// call runs the dissector(s) on data[tvbOff:] and records the call(s).
func (c *Conn) call(data []byte, tvbOff int, reassembled bool, firstFrame int, ps *pinfoState, fr *FrameResult) *Call {
	protos := c.pickProtos(ps.frame)
	var last *Call
	t := c.s.tables["tcp.port"]
	lo, hi := uint32(ps.frame.Src.Port()), uint32(ps.frame.Dst.Port())
	if hi < lo {
		lo, hi = hi, lo
	}
	for _, p := range protos {
		if t.entries[lo] == p {
			ps.matchUint = lo
		} else {
			ps.matchUint = hi
		}
		last = c.s.dissectOnce(p, data, tvbOff, reassembled, firstFrame, ps)
		fr.Calls = append(fr.Calls, last)
		if !last.Rejected {
			return last
		}
	}
	if last == nil {
		last = &Call{Frame: ps.frame.Number, FirstFrame: firstFrame, Data: data, Reassembled: reassembled, TvbOffset: tvbOff, TvbLen: len(data) - tvbOff, Rejected: true}
	}
	ps.desegLen, ps.desegOff = 0, 0
	return last
}

// ensureUD creates the Lua objects of a frame's Pinfo.
func (s *State) ensureUD(ps *pinfoState) {
	ps.ud = newUD(s.L, ps, s.mtPinfo)
}

// slabSize is the size of the next allocation slab: small for the first
// of a call, doubling up to max.
func slabSize(last, max int) int {
	return min(max, maxInt(8, 2*last))
}

// dissectOnce calls one protocol's Lua dissector on data[tvbOff:].
func (s *State) dissectOnce(p *Proto, data []byte, tvbOff int, reassembled bool, firstFrame int, ps *pinfoState) *Call {
	L := s.L
	// Each call starts new slabs. A slab shared by two calls would tie
	// them together (its items point to their calls, the calls to all
	// their items in other slabs), and through one another every call
	// since the first: a reference the Lua state keeps to one recent item
	// would hold the whole capture's trees.
	s.treeSlab, s.rangeSlab, s.childSlab = nil, nil, nil
	n := len(data) - tvbOff
	call := &Call{Frame: ps.frame.Number, FirstFrame: firstFrame, Proto: p.name, Data: data, Reassembled: reassembled, TvbOffset: tvbOff, TvbLen: n}
	d := &dissection{call: call, pinfo: ps}
	tvb := s.newTvb(L, d, data, tvbOff, n, n)
	d.tvb = tvb
	ps.desegOff, ps.desegLen = 0, 0
	ps.canDesegment = 1
	ps.currProto = p.short
	prev := s.cur
	s.cur = d
	s.lastMissing = ""
	L.Push(p.dissector)
	L.Push(tvb.ud)
	L.Push(ps.ud)
	root := s.newTreeItem(d)
	L.Push(&root.ud)
	s.caught = nil
	lerr := s.pcall(3, 1, s.opts.CallSteps, ps.frame.Number, "")
	if d.abort != nil {
		if lerr == nil {
			L.Pop(1)
		}
		lerr = d.abort
	}
	consumed := n
	if lerr != nil {
		call.Err = lerr
		msg := "Lua Error: " + lerr.Message
		call.Items = append(call.Items, &Item{Abbrev: AbbrevLuaError, Type: FTNone, Offset: tvbOff, Text: msg,
			Experts: []Expert{{Group: PIUndecoded, Severity: PIError, Text: msg, Abbrev: AbbrevLuaError}}})
	} else {
		ret := L.Get(-1)
		L.Pop(1)
		if f, ok := isNumber(ret); ok {
			consumed = int(int32(int64(f)))
		}
	}
	call.Steps = s.budget.used
	call.Caught = s.takeCaught()
	for _, c := range call.Caught {
		c.Frame = ps.frame.Number
	}
	d.done = true
	s.cur = prev
	call.Returned = consumed
	call.Rejected = lerr == nil && consumed == 0
	if call.Rejected {
		ps.desegOff, ps.desegLen = 0, 0
	} else if consumed < 0 && ps.desegLen == 0 && s.opts.NegativeReturnDesegments {
		ps.desegLen = -consumed
	}
	call.DesegmentOffset = ps.desegOff
	call.DesegmentLen = ps.desegLen
	return call
}

// dissectTCPPDUs implements dissect_tcp_pdus(tvb, tree, min_header_size,
// get_len_func, dissect_func[, desegment]) like tcp_dissect_pdus.
func (s *State) dissectTCPPDUs(L *lua.LState) int {
	const fname = "dissect_tcp_pdus"
	tvb := s.checkTvb(L, 1, fname)
	tree := s.checkTreeItem(L, 2, fname)
	fixed := int(checkInt(L, 3, fname))
	getLen, ok1 := L.Get(4).(*lua.LFunction)
	dissectFn, ok2 := L.Get(5).(*lua.LFunction)
	desegment := true
	if L.GetTop() >= 6 && L.Get(6) != lua.LNil {
		desegment = L.ToBool(6)
	}
	d := s.cur
	if d == nil {
		L.RaiseError("dissect_tcp_pdus can only be invoked while in dissect function")
		return 0 // not reached: RaiseError does not return
	}
	if !ok1 || !ok2 {
		L.RaiseError("The third and fourth arguments need to be Lua functions")
	}
	ps := d.pinfo
	canDeseg := desegment && ps.canDesegment > 0
	offset := 0
	for tvb.reported-offset > 0 {
		avail := tvb.length - offset
		if canDeseg && avail < fixed {
			ps.desegOff = offset
			ps.desegLen = DesegmentOneMoreSegment
			return 0
		}
		L.Push(getLen)
		L.Push(tvb.ud)
		L.Push(ps.ud)
		L.Push(lua.LNumber(offset))
		if err := L.PCall(3, 1, nil); err != nil {
			L.RaiseError("Error while calling get_len_func from dissect_tcp_pdus: %s", apiErrMsg(err))
		}
		ret := L.Get(-1)
		L.Pop(1)
		f, ok := isNumber(ret)
		if !ok {
			L.RaiseError("Lua get_len_func from dissect_tcp_pdus did not return a Lua number of the PDU length")
		}
		plen := int(uint32(int64(f)))
		if plen == 0 {
			if !canDeseg {
				tree.addChild(malformed(tvb.off+offset, "Fragment bounds error"))
				return 0
			}
			ps.desegOff = offset
			ps.desegLen = DesegmentOneMoreSegment
			return 0
		}
		if plen < fixed {
			tree.addChild(malformed(tvb.off+offset, "Malformed Packet (Exception occurred)"))
			return 0
		}
		if canDeseg && avail < plen {
			ps.desegOff = offset
			ps.desegLen = plen - avail
			return 0
		}
		capLen := avail
		if capLen > plen {
			capLen = plen
		}
		sub := s.newTvb(L, d, tvb.data, tvb.off+offset, capLen, plen)
		L.Push(dissectFn)
		L.Push(sub.ud)
		L.Push(ps.ud)
		L.Push(L.Get(2))
		if err := L.PCall(3, 1, nil); err != nil {
			L.RaiseError("Error while calling dissector function from dissect_tcp_pdus: %s", apiErrMsg(err))
		}
		L.Pop(1)
		if plen > avail {
			// Reported beyond captured (no desegmentation): the PDU was cut.
			break
		}
		offset += plen
	}
	return 0
}

func apiErrMsg(err error) string {
	if ae, ok := err.(*lua.ApiError); ok && ae.Object != nil {
		return ae.Object.String()
	}
	return err.Error()
}

func malformed(off int, text string) *Item {
	return &Item{Abbrev: AbbrevMalformed, Type: FTProtocol, Offset: off, Text: "[" + text + "]",
		Experts: []Expert{{Group: PIMalformed, Severity: PIError, Text: text}}}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
