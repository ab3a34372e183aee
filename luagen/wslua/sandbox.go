package wslua

import (
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The library functions written in Go that can do much work or allocate
// much in one call are replaced by versions that charge their work to the
// instruction budget and check their allocation against the memory limit
// before making it, so no call outlives its budget by more than a small
// factor and no script can make the Go runtime run out of memory.

// maxResults is how many values one call may return (unpack,
// string.byte): Lua 5.1's C stack limit, 8,000; Lua 5.2+ allow more, up to
// what gopher-lua's registry holds.
func (s *State) maxResults() int {
	if s.prof.lua == 51 {
		return 8000
	}
	return 200_000
}

// maxResumeDepth bounds coroutines resumed inside each other (Lua's C
// stack limit, LUAI_MAXCCALLS = 200): each level is a Go call frame, and
// Go ends the process when its stack passes 1 GB.
const maxResumeDepth = 200

func init() {
	// gopher-lua keeps integer keys below MaxArrayIndex in the array part
	// and fills the gap before a key far past the end with nils: t[2^26-1]
	// = 1 on an empty table allocates 1 GiB in one instruction, and
	// packets_seen[5000000] = x, 80 MB. Keys past 2^20 go to the hash
	// part instead (at most 16 MiB per assignment); only # of a sequence
	// longer than that differs from Lua's.
	lua.MaxArrayIndex = 1 << 20
}

// coroutineCost is what creating a coroutine costs: gopher-lua gives each
// its own registry and call stack (~100 KB with this state's options).
const coroutineCost = 100 << 10

// boundLibs installs the bounded versions of the standard functions.
func (s *State) boundLibs() {
	L := s.L
	g := L.G.Global
	b := s.budget
	strT := g.RawGetString("string").(*lua.LTable)
	tblT := g.RawGetString("table").(*lua.LTable)
	coT := g.RawGetString("coroutine").(*lua.LTable)
	gfn := func(t *lua.LTable, name string) lua.LGFunction {
		if f, ok := t.RawGetString(name).(*lua.LFunction); ok && f.IsG {
			return f.GFunction
		}
		return nil
	}
	set := func(t *lua.LTable, name string, fn lua.LGFunction) { t.RawSetString(name, L.NewFunction(fn)) }

	set(strT, "rep", func(L *lua.LState) int {
		str := L.CheckString(1)
		n := L.CheckInt(2)
		sep := L.OptString(3, "")
		if s.prof.lua == 51 {
			sep = "" // Lua 5.1's rep has no separator
		}
		if n <= 0 {
			L.Push(lua.LString(""))
			return 1
		}
		total := float64(len(str))*float64(n) + float64(len(sep))*float64(n-1)
		if total >= float64(math.MaxInt32) {
			b.alloc(L, -1) // raises
		}
		b.alloc(L, int64(total))
		if sep == "" {
			L.Push(lua.LString(strings.Repeat(str, n)))
			return 1
		}
		var sb strings.Builder
		sb.Grow(int(total))
		for i := 0; i < n; i++ {
			if i > 0 {
				sb.WriteString(sep)
			}
			sb.WriteString(str)
		}
		L.Push(lua.LString(sb.String()))
		return 1
	})
	for _, name := range []string{"lower", "upper", "reverse"} {
		orig := gfn(strT, name)
		set(strT, name, func(L *lua.LState) int {
			b.alloc(L, int64(len(L.CheckString(1))))
			return orig(L)
		})
	}
	if orig := gfn(strT, "byte"); orig != nil {
		set(strT, "byte", func(L *lua.LState) int {
			str := L.CheckString(1)
			i, j := strIndex(L.OptInt(2, 1), len(str)), strIndex(L.OptInt(3, L.OptInt(2, 1)), len(str))
			if n := j - i + 1; n > 0 {
				if n > s.maxResults() {
					L.RaiseError("string slice too long")
				}
				b.charge(L, n)
			}
			return orig(L)
		})
	}
	if orig := gfn(strT, "format"); orig != nil {
		set(strT, "format", func(L *lua.LState) int {
			f := L.CheckString(1)
			checkFormatWidths(L, f)
			size := int64(len(f))
			for i := 2; i <= L.GetTop(); i++ {
				if v, ok := L.Get(i).(lua.LString); ok {
					size += 2 * int64(len(v)) // %q may double it
				}
				size += 100
			}
			b.alloc(L, size)
			return orig(L)
		})
	}
	for _, name := range []string{"find", "match", "gmatch", "gsub"} {
		s.boundPattern(strT, name)
	}
	if strT.RawGetString("gfind") != lua.LNil {
		strT.RawSetString("gfind", strT.RawGetString("gmatch")) // Lua 5.1's old name
	}

	set(tblT, "concat", func(L *lua.LState) int {
		t := L.CheckTable(1)
		sep := L.OptString(2, "")
		i := L.OptInt(3, 1)
		j := L.OptInt(4, t.Len())
		if i > j {
			L.Push(lua.LString(""))
			return 1
		}
		b.charge(L, j-i+1)
		total := int64(0)
		for k := i; k <= j; k++ {
			switch v := t.RawGetInt(k).(type) {
			case lua.LString:
				total += int64(len(v))
			case lua.LNumber:
				total += 24
			default:
				L.RaiseError("invalid value (at index %d) in table for 'concat'", k)
			}
			if k < j {
				total += int64(len(sep))
			}
		}
		b.alloc(L, total)
		var sb strings.Builder
		sb.Grow(int(total))
		for k := i; k <= j; k++ {
			sb.WriteString(t.RawGetInt(k).String())
			if k < j {
				sb.WriteString(sep)
			}
		}
		L.Push(lua.LString(sb.String()))
		return 1
	})
	g.RawSetString("unpack", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		i := L.OptInt(2, 1)
		j := L.OptInt(3, t.Len())
		if i > j {
			return 0
		}
		n := int64(j) - int64(i) + 1
		if n > int64(s.maxResults()) {
			L.RaiseError("too many results to unpack")
		}
		b.charge(L, int(n))
		for k := i; k <= j; k++ {
			L.Push(t.RawGetInt(k))
		}
		return int(n)
	}))
	if orig := gfn(tblT, "insert"); orig != nil {
		set(tblT, "insert", func(L *lua.LState) int {
			if t, ok := L.Get(1).(*lua.LTable); ok && L.GetTop() >= 3 {
				b.charge(L, t.Len()-L.CheckInt(2)+1) // the elements moved up
			}
			return orig(L)
		})
	}
	if orig := gfn(tblT, "remove"); orig != nil {
		set(tblT, "remove", func(L *lua.LState) int {
			if t, ok := L.Get(1).(*lua.LTable); ok && L.GetTop() >= 2 {
				b.charge(L, t.Len()-L.CheckInt(2)+1) // the elements moved down
			}
			return orig(L)
		})
	}
	if gfn(tblT, "maxn") != nil {
		set(tblT, "maxn", func(L *lua.LState) int {
			t := L.CheckTable(1)
			top, n := 0.0, 0
			t.ForEach(func(k, _ lua.LValue) {
				n++
				if kn, ok := k.(lua.LNumber); ok && float64(kn) > top {
					top = float64(kn)
				}
			})
			b.charge(L, n)
			L.Push(lua.LNumber(top))
			return 1
		})
	}
	if orig := gfn(tblT, "sort"); orig != nil {
		set(tblT, "sort", func(L *lua.LState) int {
			if t, ok := L.Get(1).(*lua.LTable); ok {
				n := t.Len()
				b.charge(L, n*(1+int(math.Log2(float64(n+1)))))
			}
			return orig(L)
		})
	}

	// collectgarbage: gopher-lua runs a full Go collection per call, which a
	// loop turns into minutes; Go collects on its own.
	g.RawSetString("collectgarbage", L.NewFunction(func(L *lua.LState) int {
		switch L.OptString(1, "collect") {
		case "count":
			heap := b.heapObjects()
			used := 0.0
			if heap > b.base {
				used = float64(heap-b.base) / 1024
			}
			L.Push(lua.LNumber(used))
			return 1
		case "step", "isrunning":
			L.Push(lua.LFalse)
			return 1
		}
		L.Push(lua.LNumber(0))
		return 1
	}))

	// load and loadstring: charged by source length; Lua 5.2 and later
	// load a string chunk too (5.1's load takes only a reader function).
	loadString := func(L *lua.LState, src, chunk string, env lua.LValue) int {
		// Compiling costs about as much per byte as 50 instructions.
		b.charge(L, 64*len(src))
		fn, err := L.Load(strings.NewReader(src), chunkID(chunk))
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		if t, ok := env.(*lua.LTable); ok {
			fn.Env = t
		}
		L.Push(fn)
		return 1
	}
	if _, ok := g.RawGetString("loadstring").(*lua.LFunction); ok {
		g.RawSetString("loadstring", L.NewFunction(func(L *lua.LState) int {
			src := L.CheckString(1)
			return loadString(L, src, L.OptString(2, src), lua.LNil)
		}))
	}
	if origLoad := gfn(g, "load"); origLoad != nil {
		g.RawSetString("load", L.NewFunction(func(L *lua.LState) int {
			if str, ok := L.Get(1).(lua.LString); ok && s.prof.lua != 51 {
				return loadString(L, string(str), L.OptString(2, string(str)), L.Get(4))
			}
			return origLoad(L)
		}))
	}

	// Coroutines: each runs on its own gopher-lua thread, which gets the
	// budget's context (gopher-lua would give it a child context whose
	// instructions nobody counts); resuming nests Go calls, so its depth is
	// bounded.
	adopt := func(L *lua.LState) {
		if th, ok := L.Get(-1).(*lua.LState); ok {
			th.SetContext(&luaCtx{b: b, L: th})
		}
	}
	if orig := gfn(coT, "create"); orig != nil {
		set(coT, "create", func(L *lua.LState) int {
			b.alloc(L, coroutineCost)
			n := orig(L)
			adopt(L)
			return n
		})
	}
	if orig := gfn(coT, "wrap"); orig != nil {
		set(coT, "wrap", func(L *lua.LState) int {
			b.alloc(L, coroutineCost)
			n := orig(L)
			if f, ok := L.Get(-1).(*lua.LFunction); ok && len(f.Upvalues) > 0 {
				if th, ok := f.Upvalues[0].Value().(*lua.LState); ok {
					th.SetContext(&luaCtx{b: b, L: th})
				}
				inner := f.GFunction
				f.GFunction = func(L *lua.LState) int {
					s.resumeDepth++
					defer func() { s.resumeDepth-- }()
					if s.resumeDepth > maxResumeDepth {
						L.RaiseError("C stack overflow")
					}
					return inner(L)
				}
			}
			return n
		})
	}
	if orig := gfn(coT, "resume"); orig != nil {
		set(coT, "resume", func(L *lua.LState) int {
			s.resumeDepth++
			defer func() { s.resumeDepth-- }()
			if s.resumeDepth > maxResumeDepth {
				L.Push(lua.LFalse)
				L.Push(lua.LString("C stack overflow"))
				return 2
			}
			return orig(L)
		})
	}

	s.trackCaughtErrors()
}

// chunkID is how Lua names a chunk in messages: "=name" and "@file" as
// given, other chunk names (by default the source itself) as
// [string "first line..."].
func chunkID(name string) string {
	if strings.HasPrefix(name, "=") || strings.HasPrefix(name, "@") {
		return name[1:]
	}
	line, _, multi := strings.Cut(name, "\n")
	const max = 45
	if len(line) > max {
		line, multi = line[:max], true
	}
	if multi {
		line += "..."
	}
	return `[string "` + line + `"]`
}

// strIndex turns a Lua string index (negative from the end) into a 1-based
// position clamped to the string.
func strIndex(i, n int) int {
	if i < 0 {
		i = n + i + 1
	}
	if i < 1 {
		i = 1
	}
	if i > n {
		i = n
	}
	return i
}

// checkFormatWidths rejects what Lua rejects: a width or precision of more
// than two digits (gopher-lua hands them to Go's fmt, which pads to
// whatever size is asked).
func checkFormatWidths(L *lua.LState, f string) {
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			continue
		}
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		digits := 0
		for i < len(f) && f[i] >= '0' && f[i] <= '9' {
			i++
			digits++
		}
		if digits > 2 {
			L.RaiseError("invalid format (width or precision too long)")
		}
		if i < len(f) && f[i] == '.' {
			i++
			digits = 0
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i++
				digits++
			}
			if digits > 2 {
				L.RaiseError("invalid format (width or precision too long)")
			}
		}
	}
}

// trackCaughtErrors wraps pcall, xpcall and error so that a runtime error
// of the language the script catches itself during a dissector call (a
// bug the script hides, typically turning it into an expert info:
// "attempt to index a nil value") is recorded as a Lua error. Not
// recorded: values given to error() (a script's own way to unwind), errors
// the Wireshark API raises (a script may catch them on purpose), the
// emulator's "not available in this release" errors (feature tests), and
// errors while loading.
func (s *State) trackCaughtErrors() {
	L := s.L
	g := L.G.Global
	origError := g.RawGetString("error").(*lua.LFunction).GFunction
	g.RawSetString("error", L.NewFunction(func(L *lua.LState) int {
		s.errorRaised = L.Get(1)
		return origError(L)
	}))
	note := func(L *lua.LState, err error) {
		ae, ok := err.(*lua.ApiError)
		if !ok || s.cur == nil || s.budget.exceeded != "" || len(s.caught) >= 20 {
			return
		}
		obj := ae.Object
		if obj == nil {
			return
		}
		if obj == s.errorRaised {
			return
		}
		msg, isStr := obj.(lua.LString)
		if !isStr {
			return
		}
		if r, ok := s.errorRaised.(lua.LString); ok && strings.HasSuffix(string(msg), string(r)) {
			return
		}
		// Only the language's own runtime errors (indexing or calling nil,
		// arithmetic on a non-number, ...): an error the Wireshark API
		// raises, such as a range past the end of the tvb, is one a script
		// may catch on purpose to test for a short packet.
		if !strings.Contains(string(msg), "attempt to ") || strings.Contains(string(msg), "is not available in") {
			return
		}
		s.caught = append(s.caught, &LuaError{Message: string(msg), Traceback: ae.StackTrace, Where: errorPosition(string(msg)), Caught: true})
	}
	g.RawSetString("pcall", L.NewFunction(func(L *lua.LState) int {
		L.CheckAny(1)
		v := L.Get(1)
		if v.Type() != lua.LTFunction && L.GetMetaField(v, "__call").Type() != lua.LTFunction {
			L.Push(lua.LFalse)
			L.Push(lua.LString("attempt to call a " + v.Type().String() + " value"))
			return 2
		}
		if err := L.PCall(L.GetTop()-1, lua.MultRet, nil); err != nil {
			note(L, err)
			L.Push(lua.LFalse)
			if ae, ok := err.(*lua.ApiError); ok {
				L.Push(ae.Object)
			} else {
				L.Push(lua.LString(err.Error()))
			}
			return 2
		}
		L.Insert(lua.LTrue, 1)
		return L.GetTop()
	}))
	g.RawSetString("xpcall", L.NewFunction(func(L *lua.LState) int {
		fn := L.CheckFunction(1)
		handler := L.CheckFunction(2)
		extra := L.GetTop() - 2
		// Lua 5.2+ pass the extra arguments to the function.
		args := make([]lua.LValue, 0, extra)
		if s.prof.lua != 51 {
			for i := 3; i <= L.GetTop(); i++ {
				args = append(args, L.Get(i))
			}
		}
		top := L.GetTop()
		L.Push(fn)
		for _, a := range args {
			L.Push(a)
		}
		var raised error
		wrapped := L.NewFunction(func(L *lua.LState) int {
			raised = &lua.ApiError{Type: lua.ApiErrorRun, Object: L.Get(1), StackTrace: traceOf(L)}
			L.Push(handler)
			L.Push(L.Get(1))
			L.Call(1, 1)
			return 1
		})
		if err := L.PCall(len(args), lua.MultRet, wrapped); err != nil {
			if raised != nil {
				note(L, raised)
			}
			L.Push(lua.LFalse)
			if ae, ok := err.(*lua.ApiError); ok {
				L.Push(ae.Object)
			} else {
				L.Push(lua.LString(err.Error()))
			}
			return 2
		}
		L.Insert(lua.LTrue, top+1)
		return L.GetTop() - top
	}))
}

func traceOf(L *lua.LState) string {
	_, tb := luaPosition(L)
	return tb
}

// takeCaught returns and clears the caught runtime errors of the call.
func (s *State) takeCaught() []*LuaError {
	c := s.caught
	s.caught = nil
	return c
}

// closePackageAndOS leaves a script no way to the machine through the os
// and package libraries: os keeps time, clock, date and difftime (the rest
// raise an error); package keeps preload and loaded, its searchers only
// look in package.preload (gopher-lua's second loader opens any file
// package.path names, a FIFO included), loadlib raises, and require only
// returns modules already loaded or preloaded. It returns package.loaded.
func (s *State) closePackageAndOS() *lua.LTable {
	L := s.L
	g := L.G.Global
	disabled := func(name string) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("wslua: %s is disabled in the sandbox", name)
			return 0
		})
	}
	osT := g.RawGetString("os").(*lua.LTable)
	keep := map[string]bool{"time": true, "clock": true, "date": true, "difftime": true}
	var names []string
	osT.ForEach(func(k, _ lua.LValue) {
		if ks, ok := k.(lua.LString); ok && !keep[string(ks)] {
			names = append(names, string(ks))
		}
	})
	for _, n := range names {
		osT.RawSetString(n, disabled("os."+n))
	}
	if f, ok := osT.RawGetString("date").(*lua.LFunction); ok && f.IsG {
		orig := f.GFunction
		osT.RawSetString("date", L.NewFunction(func(L *lua.LState) int {
			// Each directive yields at most a few dozen bytes.
			s.budget.alloc(L, 32*int64(len(L.OptString(1, ""))))
			return orig(L)
		}))
	}

	pkg := g.RawGetString("package").(*lua.LTable)
	loaded, ok := pkg.RawGetString("loaded").(*lua.LTable)
	if !ok {
		loaded = L.NewTable()
	}
	preload, ok := pkg.RawGetString("preload").(*lua.LTable)
	if !ok {
		preload = L.NewTable()
	}
	searchPreload := L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		if f := preload.RawGetString(name); f != lua.LNil {
			L.Push(f)
			return 1
		}
		L.Push(lua.LString("\n\tno field package.preload['" + name + "']"))
		return 1
	})
	searchers := L.CreateTable(1, 0)
	searchers.RawSetInt(1, searchPreload)
	fresh := L.NewTable()
	fresh.RawSetString("loaded", loaded)
	fresh.RawSetString("preload", preload)
	fresh.RawSetString("path", lua.LString(""))
	fresh.RawSetString("cpath", lua.LString(""))
	fresh.RawSetString("config", pkg.RawGetString("config"))
	fresh.RawSetString("loadlib", disabled("package.loadlib"))
	if s.prof.lua == 51 {
		fresh.RawSetString("loaders", searchers)
		fresh.RawSetString("seeall", pkg.RawGetString("seeall"))
	} else {
		fresh.RawSetString("searchers", searchers)
	}
	g.RawSetString("package", fresh)
	loaded.RawSetString("package", fresh)
	L.SetField(L.Get(lua.RegistryIndex), "_LOADERS", searchers)

	g.RawSetString("require", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		if v := loaded.RawGetString(name); v != lua.LNil && v != lua.LFalse {
			L.Push(v)
			return 1
		}
		if f, ok := preload.RawGetString(name).(*lua.LFunction); ok {
			L.Push(f)
			L.Push(lua.LString(name))
			L.Call(1, 1)
			v := L.Get(-1)
			if v == lua.LNil {
				v = lua.LTrue
			}
			loaded.RawSetString(name, v)
			L.Pop(1)
			L.Push(v)
			return 1
		}
		L.RaiseError("module '%s' not found: the wslua sandbox does not load files", name)
		return 0
	}))
	return loaded
}

// boundAPI checks the allocations of the emulated API's functions whose
// result size a script chooses (ByteArray:set_size(2^40) would otherwise
// ask Go for a terabyte).
func (s *State) boundAPI() {
	L := s.L
	b := s.budget
	wrap := func(t *lua.LTable, name string, size func(L *lua.LState) int64) {
		f, ok := t.RawGetString(name).(*lua.LFunction)
		if !ok || !f.IsG {
			return
		}
		orig := f.GFunction
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			b.alloc(L, size(L))
			return orig(L)
		}))
	}
	baLen := func(L *lua.LState, n int) int64 {
		if ud, ok := L.Get(n).(*lua.LUserData); ok {
			if ba, ok := ud.Value.(*byteArray); ok {
				return int64(len(ba.b))
			}
		}
		if str, ok := L.Get(n).(lua.LString); ok {
			return int64(len(str))
		}
		return 64
	}
	if cls, ok := s.mtBA.RawGetString("__index").(*lua.LTable); ok {
		wrap(cls, "set_size", func(L *lua.LState) int64 { return max(0, int64(L.OptNumber(2, 0))) })
		wrap(cls, "append", func(L *lua.LState) int64 { return baLen(L, 1) + baLen(L, 2) })
		wrap(cls, "prepend", func(L *lua.LState) int64 { return baLen(L, 1) + baLen(L, 2) })
		wrap(cls, "tohex", func(L *lua.LState) int64 {
			return baLen(L, 1) * (3 + int64(len(L.OptString(3, ""))))
		})
	}
	concatSize := func(L *lua.LState) int64 { return 2 * (baLen(L, 1) + baLen(L, 2)) }
	wrap(s.mtBA, "__concat", concatSize)
	wrap(s.mtRange, "__concat", concatSize)
}
