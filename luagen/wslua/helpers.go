package wslua

import (
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// argError raises Lua's "bad argument #n to 'fname' (msg)".
func argError(L *lua.LState, n int, fname, msg string) {
	L.RaiseError("bad argument #%d to '%s' (%s)", n, fname, msg)
}

// typeError raises "bad argument #n to 'fname' (T expected, got U)".
func typeError(L *lua.LState, n int, fname, want string) {
	got := L.Get(n).Type().String()
	if got == "nil" && n > L.GetTop() {
		got = "no value"
	}
	argError(L, n, fname, want+" expected, got "+got)
}

func newUD(L *lua.LState, v any, mt *lua.LTable) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = v
	ud.Metatable = mt
	return ud
}

// isNumber reports whether v is a number or a string convertible to one
// (lua_isnumber).
func isNumber(v lua.LValue) (float64, bool) {
	switch x := v.(type) {
	case lua.LNumber:
		return float64(x), true
	case lua.LString:
		f, err := parseLuaNumber(string(x))
		return f, err == nil
	}
	return 0, false
}

// optInt is luaL_optinteger with the function name for messages.
func optInt(L *lua.LState, n int, fname string, def int64) int64 {
	v := L.Get(n)
	if v == lua.LNil {
		return def
	}
	f, ok := isNumber(v)
	if !ok {
		typeError(L, n, fname, "number")
	}
	return int64(f)
}

func checkInt(L *lua.LState, n int, fname string) int64 {
	f, ok := isNumber(L.Get(n))
	if !ok {
		typeError(L, n, fname, "number")
	}
	return int64(f)
}

// optString is luaL_optstring (numbers are converted).
func optString(L *lua.LState, n int, fname, def string) string {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return def
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	}
	typeError(L, n, fname, "string")
	return ""
}

func checkString(L *lua.LState, n int, fname string) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	}
	typeError(L, n, fname, "string")
	return ""
}

// toUint64 accepts a Lua number or a UInt64/Int64 userdata.
func toUint64(v lua.LValue) (uint64, bool) {
	switch x := v.(type) {
	case lua.LNumber:
		f := float64(x)
		if f < 0 {
			return uint64(int64(f)), true
		}
		if f >= 18446744073709551615 {
			return math.MaxUint64, true
		}
		return uint64(f), true
	case lua.LString:
		if f, err := parseLuaNumber(string(x)); err == nil {
			return toUint64(lua.LNumber(f))
		}
	case *lua.LUserData:
		switch u := x.Value.(type) {
		case *u64:
			return uint64(*u), true
		case *i64:
			return uint64(*u), true
		}
	case lua.LBool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

const hexDigits = "0123456789abcdef"

func hexDigitsForType(t FieldType) int { return (t.bitWidth() + 3) / 4 }

func fmtHex(v uint64, digits int) string {
	s := strconv.FormatUint(v, 16)
	if len(s) < digits {
		s = "0000000000000000"[:digits-len(s)] + s
	}
	return "0x" + s
}
