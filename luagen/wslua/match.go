package wslua

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// A Lua pattern matcher (string.find, match, gmatch, gsub) that charges
// every step to the instruction budget. gopher-lua's own matcher cannot be
// interrupted: string.find(string.rep("a", 30000), ".-.-.-.-b") runs for
// minutes inside one library call. This one follows the reference
// implementation's semantics (backtracking, captures, %b, %f, back
// references) and raises the budget error as soon as the work passes the
// call's budget.

const (
	maxCaptures    = 32
	maxMatchDepth  = 200 // Lua's MAXCCALLS: "pattern too complex"
	capUnfinished  = -1
	capPosition    = -2
	matchStepBatch = 1024
	patSpecials    = "^$*+?.([%-"
)

type patMatcher struct {
	src, pat string
	level    int
	capInit  [maxCaptures]int
	capLen   [maxCaptures]int
	depth    int
	steps    int
	lua51    bool
	b        *budget
	L        *lua.LState
}

func (m *patMatcher) tick() {
	m.steps++
	if m.steps >= matchStepBatch {
		m.b.charge(m.L, m.steps)
		m.steps = 0
	}
}

func (m *patMatcher) flush() {
	m.b.charge(m.L, m.steps)
	m.steps = 0
}

func (m *patMatcher) fail(msg string) {
	m.L.RaiseError("%s", msg)
}

// classEnd returns the index just past the single-character class at p.
func (m *patMatcher) classEnd(p int) int {
	pat := m.pat
	c := pat[p]
	p++
	switch c {
	case '%':
		if p >= len(pat) {
			m.fail("malformed pattern (ends with '%')")
		}
		return p + 1
	case '[':
		if p < len(pat) && pat[p] == '^' {
			p++
		}
		for {
			// The first character of a set is part of it, even ']'.
			if p >= len(pat) {
				m.fail("malformed pattern (missing ']')")
			}
			c := pat[p]
			p++
			if c == '%' {
				if p >= len(pat) {
					m.fail("malformed pattern (missing ']')")
				}
				p++
			}
			if p >= len(pat) {
				m.fail("malformed pattern (missing ']')")
			}
			if pat[p] == ']' {
				return p + 1
			}
		}
	}
	return p
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
func isCntrl(c byte) bool { return c < 32 || c == 127 }
func isPunct(c byte) bool { return c > 32 && c < 127 && !isAlpha(c) && !isDigit(c) }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isXDigit(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

// matchClass tests c against the class letter cl of %cl (C locale).
func (m *patMatcher) matchClass(c, cl byte) bool {
	var res bool
	switch cl | 0x20 {
	case 'a':
		res = isAlpha(c)
	case 'c':
		res = isCntrl(c)
	case 'd':
		res = isDigit(c)
	case 'g':
		if m.lua51 {
			return cl == c
		}
		res = c > 32 && c < 127
	case 'l':
		res = isLower(c)
	case 'p':
		res = isPunct(c)
	case 's':
		res = isSpace(c)
	case 'u':
		res = isUpper(c)
	case 'w':
		res = isAlpha(c) || isDigit(c)
	case 'x':
		res = isXDigit(c)
	case 'z':
		res = c == 0
	default:
		return cl == c
	}
	if isUpper(cl) {
		return !res
	}
	return res
}

// matchSet tests c against the set [ ... ] from p (at '[') to ec (at ']').
func (m *patMatcher) matchSet(c byte, p, ec int) bool {
	pat := m.pat
	sig := true
	p++
	if pat[p] == '^' {
		sig = false
		p++
	}
	for ; p < ec; p++ {
		switch {
		case pat[p] == '%' && p+1 < ec:
			p++
			if m.matchClass(c, pat[p]) {
				return sig
			}
		case p+2 < ec && pat[p+1] == '-':
			if pat[p] <= c && c <= pat[p+2] {
				return sig
			}
			p += 2
		case pat[p] == c:
			return sig
		}
	}
	return !sig
}

func (m *patMatcher) single(s, p, ep int) bool {
	if s >= len(m.src) {
		return false
	}
	c := m.src[s]
	switch m.pat[p] {
	case '.':
		return true
	case '%':
		return m.matchClass(c, m.pat[p+1])
	case '[':
		return m.matchSet(c, p, ep-1)
	}
	return m.pat[p] == c
}

// match returns the end of a match of pat[p:] at src[s:], or -1.
func (m *patMatcher) match(s, p int) int {
	m.depth++
	if m.depth > maxMatchDepth {
		m.fail("pattern too complex")
	}
	r := m.doMatch(s, p)
	m.depth--
	return r
}

func (m *patMatcher) doMatch(s, p int) int {
	pat, src := m.pat, m.src
	for {
		m.tick()
		if p >= len(pat) {
			return s
		}
		switch pat[p] {
		case '(':
			if p+1 < len(pat) && pat[p+1] == ')' {
				return m.startCapture(s, p+2, capPosition)
			}
			return m.startCapture(s, p+1, capUnfinished)
		case ')':
			return m.endCapture(s, p+1)
		case '$':
			if p+1 == len(pat) {
				if s == len(src) {
					return s
				}
				return -1
			}
		case '%':
			if p+1 < len(pat) {
				switch c := pat[p+1]; {
				case c == 'b':
					s = m.matchBalance(s, p+2)
					if s == -1 {
						return -1
					}
					p += 4
					continue
				case c == 'f':
					p += 2
					if p >= len(pat) || pat[p] != '[' {
						m.fail("missing '[' after '%f' in pattern")
					}
					ep := m.classEnd(p)
					var prev, cur byte
					if s > 0 {
						prev = src[s-1]
					}
					if s < len(src) {
						cur = src[s]
					}
					if !m.matchSet(prev, p, ep-1) && m.matchSet(cur, p, ep-1) {
						p = ep
						continue
					}
					return -1
				case isDigit(c):
					s = m.matchBackref(s, c)
					if s == -1 {
						return -1
					}
					p += 2
					continue
				}
			}
		}
		ep := m.classEnd(p)
		ok := m.single(s, p, ep)
		if ep < len(pat) {
			switch pat[ep] {
			case '?':
				if ok {
					if r := m.match(s+1, ep+1); r != -1 {
						return r
					}
				}
				p = ep + 1
				continue
			case '+':
				if !ok {
					return -1
				}
				return m.maxExpand(s+1, p, ep)
			case '*':
				return m.maxExpand(s, p, ep)
			case '-':
				return m.minExpand(s, p, ep)
			}
		}
		if !ok {
			return -1
		}
		s++
		p = ep
	}
}

func (m *patMatcher) maxExpand(s, p, ep int) int {
	i := 0
	for m.single(s+i, p, ep) {
		m.tick()
		i++
	}
	for ; i >= 0; i-- {
		if r := m.match(s+i, ep+1); r != -1 {
			return r
		}
	}
	return -1
}

func (m *patMatcher) minExpand(s, p, ep int) int {
	for {
		if r := m.match(s, ep+1); r != -1 {
			return r
		}
		if !m.single(s, p, ep) {
			return -1
		}
		s++
	}
}

func (m *patMatcher) startCapture(s, p, what int) int {
	if m.level >= maxCaptures {
		m.fail("too many captures")
	}
	m.capInit[m.level] = s
	m.capLen[m.level] = what
	m.level++
	r := m.match(s, p)
	if r == -1 {
		m.level--
	}
	return r
}

func (m *patMatcher) endCapture(s, p int) int {
	l := -1
	for i := m.level - 1; i >= 0; i-- {
		if m.capLen[i] == capUnfinished {
			l = i
			break
		}
	}
	if l < 0 {
		m.fail("invalid pattern capture")
	}
	m.capLen[l] = s - m.capInit[l]
	r := m.match(s, p)
	if r == -1 {
		m.capLen[l] = capUnfinished
	}
	return r
}

func (m *patMatcher) matchBalance(s, p int) int {
	if p+1 >= len(m.pat) {
		m.fail("missing arguments to '%b'")
	}
	if s >= len(m.src) || m.src[s] != m.pat[p] {
		return -1
	}
	open, cl := m.pat[p], m.pat[p+1]
	depth := 1
	for i := s + 1; i < len(m.src); i++ {
		m.tick()
		switch m.src[i] {
		case cl:
			depth--
			if depth == 0 {
				return i + 1
			}
		case open:
			depth++
		}
	}
	return -1
}

func (m *patMatcher) matchBackref(s int, c byte) int {
	l := int(c) - '1'
	if l < 0 || l >= m.level || m.capLen[l] == capUnfinished {
		m.fail("invalid capture index")
	}
	n := m.capLen[l]
	if n < 0 || len(m.src)-s < n {
		return -1
	}
	m.b.charge(m.L, n/64)
	if m.src[m.capInit[l]:m.capInit[l]+n] == m.src[s:s+n] {
		return s + n
	}
	return -1
}

// capture returns capture i of the match src[s:e].
func (m *patMatcher) capture(i, s, e int) lua.LValue {
	if i >= m.level {
		if i == 0 {
			return lua.LString(m.src[s:e])
		}
		m.fail("invalid capture index")
	}
	switch n := m.capLen[i]; n {
	case capUnfinished:
		m.fail("unfinished capture")
	case capPosition:
		return lua.LNumber(m.capInit[i] + 1)
	}
	return lua.LString(m.src[m.capInit[i] : m.capInit[i]+m.capLen[i]])
}

// pushCaptures pushes the captures (or the whole match when there are none
// and whole is set) and returns how many.
func (m *patMatcher) pushCaptures(s, e int, whole bool) int {
	n := m.level
	if n == 0 && whole {
		n = 1
	}
	for i := 0; i < n; i++ {
		m.L.Push(m.capture(i, s, e))
	}
	return n
}

func (s *State) newMatcher(L *lua.LState, src, pat string) *patMatcher {
	return &patMatcher{src: src, pat: pat, lua51: s.prof.lua == 51, b: s.budget, L: L}
}

// boundPattern installs the bounded string.find/match/gmatch/gsub.
func (s *State) boundPattern(strT *lua.LTable, name string) {
	L := s.L
	switch name {
	case "find", "match":
		find := name == "find"
		strT.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			src := L.CheckString(1)
			pat := L.CheckString(2)
			init := L.OptInt(3, 1)
			if init < 0 {
				init = len(src) + init + 1
				if init < 1 {
					init = 1
				}
			} else if init == 0 {
				init = 1
			}
			if init > len(src)+1 {
				if !s.luaAtLeast52() {
					init = len(src) + 1
				} else {
					L.Push(lua.LNil)
					return 1
				}
			}
			if find && (L.ToBool(4) || !strings.ContainsAny(pat, patSpecials)) {
				s.budget.charge(L, (len(src)-init+1)/16)
				i := strings.Index(src[init-1:], pat)
				if i < 0 {
					L.Push(lua.LNil)
					return 1
				}
				L.Push(lua.LNumber(init + i))
				L.Push(lua.LNumber(init + i + len(pat) - 1))
				return 2
			}
			m := s.newMatcher(L, src, pat)
			p := 0
			anchor := len(pat) > 0 && pat[0] == '^'
			if anchor {
				p = 1
			}
			for s1 := init - 1; s1 <= len(src); s1++ {
				m.level, m.depth = 0, 0
				if e := m.match(s1, p); e != -1 {
					m.flush()
					if find {
						L.Push(lua.LNumber(s1 + 1))
						L.Push(lua.LNumber(e))
						return 2 + m.pushCaptures(-1, -1, false)
					}
					return m.pushCaptures(s1, e, true)
				}
				if anchor {
					break
				}
			}
			m.flush()
			L.Push(lua.LNil)
			return 1
		}))
	case "gmatch":
		strT.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			src := L.CheckString(1)
			pat := L.CheckString(2)
			pos, last := 0, -1
			L.Push(L.NewFunction(func(L *lua.LState) int {
				m := s.newMatcher(L, src, pat)
				for ; pos <= len(src); pos++ {
					m.level, m.depth = 0, 0
					e := m.match(pos, 0)
					if e == -1 || (s.prof.lua == 54 && e == last) {
						continue
					}
					start := pos
					pos = e
					if s.prof.lua == 54 {
						last = e
					} else if e == start {
						pos++ // an empty match: move on
					}
					m.flush()
					return m.pushCaptures(start, e, true)
				}
				m.flush()
				return 0
			}))
			return 1
		}))
	case "gsub":
		strT.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			src := L.CheckString(1)
			pat := L.CheckString(2)
			L.CheckTypes(3, lua.LTString, lua.LTNumber, lua.LTTable, lua.LTFunction)
			repl := L.Get(3)
			maxN := L.OptInt(4, len(src)+1)
			m := s.newMatcher(L, src, pat)
			p := 0
			anchor := len(pat) > 0 && pat[0] == '^'
			if anchor {
				p = 1
			}
			var out strings.Builder
			nextCheck := 1 << 20
			n := 0
			pos, last := 0, -1
			for n < maxN {
				m.level, m.depth = 0, 0
				e := m.match(pos, p)
				matched := e != -1 && (s.prof.lua != 54 || e != last)
				if matched {
					n++
					s.addValue(m, &out, pos, e, repl)
					if out.Len() > nextCheck {
						s.budget.alloc(L, int64(out.Len()))
						nextCheck = 2 * out.Len()
					}
				}
				switch {
				case matched && s.prof.lua == 54:
					pos, last = e, e
				case matched && e > pos:
					pos = e
				case pos < len(src):
					out.WriteByte(src[pos])
					pos++
				default:
					pos = len(src) + 1
				}
				if pos > len(src) || anchor {
					break
				}
			}
			if pos < len(src) {
				out.WriteString(src[pos:])
			}
			m.flush()
			L.Push(lua.LString(out.String()))
			L.Push(lua.LNumber(n))
			return 2
		}))
	}
}

func (s *State) luaAtLeast52() bool { return s.prof.lua != 51 }

// addValue appends the replacement of the match src[st:e] (gsub).
func (s *State) addValue(m *patMatcher, out *strings.Builder, st, e int, repl lua.LValue) {
	L := m.L
	var v lua.LValue
	switch r := repl.(type) {
	case lua.LString, lua.LNumber:
		rs := r.String()
		for i := 0; i < len(rs); i++ {
			c := rs[i]
			if c != '%' {
				out.WriteByte(c)
				continue
			}
			i++
			if i >= len(rs) {
				if !s.luaAtLeast52() {
					out.WriteByte('%')
					break
				}
				L.RaiseError("invalid use of '%%' in replacement string")
			}
			c = rs[i]
			switch {
			case c == '%':
				out.WriteByte('%')
			case c == '0':
				out.WriteString(m.src[st:e])
			case isDigit(c):
				out.WriteString(m.capture(int(c-'1'), st, e).String())
			case !s.luaAtLeast52():
				out.WriteByte(c)
			default:
				L.RaiseError("invalid use of '%%' in replacement string")
			}
		}
		m.tick()
		return
	case *lua.LTable:
		v = L.GetTable(r, m.capture(0, st, e))
	case *lua.LFunction:
		L.Push(r)
		n := m.pushCaptures(st, e, true)
		L.Call(n, 1)
		v = L.Get(-1)
		L.Pop(1)
	}
	switch x := v.(type) {
	case *lua.LNilType:
		out.WriteString(m.src[st:e])
	case lua.LBool:
		if x {
			L.RaiseError("invalid replacement value (a boolean)")
		}
		out.WriteString(m.src[st:e])
	case lua.LString, lua.LNumber:
		out.WriteString(x.String())
	default:
		L.RaiseError("invalid replacement value (a %s)", v.Type().String())
	}
}
