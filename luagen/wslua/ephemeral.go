package wslua

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"
)

// Wireshark 1.10's per-packet ("ephemeral") memory, and what crosses it.
//
// Facts from the public 1.10 sources (reference only):
//   - epan/emem.c: ep_alloc(size) with chunks (the default) asserts
//     size < EMEM_PACKET_CHUNK_SIZE>>2, the chunk being 10*1024*1024 bytes:
//     a request of EphemeralCeiling bytes or more throws DissectorError.
//     Thrown while tshark prints (PDML, -T fields) nothing catches it:
//     "Unhandled exception ... failed assertion" and abort (exit 134).
//     Thrown inside a Lua API call it unwinds through the Lua interpreter,
//     past the script's pcall.
//   - print.c: -T fields and PDML's show attribute take a value from
//     proto_construct_match_selected_string (epan/proto.c), which ep_allocs
//     "<abbrev> == <value in filter form>" with its NUL.
//   - epan/ftypes/ftype-bytes.c: an FT_BYTES value renders as hex pairs
//     joined by ':' (3n-1 characters).
//   - epan/ftypes/ftype-string.c, epan/strutil.c (escape_string): a
//     string's filter form is quoted, with '\\' and '"' backslashed and
//     every byte that is not printable ASCII as \xNN; its display form is
//     the string itself.
//   - epan/tvbuff.c, epan/wslua/wslua_tvb.c: TvbRange:string() copies the
//     range into ep_alloc(len+1) (tvb_get_ephemeral_string);
//     TvbRange:bytes(), tostring(TvbRange) and tostring(Tvb) copy it with
//     ep_tvb_memdup(len); TreeItem:add of an FT_STRING field from a range
//     fetches it with tvb_get_ephemeral_string (len+1).
//
// 1.12 keeps emem.c's assertion but its Lua API moved to wmem; whether its
// export path still renders into ep_ memory is not modelled here (the
// generated dissector treats all of 1.x as limited).

// EphemeralCeiling is the first ep_alloc request Wireshark 1.10 refuses.
const EphemeralCeiling = (10 * 1024 * 1024) >> 2

// EphemeralCeiling returns the per-packet allocation ceiling the profile
// enforces, 0 for none.
func (p Profile) EphemeralCeiling() int {
	if p.ver == 110 {
		return EphemeralCeiling
	}
	return 0
}

// ExportSize returns the largest per-packet allocation Wireshark 1.10 makes
// to export the item's value (PDML show, -T fields): "<abbrev> == " and the
// value in filter form and a NUL, or the display form and a NUL; 0 for
// values rendered into fixed buffers.
func ExportSize(it *Item) int {
	prefix := len(it.Abbrev) + 4 + 1
	switch v := it.Value.(type) {
	case []byte:
		if len(v) == 0 {
			return prefix
		}
		return max(3*len(v), prefix+3*len(v)-1)
	case string:
		esc := 2
		for i := 0; i < len(v); i++ {
			switch c := v[i]; {
			case c == '\\' || c == '"':
				esc += 2
			case c < 0x20 || c >= 0x7f:
				esc += 4
			default:
				esc++
			}
		}
		return max(len(v)+1, prefix+esc)
	}
	return 0
}

// abortFrame records that Wireshark would abort in the current call: the
// call fails with msg, whatever the script does next (tshark has died).
func (s *State) abortFrame(msg string) {
	d := s.cur
	if d == nil || d.abort != nil {
		return
	}
	frame := 0
	if d.pinfo != nil {
		frame = d.pinfo.frame.Number
	}
	d.abort = &LuaError{Frame: frame, Message: fmt.Sprintf("wslua: frame %d: %s", frame, msg)}
}

// checkExport fails the call when the profile's tshark would abort
// exporting the item's value.
func (s *State) checkExport(it *Item) {
	limit := s.prof.EphemeralCeiling()
	if limit == 0 || it.Field == nil {
		return
	}
	size := ExportSize(it)
	if it.Field.Type == FTString && it.Len+1 > size && !it.explicit {
		size = it.Len + 1 // fetched from the range with tvb_get_ephemeral_string
	}
	if size < limit {
		return
	}
	s.abortFrame(fmt.Sprintf("field %s has a %d-byte value whose text needs %d bytes of per-packet memory; Wireshark %s refuses %d or more (emem.c ep_alloc assertion): tshark aborts when it exports this field (-T pdml, -T fields)",
		it.Abbrev, it.Len, size, s.prof.Wireshark(), limit))
}

// epAlloc fails the call (and raises a Lua error, as far as Lua can see
// one) when a Lua API call would ask the profile's per-packet memory for
// size bytes or more than it allows.
func (s *State) epAlloc(L *lua.LState, what string, n, size int) {
	limit := s.prof.EphemeralCeiling()
	if limit == 0 || size < limit {
		return
	}
	msg := fmt.Sprintf("%s of %d bytes asks per-packet memory for %d bytes; Wireshark %s refuses %d or more (emem.c ep_alloc assertion): tshark aborts",
		what, n, size, s.prof.Wireshark(), limit)
	s.abortFrame(msg)
	L.RaiseError("%s", msg)
}

// FormatText110 renders a string for a tree label as Wireshark 1.10's
// format_text does (epan/strutil.c of the 1.10 line): printable ASCII as
// is, \a \b \f \n \r \t \v by name, every other byte (C0 controls, DEL and
// each byte of a non-ASCII character) as a backslash and three octal
// digits: "ü" is `\303\274`. Later releases show UTF-8 characters as
// themselves.
func FormatText110(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b = append(b, c)
			continue
		}
		b = append(b, '\\')
		switch c {
		case '\a':
			b = append(b, 'a')
		case '\b':
			b = append(b, 'b')
		case '\f':
			b = append(b, 'f')
		case '\n':
			b = append(b, 'n')
		case '\r':
			b = append(b, 'r')
		case '\t':
			b = append(b, 't')
		case '\v':
			b = append(b, 'v')
		default:
			b = append(b, '0'+c>>6, '0'+(c>>3)&7, '0'+c&7)
		}
	}
	return string(b)
}
