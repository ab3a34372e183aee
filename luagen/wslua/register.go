package wslua

import (
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// registerAPI installs the Wireshark Lua API globals for the profile.
func (s *State) registerAPI() {
	L := s.L
	g := L.G.Global
	setG := func(name string, v lua.LValue) { g.RawSetString(name, v) }
	fn := func(f lua.LGFunction) *lua.LFunction { return L.NewFunction(f) }
	classNames := map[*lua.LTable]string{}
	newMT := func(class string, methods map[string]lua.LGFunction) (*lua.LTable, *lua.LTable) {
		mt := L.NewTable()
		cls := L.NewTable()
		if methods != nil {
			L.SetFuncs(cls, methods)
			mt.RawSetString("__index", cls)
		}
		mt.RawSetString("__typeof", lua.LString(class))
		classNames[mt] = class
		return mt, cls
	}

	// Tvb / TvbRange
	var cls *lua.LTable
	s.mtTvb, cls = newMT("Tvb", s.tvbMethods())
	s.mtTvb.RawSetString("__call", fn(s.tvbRange))
	s.mtTvb.RawSetString("__tostring", fn(s.tvbToString))
	setG("Tvb", cls)
	s.mtRange, cls = newMT("TvbRange", s.rangeMethods())
	rangeCall := cls.RawGetString("range")
	s.mtRange.RawSetString("__call", rangeCall)
	s.mtRange.RawSetString("__tostring", fn(s.rangeToString))
	s.mtRange.RawSetString("__concat", fn(func(L *lua.LState) int {
		L.Push(lua.LString(s.tostring(L.Get(1)) + s.tostring(L.Get(2))))
		return 1
	}))
	setG("TvbRange", cls)

	// TreeItem
	s.mtTree, cls = newMT("TreeItem", s.treeMethods())
	s.mtTree.RawSetString("__tostring", fn(func(L *lua.LState) int {
		ti := s.checkTreeItem(L, 1, "__tostring")
		if ti.item == nil {
			L.Push(lua.LString("TreeItem: (root)"))
		} else {
			L.Push(lua.LString("TreeItem: " + ti.item.Text))
		}
		return 1
	}))
	setG("TreeItem", cls)

	// Pinfo, Columns, Column
	s.mtPinfo, _ = newMT("Pinfo", nil)
	s.mtPinfo.RawSetString("__index", fn(s.pinfoIndex))
	s.mtPinfo.RawSetString("__newindex", fn(s.pinfoNewIndex))
	s.mtPinfo.RawSetString("__tostring", fn(s.pinfoToString))
	s.mtCols, _ = newMT("Columns", nil)
	s.mtCols.RawSetString("__index", fn(s.colsIndex))
	s.mtCols.RawSetString("__newindex", fn(s.colsNewIndex))
	s.mtCols.RawSetString("__tostring", fn(func(L *lua.LState) int { L.Push(lua.LString("Columns")); return 1 }))
	s.mtCol, cls = newMT("Column", s.colMethods())
	s.mtCol.RawSetString("__tostring", fn(s.colToString))
	setG("Column", cls)

	// Proto
	s.mtProto, _ = newMT("Proto", nil)
	s.mtProto.RawSetString("__index", fn(s.protoIndex))
	s.mtProto.RawSetString("__newindex", fn(s.protoNewIndex))
	s.mtProto.RawSetString("__tostring", fn(func(L *lua.LState) int {
		p := s.checkProto(L, 1, "__tostring")
		L.Push(lua.LString("Proto: " + p.short))
		return 1
	}))
	s.mtPrefs, _ = newMT("Prefs", nil)
	s.mtPrefs.RawSetString("__index", fn(s.prefsIndex))
	s.mtPrefs.RawSetString("__newindex", fn(s.prefsNewIndex))
	if s.prof.atLeast(112) {
		protoCls := L.NewTable()
		protoCls.RawSetString("new", fn(func(L *lua.LState) int { return s.protoNew(L, 1, "new") }))
		cmt := L.NewTable()
		cmt.RawSetString("__call", fn(func(L *lua.LState) int { return s.protoNew(L, 2, "Proto") }))
		L.SetMetatable(protoCls, cmt)
		setG("Proto", protoCls)
	} else {
		s.protoFunc = fn(func(L *lua.LState) int { return s.protoNew(L, 1, "Proto") })
		setG("Proto", s.protoFunc)
		fmt1 := L.NewTable()
		fmt1.RawSetString("__index", fn(func(L *lua.LState) int {
			k := s.tostring(L.Get(2))
			if L.Get(1) == s.protoFunc {
				L.RaiseError("attempt to index global 'Proto' (a function value); %s", s.prof.missing("Proto."+k, 112))
			}
			L.RaiseError("attempt to index a function value (key '%s')", k)
			return 0
		}))
		L.SetMetatable(s.protoFunc, fmt1)
	}

	// ProtoField
	s.mtField, _ = newMT("ProtoField", nil)
	s.mtField.RawSetString("__tostring", fn(s.fieldToString))
	pf := L.NewTable()
	for _, it := range []struct {
		name string
		t    FieldType
	}{
		{"uint8", FTUint8}, {"uint16", FTUint16}, {"uint24", FTUint24}, {"uint32", FTUint32}, {"uint64", FTUint64},
		{"int8", FTInt8}, {"int16", FTInt16}, {"int24", FTInt24}, {"int32", FTInt32}, {"int64", FTInt64},
		{"framenum", FTFramenum},
	} {
		pf.RawSetString(it.name, fn(s.fieldInteger(it.t, it.name)))
	}
	if s.prof.atLeast(200) {
		pf.RawSetString("char", fn(s.fieldInteger(FTChar, "char")))
	}
	pf.RawSetString("bool", fn(s.fieldBool))
	pf.RawSetString("new", fn(s.fieldNew))
	for _, it := range []struct {
		name    string
		t       FieldType
		display bool
	}{
		{"string", FTString, true}, {"stringz", FTStringz, true}, {"bytes", FTBytes, true}, {"ubytes", FTUintBytes, true},
		{"ipv4", FTIPv4, false}, {"ipv6", FTIPv6, false}, {"ether", FTEther, false}, {"float", FTFloat, false},
		{"double", FTDouble, false}, {"guid", FTGUID, false}, {"oid", FTOID, false}, {"rel_oid", FTRelOID, false},
		{"absolute_time", FTAbsoluteTime, true}, {"relative_time", FTRelativeTime, false},
	} {
		pf.RawSetString(it.name, fn(s.fieldOther(it.t, it.name, it.display)))
	}
	if s.prof.atLeast(300) {
		pf.RawSetString("none", fn(s.fieldOther(FTNone, "none", false)))
		pf.RawSetString("eui64", fn(s.fieldOther(FTEUI64, "eui64", false)))
	} else {
		pf.RawSetString("none", fn(s.missingMethod("ProtoField.none", 300)))
	}
	setG("ProtoField", pf)

	// Pref
	s.mtPref, _ = newMT("Pref", nil)
	pref := L.NewTable()
	for _, k := range []PrefKind{PrefUint, PrefBool, PrefString, PrefEnum, PrefRange, PrefStaticText} {
		pref.RawSetString(string(k), fn(s.prefCtor(k)))
	}
	setG("Pref", pref)

	// ProtoExpert and expert.*
	s.mtExpert, _ = newMT("ProtoExpert", nil)
	s.mtExpert.RawSetString("__tostring", fn(func(L *lua.LState) int {
		e := L.CheckUserData(1).Value.(*ExpertInfo)
		L.Push(lua.LString(fmt.Sprintf("ProtoExpert: ei=-1, hf=-2, abbr=%s, text=%s, group=%d, severity=%d", e.Abbrev, e.Text, e.Group, e.Severity)))
		return 1
	}))
	if s.prof.atLeast(112) {
		pe := L.NewTable()
		pe.RawSetString("new", fn(s.expertNew))
		cmt := L.NewTable()
		cmt.RawSetString("__call", fn(func(L *lua.LState) int {
			L.Remove(1)
			return s.expertNew(L)
		}))
		L.SetMetatable(pe, cmt)
		setG("ProtoExpert", pe)
		ex := L.NewTable()
		grp := L.NewTable()
		sev := L.NewTable()
		for k, v := range map[string]int{"CHECKSUM": PIChecksum, "SEQUENCE": PISequence, "RESPONSE_CODE": PIResponseCode,
			"REQUEST_CODE": PIRequestCode, "UNDECODED": PIUndecoded, "REASSEMBLE": PIReassemble, "MALFORMED": PIMalformed,
			"DEBUG": PIDebug, "PROTOCOL": PIProtocol, "SECURITY": PISecurity, "COMMENTS_GROUP": PICommentsGrp,
			"DECRYPTION": PIDecryption, "ASSUMPTION": PIAssumption, "DEPRECATED": PIDeprecated} {
			grp.RawSetString(k, lua.LNumber(v))
		}
		for k, v := range map[string]int{"COMMENT": PIComment, "CHAT": PIChat, "NOTE": PINote, "WARN": PIWarn, "ERROR": PIError} {
			sev.RawSetString(k, lua.LNumber(v))
		}
		ex.RawSetString("group", grp)
		ex.RawSetString("severity", sev)
		setG("expert", ex)
	}

	// DissectorTable / Dissector
	s.mtDT, cls = newMT("DissectorTable", map[string]lua.LGFunction{
		"add":           s.dtAdd(false),
		"remove":        s.dtRemove,
		"get_dissector": s.dtGetDissector,
	})
	if s.prof.atLeast(112) {
		cls.RawSetString("set", fn(s.dtAdd(true)))
		cls.RawSetString("remove_all", fn(s.dtRemoveAll))
		cls.RawSetString("add_for_decode_as", fn(func(L *lua.LState) int { return 0 }))
	} else {
		cls.RawSetString("set", fn(s.missingMethod("DissectorTable:set", 112)))
	}
	s.mtDT.RawSetString("__tostring", fn(func(L *lua.LState) int {
		t := s.checkDT(L, "__tostring")
		L.Push(lua.LString("DissectorTable " + t.name))
		return 1
	}))
	dtCls := L.NewTable()
	dtCls.RawSetString("get", fn(s.dtGet))
	dtCls.RawSetString("new", fn(s.dtNew))
	dtCls.RawSetString("list", fn(func(L *lua.LState) int {
		t := L.NewTable()
		names := make([]string, 0, len(s.tables))
		for n := range s.tables {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			t.Append(lua.LString(n))
		}
		L.Push(t)
		return 1
	}))
	setG("DissectorTable", dtCls)
	s.mtDissector, cls = newMT("Dissector", map[string]lua.LGFunction{"call": s.dissectorCall})
	s.mtDissector.RawSetString("__tostring", fn(func(L *lua.LState) int {
		h := L.CheckUserData(1).Value.(*dissectorHandle)
		L.Push(lua.LString(h.name))
		return 1
	}))
	s.mtDissector.RawSetString("__call", fn(s.dissectorCall))
	cls.RawSetString("get", fn(s.dissectorGet))
	setG("Dissector", cls)

	// ByteArray, Address, UInt64, Int64
	s.mtBA, cls = newMT("ByteArray", s.baMethods())
	s.mtBA.RawSetString("__tostring", fn(s.baToString))
	s.mtBA.RawSetString("__concat", fn(func(L *lua.LState) int {
		a := s.checkBA(L, 1, "__concat")
		b := s.checkBA(L, 2, "__concat")
		L.Push(s.newByteArray(L, append(append([]byte(nil), a.b...), b.b...)))
		return 1
	}))
	s.mtBA.RawSetString("__eq", fn(func(L *lua.LState) int {
		a := s.checkBA(L, 1, "__eq")
		b := s.checkBA(L, 2, "__eq")
		L.Push(lua.LBool(string(a.b) == string(b.b)))
		return 1
	}))
	cls.RawSetString("new", fn(s.byteArrayNew))
	setG("ByteArray", cls)

	s.mtAddr, _ = newMT("Address", nil)
	s.mtAddr.RawSetString("__tostring", fn(func(L *lua.LState) int {
		L.Push(lua.LString(L.CheckUserData(1).Value.(*address).s))
		return 1
	}))
	addrCmp := func(op func(a, b string) bool) *lua.LFunction {
		return fn(func(L *lua.LState) int {
			a, ok1 := L.CheckUserData(1).Value.(*address)
			b, ok2 := L.CheckUserData(2).Value.(*address)
			L.Push(lua.LBool(ok1 && ok2 && op(a.s, b.s)))
			return 1
		})
	}
	s.mtAddr.RawSetString("__eq", addrCmp(func(a, b string) bool { return a == b }))
	s.mtAddr.RawSetString("__lt", addrCmp(func(a, b string) bool { return a < b }))
	s.mtAddr.RawSetString("__le", addrCmp(func(a, b string) bool { return a <= b }))
	addrCls := L.NewTable()
	addrIP := fn(func(L *lua.LState) int {
		v := L.Get(1)
		if n, ok := v.(lua.LNumber); ok {
			u := uint32(n)
			L.Push(s.newAddress(L, fmt.Sprintf("%d.%d.%d.%d", u>>24, u>>16&255, u>>8&255, u&255)))
			return 1
		}
		L.Push(s.newAddress(L, checkString(L, 1, "ip")))
		return 1
	})
	addrCls.RawSetString("ip", addrIP)
	addrCls.RawSetString("ipv4", addrIP)
	addrCls.RawSetString("ether", fn(func(L *lua.LState) int { L.Push(s.newAddress(L, checkString(L, 1, "ether"))); return 1 }))
	setG("Address", addrCls)

	var u64cls, i64cls *lua.LTable
	u64cls, s.mtU64 = s.int64Lib(L, false)
	i64cls, s.mtI64 = s.int64Lib(L, true)
	s.mtU64.RawSetString("__typeof", lua.LString("UInt64"))
	s.mtI64.RawSetString("__typeof", lua.LString("Int64"))
	classNames[s.mtU64] = "UInt64"
	classNames[s.mtI64] = "Int64"
	setG("UInt64", u64cls)
	setG("Int64", i64cls)

	// Field extractors: accepted, extract nothing.
	s.mtFieldEx, _ = newMT("Field", nil)
	s.mtFieldEx.RawSetString("__call", fn(func(L *lua.LState) int { return 0 }))
	s.mtFieldEx.RawSetString("__tostring", fn(func(L *lua.LState) int {
		L.Push(lua.LString(L.CheckUserData(1).Value.(string)))
		return 1
	}))
	fieldCls := L.NewTable()
	fieldCls.RawSetString("new", fn(func(L *lua.LState) int {
		name := L.CheckString(1)
		if s.cur != nil {
			L.RaiseError("A Field extractor must be defined before Taps or Dissectors get called")
		}
		L.Push(newUD(L, name, s.mtFieldEx))
		return 1
	}))
	setG("Field", fieldCls)

	// Constants
	baseT := L.NewTable()
	for k, v := range map[string]int{"NONE": 0, "DEC": 1, "HEX": 2, "OCT": 3, "DEC_HEX": 4, "HEX_DEC": 5} {
		baseT.RawSetString(k, lua.LNumber(v))
	}
	if s.prof.atLeast(200) {
		for k, v := range map[string]int{"CUSTOM": 6, "EXP": 7, "DOT": 8, "DASH": 9, "COLON": 10, "SPACE": 11, "NETMASK": 12,
			"PT_UDP": 13, "PT_TCP": 14, "PT_DCCP": 15, "PT_SCTP": 16, "OUI": 17, "LOCAL": 18, "UTC": 19, "DOY_UTC": 20,
			"NTP_UTC": 21, "RANGE_STRING": BaseRangeStr, "UNIT_STRING": BaseUnitStr} {
			baseT.RawSetString(k, lua.LNumber(v))
		}
	} else {
		baseT.RawSetString("CUSTOM", lua.LNumber(6))
	}
	setG("base", baseT)
	ft := L.NewTable()
	for i, n := range ftNames {
		if !s.prof.atLeast(200) {
			switch FieldType(i) {
			case FTChar, FTStringzPad, FTFCWWN, FTStringzTrunc:
				continue
			}
			if i > int(FTChar) {
				ft.RawSetString(n, lua.LNumber(i-1))
				continue
			}
		}
		ft.RawSetString(n, lua.LNumber(i))
	}
	setG("ftypes", ft)
	if s.prof.atLeast(300) {
		frt := L.NewTable()
		for k, v := range map[string]int{"NONE": 0, "REQUEST": 1, "RESPONSE": 2, "ACK": 3, "DUP_ACK": 4, "RETRANS_PREV": 5, "RETRANS_NEXT": 6} {
			frt.RawSetString(k, lua.LNumber(v))
		}
		setG("frametype", frt)
	}
	enc := map[string]int64{"ENC_BIG_ENDIAN": 0, "ENC_NA": 0, "ENC_ASCII": 0, "ENC_UTF_8": 2, "ENC_UTF_16": 4,
		"ENC_UCS_2": 6, "ENC_UCS_4": 8, "ENC_ISO_8859_1": 10, "ENC_WINDOWS_1252": 58, "ENC_EBCDIC": 46,
		"ENC_STR_NUM": 16777216, "ENC_STR_HEX": 33554432, "ENC_STRING": 50331648, "ENC_STR_MASK": 65534,
		"ENC_SEP_NONE": 65536, "ENC_SEP_COLON": 131072, "ENC_SEP_DASH": 262144, "ENC_SEP_DOT": 524288,
		"ENC_SEP_SPACE": 1048576, "ENC_SEP_MASK": 2031616, "ENC_TIME_TIMESPEC": 0, "ENC_TIME_NTP": 2,
		"ENC_TIME_TOD": 4, "ENC_CHARENCODING_MASK": 65534}
	if s.prof.lua == 54 {
		enc["ENC_LITTLE_ENDIAN"] = -2147483648
	} else {
		enc["ENC_LITTLE_ENDIAN"] = 2147483648
	}
	for k, v := range enc {
		setG(k, lua.LNumber(v))
	}
	// int64: PI_GROUP_MASK (0xff000000) overflows int on 32-bit platforms.
	pi := map[string]int64{"PI_CHECKSUM": PIChecksum, "PI_SEQUENCE": PISequence, "PI_RESPONSE_CODE": PIResponseCode,
		"PI_REQUEST_CODE": PIRequestCode, "PI_UNDECODED": PIUndecoded, "PI_REASSEMBLE": PIReassemble,
		"PI_MALFORMED": PIMalformed, "PI_DEBUG": PIDebug, "PI_PROTOCOL": PIProtocol, "PI_SECURITY": PISecurity,
		"PI_COMMENTS_GROUP": PICommentsGrp, "PI_COMMENT": PIComment, "PI_CHAT": PIChat, "PI_NOTE": PINote,
		"PI_WARN": PIWarn, "PI_ERROR": PIError, "PI_SEVERITY_MASK": 0x00f00000, "PI_GROUP_MASK": -16777216}
	if s.prof.atLeast(200) {
		pi["PI_DECRYPTION"] = PIDecryption
		pi["PI_GROUP_MASK"] = 0xff000000
	}
	if s.prof.atLeast(300) {
		pi["PI_ASSUMPTION"] = PIAssumption
		pi["PI_DEPRECATED"] = PIDeprecated
	}
	for k, v := range pi {
		setG(k, lua.LNumber(v))
	}
	setG("DESEGMENT_ONE_MORE_SEGMENT", lua.LNumber(DesegmentOneMoreSegment))

	// Functions
	setG("get_version", fn(func(L *lua.LState) int { L.Push(lua.LString(s.prof.versionString())); return 1 }))
	setG("gui_enabled", fn(func(L *lua.LState) int { L.Push(lua.LFalse); return 1 }))
	setG("register_postdissector", fn(func(L *lua.LState) int {
		s.postdiss = append(s.postdiss, s.checkProto(L, 1, "register_postdissector"))
		return 0
	}))
	if s.prof.atLeast(200) {
		setG("dissect_tcp_pdus", fn(s.dissectTCPPDUs))
		setG("set_plugin_info", fn(func(L *lua.LState) int {
			s.pluginInf = L.CheckTable(1)
			return 0
		}))
	} else {
		logf := func(L *lua.LState) int {
			parts := make([]string, 0, L.GetTop())
			for i := 1; i <= L.GetTop(); i++ {
				parts = append(parts, s.tostring(L.Get(i)))
			}
			_, _ = s.out.Write([]byte(strings.Join(parts, " ") + "\n"))
			return 0
		}
		for _, n := range []string{"critical", "warn", "message", "info", "debug"} {
			setG(n, fn(logf))
		}
		setG("running_superuser", lua.LFalse)
	}
	if s.prof.atLeast(112) {
		setG("typeof", fn(func(L *lua.LState) int {
			v := L.CheckAny(1)
			if ud, ok := v.(*lua.LUserData); ok {
				if mt, ok := ud.Metatable.(*lua.LTable); ok {
					if n, ok := classNames[mt]; ok {
						L.Push(lua.LString(n))
						return 1
					}
				}
			}
			L.Push(lua.LString(v.Type().String()))
			return 1
		}))
	}
}
