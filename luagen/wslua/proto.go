package wslua

import (
	"fmt"
	"math/bits"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Proto is a protocol created by a script with Proto(name, description).
type Proto struct {
	name  string // filter name (lower case)
	short string // upper case, what proto.name returns
	desc  string
	ud    *lua.LUserData

	fieldsTbl  *lua.LTable
	expertsTbl *lua.LTable
	prefsUD    *lua.LUserData
	prefs      []*Pref

	dissector    *lua.LFunction
	init         *lua.LFunction
	prefsChanged *lua.LFunction
	handleUD     *lua.LUserData

	committed   []*Field
	committedEx []*ExpertInfo
	isCommitted bool
}

// Field is a ProtoField: the registry view of a field a script created.
type Field struct {
	Abbrev      string
	Name        string // label
	Type        FieldType
	Base        int    // display: base.* for integers, bit width for masked booleans
	Mask        uint64 // bitmask, 0 for none
	Values      map[uint64]string
	Ranges      []RangeString // base.RANGE_STRING value strings
	TrueFalse   *[2]string    // boolean true/false strings, nil for "True"/"False"
	Description string
	Proto       string // owning protocol's filter name (set when registered)

	registered bool
	hfid       int
	shift      uint
	ud         *lua.LUserData
}

// RangeString is one entry of a base.RANGE_STRING table.
type RangeString struct {
	Min, Max uint64
	Text     string
}

// ExpertInfo is a ProtoExpert.
type ExpertInfo struct {
	Abbrev   string
	Text     string
	Group    int
	Severity int
	Proto    string

	registered bool
}

// PrefKind is the kind of a protocol preference.
type PrefKind string

// Preference kinds.
const (
	PrefUint       PrefKind = "uint"
	PrefBool       PrefKind = "bool"
	PrefString     PrefKind = "string"
	PrefEnum       PrefKind = "enum"
	PrefRange      PrefKind = "range"
	PrefStaticText PrefKind = "statictext"
)

// Pref is a protocol preference (proto.prefs.name = Pref.uint(...)).
type Pref struct {
	Name        string // name under proto.prefs
	Proto       string
	Label       string
	Description string
	Kind        PrefKind
	Default     any // uint64, bool, string (string and range), int64 (enum)
	Value       any
	Enum        []EnumValue
	RangeMax    uint64

	registered bool
}

// EnumValue is one choice of an enum preference.
type EnumValue struct {
	Name        string
	Description string
	Value       int64
}

func (p *Pref) set(v string) (bool, error) {
	old := p.Value
	switch p.Kind {
	case PrefUint:
		n, err := strconv.ParseUint(strings.TrimSpace(v), 0, 32)
		if err != nil {
			return false, fmt.Errorf("wslua: preference %s.%s: %q is not an unsigned integer", p.Proto, p.Name, v)
		}
		p.Value = n
	case PrefBool:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "1", "yes":
			p.Value = true
		case "false", "0", "no":
			p.Value = false
		default:
			return false, fmt.Errorf("wslua: preference %s.%s: %q is not a boolean", p.Proto, p.Name, v)
		}
	case PrefString:
		p.Value = v
	case PrefRange:
		if _, err := parseRange(v, p.RangeMax); err != nil {
			return false, fmt.Errorf("wslua: preference %s.%s: %v", p.Proto, p.Name, err)
		}
		p.Value = v
	case PrefEnum:
		found := false
		for _, e := range p.Enum {
			if strings.EqualFold(e.Name, v) || strings.EqualFold(e.Description, v) || strconv.FormatInt(e.Value, 10) == v {
				p.Value = e.Value
				found = true
				break
			}
		}
		if !found {
			return false, fmt.Errorf("wslua: preference %s.%s: %q is not one of its choices", p.Proto, p.Name, v)
		}
	default:
		return false, fmt.Errorf("wslua: preference %s.%s cannot be set", p.Proto, p.Name)
	}
	return fmt.Sprint(old) != fmt.Sprint(p.Value), nil
}

// parseRange parses "1883,8883-8885".
func parseRange(s string, max uint64) ([][2]uint64, error) {
	var out [][2]uint64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("invalid range %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 32); err != nil || b < a {
				return nil, fmt.Errorf("invalid range %q", s)
			}
		}
		if max > 0 && b > max {
			return nil, fmt.Errorf("range %q exceeds %d", s, max)
		}
		out = append(out, [2]uint64{a, b})
	}
	return out, nil
}

type dissectorTable struct {
	name    string
	ui      string
	strKeys bool
	entries map[uint32]*Proto
	strs    map[string]*Proto
	ud      *lua.LUserData
}

// dissectorHandle is a Dissector object.
type dissectorHandle struct {
	name  string
	proto *Proto // nil for built-in handles
}

func validFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isIdentChar(c) || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------

func (s *State) checkProto(L *lua.LState, n int, fname string) *Proto {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if p, ok := ud.Value.(*Proto); ok {
			return p
		}
	}
	typeError(L, n, fname, "Proto")
	return nil
}

func (s *State) checkField(L *lua.LState, n int, fname string) *Field {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if f, ok := ud.Value.(*Field); ok {
			return f
		}
	}
	typeError(L, n, fname, "ProtoField")
	return nil
}

// protoNew implements Proto(name, desc) / Proto.new(name, desc).
func (s *State) protoNew(L *lua.LState, base int, fname string) int {
	name := checkString(L, base, fname)
	desc := checkString(L, base+1, fname)
	lo := strings.ToLower(name)
	hi := strings.ToUpper(name)
	if lo == "" || !validFieldName(lo) {
		argError(L, 1, fname, "Proto_new: invalid character in name")
	}
	if s.protoByName[lo] != nil || s.builtinName[lo] || s.builtinName[hi] {
		argError(L, 1, fname, "Proto_new: there cannot be two protocols with the same name")
	}
	descTaken := s.builtinDesc[desc]
	for _, p := range s.protos {
		if p.desc == desc || p.short == hi {
			descTaken = true
		}
	}
	if descTaken {
		if s.prof.atLeast(200) {
			argError(L, 2, fname, "Proto_new: there cannot be two protocols with the same description")
		}
		L.RaiseError("wslua: Wireshark %s aborts here: g_error(\"Duplicate protocol name \\\"%s\\\"! This might be caused by an inappropriate plugin or a development error.\")", s.prof.Wireshark(), desc)
	}
	p := &Proto{name: lo, short: hi, desc: desc}
	p.fieldsTbl = L.NewTable()
	p.expertsTbl = L.NewTable()
	p.ud = newUD(L, p, s.mtProto)
	p.prefsUD = newUD(L, p, s.mtPrefs)
	s.protos = append(s.protos, p)
	s.protoByName[lo] = p
	L.Push(p.ud)
	return 1
}

func (s *State) protoIndex(L *lua.LState) int {
	p := s.checkProto(L, 1, "__index")
	key := L.CheckString(2)
	switch key {
	case "name":
		L.Push(lua.LString(p.short))
	case "description":
		L.Push(lua.LString(p.desc))
	case "fields":
		L.Push(p.fieldsTbl)
	case "prefs":
		L.Push(p.prefsUD)
	case "experts":
		if !s.prof.atLeast(112) {
			L.RaiseError("A protocol doesn't have a `experts' attribute (%s)", s.prof.missing("proto.experts", 112))
		}
		L.Push(p.expertsTbl)
	case "dissector":
		if p.dissector == nil {
			if s.prof.atLeast(112) {
				L.RaiseError("The Proto object does not have a dissector")
			}
			L.Push(lua.LNil)
			return 1
		}
		L.Push(s.handleFor(L, p))
	case "init":
		pushFn(L, p.init)
	case "prefs_changed":
		if !s.prof.atLeast(112) {
			L.RaiseError("A protocol doesn't have a `prefs_changed' attribute (%s)", s.prof.missing("proto.prefs_changed", 112))
		}
		pushFn(L, p.prefsChanged)
	default:
		if s.prof.atLeast(112) {
			L.RaiseError("No such '%s' method/field for object type 'Proto'", key)
		}
		L.RaiseError("A protocol doesn't have a `%s' attribute", key)
	}
	return 1
}

func pushFn(L *lua.LState, f *lua.LFunction) {
	if f == nil {
		L.Push(lua.LNil)
	} else {
		L.Push(f)
	}
}

func (s *State) handleFor(L *lua.LState, p *Proto) *lua.LUserData {
	if p.handleUD == nil {
		p.handleUD = newUD(L, &dissectorHandle{name: p.name, proto: p}, s.mtDissector)
	}
	return p.handleUD
}

func (s *State) protoNewIndex(L *lua.LState) int {
	p := s.checkProto(L, 1, "__newindex")
	key := L.CheckString(2)
	v := L.Get(3)
	switch key {
	case "dissector":
		f, ok := v.(*lua.LFunction)
		if !ok {
			L.RaiseError("The dissector of a Proto must be a function")
		}
		p.dissector = f
	case "init":
		f, ok := v.(*lua.LFunction)
		if !ok {
			L.RaiseError("The initializer of a Proto must be a function")
		}
		p.init = f
	case "prefs_changed":
		if !s.prof.atLeast(112) {
			L.RaiseError("A protocol doesn't have a `prefs_changed' attribute (%s)", s.prof.missing("proto.prefs_changed", 112))
		}
		f, ok := v.(*lua.LFunction)
		if !ok {
			L.RaiseError("The prefs_changed callback of a Proto must be a function")
		}
		p.prefsChanged = f
	case "fields":
		s.appendRegistrable(L, p.fieldsTbl, v, "ProtoField", func(x any) bool { _, ok := x.(*Field); return ok })
	case "experts":
		if !s.prof.atLeast(112) {
			L.RaiseError("A protocol doesn't have a `experts' attribute (%s)", s.prof.missing("proto.experts", 112))
		}
		s.appendRegistrable(L, p.expertsTbl, v, "ProtoExpert", func(x any) bool { _, ok := x.(*ExpertInfo); return ok })
	default:
		if s.prof.atLeast(112) {
			L.RaiseError("No such '%s' method/field for object type 'Proto'", key)
		}
		L.RaiseError("A protocol doesn't have a `%s' attribute", key)
	}
	return 0
}

// appendRegistrable implements proto.fields = {...} / proto.fields = f:
// entries are appended to the protocol's internal table.
func (s *State) appendRegistrable(L *lua.LState, into *lua.LTable, v lua.LValue, what string, is func(any) bool) {
	isOne := func(v lua.LValue) bool {
		ud, ok := v.(*lua.LUserData)
		return ok && is(ud.Value)
	}
	switch x := v.(type) {
	case *lua.LTable:
		var bad bool
		x.ForEach(func(_, val lua.LValue) {
			if isOne(val) {
				into.Append(val)
			} else if val != lua.LNil {
				bad = true
			}
		})
		if bad {
			L.RaiseError("only %ss should be in the table", what)
		}
	default:
		if !isOne(v) {
			L.RaiseError("either a %s or an array of %ss", what, strings.ToLower(what[:1])+what[1:])
		}
		into.Append(v)
	}
}

// commit registers the fields and experts of protocols not yet committed
// (Wireshark's Proto_commit, run after the scripts are loaded).
func (s *State) commit() error {
	for _, p := range s.protos {
		if p.isCommitted {
			continue
		}
		p.isCommitted = true
		var err error
		p.fieldsTbl.ForEach(func(_, v lua.LValue) {
			if err != nil {
				return
			}
			ud, ok := v.(*lua.LUserData)
			if !ok {
				return
			}
			f, ok := ud.Value.(*Field)
			if !ok {
				return
			}
			if f.registered {
				err = &LuaError{Message: "fields can be registered only once"}
				return
			}
			f.registered = true
			f.Proto = p.name
			f.hfid = len(s.allFields) + 1
			p.committed = append(p.committed, f)
			s.allFields = append(s.allFields, f)
			if _, dup := s.fieldsByAbb[f.Abbrev]; !dup {
				s.fieldsByAbb[f.Abbrev] = f
			}
		})
		if err != nil {
			return err
		}
		p.expertsTbl.ForEach(func(_, v lua.LValue) {
			if err != nil {
				return
			}
			ud, ok := v.(*lua.LUserData)
			if !ok {
				return
			}
			e, ok := ud.Value.(*ExpertInfo)
			if !ok {
				return
			}
			if e.registered {
				err = &LuaError{Message: "experts can be registered only once"}
				return
			}
			e.registered = true
			e.Proto = p.name
			p.committedEx = append(p.committedEx, e)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// ProtoField constructors

func (s *State) checkAbbrev(L *lua.LState, n int, fname string, t FieldType) string {
	abbr := checkString(L, n, fname)
	if abbr == "" {
		argError(L, n, fname, "Empty field name abbreviation")
	}
	if !validFieldName(abbr) {
		argError(L, n, fname, "Invalid char in abbrev")
	}
	if s.prof.atLeast(112) {
		if f := s.fieldsByAbb[abbr]; f != nil && !similarTypes(f.Type, t) {
			argError(L, n, fname, "A field of an incompatible ftype with this abbrev already exists")
		}
	}
	return abbr
}

func similarTypes(a, b FieldType) bool {
	if a == b {
		return true
	}
	if a.isUnsigned() && b.isUnsigned() || a.isSigned() && b.isSigned() {
		return true
	}
	str := func(t FieldType) bool {
		return t == FTString || t == FTStringz || t == FTUintString || t == FTStringzPad || t == FTStringzTrunc
	}
	by := func(t FieldType) bool { return t == FTBytes || t == FTUintBytes || t == FTEther }
	return str(a) && str(b) || by(a) && by(b)
}

func (s *State) newField(L *lua.LState, f *Field) int {
	if f.Mask != 0 {
		f.shift = uint(bits.TrailingZeros64(f.Mask))
	}
	f.hfid = -2
	f.ud = newUD(L, f, s.mtField)
	L.Push(f.ud)
	return 1
}

func (s *State) valueStrings(L *lua.LState, n int, fname string, sixtyFour bool) map[uint64]string {
	v := L.Get(n)
	if v == lua.LNil {
		return nil
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		argError(L, n, fname, "must be a table")
	}
	kind := "value_string"
	if sixtyFour && s.prof.atLeast(200) {
		kind = "val64_string"
	}
	m := map[uint64]string{}
	t.ForEach(func(k, val lua.LValue) {
		kf, ok := isNumber(k)
		if !ok {
			argError(L, n, fname, "All keys of a table used as "+kind+" must be integers")
		}
		vs, ok := val.(lua.LString)
		if !ok {
			if num, isNum := val.(lua.LNumber); isNum {
				vs = lua.LString(num.String())
			} else {
				argError(L, n, fname, "All values of a table used as "+kind+" must be strings")
			}
		}
		m[uint64(int64(kf))] = string(vs)
	})
	return m
}

func (s *State) rangeStrings(L *lua.LState, n int, fname string) []RangeString {
	t, ok := L.Get(n).(*lua.LTable)
	if !ok {
		if L.Get(n) == lua.LNil {
			return nil
		}
		argError(L, n, fname, "must be a table")
	}
	var out []RangeString
	t.ForEach(func(_, val lua.LValue) {
		e, ok := val.(*lua.LTable)
		if !ok || e.Len() < 3 {
			argError(L, n, fname, "All values of a table used as range_string must be tables of {min, max, string}")
		}
		lo, ok1 := isNumber(e.RawGetInt(1))
		hi, ok2 := isNumber(e.RawGetInt(2))
		str, ok3 := e.RawGetInt(3).(lua.LString)
		if !ok1 || !ok2 || !ok3 {
			argError(L, n, fname, "All values of a table used as range_string must be tables of {min, max, string}")
		}
		out = append(out, RangeString{uint64(lo), uint64(hi), string(str)})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Min < out[j].Min })
	return out
}

func optMask(L *lua.LState, n int, fname string, old bool) uint64 {
	v := L.Get(n)
	if v == lua.LNil {
		return 0
	}
	m, ok := toUint64(v)
	if !ok {
		typeError(L, n, fname, "number")
	}
	if old {
		m &= 0xffffffff // luaL_optint: 32 bits
	}
	return m
}

// fieldInteger implements ProtoField.uint8 ... int64, framenum, char.
func (s *State) fieldInteger(t FieldType, fname string) lua.LGFunction {
	return func(L *lua.LState) int {
		abbr := s.checkAbbrev(L, 1, fname, t)
		name := optString(L, 2, fname, abbr)
		if name == "" && s.prof.atLeast(200) {
			argError(L, 2, fname, "Empty field name abbrev")
		}
		defBase := int64(BaseDec)
		if t == FTFramenum || t == FTChar {
			defBase = BaseNone
		}
		base := int(optInt(L, 3, fname, defBase))
		mask := optMask(L, 5, fname, !s.prof.atLeast(112))
		desc := optString(L, 6, fname, "")
		f := &Field{Abbrev: abbr, Name: name, Type: t, Base: base, Mask: mask, Description: desc}
		display := base &^ (BaseRangeStr | BaseUnitStr)
		if base&BaseUnitStr != 0 && display == BaseNone {
			display = BaseDec
			f.Base = BaseDec | BaseUnitStr
		}
		if L.GetTop() > 3 && L.Get(4) != lua.LNil && t != FTFramenum {
			if base&BaseRangeStr != 0 && s.prof.atLeast(200) {
				f.Ranges = s.rangeStrings(L, 4, fname)
			} else if base&BaseUnitStr == 0 {
				f.Values = s.valueStrings(L, 4, fname, t == FTUint64 || t == FTInt64)
			}
		}
		switch {
		case t == FTFramenum:
			if base != BaseNone {
				if s.prof.atLeast(200) {
					argError(L, 3, fname, "FRAMENUM must use base.NONE")
				}
				argError(L, 3, fname, "FRAMENUMs must use base.NONE")
			} else if mask != 0 {
				argError(L, 3, fname, "FRAMENUMs can not have a bitmask")
			}
		case t == FTChar:
			if display != BaseNone && display != BaseHex && display != BaseOct {
				argError(L, 3, fname, "Base must be either base.NONE, base.HEX or base.OCT")
			}
		case display < BaseDec || display > BaseHexDec:
			if s.prof.atLeast(200) {
				argError(L, 3, fname, "Base must be either base.DEC, base.HEX, base.OCT, base.DEC_HEX, base.HEX_DEC or base.UNIT_STRING")
			}
			argError(L, 3, fname, "Base must be either base.DEC, base.HEX, base.OCT, base.DEC_HEX, base.DEC_HEX or base.HEX_DEC")
		case t.isSigned() && display != BaseDec && s.prof.atLeast(200):
			argError(L, 3, fname, "Base must be either base.DEC or base.UNIT_STRING")
		}
		return s.newField(L, f)
	}
}

func (s *State) tfsFromTable(L *lua.LState, n int, fname string) *[2]string {
	v := L.Get(n)
	if v == lua.LNil {
		return nil
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		argError(L, n, fname, "must be a table")
	}
	tfs := [2]string{"True", "False"}
	t.ForEach(func(k, val lua.LValue) {
		kf, ok := isNumber(k)
		if !ok {
			argError(L, n, fname, "All keys of a table used as true_false_string must be integers")
		}
		vs, ok := val.(lua.LString)
		if !ok {
			argError(L, n, fname, "All values of a table used as true_false_string must be strings")
		}
		switch int(kf) {
		case 1:
			tfs[0] = string(vs)
		case 2:
			tfs[1] = string(vs)
		}
	})
	return &tfs
}

func (s *State) fieldBool(L *lua.LState) int {
	const fname = "bool"
	abbr := s.checkAbbrev(L, 1, fname, FTBoolean)
	name := optString(L, 2, fname, abbr)
	base := int(optInt(L, 3, fname, BaseNone))
	mask := optMask(L, 5, fname, !s.prof.atLeast(112))
	desc := optString(L, 6, fname, "")
	if mask == 0 && base != BaseNone {
		argError(L, 3, fname, "Fieldbase (fielddisplay) must be base.NONE if bitmask is zero.")
	}
	if mask != 0 && (base < 1 || base > 64) {
		argError(L, 3, fname, "Fieldbase (fielddisplay) must be between 1 and 64 if bitmask is non-zero.")
	}
	f := &Field{Abbrev: abbr, Name: name, Type: FTBoolean, Base: base, Mask: mask, Description: desc}
	if L.GetTop() > 3 {
		f.TrueFalse = s.tfsFromTable(L, 4, fname)
	}
	return s.newField(L, f)
}

// fieldOther implements string, stringz, bytes, ubytes, ipv4, ether,
// float, double, ... (abbr, [name], [display], [desc]); on 1.10
// (abbr, [name], [desc]).
func (s *State) fieldOther(t FieldType, fname string, hasDisplay bool) lua.LGFunction {
	return func(L *lua.LState) int {
		abbr := s.checkAbbrev(L, 1, fname, t)
		name := optString(L, 2, fname, abbr)
		base := BaseNone
		var desc string
		v3 := L.Get(3)
		_, isNum := v3.(lua.LNumber)
		if hasDisplay && s.prof.atLeast(200) && (isNum || v3 == lua.LNil) {
			base = int(optInt(L, 3, fname, BaseNone))
			desc = optString(L, 4, fname, "")
		} else {
			desc = optString(L, 3, fname, "")
		}
		switch t {
		case FTBytes, FTUintBytes:
			if base != BaseNone && (base < 8 || base > 11) {
				argError(L, 3, fname, "Display must be either base.NONE, base.DOT, base.DASH, base.COLON or base.SPACE")
			}
		case FTAbsoluteTime:
			if base == BaseNone {
				base = 18 // base.LOCAL
			}
		}
		return s.newField(L, &Field{Abbrev: abbr, Name: name, Type: t, Base: base, Description: desc})
	}
}

var ftByName = func() map[string]FieldType {
	m := map[string]FieldType{}
	for i, n := range ftNames {
		m[n] = FieldType(i)
	}
	return m
}()

// fieldNew implements ProtoField.new(name, abbr, ftype, [valuestring], [base], [mask], [desc]).
func (s *State) fieldNew(L *lua.LState) int {
	const fname = "new"
	name := checkString(L, 1, fname)
	var t FieldType
	if !s.prof.atLeast(112) {
		// 1.10 compares the argument as a string with the ftype names, so
		// the numeric ftypes.* constants are rejected.
		str, ok := L.Get(3).(lua.LString)
		if !ok {
			argError(L, 3, fname, "invalid ftypes")
		}
		n := strings.TrimPrefix(strings.TrimPrefix(string(str), "ftypes."), "FT_")
		ft, ok := ftByName[n]
		if !ok {
			argError(L, 3, fname, "invalid ftypes")
		}
		t = ft
	} else {
		n := checkInt(L, 3, fname)
		if n < 0 || n >= int64(ftCount) {
			argError(L, 3, fname, "Invalid field type")
		}
		t = s.ftypeFromLua(int(n))
	}
	abbr := s.checkAbbrev(L, 2, fname, t)
	base := int(optInt(L, 5, fname, BaseNone))
	mask := optMask(L, 6, fname, false)
	desc := optString(L, 7, fname, "")
	f := &Field{Abbrev: abbr, Name: name, Type: t, Base: base, Mask: mask, Description: desc}
	switch {
	case t.isInteger():
		if base == BaseNone && t != FTFramenum && t != FTChar {
			f.Base = BaseDec
		}
		if L.Get(4) != lua.LNil && t != FTFramenum {
			if base&BaseRangeStr != 0 {
				f.Ranges = s.rangeStrings(L, 4, fname)
			} else {
				f.Values = s.valueStrings(L, 4, fname, t == FTUint64 || t == FTInt64)
			}
		}
		d := f.Base &^ (BaseRangeStr | BaseUnitStr)
		if t != FTFramenum && t != FTChar && (d < BaseDec || d > BaseHexDec) {
			argError(L, 5, fname, "Base must be either base.DEC, base.HEX, base.OCT, base.DEC_HEX, base.HEX_DEC or base.UNIT_STRING")
		}
	case t == FTBoolean:
		if mask == 0 && base != BaseNone {
			argError(L, 5, fname, "Fieldbase (fielddisplay) must be base.NONE if bitmask is zero.")
		}
		if mask != 0 && (base < 1 || base > 64) {
			argError(L, 5, fname, "Fieldbase (fielddisplay) must be between 1 and 64 if bitmask is non-zero.")
		}
		if L.Get(4) != lua.LNil {
			f.TrueFalse = s.tfsFromTable(L, 4, fname)
		}
	}
	return s.newField(L, f)
}

// ftypeFromLua maps a Lua ftypes.* number to a FieldType (profiles before
// 2.0 have no FT_CHAR, so later numbers are one lower).
func (s *State) ftypeFromLua(n int) FieldType {
	if !s.prof.atLeast(200) && n >= int(FTChar) {
		return FieldType(n + 1)
	}
	return FieldType(n)
}

func (s *State) fieldToString(L *lua.LState) int {
	f := s.checkField(L, 1, "__tostring")
	vs := "(nil)"
	if f.Values != nil || f.Ranges != nil || f.TrueFalse != nil {
		vs = "(table)"
	}
	desc := f.Description
	if desc == "" {
		desc = "(null)"
	}
	base := baseName(f.Base)
	L.Push(lua.LString(fmt.Sprintf("ProtoField(%d): %s %s ftypes.%s %s %s %08x %s", f.hfid, f.Name, f.Abbrev, ftNames[f.Type], base, vs, f.Mask, desc)))
	return 1
}

func baseName(b int) string {
	switch b &^ (BaseRangeStr | BaseUnitStr) {
	case BaseNone:
		return "base.NONE"
	case BaseDec:
		return "base.DEC"
	case BaseHex:
		return "base.HEX"
	case BaseOct:
		return "base.OCT"
	case BaseDecHex:
		return "base.DEC_HEX"
	case BaseHexDec:
		return "base.HEX_DEC"
	}
	return strconv.Itoa(b)
}

// ---------------------------------------------------------------------------
// Prefs

func (s *State) prefCtor(kind PrefKind) lua.LGFunction {
	fname := string(kind)
	return func(L *lua.LState) int {
		p := &Pref{Kind: kind}
		switch kind {
		case PrefStaticText:
			p.Label = optString(L, 1, fname, "")
			p.Description = optString(L, 2, fname, "")
		default:
			p.Label = checkString(L, 1, fname)
			p.Description = optString(L, 3, fname, "")
		}
		switch kind {
		case PrefUint:
			p.Default = uint64(optInt(L, 2, fname, 0))
		case PrefBool:
			p.Default = L.ToBool(2)
		case PrefString:
			p.Default = optString(L, 2, fname, "")
		case PrefRange:
			def := optString(L, 2, fname, "")
			p.RangeMax = uint64(optInt(L, 4, fname, 65535))
			if _, err := parseRange(def, p.RangeMax); err != nil {
				argError(L, 2, fname, "Range preference default is invalid")
			}
			p.Default = def
		case PrefEnum:
			p.Default = optInt(L, 2, fname, 0)
			t, ok := L.Get(4).(*lua.LTable)
			if !ok {
				typeError(L, 4, fname, "table")
			}
			t.ForEach(func(_, v lua.LValue) {
				e, ok := v.(*lua.LTable)
				if !ok {
					argError(L, 4, fname, "enum table entries must be tables")
				}
				n, _ := isNumber(e.RawGetInt(3))
				p.Enum = append(p.Enum, EnumValue{Name: s.tostring(e.RawGetInt(1)), Description: s.tostring(e.RawGetInt(2)), Value: int64(n)})
			})
		}
		p.Value = p.Default
		L.Push(newUD(L, p, s.mtPref))
		return 1
	}
}

func prefLuaValue(p *Pref) lua.LValue {
	switch v := p.Value.(type) {
	case uint64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	}
	return lua.LNil
}

func (s *State) prefsIndex(L *lua.LState) int {
	p := L.CheckUserData(1).Value.(*Proto)
	name := L.CheckString(2)
	for _, x := range p.prefs {
		if x.Name == name {
			L.Push(prefLuaValue(x))
			return 1
		}
	}
	argError(L, 2, "__index", "Prefs__index: no preference named like this")
	return 0
}

func (s *State) prefsNewIndex(L *lua.LState) int {
	p := L.CheckUserData(1).Value.(*Proto)
	name := L.CheckString(2)
	ud, ok := L.Get(3).(*lua.LUserData)
	var pref *Pref
	if ok {
		pref, ok = ud.Value.(*Pref)
	}
	if !ok {
		L.RaiseError("Prefs__newindex: a Pref is needed")
	}
	if pref.registered {
		L.RaiseError("Prefs__newindex: this preference has already been registered to another protocol")
	}
	if name == "" {
		L.RaiseError("Prefs__newindex: name must not be empty")
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			L.RaiseError("Prefs__newindex: pref name can only consist of lowercase letters, digits, underscores and periods")
		}
	}
	for _, x := range p.prefs {
		if x.Name == name {
			L.RaiseError("Prefs__newindex: a preference named %s exists already", name)
		}
	}
	pref.registered = true
	pref.Name = name
	pref.Proto = p.name
	p.prefs = append(p.prefs, pref)
	return 0
}

// ---------------------------------------------------------------------------
// ProtoExpert

func (s *State) expertNew(L *lua.LState) int {
	const fname = "new"
	abbr := checkString(L, 1, fname)
	text := checkString(L, 2, fname)
	group := int(checkInt(L, 3, fname))
	sev := int(checkInt(L, 4, fname))
	if abbr == "" || !validFieldName(abbr) {
		argError(L, 1, fname, "Invalid char in abbrev")
	}
	if groupName(group)[0] == '0' {
		argError(L, 3, fname, "Group must be one of expert.group.*")
	}
	if severityName(sev)[0] == '0' {
		argError(L, 4, fname, "Severity must be one of expert.severity.*")
	}
	e := &ExpertInfo{Abbrev: abbr, Text: text, Group: group, Severity: sev}
	L.Push(newUD(L, e, s.mtExpert))
	return 1
}

// ---------------------------------------------------------------------------
// DissectorTable / Dissector

func (s *State) checkDT(L *lua.LState, fname string) *dissectorTable {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if t, ok := ud.Value.(*dissectorTable); ok {
			return t
		}
	}
	typeError(L, 1, fname, "DissectorTable")
	return nil
}

func (s *State) dtGet(L *lua.LState) int {
	name := L.CheckString(1)
	t := s.tables[name]
	if t == nil {
		L.Push(lua.LNil)
		return 1
	}
	if t.ud == nil {
		t.ud = newUD(L, t, s.mtDT)
	}
	L.Push(t.ud)
	return 1
}

func (s *State) dtNew(L *lua.LState) int {
	name := L.CheckString(1)
	t := &dissectorTable{name: name, ui: optString(L, 2, "new", name), entries: map[uint32]*Proto{}, strs: map[string]*Proto{}}
	if ft, ok := isNumber(L.Get(3)); ok && (FieldType(ft) == FTString || FieldType(ft) == FTStringz) {
		t.strKeys = true
	}
	t.ud = newUD(L, t, s.mtDT)
	s.tables[name] = t
	L.Push(t.ud)
	return 1
}

// dtTarget resolves the proto/Dissector argument of add/set/remove.
func (s *State) dtTarget(L *lua.LState, n int, fname string) *Proto {
	ud, ok := L.Get(n).(*lua.LUserData)
	if ok {
		switch x := ud.Value.(type) {
		case *Proto:
			if x.dissector == nil {
				msg := "a Protocol that does not have a dissector cannot be added to a table"
				if s.prof.atLeast(200) {
					msg = "DissectorTable_add: " + msg
				}
				argError(L, n-1, fname, msg)
			}
			return x
		case *dissectorHandle:
			if x.proto == nil {
				return nil
			}
			return x.proto
		}
	}
	argError(L, n-1, fname, "Dissector or Proto expected")
	return nil
}

func (s *State) dtKeys(L *lua.LState, t *dissectorTable, fname string) []uint32 {
	v := L.Get(2)
	if n, ok := v.(lua.LNumber); ok {
		return []uint32{uint32(n)}
	}
	str, ok := v.(lua.LString)
	if !ok {
		typeError(L, 2, fname, "number")
	}
	if !s.prof.atLeast(112) {
		if f, ok := isNumber(str); ok {
			return []uint32{uint32(f)}
		}
		argError(L, 1, fname, "number expected, got string")
	}
	rng, err := parseRange(string(str), 0xffffffff)
	if err != nil {
		argError(L, 1, fname, "DissectorTable_add: invalid integer or range")
	}
	var out []uint32
	for _, r := range rng {
		for p := r[0]; p <= r[1] && len(out) < 1<<20; p++ {
			out = append(out, uint32(p))
		}
	}
	return out
}

func (s *State) dtAdd(replace bool) lua.LGFunction {
	fname := "add"
	if replace {
		fname = "set"
	}
	return func(L *lua.LState) int {
		t := s.checkDT(L, fname)
		p := s.dtTarget(L, 3, fname)
		if t.strKeys {
			if replace {
				t.strs = map[string]*Proto{}
			}
			t.strs[checkString(L, 2, fname)] = p
			return 0
		}
		keys := s.dtKeys(L, t, fname)
		if replace {
			for _, k := range keys {
				delete(t.entries, k)
			}
		}
		for _, k := range keys {
			if p != nil {
				t.entries[k] = p
			}
		}
		return 0
	}
}

func (s *State) dtRemove(L *lua.LState) int {
	t := s.checkDT(L, "remove")
	if t.strKeys {
		delete(t.strs, checkString(L, 2, "remove"))
		return 0
	}
	for _, k := range s.dtKeys(L, t, "remove") {
		delete(t.entries, k)
	}
	return 0
}

func (s *State) dtRemoveAll(L *lua.LState) int {
	t := s.checkDT(L, "remove_all")
	p := s.dtTarget(L, 2, "remove_all")
	for k, v := range t.entries {
		if v == p {
			delete(t.entries, k)
		}
	}
	return 0
}

func (s *State) dtGetDissector(L *lua.LState) int {
	t := s.checkDT(L, "get_dissector")
	var p *Proto
	if t.strKeys {
		p = t.strs[checkString(L, 2, "get_dissector")]
	} else {
		p = t.entries[uint32(checkInt(L, 2, "get_dissector"))]
	}
	if p == nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(s.handleFor(L, p))
	return 1
}

func (s *State) dissectorGet(L *lua.LState) int {
	name := L.CheckString(1)
	if p := s.protoByName[strings.ToLower(name)]; p != nil && p.dissector != nil {
		L.Push(s.handleFor(L, p))
		return 1
	}
	if name == "data" {
		L.Push(newUD(L, &dissectorHandle{name: "data"}, s.mtDissector))
		return 1
	}
	L.RaiseError("Dissector_get: No such dissector")
	return 0
}

// dissectorCall implements Dissector:call(tvb, pinfo, tree).
func (s *State) dissectorCall(L *lua.LState) int {
	ud := L.CheckUserData(1)
	h, ok := ud.Value.(*dissectorHandle)
	if !ok {
		typeError(L, 1, "call", "Dissector")
	}
	tvb := s.checkTvb(L, 2, "call")
	tree := s.checkTreeItem(L, 4, "call")
	if h.proto == nil {
		// The "data" dissector: one item with the bytes.
		it := &Item{Abbrev: "data", Type: FTProtocol, Offset: tvb.off, Len: tvb.length, Text: "Data (" + plural(tvb.length, "byte") + ")"}
		it.Children = []*Item{{Abbrev: "data.data", Type: FTBytes, Value: append([]byte(nil), tvb.bytes()...), Offset: tvb.off, Len: tvb.length,
			Text: "Data: " + hexLabel(tvb.bytes())}}
		tree.addChild(it)
		L.Push(lua.LNumber(tvb.length))
		return 1
	}
	L.Push(h.proto.dissector)
	L.Push(L.Get(2))
	L.Push(L.Get(3))
	L.Push(L.Get(4))
	L.Call(3, 1)
	ret := L.Get(-1)
	if n, ok := ret.(lua.LNumber); ok {
		L.Push(n)
	} else {
		L.Push(lua.LNumber(tvb.length))
	}
	return 1
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
