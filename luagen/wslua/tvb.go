package wslua

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mqttdissect/mqttdissect/dissect"
	lua "github.com/yuin/gopher-lua"
)

// Tvb is a window on a data source handed to a dissector.
type Tvb struct {
	data     []byte // the whole data source
	off      int    // start of the window in data
	length   int    // captured length
	reported int    // reported length (>= length)
	d        *dissection
	ud       *lua.LUserData
}

func (t *Tvb) bytes() []byte { return t.data[t.off : t.off+t.length] }

// TvbRange is a range of a Tvb; off is absolute in the data source.
type TvbRange struct {
	ud     lua.LUserData
	tvb    *Tvb
	off    int
	length int
}

// newRange returns the userdata of a new TvbRange, carved from a slab to
// keep allocations per dissector call low.
func (s *State) newRange(t *Tvb, off, length int) *lua.LUserData {
	if len(s.rangeSlab) == cap(s.rangeSlab) {
		s.rangeSlab = make([]TvbRange, 0, slabSize(cap(s.rangeSlab), 64))
	}
	s.rangeSlab = s.rangeSlab[:len(s.rangeSlab)+1]
	r := &s.rangeSlab[len(s.rangeSlab)-1]
	r.tvb, r.off, r.length = t, off, length
	r.ud.Value = r
	r.ud.Metatable = s.mtRange
	r.ud.Env = s.L.G.Global
	return &r.ud
}

func (r *TvbRange) bytes() []byte { return r.tvb.data[r.off : r.off+r.length] }

func (s *State) newTvb(L *lua.LState, d *dissection, data []byte, off, length, reported int) *Tvb {
	t := &Tvb{data: data, off: off, length: length, reported: reported, d: d}
	t.ud = newUD(L, t, s.mtTvb)
	return t
}

func (s *State) checkTvb(L *lua.LState, n int, fname string) *Tvb {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if t, ok := ud.Value.(*Tvb); ok {
			if t.d != nil && t.d.done {
				L.RaiseError("expired tvb")
			}
			return t
		}
	}
	typeError(L, n, fname, "Tvb")
	return nil
}

func (s *State) checkRange(L *lua.LState, n int, fname string) *TvbRange {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if r, ok := ud.Value.(*TvbRange); ok {
			if r.tvb.d != nil && r.tvb.d.done {
				L.RaiseError("expired tvb")
			}
			return r
		}
	}
	typeError(L, n, fname, "TvbRange")
	return nil
}

// pushRange creates the TvbRange (offset, length) of the tvb, relative to
// the tvb start, with Wireshark's bounds rules.
func (s *State) pushRange(L *lua.LState, t *Tvb, offset, length int) int {
	if offset < 0 {
		offset = t.length + offset
		if offset < 0 {
			L.RaiseError("out of bounds")
		}
	}
	if length == -1 {
		length = t.length - offset
		if length < 0 {
			L.RaiseError("out of bounds")
		}
	} else if length < -1 || offset+length > t.length {
		L.RaiseError("Range is out of bounds")
	}
	L.Push(s.newRange(t, t.off+offset, length))
	return 1
}

func (s *State) tvbRange(L *lua.LState) int {
	t := s.checkTvb(L, 1, "range")
	off := int(optInt(L, 2, "range", 0))
	length := int(optInt(L, 3, "range", -1))
	return s.pushRange(L, t, off, length)
}

func hexLabel(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&15])
	}
	return sb.String()
}

// bytesToStr mirrors bytes_to_str: lower-case hex, cut after 36 bytes with "…".
func bytesToStr(b []byte) string {
	if len(b) > 36 {
		return hexLabel(b[:36]) + "…"
	}
	return hexLabel(b)
}

func (s *State) tvbMethods() map[string]lua.LGFunction {
	m := map[string]lua.LGFunction{
		"len": func(L *lua.LState) int {
			L.Push(lua.LNumber(s.checkTvb(L, 1, "len").length))
			return 1
		},
		"reported_len": func(L *lua.LState) int {
			L.Push(lua.LNumber(s.checkTvb(L, 1, "reported_len").reported))
			return 1
		},
		"captured_len": func(L *lua.LState) int {
			L.Push(lua.LNumber(s.checkTvb(L, 1, "captured_len").length))
			return 1
		},
		"reported_length_remaining": func(L *lua.LState) int {
			t := s.checkTvb(L, 1, "reported_length_remaining")
			off := int(optInt(L, 2, "reported_length_remaining", 0))
			if off < 0 {
				off += t.reported
			}
			rem := t.reported - off
			if off < 0 || rem < 0 {
				rem = -1
			}
			L.Push(lua.LNumber(rem))
			return 1
		},
		"offset": func(L *lua.LState) int {
			L.Push(lua.LNumber(s.checkTvb(L, 1, "offset").off))
			return 1
		},
		"range": s.tvbRange,
	}
	if s.prof.atLeast(112) {
		m["raw"] = func(L *lua.LState) int {
			t := s.checkTvb(L, 1, "raw")
			off := int(optInt(L, 2, "raw", 0))
			length := int(optInt(L, 3, "raw", -1))
			if off < 0 || off > t.length {
				argError(L, 2, "raw", "offset out of bounds")
			}
			if length == -1 {
				length = t.length - off
			}
			if length < 0 || off+length > t.length {
				argError(L, 3, "raw", "length out of bounds")
			}
			L.Push(lua.LString(t.data[t.off+off : t.off+off+length]))
			return 1
		}
	} else {
		m["raw"] = s.missingMethod("Tvb:raw", 112)
	}
	if s.prof.atLeast(300) {
		m["bytes"] = func(L *lua.LState) int {
			t := s.checkTvb(L, 1, "bytes")
			off := int(optInt(L, 2, "bytes", 0))
			length := int(optInt(L, 3, "bytes", -1))
			if length == -1 {
				length = t.length - off
			}
			if off < 0 || length < 0 || off+length > t.length {
				L.RaiseError("Range is out of bounds")
			}
			L.Push(s.newByteArray(L, append([]byte(nil), t.data[t.off+off:t.off+off+length]...)))
			return 1
		}
	} else {
		m["bytes"] = s.missingMethod("Tvb:bytes", 300)
	}
	return m
}

func (s *State) missingMethod(what string, since int) lua.LGFunction {
	return func(L *lua.LState) int {
		L.RaiseError("%s", s.prof.missing(what, since))
		return 0
	}
}

func (s *State) tvbToString(L *lua.LState) int {
	t := s.checkTvb(L, 1, "__tostring")
	s.epAlloc(L, "tostring(Tvb)", t.length, t.length) // tvb_bytes_to_str: ep_tvb_memdup
	L.Push(lua.LString(fmt.Sprintf("TVB(%d) : %s", t.length, bytesToStr(t.bytes()))))
	return 1
}

// ---------------------------------------------------------------------------
// TvbRange

func (s *State) rangeMethods() map[string]lua.LGFunction {
	uintN := func(name string, le bool) lua.LGFunction {
		return func(L *lua.LState) int {
			r := s.checkRange(L, 1, name)
			if r.length < 1 || r.length > 4 {
				L.RaiseError("TvbRange:%s() does not handle %d byte integers", name, r.length)
			}
			L.Push(lua.LNumber(readUint(r.bytes(), le)))
			return 1
		}
	}
	intN := func(name string, le bool) lua.LGFunction {
		return func(L *lua.LState) int {
			r := s.checkRange(L, 1, name)
			if r.length < 1 || r.length > 4 || (r.length == 3 && !s.prof.atLeast(112)) {
				L.RaiseError("TvbRange:%s() does not handle %d byte integers", name, r.length)
			}
			L.Push(lua.LNumber(signExtend(readUint(r.bytes(), le), r.length*8)))
			return 1
		}
	}
	u64N := func(name string, le, signed bool) lua.LGFunction {
		return func(L *lua.LState) int {
			r := s.checkRange(L, 1, name)
			if r.length < 1 || r.length > 8 {
				L.RaiseError("TvbRange:%s() does not handle %d byte integers", name, r.length)
			}
			v := readUint(r.bytes(), le)
			if signed {
				L.Push(s.newI64(L, signExtend(v, r.length*8)))
			} else {
				L.Push(s.newU64(L, v))
			}
			return 1
		}
	}
	floatN := func(name string, le bool) lua.LGFunction {
		return func(L *lua.LState) int {
			r := s.checkRange(L, 1, name)
			b := r.bytes()
			var order binary.ByteOrder = binary.BigEndian
			if le {
				order = binary.LittleEndian
			}
			switch r.length {
			case 4:
				L.Push(lua.LNumber(math.Float32frombits(order.Uint32(b))))
			case 8:
				L.Push(lua.LNumber(math.Float64frombits(order.Uint64(b))))
			default:
				L.RaiseError("TvbRange:%s() does not handle %d byte floating numbers", name, r.length)
			}
			return 1
		}
	}
	m := map[string]lua.LGFunction{
		"uint":      uintN("uint", false),
		"le_uint":   uintN("le_uint", true),
		"int":       intN("int", false),
		"le_int":    intN("le_int", true),
		"uint64":    u64N("uint64", false, false),
		"le_uint64": u64N("le_uint64", true, false),
		"int64":     u64N("int64", false, true),
		"le_int64":  u64N("le_int64", true, true),
		"float":     floatN("float", false),
		"le_float":  floatN("le_float", true),
		"len": func(L *lua.LState) int {
			L.Push(lua.LNumber(s.checkRange(L, 1, "len").length))
			return 1
		},
		"offset": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "offset")
			L.Push(lua.LNumber(r.off - r.tvb.off))
			return 1
		},
		"tvb": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "tvb")
			t := s.newTvb(L, r.tvb.d, r.tvb.data, r.off, r.length, r.length)
			L.Push(t.ud)
			return 1
		},
		"range": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "range")
			off := int(optInt(L, 2, "range", 0))
			length := int(optInt(L, 3, "range", -1))
			if length == -1 {
				length = r.length - off
			}
			if off < 0 || length < 0 || off+length > r.length {
				L.RaiseError("Range is out of bounds")
			}
			L.Push(s.newRange(r.tvb, r.off+off, length))
			return 1
		},
		"string": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "string")
			b := r.bytes()
			s.epAlloc(L, "TvbRange:string()", r.length, r.length+1) // tvb_get_ephemeral_string
			if !s.prof.atLeast(112) {
				L.Push(lua.LString(b)) // 1.10: raw bytes, no encoding argument
				return 1
			}
			enc := optInt(L, 2, "string", 0)
			str := decodeString(b, enc)
			if !s.prof.atLeast(200) {
				// 1.12 pushes the converted string with the range length.
				if len(str) > len(b) {
					str = str[:len(b)]
				}
			} else if i := strings.IndexByte(str, 0); i >= 0 {
				str = str[:i]
			}
			L.Push(lua.LString(str))
			return 1
		},
		"stringz": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "stringz")
			rest := r.tvb.data[r.off : r.tvb.off+r.tvb.length]
			i := indexZero(rest)
			if i < 0 {
				L.RaiseError("Range is out of bounds")
			}
			s.epAlloc(L, "TvbRange:stringz()", i, i+1) // tvb_get_ephemeral_stringz
			enc := optInt(L, 2, "stringz", 0)
			if !s.prof.atLeast(112) {
				L.Push(lua.LString(rest[:i]))
			} else {
				L.Push(lua.LString(decodeString(rest[:i], enc)))
			}
			return 1
		},
		"strsize": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "strsize")
			rest := r.tvb.data[r.off : r.tvb.off+r.tvb.length]
			i := indexZero(rest)
			if i < 0 {
				L.RaiseError("Range is out of bounds")
			}
			L.Push(lua.LNumber(i + 1))
			return 1
		},
		"bytes": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "bytes")
			s.epAlloc(L, "TvbRange:bytes()", r.length, r.length) // ep_tvb_memdup
			L.Push(s.newByteArray(L, append([]byte(nil), r.bytes()...)))
			return 1
		},
		"bitfield": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "bitfield")
			pos := int(optInt(L, 2, "bitfield", 0))
			n := int(optInt(L, 3, "bitfield", 1))
			if pos < 0 || n < 0 || pos+n > r.length*8 {
				L.RaiseError("Requested bitfield out of range")
			}
			if n > 64 {
				L.RaiseError("TvbRange:bitfield() does not handle %d bits", n)
			}
			v := readBits(r.bytes(), pos, n)
			if n > 32 {
				L.Push(s.newU64(L, v))
			} else {
				L.Push(lua.LNumber(v))
			}
			return 1
		},
		"ipv4": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "ipv4")
			if r.length != 4 {
				L.RaiseError("The range must be 4 octets long")
			}
			b := r.bytes()
			L.Push(s.newAddress(L, fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])))
			return 1
		},
		"ether": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "ether")
			if r.length != 6 {
				L.RaiseError("The range must be 6 bytes long")
			}
			L.Push(s.newAddress(L, etherString(r.bytes())))
			return 1
		},
		"ustring": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "ustring")
			L.Push(lua.LString(decodeUTF16(r.bytes(), false)))
			return 1
		},
		"le_ustring": func(L *lua.LState) int {
			r := s.checkRange(L, 1, "le_ustring")
			L.Push(lua.LString(decodeUTF16(r.bytes(), true)))
			return 1
		},
	}
	if s.prof.atLeast(112) {
		m["raw"] = func(L *lua.LState) int {
			r := s.checkRange(L, 1, "raw")
			off := int(optInt(L, 2, "raw", 0))
			length := int(optInt(L, 3, "raw", -1))
			if off < 0 || off > r.length {
				argError(L, 2, "raw", "offset out of bounds")
			}
			if length == -1 {
				length = r.length - off
			}
			if length < 0 || off+length > r.length {
				argError(L, 3, "raw", "length out of bounds")
			}
			L.Push(lua.LString(r.tvb.data[r.off+off : r.off+off+length]))
			return 1
		}
	} else {
		m["raw"] = s.missingMethod("TvbRange:raw", 112)
	}
	return m
}

func (s *State) rangeToString(L *lua.LState) int {
	r := s.checkRange(L, 1, "__tostring")
	s.epAlloc(L, "tostring(TvbRange)", r.length, r.length) // tvb_bytes_to_str: ep_tvb_memdup
	if r.length == 0 {
		L.Push(lua.LString("<EMPTY>"))
	} else {
		L.Push(lua.LString(bytesToStr(r.bytes())))
	}
	return 1
}

func indexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

func readUint(b []byte, le bool) uint64 {
	var v uint64
	if le {
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
	} else {
		for _, c := range b {
			v = v<<8 | uint64(c)
		}
	}
	return v
}

func signExtend(v uint64, bitsN int) int64 {
	if bitsN <= 0 || bitsN >= 64 {
		return int64(v)
	}
	shift := 64 - uint(bitsN)
	return int64(v<<shift) >> shift
}

func readBits(b []byte, pos, n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		bit := pos + i
		v = v<<1 | uint64(b[bit/8]>>(7-uint(bit%8))&1)
	}
	return v
}

func etherString(b []byte) string {
	var sb strings.Builder
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteByte(hexDigits[c>>4])
		sb.WriteByte(hexDigits[c&15])
	}
	return sb.String()
}

// Encodings (ENC_*): the character encoding part.
const (
	encASCII  = 0
	encUTF8   = 2
	encUTF16  = 4
	encUCS2   = 6
	encLatin1 = 10
	encLE     = 0x80000000
)

// decodeString converts bytes to UTF-8 as tvb_get_string_enc does for the
// encodings a dissector typically uses; invalid input becomes U+FFFD.
func decodeString(b []byte, enc int64) string {
	e := uint32(enc) & 0xfffe
	switch e {
	case encUTF8:
		if utf8.Valid(b) {
			return string(b)
		}
		return dissect.ReplaceIllFormedUTF8(b)
	case encUTF16, encUCS2:
		return decodeUTF16(b, uint32(enc)&encLE != 0)
	case encLatin1:
		var sb strings.Builder
		for _, c := range b {
			sb.WriteRune(rune(c))
		}
		return sb.String()
	default: // ASCII and anything unsupported
		ascii := true
		for _, c := range b {
			if c >= 0x80 {
				ascii = false
				break
			}
		}
		if ascii {
			return string(b)
		}
		var sb strings.Builder
		for _, c := range b {
			if c >= 0x80 {
				sb.WriteString("\uFFFD")
			} else {
				sb.WriteByte(c)
			}
		}
		return sb.String()
	}
}

func decodeUTF16(b []byte, le bool) string {
	var sb strings.Builder
	for i := 0; i+1 < len(b); i += 2 {
		var u uint16
		if le {
			u = uint16(b[i]) | uint16(b[i+1])<<8
		} else {
			u = uint16(b[i])<<8 | uint16(b[i+1])
		}
		if u == 0 {
			break
		}
		sb.WriteRune(rune(u))
	}
	return sb.String()
}

// ---------------------------------------------------------------------------
// ByteArray

type byteArray struct{ b []byte }

func (s *State) newByteArray(L *lua.LState, b []byte) *lua.LUserData {
	return newUD(L, &byteArray{b: b}, s.mtBA)
}

func (s *State) checkBA(L *lua.LState, n int, fname string) *byteArray {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if b, ok := ud.Value.(*byteArray); ok {
			return b
		}
	}
	typeError(L, n, fname, "ByteArray")
	return nil
}

func parseHex(s, sep string) ([]byte, bool) {
	var out []byte
	hi := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'a' && c <= 'f':
			v = int(c-'a') + 10
		case c >= 'A' && c <= 'F':
			v = int(c-'A') + 10
		case c == ' ' || c == ':' || c == '-' || c == '.' || strings.IndexByte(sep, c) >= 0:
			continue
		default:
			return nil, false
		}
		if hi < 0 {
			hi = v
		} else {
			out = append(out, byte(hi<<4|v))
			hi = -1
		}
	}
	return out, hi < 0
}

func (s *State) byteArrayNew(L *lua.LState) int {
	if L.GetTop() == 0 || L.Get(1) == lua.LNil {
		L.Push(s.newByteArray(L, nil))
		return 1
	}
	str := checkString(L, 1, "new")
	if b, ok := L.Get(2).(lua.LBool); ok && bool(b) {
		L.Push(s.newByteArray(L, []byte(str)))
		return 1
	}
	sep := optString(L, 2, "new", " ")
	b, ok := parseHex(str, sep)
	if !ok {
		argError(L, 1, "new", "ByteArray_new: invalid hex bytes")
	}
	L.Push(s.newByteArray(L, b))
	return 1
}

func (s *State) baMethods() map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"len": func(L *lua.LState) int {
			L.Push(lua.LNumber(len(s.checkBA(L, 1, "len").b)))
			return 1
		},
		"get_index": func(L *lua.LState) int {
			b := s.checkBA(L, 1, "get_index")
			i := int(checkInt(L, 2, "get_index"))
			if i < 0 || i >= len(b.b) {
				argError(L, 2, "get_index", "bad index")
			}
			L.Push(lua.LNumber(b.b[i]))
			return 1
		},
		"set_index": func(L *lua.LState) int {
			b := s.checkBA(L, 1, "set_index")
			i := int(checkInt(L, 2, "set_index"))
			v := checkInt(L, 3, "set_index")
			if i < 0 || i >= len(b.b) {
				argError(L, 2, "set_index", "bad index")
			}
			if v < 0 || v > 255 {
				argError(L, 3, "set_index", "Byte out of range")
			}
			b.b[i] = byte(v)
			return 0
		},
		"set_size": func(L *lua.LState) int {
			b := s.checkBA(L, 1, "set_size")
			n := int(checkInt(L, 2, "set_size"))
			if n < 0 {
				argError(L, 2, "set_size", "ByteArray size must be non-negative")
			}
			if n <= len(b.b) {
				b.b = b.b[:n]
			} else {
				b.b = append(b.b, make([]byte, n-len(b.b))...)
			}
			return 0
		},
		"append": func(L *lua.LState) int {
			b := s.checkBA(L, 1, "append")
			o := s.checkBA(L, 2, "append")
			b.b = append(b.b, o.b...)
			return 0
		},
		"prepend": func(L *lua.LState) int {
			b := s.checkBA(L, 1, "prepend")
			o := s.checkBA(L, 2, "prepend")
			b.b = append(append([]byte(nil), o.b...), b.b...)
			return 0
		},
		"subset": func(L *lua.LState) int {
			b := s.checkBA(L, 1, "subset")
			off := int(checkInt(L, 2, "subset"))
			n := int(checkInt(L, 3, "subset"))
			if off < 0 || n < 0 || off+n > len(b.b) {
				L.Push(lua.LNil)
				return 1
			}
			L.Push(s.newByteArray(L, append([]byte(nil), b.b[off:off+n]...)))
			return 1
		},
		"tohex": func(L *lua.LState) int {
			b := s.checkBA(L, 1, "tohex")
			lower := L.ToBool(2)
			sep := optString(L, 3, "tohex", "")
			var sb strings.Builder
			for i, c := range b.b {
				if i > 0 {
					sb.WriteString(sep)
				}
				fmt.Fprintf(&sb, "%02X", c)
			}
			out := sb.String()
			if lower {
				out = strings.ToLower(out)
			}
			L.Push(lua.LString(out))
			return 1
		},
		"raw": func(L *lua.LState) int {
			b := s.checkBA(L, 1, "raw")
			off := int(optInt(L, 2, "raw", 0))
			n := int(optInt(L, 3, "raw", int64(len(b.b)-off)))
			if off < 0 || n < 0 || off+n > len(b.b) {
				argError(L, 2, "raw", "bad offset or length")
			}
			L.Push(lua.LString(b.b[off : off+n]))
			return 1
		},
		"tvb": func(L *lua.LState) int {
			b := s.checkBA(L, 1, "tvb")
			data := append([]byte(nil), b.b...)
			var d *dissection
			if s.cur != nil {
				d = s.cur
			}
			t := s.newTvb(L, d, data, 0, len(data), len(data))
			L.Push(t.ud)
			return 1
		},
	}
}

func (s *State) baToString(L *lua.LState) int {
	b := s.checkBA(L, 1, "__tostring")
	L.Push(lua.LString(strings.ToUpper(hexLabel(b.b))))
	return 1
}

// ---------------------------------------------------------------------------
// UInt64 / Int64 (minimal)

type u64 uint64
type i64 int64

func (s *State) newU64(L *lua.LState, v uint64) *lua.LUserData {
	x := u64(v)
	return newUD(L, &x, s.mtU64)
}

func (s *State) newI64(L *lua.LState, v int64) *lua.LUserData {
	x := i64(v)
	return newUD(L, &x, s.mtI64)
}

func (s *State) int64Lib(L *lua.LState, signed bool) (*lua.LTable, *lua.LTable) {
	cls := L.NewTable()
	mt := L.NewTable()
	methods := L.NewTable()
	name := "UInt64"
	if signed {
		name = "Int64"
	}
	get := func(L *lua.LState, n int) uint64 {
		v, ok := toUint64(L.Get(n))
		if !ok {
			typeError(L, n, name, name)
		}
		return v
	}
	push := func(L *lua.LState, v uint64) int {
		if signed {
			L.Push(s.newI64(L, int64(v)))
		} else {
			L.Push(s.newU64(L, v))
		}
		return 1
	}
	str := func(v uint64) string {
		if signed {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatUint(v, 10)
	}
	ctor := func(L *lua.LState, first int) int {
		v := uint64(0)
		if L.GetTop() >= first {
			switch x := L.Get(first).(type) {
			case lua.LString:
				var err error
				if signed {
					var n int64
					n, err = strconv.ParseInt(string(x), 10, 64)
					v = uint64(n)
				} else {
					v, err = strconv.ParseUint(string(x), 10, 64)
				}
				if err != nil {
					argError(L, first, "new", "invalid number")
				}
			default:
				v = get(L, first)
				if L.GetTop() > first && L.Get(first+1) != lua.LNil {
					v = v&0xffffffff | get(L, first+1)<<32
				}
			}
		}
		return push(L, v)
	}
	L.SetFuncs(cls, map[string]lua.LGFunction{
		"new": func(L *lua.LState) int { return ctor(L, 1) },
		"max": func(L *lua.LState) int {
			if signed {
				return push(L, math.MaxInt64)
			}
			return push(L, math.MaxUint64)
		},
		"min": func(L *lua.LState) int {
			if signed {
				return push(L, 1<<63)
			}
			return push(L, 0)
		},
		"fromhex": func(L *lua.LState) int {
			v, err := strconv.ParseUint(strings.TrimPrefix(L.CheckString(1), "0x"), 16, 64)
			if err != nil {
				argError(L, 1, "fromhex", "invalid hex")
			}
			return push(L, v)
		},
	})
	cmt := L.NewTable()
	cmt.RawSetString("__call", L.NewFunction(func(L *lua.LState) int { return ctor(L, 2) }))
	L.SetMetatable(cls, cmt)
	L.SetFuncs(methods, map[string]lua.LGFunction{
		"tonumber": func(L *lua.LState) int {
			v := get(L, 1)
			if signed {
				L.Push(lua.LNumber(int64(v)))
			} else {
				L.Push(lua.LNumber(v))
			}
			return 1
		},
		"tohex": func(L *lua.LState) int {
			v := get(L, 1)
			n := int(optInt(L, 2, "tohex", 16))
			digits := "%0*x"
			if n < 0 {
				n = -n
				digits = "%0*X"
			}
			h := fmt.Sprintf(digits, n, v)
			if len(h) > n {
				h = h[len(h)-n:]
			}
			L.Push(lua.LString(h))
			return 1
		},
		"lower":  func(L *lua.LState) int { L.Push(lua.LNumber(uint32(get(L, 1)))); return 1 },
		"higher": func(L *lua.LState) int { L.Push(lua.LNumber(uint32(get(L, 1) >> 32))); return 1 },
	})
	mt.RawSetString("__index", methods)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString(str(get(L, 1)))); return 1 }))
	mt.RawSetString("__concat", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(s.tostring(L.Get(1)) + s.tostring(L.Get(2))))
		return 1
	}))
	arith := func(op func(a, b uint64) uint64) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int { return push(L, op(get(L, 1), get(L, 2))) })
	}
	mt.RawSetString("__add", arith(func(a, b uint64) uint64 { return a + b }))
	mt.RawSetString("__sub", arith(func(a, b uint64) uint64 { return a - b }))
	mt.RawSetString("__mul", arith(func(a, b uint64) uint64 { return a * b }))
	mt.RawSetString("__div", L.NewFunction(func(L *lua.LState) int {
		a, b := get(L, 1), get(L, 2)
		if b == 0 {
			L.RaiseError("%s:__div() division by zero", name)
		}
		if signed {
			return push(L, uint64(int64(a)/int64(b)))
		}
		return push(L, a/b)
	}))
	mt.RawSetString("__mod", L.NewFunction(func(L *lua.LState) int {
		a, b := get(L, 1), get(L, 2)
		if b == 0 {
			L.RaiseError("%s:__mod() division by zero", name)
		}
		if signed {
			return push(L, uint64(int64(a)%int64(b)))
		}
		return push(L, a%b)
	}))
	mt.RawSetString("__unm", L.NewFunction(func(L *lua.LState) int { return push(L, -get(L, 1)) }))
	mt.RawSetString("__eq", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LBool(get(L, 1) == get(L, 2))); return 1 }))
	less := func(a, b uint64, orEq bool) bool {
		if signed {
			if orEq {
				return int64(a) <= int64(b)
			}
			return int64(a) < int64(b)
		}
		if orEq {
			return a <= b
		}
		return a < b
	}
	mt.RawSetString("__lt", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LBool(less(get(L, 1), get(L, 2), false))); return 1 }))
	mt.RawSetString("__le", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LBool(less(get(L, 1), get(L, 2), true))); return 1 }))
	return cls, mt
}

// ---------------------------------------------------------------------------
// Address

type address struct{ s string }

func (s *State) newAddress(L *lua.LState, str string) *lua.LUserData {
	return newUD(L, &address{s: str}, s.mtAddr)
}
