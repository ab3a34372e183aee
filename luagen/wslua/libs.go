package wslua

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// openLibs opens the standard libraries a Wireshark Lua script sees, minus
// everything that touches the machine, shaped to the profile's Lua dialect.
func (s *State) openLibs() {
	L := s.L
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.OsLibName, lua.OpenOs},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.CoroutineLibName, lua.OpenCoroutine},
	} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global

	// Files and processes: gone.
	disabled := func(name string) lua.LGFunction {
		return func(L *lua.LState) int {
			L.RaiseError("wslua: %s is disabled in the sandbox", name)
			return 0
		}
	}
	for _, n := range []string{"dofile", "loadfile"} {
		g.RawSetString(n, L.NewFunction(disabled(n)))
	}
	g.RawSetString("_printregs", lua.LNil)
	g.RawSetString("newproxy", lua.LNil)
	loaded := s.closePackageAndOS()
	s.boundLibs()

	// print and a minimal io writing to Options.Stdout.
	g.RawSetString("print", L.NewFunction(func(L *lua.LState) int {
		top := L.GetTop()
		var b strings.Builder
		for i := 1; i <= top; i++ {
			if i > 1 {
				b.WriteByte('\t')
			}
			b.WriteString(s.tostring(L.Get(i)))
		}
		b.WriteByte('\n')
		_, _ = s.out.Write([]byte(b.String()))
		return 0
	}))
	ioT := L.NewTable()
	write := func(L *lua.LState, first int) {
		for i := first; i <= L.GetTop(); i++ {
			v := L.Get(i)
			if v.Type() != lua.LTString && v.Type() != lua.LTNumber {
				L.ArgError(i, "string expected, got "+v.Type().String())
			}
			_, _ = s.out.Write([]byte(s.tostring(v)))
		}
	}
	fileMT := L.NewTable()
	fileMethods := L.NewTable()
	fileMT.RawSetString("__index", fileMethods)
	fileMT.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString("file (sandbox)")); return 1 }))
	fileMethods.RawSetString("write", L.NewFunction(func(L *lua.LState) int { write(L, 2); L.Push(L.Get(1)); return 1 }))
	fileMethods.RawSetString("flush", L.NewFunction(func(L *lua.LState) int { return 0 }))
	fileMethods.RawSetString("close", L.NewFunction(func(L *lua.LState) int { return 0 }))
	fileMethods.RawSetString("setvbuf", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LTrue); return 1 }))
	for _, n := range []string{"stdout", "stderr"} {
		ud := L.NewUserData()
		ud.Metatable = fileMT
		ioT.RawSetString(n, ud)
	}
	ioT.RawSetString("write", L.NewFunction(func(L *lua.LState) int { write(L, 1); return 0 }))
	ioT.RawSetString("read", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LNil); return 1 }))
	for _, n := range []string{"open", "popen", "lines", "input", "output", "tmpfile", "close"} {
		ioT.RawSetString(n, L.NewFunction(disabled("io."+n)))
	}
	g.RawSetString("io", ioT)
	loaded.RawSetString("io", ioT)

	tbl := g.RawGetString("table").(*lua.LTable)
	mathT := g.RawGetString("math").(*lua.LTable)
	strT := g.RawGetString("string").(*lua.LTable)

	switch s.prof.lua {
	case 51:
		g.RawSetString("_VERSION", lua.LString("Lua 5.1"))
	case 52, 54:
		if s.prof.lua == 52 {
			g.RawSetString("_VERSION", lua.LString("Lua 5.2"))
		} else {
			g.RawSetString("_VERSION", lua.LString("Lua 5.4"))
		}
		unpack := g.RawGetString("unpack")
		tbl.RawSetString("unpack", unpack)
		tbl.RawSetString("pack", L.NewFunction(func(L *lua.LState) int {
			n := L.GetTop()
			t := L.CreateTable(n, 1)
			for i := 1; i <= n; i++ {
				t.RawSetInt(i, L.Get(i))
			}
			t.RawSetString("n", lua.LNumber(n))
			L.Push(t)
			return 1
		}))
		g.RawSetString("rawlen", L.NewFunction(func(L *lua.LState) int {
			switch v := L.Get(1).(type) {
			case *lua.LTable:
				L.Push(lua.LNumber(v.Len()))
			case lua.LString:
				L.Push(lua.LNumber(len(v)))
			default:
				L.ArgError(1, "table or string expected")
			}
			return 1
		}))
		g.RawSetString("setfenv", lua.LNil)
		g.RawSetString("getfenv", lua.LNil)
		tbl.RawSetString("getn", lua.LNil)
		tbl.RawSetString("setn", lua.LNil)
		strT.RawSetString("gfind", lua.LNil)
		if s.prof.lua == 54 {
			for _, n := range []string{"unpack", "loadstring", "module"} {
				g.RawSetString(n, lua.LNil)
			}
			tbl.RawSetString("maxn", lua.LNil)
			for _, n := range []string{"pow", "ldexp", "frexp", "cosh", "sinh", "tanh", "log10", "mod"} {
				mathT.RawSetString(n, lua.LNil)
			}
			mathT.RawSetString("maxinteger", lua.LNumber(math.MaxInt64))
			mathT.RawSetString("mininteger", lua.LNumber(math.MinInt64))
			mathT.RawSetString("type", L.NewFunction(func(L *lua.LState) int {
				v := L.CheckAny(1)
				if n, ok := v.(lua.LNumber); ok {
					if float64(n) == math.Trunc(float64(n)) && !math.IsInf(float64(n), 0) {
						L.Push(lua.LString("integer"))
					} else {
						L.Push(lua.LString("float"))
					}
				} else {
					L.Push(lua.LNil)
				}
				return 1
			}))
			mathT.RawSetString("tointeger", L.NewFunction(func(L *lua.LState) int {
				if n, ok := L.Get(1).(lua.LNumber); ok && float64(n) == math.Trunc(float64(n)) {
					L.Push(n)
				} else {
					L.Push(lua.LNil)
				}
				return 1
			}))
			origFormat := strT.RawGetString("format").(*lua.LFunction)
			strT.RawSetString("format", L.NewFunction(func(L *lua.LState) int {
				checkIntegerFormats(L)
				top := L.GetTop()
				args := make([]lua.LValue, top)
				for i := range args {
					args[i] = L.Get(i + 1)
				}
				L.Push(origFormat)
				for _, a := range args {
					L.Push(a)
				}
				L.Call(top, 1)
				return 1
			}))
		}
	}

	// Lua BitOp: the `bit` global exists everywhere except a Lua 5.2 build of 1.10.
	if !(s.prof.ver < 112 && s.prof.lua != 51) {
		b := newBitLib(L)
		g.RawSetString("bit", b)
	}
	if s.prof.lua == 52 {
		b := newBit32Lib(L)
		g.RawSetString("bit32", b)
		loaded.RawSetString("bit32", b)
	}

	// Missing globals resolve to nil (feature tests like `if bit32 then`
	// work as in Wireshark) but are remembered, so that a following
	// "attempt to index a nil value" error can name what is missing.
	missing := s.missingGlobals()
	gmt := L.NewTable()
	gmt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		if k, ok := L.Get(2).(lua.LString); ok {
			if msg, ok := missing[string(k)]; ok {
				s.lastMissing = msg
			}
		}
		L.Push(lua.LNil)
		return 1
	}))
	L.SetMetatable(g, gmt)
}

// missingGlobals maps globals that later releases or other dialects have to
// the explanation used in error messages.
func (s *State) missingGlobals() map[string]string {
	m := map[string]string{}
	p := s.prof
	if !p.atLeast(112) {
		m["ProtoExpert"] = p.missing("ProtoExpert", 112)
		m["expert"] = p.missing("expert (expert.group/expert.severity)", 112)
		m["typeof"] = p.missing("typeof", 112)
		m["Struct"] = p.missing("Struct", 112)
		m["GRegex"] = p.missing("GRegex", 112)
	}
	if !p.atLeast(200) {
		m["dissect_tcp_pdus"] = p.missing("dissect_tcp_pdus", 200)
		m["set_plugin_info"] = p.missing("set_plugin_info", 200)
	}
	switch p.lua {
	case 51:
		m["bit32"] = p.missingLua("bit32", " (use bit)")
		m["rawlen"] = p.missingLua("rawlen", "")
	case 52:
		if !p.atLeast(112) {
			m["bit"] = "wslua: bit is not available in Wireshark 1.10 built with Lua 5.2 (only bit32)"
		}
	case 54:
		m["bit32"] = p.missingLua("bit32", " (use bit)")
		m["unpack"] = p.missingLua("unpack", " (use table.unpack)")
		m["loadstring"] = p.missingLua("loadstring", " (use load)")
		m["setfenv"] = p.missingLua("setfenv", "")
		m["getfenv"] = p.missingLua("getfenv", "")
		m["module"] = p.missingLua("module", "")
	}
	if p.lua != 51 {
		m["setfenv"] = p.missingLua("setfenv", "")
		m["getfenv"] = p.missingLua("getfenv", "")
	}
	if p.atLeast(200) {
		for _, n := range []string{"info", "message", "critical", "warn"} {
			m[n] = fmt.Sprintf("wslua: the logging function %s() is not available in Wireshark %s", n, p.Wireshark())
		}
	}
	return m
}

// checkIntegerFormats raises Lua 5.4's "number has no integer
// representation" for %d/%i/%x/%X/%o/%c given a non-integral number.
func checkIntegerFormats(L *lua.LState) {
	f := L.CheckString(1)
	arg := 1
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		for i < len(f) && strings.IndexByte("-+ #0123456789.", f[i]) >= 0 {
			i++
		}
		if i >= len(f) {
			break
		}
		arg++
		switch f[i] {
		case 'd', 'i', 'x', 'X', 'o', 'c':
			var n float64
			switch v := L.Get(arg).(type) {
			case lua.LNumber:
				n = float64(v)
			case lua.LString:
				x, err := parseLuaNumber(string(v))
				if err != nil {
					continue
				}
				n = x
			default:
				continue
			}
			if n != math.Trunc(n) || math.IsInf(n, 0) || math.IsNaN(n) {
				L.RaiseError("bad argument #%d to 'format' (number has no integer representation)", arg)
			}
		}
	}
}

func parseLuaNumber(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		return float64(u), err
	}
	return strconv.ParseFloat(s, 64)
}

// ---------------------------------------------------------------------------
// Lua BitOp (bit.*): arguments are normalised to signed 32-bit integers by
// rounding (like BitOp's 2^52+2^51 trick) and results are signed.

func toBit(f float64) int32 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	r := math.RoundToEven(f)
	if r >= -9007199254740992 && r <= 9007199254740992 {
		return int32(uint32(int64(r)))
	}
	m := math.Mod(r, 4294967296)
	if m < 0 {
		m += 4294967296
	}
	return int32(uint32(m))
}

func newBitLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	arg := func(L *lua.LState, n int) int32 { return toBit(float64(L.CheckNumber(n))) }
	push := func(L *lua.LState, v int32) int { L.Push(lua.LNumber(v)); return 1 }
	fold := func(op func(a, b int32) int32) lua.LGFunction {
		return func(L *lua.LState) int {
			r := arg(L, 1)
			for i := 2; i <= L.GetTop(); i++ {
				r = op(r, arg(L, i))
			}
			return push(L, r)
		}
	}
	L.SetFuncs(t, map[string]lua.LGFunction{
		"tobit": func(L *lua.LState) int { return push(L, arg(L, 1)) },
		"bnot":  func(L *lua.LState) int { return push(L, ^arg(L, 1)) },
		"band":  fold(func(a, b int32) int32 { return a & b }),
		"bor":   fold(func(a, b int32) int32 { return a | b }),
		"bxor":  fold(func(a, b int32) int32 { return a ^ b }),
		"lshift": func(L *lua.LState) int {
			return push(L, int32(uint32(arg(L, 1))<<(uint32(arg(L, 2))&31)))
		},
		"rshift": func(L *lua.LState) int {
			return push(L, int32(uint32(arg(L, 1))>>(uint32(arg(L, 2))&31)))
		},
		"arshift": func(L *lua.LState) int {
			return push(L, arg(L, 1)>>(uint32(arg(L, 2))&31))
		},
		"rol": func(L *lua.LState) int {
			x, n := uint32(arg(L, 1)), uint32(arg(L, 2))&31
			return push(L, int32(x<<n|x>>((32-n)&31)))
		},
		"ror": func(L *lua.LState) int {
			x, n := uint32(arg(L, 1)), uint32(arg(L, 2))&31
			return push(L, int32(x>>n|x<<((32-n)&31)))
		},
		"bswap": func(L *lua.LState) int {
			x := uint32(arg(L, 1))
			return push(L, int32(x>>24|(x>>8)&0xff00|(x<<8)&0xff0000|x<<24))
		},
		"tohex": func(L *lua.LState) int {
			x := uint32(arg(L, 1))
			n := 8
			if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
				n = int(arg(L, 2))
			}
			digits := "0123456789abcdef"
			if n < 0 {
				n = -n
				digits = "0123456789ABCDEF"
			}
			if n > 8 {
				n = 8
			}
			buf := make([]byte, n)
			for i := n - 1; i >= 0; i-- {
				buf[i] = digits[x&15]
				x >>= 4
			}
			L.Push(lua.LString(buf))
			return 1
		},
	})
	return t
}

// bit32 (Lua 5.2): unsigned 32-bit results.
func toU32(f float64) uint32 { return uint32(toBit(f)) }

func newBit32Lib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	arg := func(L *lua.LState, n int) uint32 { return toU32(float64(L.CheckNumber(n))) }
	push := func(L *lua.LState, v uint32) int { L.Push(lua.LNumber(v)); return 1 }
	fold := func(init uint32, op func(a, b uint32) uint32) func(L *lua.LState) uint32 {
		return func(L *lua.LState) uint32 {
			r := init
			for i := 1; i <= L.GetTop(); i++ {
				r = op(r, arg(L, i))
			}
			return r
		}
	}
	band := fold(0xffffffff, func(a, b uint32) uint32 { return a & b })
	shift := func(x uint32, n int) uint32 {
		if n <= -32 || n >= 32 {
			return 0
		}
		if n >= 0 {
			return x << uint(n)
		}
		return x >> uint(-n)
	}
	fieldArgs := func(L *lua.LState, fi int) (int, int) {
		f := int(L.CheckNumber(fi))
		w := int(L.OptNumber(fi+1, 1))
		if f < 0 {
			L.ArgError(fi, "field cannot be negative")
		}
		if w <= 0 {
			L.ArgError(fi+1, "width must be positive")
		}
		if f+w > 32 {
			L.RaiseError("trying to access non-existent bits")
		}
		return f, w
	}
	L.SetFuncs(t, map[string]lua.LGFunction{
		"band":  func(L *lua.LState) int { return push(L, band(L)) },
		"bor":   func(L *lua.LState) int { return push(L, fold(0, func(a, b uint32) uint32 { return a | b })(L)) },
		"bxor":  func(L *lua.LState) int { return push(L, fold(0, func(a, b uint32) uint32 { return a ^ b })(L)) },
		"btest": func(L *lua.LState) int { L.Push(lua.LBool(band(L) != 0)); return 1 },
		"bnot":  func(L *lua.LState) int { return push(L, ^arg(L, 1)) },
		"lshift": func(L *lua.LState) int {
			return push(L, shift(arg(L, 1), int(L.CheckNumber(2))))
		},
		"rshift": func(L *lua.LState) int {
			return push(L, shift(arg(L, 1), -int(L.CheckNumber(2))))
		},
		"arshift": func(L *lua.LState) int {
			x, n := arg(L, 1), int(L.CheckNumber(2))
			if n < 0 || x&0x80000000 == 0 {
				return push(L, shift(x, -n))
			}
			if n >= 32 {
				return push(L, 0xffffffff)
			}
			return push(L, uint32(int32(x)>>uint(n)))
		},
		"lrotate": func(L *lua.LState) int {
			x, n := arg(L, 1), uint(int(L.CheckNumber(2))&31)
			return push(L, x<<n|x>>((32-n)&31))
		},
		"rrotate": func(L *lua.LState) int {
			x, n := arg(L, 1), uint(int(L.CheckNumber(2))&31)
			return push(L, x>>n|x<<((32-n)&31))
		},
		"extract": func(L *lua.LState) int {
			x := arg(L, 1)
			f, w := fieldArgs(L, 2)
			return push(L, (x>>uint(f))&(0xffffffff>>uint(32-w)))
		},
		"replace": func(L *lua.LState) int {
			x, v := arg(L, 1), arg(L, 2)
			f, w := fieldArgs(L, 3)
			m := uint32(0xffffffff>>uint(32-w)) << uint(f)
			return push(L, x&^m|(v<<uint(f))&m)
		},
	})
	return t
}

// tostring mirrors Lua's tostring (honouring __tostring).
func (s *State) tostring(v lua.LValue) string {
	switch x := v.(type) {
	case lua.LString:
		return string(x)
	case lua.LNumber:
		return x.String()
	case *lua.LUserData, *lua.LTable:
		return s.L.ToStringMeta(v).String()
	}
	return v.String()
}
