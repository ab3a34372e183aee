package wslua

import (
	"net/netip"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// FrameInfo describes the captured frame a segment arrived in.
type FrameInfo struct {
	Number int       // 1-based frame number (pinfo.number)
	Time   time.Time // capture time (pinfo.abs_ts)
	Src    netip.AddrPort
	Dst    netip.AddrPort
	// Len is the frame's length on the wire (pinfo.len); 0 means the
	// payload length.
	Len int
	// Info is the Info column as Wireshark's TCP dissector leaves it before
	// calling the Lua dissector ("50000 → 1883 [PSH, ACK] Seq=1 ...").
	// Optional; the emulator does not synthesise it.
	Info string
}

type column struct {
	text     string
	fence    int
	writable bool
	info     bool // the Info column: longer limit
}

// Wireshark's column buffers (epan/column-info.h, the same since 1.10):
// COL_MAX_INFO_LEN for the Info column, COL_MAX_LEN for the others, each
// including the terminating NUL. Text past them is dropped.
const (
	colMaxLen     = 256
	colMaxInfoLen = 4096
)

// cut drops what does not fit the column's buffer, without splitting a
// UTF-8 sequence (as Wireshark 3.6 and later do).
func (c *column) cut() {
	limit := colMaxLen - 1
	if c.info {
		limit = colMaxInfoLen - 1
	}
	if len(c.text) <= limit {
		return
	}
	n := limit
	for n > 0 && n < len(c.text) && c.text[n]&0xc0 == 0x80 {
		n--
	}
	c.text = strings.Clone(c.text[:n])
	if c.fence > n {
		c.fence = n
	}
}

func (c *column) set(t string) {
	if !c.writable {
		return
	}
	c.text = c.text[:c.fence] + t
	c.cut()
}

func (c *column) append(t string) {
	if c.writable {
		c.text += t
		c.cut()
	}
}

func (c *column) prepend(t string) {
	if !c.writable {
		return
	}
	c.text = t + c.text
	if c.fence > 0 {
		c.fence += len(t)
	}
	c.cut()
}

func (c *column) clear() {
	if c.writable {
		c.text = c.text[:c.fence]
	}
}

// pinfoState is the Go side of a Pinfo: one per frame.
type pinfoState struct {
	frame        FrameInfo
	rel          time.Duration
	delta        time.Duration
	desegOff     int
	desegLen     int
	canDesegment int
	currProto    string
	matchUint    uint32
	cols         map[string]*column // other columns, created on use
	proto, info  *column
	protoCol     column
	infoCol      column
	expired      bool
	ud           *lua.LUserData
	colsUD       *lua.LUserData
	private      *lua.LTable
}

func newPinfo(fi FrameInfo) *pinfoState {
	p := &pinfoState{frame: fi}
	p.protoCol = column{text: "TCP", writable: true}
	p.infoCol = column{text: fi.Info, writable: true, info: true}
	p.infoCol.cut()
	p.proto = &p.protoCol
	p.info = &p.infoCol
	return p
}

func (s *State) checkPinfo(L *lua.LState, n int) *pinfoState {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if p, ok := ud.Value.(*pinfoState); ok {
			if p.expired {
				L.RaiseError("expired pinfo")
			}
			return p
		}
	}
	typeError(L, n, "Pinfo", "Pinfo")
	return nil
}

func addrValue(s *State, L *lua.LState, a netip.AddrPort) lua.LValue {
	if !a.IsValid() {
		return s.newAddress(L, "")
	}
	return s.newAddress(L, a.Addr().String())
}

func (s *State) pinfoIndex(L *lua.LState) int {
	p := s.checkPinfo(L, 1)
	key := L.CheckString(2)
	fi := &p.frame
	switch key {
	case "number":
		L.Push(lua.LNumber(fi.Number))
	case "len", "caplen":
		L.Push(lua.LNumber(fi.Len))
	case "abs_ts":
		L.Push(lua.LNumber(float64(fi.Time.UnixNano()) / 1e9))
	case "rel_ts":
		L.Push(lua.LNumber(p.rel.Seconds()))
	case "delta_ts", "delta_dis_ts":
		L.Push(lua.LNumber(p.delta.Seconds()))
	case "visited":
		L.Push(lua.LFalse)
	case "src", "net_src":
		L.Push(addrValue(s, L, fi.Src))
	case "dst", "net_dst":
		L.Push(addrValue(s, L, fi.Dst))
	case "dl_src", "dl_dst":
		L.Push(s.newAddress(L, "00:00:00:00:00:00"))
	case "src_port":
		L.Push(lua.LNumber(fi.Src.Port()))
	case "dst_port":
		L.Push(lua.LNumber(fi.Dst.Port()))
	case "port_type":
		L.Push(lua.LNumber(2))
	case "ipproto":
		L.Push(lua.LNumber(6))
	case "match", "match_uint":
		L.Push(lua.LNumber(p.matchUint))
	case "match_string":
		L.Push(lua.LNil)
	case "curr_proto":
		L.Push(lua.LString(p.currProto))
	case "cols", "columns":
		if p.colsUD == nil {
			p.colsUD = newUD(L, p, s.mtCols)
		}
		L.Push(p.colsUD)
	case "desegment_len":
		L.Push(lua.LNumber(p.desegLen))
	case "desegment_offset":
		L.Push(lua.LNumber(p.desegOff))
	case "can_desegment":
		if !s.prof.atLeast(112) {
			L.RaiseError("%s", s.prof.missing("pinfo.can_desegment", 112))
		}
		L.Push(lua.LNumber(p.canDesegment))
	case "fragmented", "in_error_pkt":
		L.Push(lua.LFalse)
	case "p2p_dir":
		L.Push(lua.LNumber(-1))
	case "lo", "hi":
		a, b := fi.Src, fi.Dst
		if b.Addr().Less(a.Addr()) {
			a, b = b, a
		}
		if key == "lo" {
			L.Push(addrValue(s, L, a))
		} else {
			L.Push(addrValue(s, L, b))
		}
	case "private":
		if p.private == nil {
			p.private = L.NewTable()
		}
		L.Push(p.private)
	default:
		L.RaiseError("No such '%s' method/field for object type 'Pinfo'", key)
	}
	return 1
}

func (s *State) pinfoNewIndex(L *lua.LState) int {
	p := s.checkPinfo(L, 1)
	key := L.CheckString(2)
	switch key {
	case "desegment_len":
		p.desegLen = int(checkInt(L, 3, "__newindex"))
	case "desegment_offset":
		p.desegOff = int(checkInt(L, 3, "__newindex"))
	case "can_desegment":
		if !s.prof.atLeast(112) {
			L.RaiseError("%s", s.prof.missing("pinfo.can_desegment", 112))
		}
		p.canDesegment = int(checkInt(L, 3, "__newindex"))
	case "src_port", "dst_port", "src", "dst", "conversation", "private", "hi", "lo", "p2p_dir":
		// accepted, not modelled
	default:
		L.RaiseError("No such '%s' method/field for object type 'Pinfo'", key)
	}
	return 0
}

func (s *State) pinfoToString(L *lua.LState) int {
	p := s.checkPinfo(L, 1)
	L.Push(lua.LString("a Pinfo"))
	_ = p
	return 1
}

type colRef struct {
	p    *pinfoState
	name string
	c    *column
}

var knownColumns = map[string]bool{
	"number": true, "abs_time": true, "utc_time": true, "cls_time": true, "rel_time": true, "date": true,
	"utc_date": true, "delta_time": true, "delta_time_displayed": true, "src": true, "src_res": true,
	"src_unres": true, "dl_src": true, "dl_src_res": true, "dl_src_unres": true, "net_src": true,
	"net_src_res": true, "net_src_unres": true, "dst": true, "dst_res": true, "dst_unres": true,
	"dl_dst": true, "dl_dst_res": true, "dl_dst_unres": true, "net_dst": true, "net_dst_res": true,
	"net_dst_unres": true, "src_port": true, "src_port_res": true, "src_port_unres": true, "dst_port": true,
	"dst_port_res": true, "dst_port_unres": true, "protocol": true, "info": true, "packet_len": true,
	"cumulative_bytes": true, "direction": true, "vsan": true, "tx_rate": true, "rssi": true, "dce_call": true,
}

func (s *State) colFor(p *pinfoState, name string) *column {
	switch name {
	case "protocol":
		return p.proto
	case "info":
		return p.info
	}
	c := p.cols[name]
	if c == nil {
		if p.cols == nil {
			p.cols = map[string]*column{}
		}
		c = &column{writable: true}
		p.cols[name] = c
	}
	return c
}

func (s *State) colsIndex(L *lua.LState) int {
	p := L.CheckUserData(1).Value.(*pinfoState)
	if p.expired {
		L.RaiseError("expired pinfo")
	}
	name := L.CheckString(2)
	if !knownColumns[name] {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(newUD(L, &colRef{p: p, name: name, c: s.colFor(p, name)}, s.mtCol))
	return 1
}

func (s *State) colsNewIndex(L *lua.LState) int {
	p := L.CheckUserData(1).Value.(*pinfoState)
	if p.expired {
		L.RaiseError("expired pinfo")
	}
	name := L.CheckString(2)
	if name != "protocol" && name != "info" && !knownColumns[name] {
		L.RaiseError("Columns__newindex: bad column name")
	}
	text := checkString(L, 3, "__newindex")
	s.colFor(p, name).set(text)
	return 0
}

func (s *State) checkCol(L *lua.LState, fname string) *column {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if c, ok := ud.Value.(*colRef); ok {
			if c.p.expired {
				L.RaiseError("expired column")
			}
			return c.c
		}
	}
	typeError(L, 1, fname, "Column")
	return nil
}

func (s *State) colMethods() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"set": func(L *lua.LState) int {
			c := s.checkCol(L, "set")
			c.set(checkString(L, 2, "set"))
			return 0
		},
		"append": func(L *lua.LState) int {
			c := s.checkCol(L, "append")
			c.append(checkString(L, 2, "append"))
			return 0
		},
		"prepend": func(L *lua.LState) int {
			c := s.checkCol(L, "prepend")
			c.prepend(checkString(L, 2, "prepend"))
			return 0
		},
		"clear": func(L *lua.LState) int {
			s.checkCol(L, "clear").clear()
			return 0
		},
		"fence": func(L *lua.LState) int {
			c := s.checkCol(L, "fence")
			c.fence = len(c.text)
			return 0
		},
		"clear_fence": func(L *lua.LState) int {
			s.checkCol(L, "clear_fence").fence = 0
			return 0
		},
	}
}

func (s *State) colToString(L *lua.LState) int {
	c := s.checkCol(L, "__tostring")
	L.Push(lua.LString(c.text))
	return 1
}
