package wslua

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// patternScript exercises string.find, match, gmatch and gsub on a corpus
// of subjects and patterns and prints the outcome of each, so that the
// emulator's pattern matcher can be compared with the real Lua's.
const patternScript = `
local cases = {
  {"hello world", "o"}, {"hello world", "o w"}, {"hello world", "l+"}, {"hello world", "l*"},
  {"hello world", "l-o"}, {"hello world", "^h"}, {"hello world", "^w"}, {"hello world", "d$"},
  {"hello world", "o$"}, {"hello world", "(h)(e)"}, {"hello world", "()ll()"}, {"hello world", "(l)(l)"},
  {"hello world", "%w+"}, {"hello world", "%s"}, {"hello world", "%S+"}, {"hello world", "[aeiou]"},
  {"hello world", "[^aeiou ]+"}, {"hello world", "[a-f]"}, {"hello world", "[%a]+"}, {"hello world", ""},
  {"hello world", ".-"}, {"hello world", ".-$"}, {"hello world", "x*"}, {"hello world", "x?h"},
  {"THE (quick) fox", "%((%a+)%)"}, {"THE (quick) fox", "%b()"}, {"f(a(b)c)d", "%b()"}, {"f(a(b)c", "%b()"},
  {"THE (quick) fox", "%f[%a]%a+"}, {"THE (quick) fox", "%f[%A]"}, {"key = value", "(%w+)%s*=%s*(%w+)"},
  {"abcabc", "(abc)%1"}, {"abcabd", "(ab)c%1"}, {"a.b.c", "%."}, {"a.b.c", "."}, {"a+b", "a+b"},
  {"a+b", "a%+b"}, {"[x]", "[]]"}, {"[x]", "[^]]+"}, {"a-b", "[a-]"}, {"a-b", "[-b]+"},
  {"x\0y", "%z"}, {"x\0y", "[%z]"}, {"12ab34", "%d+"}, {"12ab34", "%x+"}, {"12ab34", "%D+"},
  {"  trim  ", "^%s*(.-)%s*$"}, {"", ""}, {"", "a*"}, {"", "^$"}, {"abc", "$"}, {"a$b", "$b"},
  {"aaa", "a-"}, {"aaa", "a-$"}, {"aaab", "a-b"}, {"banana", "(an)+"}, {"banana", "an?"},
  {"one two  three", "(%w+)"}, {"x=1, y=2", "(%w+)=(%w+)"}, {"abc", "()"}, {"hello", "(h)(.)()"},
  {"CamelCaseWord", "%u%l*"}, {"tab\there", "%c"}, {"p.u,n;c", "%p"}, {"g r a p h", "%g"},
  {"abc", "[b-a]"}, {"abc", "%"}, {"abc", "[a"}, {"abc", "(a"}, {"abc", "a)"}, {"abc", "%1"},
  {"abc", "%bx"}, {"abc", "%f"}, {"hello", "l+o?"}, {"aXbXc", "X"}, {"0x1F", "^0[xX](%x+)$"},
}
local function esc(x)
  -- Lua 5.1's print stops at a NUL byte.
  local out = {}
  for i = 1, #x do
    local b = string.byte(x, i)
    out[#out + 1] = b == 0 and "<NUL>" or string.char(b)
  end
  return table.concat(out)
end
local function ser(ok, ...)
  if not ok then return "ERR" end
  local t = {}
  for i = 1, select("#", ...) do t[#t + 1] = esc(tostring((select(i, ...)))) end
  return table.concat(t, ",")
end
for i, c in ipairs(cases) do
  local s, p = c[1], c[2]
  print(i, "find", ser(pcall(string.find, s, p)))
  print(i, "find3", ser(pcall(string.find, s, p, 3)))
  print(i, "findneg", ser(pcall(string.find, s, p, -3)))
  print(i, "match", ser(pcall(string.match, s, p)))
  print(i, "match2", ser(pcall(string.match, s, p, 2)))
  local g = {}
  local ok = pcall(function()
    local n = 0
    for a, b in string.gmatch(s, p) do
      g[#g + 1] = tostring(a) .. "/" .. tostring(b)
      n = n + 1
      if n > 50 then break end
    end
  end)
  print(i, "gmatch", ok and esc(table.concat(g, ";")) or "ERR")
  print(i, "gsub", ser(pcall(string.gsub, s, p, "<%0>")))
  print(i, "gsub1", ser(pcall(string.gsub, s, p, "[%1]", 2)))
  print(i, "gsubf", ser(pcall(string.gsub, s, p, function(a) if a == "l" then return false end return "{" .. tostring(a) .. "}" end)))
  print(i, "gsubt", ser(pcall(string.gsub, s, p, {l = "L", o = 0})))
end
`

// TestPatternsMatchRealLua compares the bounded matcher with the real Lua
// 5.1 and 5.4 interpreters on the corpus above.
func TestPatternsMatchRealLua(t *testing.T) {
	for _, tc := range []struct {
		bin  string
		prof Profile
	}{{"lua5.1", Profile110}, {"lua5.4", Profile44}} {
		t.Run(tc.bin, func(t *testing.T) {
			bin, err := exec.LookPath(tc.bin)
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s not installed", tc.bin)
				}
				t.Skipf("%s not installed", tc.bin)
			}
			cmd := exec.Command(bin, "-")
			cmd.Stdin = strings.NewReader(patternScript)
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", tc.bin, err)
			}
			var got bytes.Buffer
			s := New(Options{Profile: tc.prof, Stdout: &got})
			defer s.Close()
			if err := s.Load("patterns.lua", []byte(patternScript)); err != nil {
				t.Fatal(err)
			}
			wl, gl := strings.Split(string(want), "\n"), strings.Split(got.String(), "\n")
			bad := 0
			for i := 0; i < len(wl) || i < len(gl); i++ {
				var w, g string
				if i < len(wl) {
					w = wl[i]
				}
				if i < len(gl) {
					g = gl[i]
				}
				if w != g {
					bad++
					if bad <= 20 {
						t.Errorf("line %d:\n  %s: %q\n  wslua:  %q", i+1, tc.bin, w, g)
					}
				}
			}
		})
	}
}

// FuzzPatterns runs string.find, match, gmatch and gsub on any subject and
// pattern: an error is fine, a Go panic or a run past the budget is not.
func FuzzPatterns(f *testing.F) {
	for _, c := range [][2]string{{"hello world", "(%w+) (%w+)"}, {"f(a(b)c)d", "%b()"}, {"THE (quick) fox", "%f[%a]%a+"},
		{"abcabc", "(abc)%1"}, {"aaa", "a-$"}, {"x", "[%"}, {"a", "(()"}, {strings.Repeat("a", 300), ".-.-.-b"}} {
		f.Add(c[0], c[1])
	}
	s := New(Options{Profile: Profile40, CallSteps: 1_000_000})
	defer s.Close()
	if err := s.Load("fuzz.lua", []byte(`function probe(s, p)
  pcall(string.find, s, p)
  pcall(string.match, s, p, 2)
  pcall(string.gsub, s, p, "%0%0", 3)
  pcall(function() local n = 0 for a in string.gmatch(s, p) do n = n + 1 if n > 100 then break end end end)
end`)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, subject, pattern string) {
		s.L.Push(s.L.GetGlobal("probe"))
		s.L.Push(lua.LString(subject))
		s.L.Push(lua.LString(pattern))
		if lerr := s.pcall(2, 0, 1_000_000, 0, "in the probe"); lerr != nil && lerr.Limit == "" {
			t.Fatalf("%q %q: %v", subject, pattern, lerr)
		}
	})
}
