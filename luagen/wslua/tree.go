package wslua

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/mqttdissect/mqttdissect/dissect"
	lua "github.com/yuin/gopher-lua"
)

// treeItem is the Go side of a TreeItem; item is nil for the root tree.
// It embeds its userdata and (for items the script adds) the Item itself,
// so adding an item costs no separate allocations; they come from a slab.
type treeItem struct {
	ud   lua.LUserData
	item *Item
	d    *dissection
	own  Item
}

func (s *State) newTreeItem(d *dissection) *treeItem {
	if len(s.treeSlab) == cap(s.treeSlab) {
		s.treeSlab = make([]treeItem, 0, slabSize(cap(s.treeSlab), 32))
	}
	s.treeSlab = s.treeSlab[:len(s.treeSlab)+1]
	ti := &s.treeSlab[len(s.treeSlab)-1]
	ti.d = d
	ti.ud.Value = ti
	ti.ud.Metatable = s.mtTree
	ti.ud.Env = s.L.G.Global
	return ti
}

// childList returns an empty slice with room for a few children.
func (s *State) childList() []*Item {
	if cap(s.childSlab)-len(s.childSlab) < 4 {
		s.childSlab = make([]*Item, 0, slabSize(cap(s.childSlab), 256))
	}
	n := len(s.childSlab)
	s.childSlab = s.childSlab[:n+4]
	return s.childSlab[n : n : n+4]
}

func (s *State) addChild(t *treeItem, it *Item) {
	if t.item == nil {
		if t.d.call.Items == nil {
			t.d.call.Items = s.childList()
		}
		t.d.call.Items = append(t.d.call.Items, it)
	} else {
		if t.item.Children == nil {
			t.item.Children = s.childList()
		}
		t.item.Children = append(t.item.Children, it)
	}
}

func (t *treeItem) addChild(it *Item) {
	if t.item == nil {
		t.d.call.Items = append(t.d.call.Items, it)
	} else {
		t.item.Children = append(t.item.Children, it)
	}
}

func (s *State) checkTreeItem(L *lua.LState, n int, fname string) *treeItem {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if t, ok := ud.Value.(*treeItem); ok {
			if t.d.done {
				L.RaiseError("expired TreeItem")
			}
			return t
		}
	}
	typeError(L, n, fname, "TreeItem")
	return nil
}

func (s *State) pushTreeItem(L *lua.LState, it *Item, d *dissection) {
	ti := s.newTreeItem(d)
	ti.item = it
	L.Push(&ti.ud)
}

// ret returns the TreeItem itself from setters on profiles >= 1.12; on
// 1.10 they return nothing.
func (s *State) ret(L *lua.LState) int {
	if !s.prof.atLeast(112) {
		return 0
	}
	L.Push(L.Get(1))
	return 1
}

func luaToString(v lua.LValue) (string, bool) {
	switch x := v.(type) {
	case lua.LString:
		return string(x), true
	case lua.LNumber:
		return x.String(), true
	}
	return "", false
}

// treeAdd implements TreeItem:add / TreeItem:add_le.
func (s *State) treeAdd(le bool) lua.LGFunction {
	fname := "add"
	if le {
		fname = "add_le"
	}
	return func(L *lua.LState) int {
		ti := s.checkTreeItem(L, 1, fname)
		top := L.GetTop()
		idx := 2
		var field *Field
		var proto *Proto
		if ud, ok := L.Get(idx).(*lua.LUserData); ok {
			switch x := ud.Value.(type) {
			case *Field:
				field = x
				idx++
			case *Proto:
				proto = x
				idx++
			}
		} else if L.Get(idx) == lua.LNil && s.prof.atLeast(200) {
			L.RaiseError("first argument to TreeItem:add is nil!")
		}
		var r *TvbRange
		if ud, ok := L.Get(idx).(*lua.LUserData); ok {
			if x, ok := ud.Value.(*TvbRange); ok {
				r = x
				idx++
			}
		}
		off, length := 0, 0
		var data []byte
		if r != nil {
			off, length, data = r.off, r.length, r.bytes()
		} else if ti.d.tvb != nil {
			off = ti.d.tvb.off
		}
		nt := s.newTreeItem(ti.d)
		it := &nt.own
		nt.item = it
		switch {
		case proto != nil:
			*it = Item{Abbrev: proto.name, Type: FTProtocol, Offset: off, Len: length, Text: proto.desc}
		case field != nil && field.registered:
			*it = Item{Abbrev: field.Abbrev, Type: field.Type, Field: field, Offset: off, Len: length}
			if idx <= top && field.Type == FTNone {
				L.RaiseError("FT_ not yet supported")
			}
			if idx <= top {
				s.explicitValue(L, it, field, idx, data)
				it.explicit = true
				idx++
			} else {
				if field.Type == FTFramenum {
					L.RaiseError("ProtoField FRAMENUM cannot fetch value from Tvb")
				}
				s.valueFromTvb(it, field, data, le, r)
			}
			it.Text = s.label(it)
			s.checkExport(it)
		default:
			if idx > top {
				L.RaiseError("Tree item ProtoField/Protocol handle is invalid (ProtoField/Proto not registered?)")
			}
			text, _ := luaToString(L.Get(idx))
			idx++
			abbrev := AbbrevText
			if !s.prof.atLeast(200) {
				abbrev = ""
			}
			*it = Item{Abbrev: abbrev, Type: FTNone, Offset: off, Len: length, Text: text}
		}
		if idx <= top && (proto != nil || field != nil) {
			if text, ok := luaToString(L.Get(idx)); ok {
				it.Text = text
			}
			idx++
		}
		for ; idx <= top; idx++ {
			if text, ok := luaToString(L.Get(idx)); ok {
				it.Text += " " + text
			}
		}
		s.addChild(ti, it)
		L.Push(&nt.ud)
		return 1
	}
}

// explicitValue sets the item's value from tree:add(field, range, value).
func (s *State) explicitValue(L *lua.LState, it *Item, f *Field, idx int, data []byte) {
	v := L.Get(idx)
	fname := "add"
	switch t := f.Type; {
	case t == FTBoolean:
		var n uint64
		switch x := v.(type) {
		case lua.LBool:
			if x {
				n = 1
			}
		default:
			n, _ = toUint64(v)
		}
		it.bits = maskShift(n, f)
		it.Value = it.bits != 0
	case t.isUnsigned() && t.bitWidth() <= 32:
		f64, ok := isNumber(v)
		if !ok {
			typeError(L, idx, fname, "number")
		}
		s.checkIntegral(L, idx, fname, f64)
		it.Value = maskShift(uint64(uint32(int64(f64))), f)
	case t.isSigned() && t.bitWidth() <= 32:
		f64, ok := isNumber(v)
		if !ok {
			typeError(L, idx, fname, "number")
		}
		s.checkIntegral(L, idx, fname, f64)
		it.Value = signedMaskShift(uint64(int64(int32(int64(f64)))), f, 32)
	case t.isUnsigned():
		n, ok := toUint64(v)
		if !ok {
			typeError(L, idx, fname, "UInt64")
		}
		it.Value = maskShift(n, f)
	case t.isSigned():
		n, ok := toUint64(v)
		if !ok {
			typeError(L, idx, fname, "Int64")
		}
		it.Value = signedMaskShift(n, f, 64)
	case t == FTFloat || t == FTDouble:
		f64, ok := isNumber(v)
		if !ok {
			typeError(L, idx, fname, "number")
		}
		if t == FTFloat {
			f64 = float64(float32(f64))
		}
		it.Value = f64
	case t == FTString || t == FTStringz:
		str, ok := luaToString(v)
		if !ok {
			typeError(L, idx, fname, "string")
		}
		if i := strings.IndexByte(str, 0); i >= 0 {
			str = str[:i] // Wireshark takes the value as a C string
		}
		it.Value = str
	case t == FTBytes:
		str, ok := luaToString(v)
		if !ok {
			typeError(L, idx, fname, "string")
		}
		b := make([]byte, it.Len)
		copy(b, str)
		it.Value = b
	case t == FTIPv4 || t == FTEther:
		ud, ok := v.(*lua.LUserData)
		var a *address
		if ok {
			a, ok = ud.Value.(*address)
		}
		if !ok {
			typeError(L, idx, fname, "Address")
		}
		it.Value = a.s
	default:
		L.RaiseError("%s not yet supported", t)
	}
}

// checkIntegral raises Lua 5.4's luaL_checkinteger error for a number
// with a fractional part (Lua 5.1/5.2 truncate it).
func (s *State) checkIntegral(L *lua.LState, idx int, fname string, f float64) {
	if s.prof.lua == 54 && f != math.Trunc(f) {
		argError(L, idx, fname, "number has no integer representation")
	}
}

func maskShift(v uint64, f *Field) uint64 {
	if f.Mask != 0 {
		return (v & f.Mask) >> f.shift
	}
	return v
}

func signedMaskShift(v uint64, f *Field, width int) int64 {
	if f.Mask != 0 {
		return signExtend((v&f.Mask)>>f.shift, bits.OnesCount64(f.Mask))
	}
	return signExtend(v, width)
}

// valueFromTvb sets the item's value from the range bytes
// (proto_tree_add_item with ENC_BIG_ENDIAN or ENC_LITTLE_ENDIAN).
func (s *State) valueFromTvb(it *Item, f *Field, b []byte, le bool, r *TvbRange) {
	t := f.Type
	lengthErr := func(what string, max int) {
		if len(b) < 1 || len(b) > max {
			msg := "Trying to fetch " + what + " with length " + strconv.Itoa(len(b))
			it.Experts = append(it.Experts, Expert{Group: PIMalformed, Severity: PIError, Text: msg})
		}
	}
	switch {
	case t == FTNone:
	case t == FTBoolean:
		lengthErr("a boolean", 8)
		n := b
		if len(n) > 8 {
			n = n[:8]
		}
		it.bits = maskShift(readUint(n, le), f)
		it.Value = it.bits != 0
	case t.isInteger():
		max := (t.bitWidth() + 7) / 8
		if max < 4 {
			max = 4
		}
		what := "an unsigned integer"
		if t.isSigned() {
			what = "a signed integer"
		}
		lengthErr(what, max)
		n := b
		if len(n) > max {
			n = n[:max]
		}
		raw := readUint(n, le)
		if t.isSigned() {
			if f.Mask != 0 {
				it.Value = signedMaskShift(raw, f, 64)
			} else {
				it.Value = signExtend(raw, len(n)*8)
			}
		} else {
			it.Value = maskShift(raw, f)
		}
	case t == FTFloat || t == FTDouble:
		var order binary.ByteOrder = binary.BigEndian
		if le {
			order = binary.LittleEndian
		}
		switch len(b) {
		case 4:
			it.Value = float64(math.Float32frombits(order.Uint32(b)))
		case 8:
			it.Value = math.Float64frombits(order.Uint64(b))
		default:
			it.Value = 0.0
			lengthErr("a floating point number", 0)
		}
	case t == FTString || t == FTStringz || t == FTStringzPad || t == FTStringzTrunc:
		if t == FTStringz {
			// The item ends at the terminating NUL.
			if i := indexZero(b); i >= 0 {
				it.Len = i + 1
				b = b[:i]
			}
		}
		str := decodeString(b, 0)
		if i := strings.IndexByte(str, 0); i >= 0 {
			if t == FTString && strings.Trim(str[i:min(len(b), len(str))], "\x00") != "" {
				// detect_trailing_stray_characters (checked with tshark 4.0.17)
				it.Experts = append(it.Experts, Expert{Group: PIUndecoded, Severity: PIWarn, Text: "Trailing stray characters",
					Abbrev: "_ws.string.trailing_stray_characters"})
			}
			str = str[:i]
		}
		it.Value = str
	case t == FTIPv4:
		if len(b) == 4 {
			it.Value = strconv.Itoa(int(b[0])) + "." + strconv.Itoa(int(b[1])) + "." + strconv.Itoa(int(b[2])) + "." + strconv.Itoa(int(b[3]))
		} else {
			it.Value = ""
		}
	case t == FTEther:
		it.Value = etherString(b)
	default:
		it.Value = b[:len(b):len(b)] // aliases the call's data source (owned by the Call)
	}
}

// label renders an item's label, with a fast path for plain integers.
func (s *State) label(it *Item) string {
	f := it.Field
	if v, ok := it.Value.(uint64); ok && f.Mask == 0 && f.Values == nil && f.Ranges == nil && f.Type != FTChar {
		b := append(s.lbuf[:0], f.Name...)
		b = append(b, ':', ' ')
		switch f.Base &^ (BaseRangeStr | BaseUnitStr) {
		case BaseHex:
			b = appendHex(b, v, hexDigitsForType(f.Type))
		case BaseDec:
			b = strconv.AppendUint(b, v, 10)
		default:
			return fieldLabel(it)
		}
		s.lbuf = b
		return string(b)
	}
	if v, ok := it.Value.([]byte); ok && f.Base == BaseNone && len(v) > 0 && len(v) <= 36 {
		b := append(s.lbuf[:0], f.Name...)
		b = append(b, ':', ' ')
		for _, c := range v {
			b = append(b, hexDigits[c>>4], hexDigits[c&15])
		}
		s.lbuf = b
		return string(b)
	}
	if v, ok := it.Value.(string); ok && !s.prof.atLeast(112) && f.Type != FTIPv4 && f.Type != FTEther {
		return f.Name + ": " + FormatText110(v)
	}
	return fieldLabel(it)
}

func appendHex(b []byte, v uint64, digits int) []byte {
	b = append(b, '0', 'x')
	n := 1
	for x := v >> 4; x != 0; x >>= 4 {
		n++
	}
	for i := n; i < digits; i++ {
		b = append(b, '0')
	}
	for i := n - 1; i >= 0; i-- {
		b = append(b, hexDigits[(v>>(4*uint(i)))&15])
	}
	return b
}

// fieldLabel renders the label Wireshark shows for a field item.
func fieldLabel(it *Item) string {
	f := it.Field
	var sb strings.Builder
	switch v := it.Value.(type) {
	case nil:
		return f.Name
	case bool:
		if f.Mask != 0 {
			sb.WriteString(bitPattern(it.bits<<f.shift, f.Mask, f.Base))
			sb.WriteString(" = ")
		}
		sb.WriteString(f.Name)
		sb.WriteString(": ")
		tfs := [2]string{"True", "False"}
		if f.TrueFalse != nil {
			tfs = *f.TrueFalse
		}
		if v {
			sb.WriteString(tfs[0])
		} else {
			sb.WriteString(tfs[1])
		}
		return sb.String()
	case uint64:
		if f.Mask != 0 {
			sb.WriteString(bitPattern(v<<f.shift, f.Mask, f.Type.bitWidth()))
			sb.WriteString(" = ")
		}
		sb.WriteString(f.Name)
		sb.WriteString(": ")
		sb.WriteString(numberLabel(f, v, false))
		return sb.String()
	case int64:
		if f.Mask != 0 {
			sb.WriteString(bitPattern(uint64(v)<<f.shift, f.Mask, f.Type.bitWidth()))
			sb.WriteString(" = ")
		}
		sb.WriteString(f.Name)
		sb.WriteString(": ")
		sb.WriteString(numberLabel(f, uint64(v), true))
		return sb.String()
	case float64:
		prec := 15
		if f.Type == FTFloat {
			prec = 6
		}
		return f.Name + ": " + strconv.FormatFloat(v, 'g', prec, 64)
	case string:
		if f.Type == FTIPv4 || f.Type == FTEther {
			return f.Name + ": " + v
		}
		return f.Name + ": " + dissect.FormatText(v)
	case []byte:
		if len(v) == 0 {
			return f.Name + ": <MISSING>"
		}
		sep := ""
		switch f.Base {
		case 8:
			sep = "."
		case 9:
			sep = "-"
		case 10:
			sep = ":"
		case 11:
			sep = " "
		}
		if sep == "" {
			return f.Name + ": " + bytesToStr(v)
		}
		parts := make([]string, len(v))
		for i, c := range v {
			parts[i] = string([]byte{hexDigits[c>>4], hexDigits[c&15]})
		}
		return f.Name + ": " + strings.Join(parts, sep)
	}
	return f.Name
}

// numberLabel formats an integer value with the field's base and value strings.
func numberLabel(f *Field, v uint64, signed bool) string {
	display := f.Base &^ (BaseRangeStr | BaseUnitStr)
	digits := hexDigitsForType(f.Type)
	if f.Mask != 0 {
		w := 64 - bits.LeadingZeros64(f.Mask) - bits.TrailingZeros64(f.Mask)
		digits = (w + 3) / 4
	}
	dec := func() string {
		if signed {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatUint(v, 10)
	}
	hex := func() string {
		x := v
		if signed && f.Type.bitWidth() < 64 {
			x &= 1<<uint(f.Type.bitWidth()) - 1
		}
		return fmtHex(x, digits)
	}
	oct := func() string {
		if v == 0 {
			return "0"
		}
		return "0" + strconv.FormatUint(v, 8)
	}
	if f.Type == FTChar {
		switch display {
		case BaseHex:
			return hex()
		case BaseOct:
			return oct()
		}
		return "'" + dissect.FormatText(string(rune(v))) + "'"
	}
	if f.Values != nil || f.Ranges != nil {
		name, ok := "", false
		if f.Values != nil {
			name, ok = f.Values[v]
		} else {
			for _, r := range f.Ranges {
				if v >= r.Min && v <= r.Max {
					name, ok = r.Text, true
					break
				}
			}
		}
		if !ok {
			name = "Unknown"
		}
		var num string
		switch display {
		case BaseHex, BaseHexDec:
			num = hex()
		case BaseOct:
			num = oct()
		default:
			num = dec()
		}
		if f.Type == FTFramenum || display == BaseNone {
			return name
		}
		return name + " (" + num + ")"
	}
	switch display {
	case BaseHex:
		return hex()
	case BaseOct:
		return oct()
	case BaseDecHex:
		return dec() + " (" + hex() + ")"
	case BaseHexDec:
		return hex() + " (" + dec() + ")"
	}
	return dec()
}

// bitPattern renders Wireshark's ".... 0010 1111 ...." for the masked bits
// of raw within a container of width bits.
func bitPattern(raw, mask uint64, width int) string {
	if width <= 0 || width > 64 {
		width = 64 - bits.LeadingZeros64(mask)
	}
	var sb strings.Builder
	for i := 0; i < width; i++ {
		if i > 0 && i%4 == 0 {
			sb.WriteByte(' ')
		}
		bit := uint64(1) << uint(width-1-i)
		switch {
		case mask&bit == 0:
			sb.WriteByte('.')
		case raw&bit != 0:
			sb.WriteByte('1')
		default:
			sb.WriteByte('0')
		}
	}
	return sb.String()
}

// ---------------------------------------------------------------------------
// TreeItem methods

func (s *State) treeMethods() map[string]lua.LGFunction {
	m := map[string]lua.LGFunction{
		"add":    s.treeAdd(false),
		"add_le": s.treeAdd(true),
		"set_text": func(L *lua.LState) int {
			ti := s.checkTreeItem(L, 1, "set_text")
			text := checkString(L, 2, "set_text")
			if ti.item != nil {
				ti.item.Text = text
			}
			return s.ret(L)
		},
		"append_text": func(L *lua.LState) int {
			ti := s.checkTreeItem(L, 1, "append_text")
			text := checkString(L, 2, "append_text")
			if ti.item != nil {
				ti.item.Text += text
			}
			return s.ret(L)
		},
		"set_generated": func(L *lua.LState) int {
			ti := s.checkTreeItem(L, 1, "set_generated")
			if ti.item != nil {
				ti.item.Generated = L.GetTop() < 2 || L.ToBool(2)
			}
			return s.ret(L)
		},
		"set_hidden": func(L *lua.LState) int {
			ti := s.checkTreeItem(L, 1, "set_hidden")
			if ti.item != nil {
				ti.item.Hidden = L.GetTop() < 2 || L.ToBool(2)
			}
			return s.ret(L)
		},
		"set_expert_flags": func(L *lua.LState) int { s.checkTreeItem(L, 1, "set_expert_flags"); return s.ret(L) },
		"set_len": func(L *lua.LState) int {
			ti := s.checkTreeItem(L, 1, "set_len")
			n := int(checkInt(L, 2, "set_len"))
			if n < 0 && s.prof.atLeast(200) {
				argError(L, 2, "set_len", "length parameter is negative")
			}
			if ti.item != nil {
				ti.item.Len = n
			}
			return s.ret(L)
		},
		"add_expert_info": func(L *lua.LState) int {
			ti := s.checkTreeItem(L, 1, "add_expert_info")
			e := Expert{Group: int(optInt(L, 2, "add_expert_info", PIDebug)), Severity: int(optInt(L, 3, "add_expert_info", PIChat))}
			if L.GetTop() >= 4 {
				e.Text = checkString(L, 4, "add_expert_info")
			} else {
				e.Text = groupName(e.Group) + " " + severityName(e.Severity)
			}
			s.attachExpert(ti, e)
			return s.ret(L)
		},
	}
	if s.prof.atLeast(112) {
		m["prepend_text"] = func(L *lua.LState) int {
			ti := s.checkTreeItem(L, 1, "prepend_text")
			text := checkString(L, 2, "prepend_text")
			if ti.item != nil {
				ti.item.Text = text + ti.item.Text
			}
			return s.ret(L)
		}
		m["add_proto_expert_info"] = func(L *lua.LState) int {
			ti := s.checkTreeItem(L, 1, "add_proto_expert_info")
			ex := s.checkExpert(L, 2, "add_proto_expert_info")
			e := Expert{Group: ex.Group, Severity: ex.Severity, Text: ex.Text, Abbrev: ex.Abbrev}
			if L.GetTop() >= 3 {
				e.Text = checkString(L, 3, "add_proto_expert_info")
			}
			s.attachExpert(ti, e)
			return s.ret(L)
		}
		m["add_tvb_expert_info"] = func(L *lua.LState) int {
			ti := s.checkTreeItem(L, 1, "add_tvb_expert_info")
			ex := s.checkExpert(L, 2, "add_tvb_expert_info")
			off, length := 0, 0
			if ud, ok := L.Get(3).(*lua.LUserData); ok {
				switch x := ud.Value.(type) {
				case *TvbRange:
					off, length = x.off, x.length
				case *Tvb:
					off, length = x.off, x.length
				}
			} else {
				typeError(L, 3, "add_tvb_expert_info", "Tvb or TvbRange")
			}
			e := Expert{Group: ex.Group, Severity: ex.Severity, Text: ex.Text, Abbrev: ex.Abbrev}
			if L.GetTop() >= 4 {
				e.Text = checkString(L, 4, "add_tvb_expert_info")
			}
			ti.addChild(&Item{Abbrev: ex.Abbrev, Type: FTNone, Offset: off, Len: length, Text: e.Text, Experts: []Expert{e}})
			return s.ret(L)
		}
		m["add_packet_field"] = func(L *lua.LState) int {
			ti := s.checkTreeItem(L, 1, "add_packet_field")
			f := s.checkField(L, 2, "add_packet_field")
			r := s.checkRange(L, 3, "add_packet_field")
			enc := checkInt(L, 4, "add_packet_field")
			if !f.registered {
				L.RaiseError("Tree item ProtoField/Protocol handle is invalid (ProtoField/Proto not registered?)")
			}
			it := &Item{Abbrev: f.Abbrev, Type: f.Type, Field: f, Offset: r.off, Len: r.length}
			b := r.bytes()
			if f.Type == FTString || f.Type == FTStringz {
				str := decodeString(b, enc)
				if i := strings.IndexByte(str, 0); i >= 0 {
					str = str[:i]
				}
				it.Value = str
			} else {
				s.valueFromTvb(it, f, b, uint32(enc)&encLE != 0, r)
			}
			it.Text = fieldLabel(it)
			for i := 5; i <= L.GetTop(); i++ {
				if text, ok := luaToString(L.Get(i)); ok {
					it.Text += " " + text
				}
			}
			ti.addChild(it)
			s.pushTreeItem(L, it, ti.d)
			if !s.prof.atLeast(200) {
				return 1
			}
			L.Push(itemLuaValue(L, s, it))
			L.Push(lua.LNumber(r.off - r.tvb.off + r.length))
			return 3
		}
	} else {
		m["prepend_text"] = s.missingMethod("TreeItem:prepend_text", 112)
		m["add_proto_expert_info"] = s.missingMethod("TreeItem:add_proto_expert_info", 112)
		m["add_tvb_expert_info"] = s.missingMethod("TreeItem:add_tvb_expert_info", 112)
	}
	if s.prof.atLeast(200) {
		m["get_text"] = func(L *lua.LState) int {
			ti := s.checkTreeItem(L, 1, "get_text")
			if ti.item == nil {
				L.Push(lua.LNil)
			} else {
				L.Push(lua.LString(ti.item.Text))
			}
			return 1
		}
		m["referenced"] = func(L *lua.LState) int { L.Push(lua.LTrue); return 1 }
	}
	return m
}

func itemLuaValue(L *lua.LState, s *State, it *Item) lua.LValue {
	switch v := it.Value.(type) {
	case uint64:
		if it.Type.bitWidth() > 32 {
			return s.newU64(L, v)
		}
		return lua.LNumber(v)
	case int64:
		if it.Type.bitWidth() > 32 {
			return s.newI64(L, v)
		}
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case []byte:
		return s.newByteArray(L, append([]byte(nil), v...))
	case float64:
		return lua.LNumber(v)
	}
	return lua.LNil
}

func (s *State) checkExpert(L *lua.LState, n int, fname string) *ExpertInfo {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if e, ok := ud.Value.(*ExpertInfo); ok {
			if !e.registered {
				L.RaiseError("ProtoExpert is not registered")
			}
			return e
		}
	}
	typeError(L, n, fname, "ProtoExpert")
	return nil
}

func (s *State) attachExpert(ti *treeItem, e Expert) {
	if ti.item != nil {
		ti.item.Experts = append(ti.item.Experts, e)
		return
	}
	ti.addChild(&Item{Abbrev: "_ws.expert", Type: FTNone, Text: e.String(), Experts: []Expert{e}})
}
