package wslua

import "testing"

// TestMultipleAssignment checks that every expression of a multiple
// assignment is evaluated before any target is assigned, as in Lua, which
// gopher-lua's compiler alone gets wrong.
func TestMultipleAssignment(t *testing.T) {
	cases := []struct{ name, code, want string }{
		{"swap", "local a, b = 1, 2; a, b = b, a; return a .. ',' .. b", "2,1"},
		{"rotate", "local a, b, c = 1, 2, 3; a, b, c = c, a, b; return a .. b .. c", "312"},
		{"call reads an earlier target", `local floor = math.floor
local function band(a, b)
  local r, bit = 0, 1
  while a > 0 and b > 0 do
    if a % 2 == 1 and b % 2 == 1 then r = r + bit end
    a, b, bit = floor(a / 2), floor(b / 2), bit * 2
  end
  return r
end
return band(0xee, 0xf0)`, "224"},
		{"cross calls", "local function id(x) return x end; local k, l = 8, 9; k, l = id(l), id(k); return k .. ',' .. l", "9,8"},
		{"multiple results", "local function f() return 1, 2, 3 end; local a, b, c; a, b, c = f(); return a .. b .. c", "123"},
		{"fewer values", "local a, b = 1, 2; a, b = 5; return tostring(a) .. tostring(b)", "5nil"},
		{"extra values evaluated", "local n = 0; local function f() n = n + 1 return n end; local a, b; a, b = f(), f(), f(); return a .. b .. n", "123"},
		{"table targets use the old key", "local t, i = {}, 1; i, t[i] = 2, 'x'; return tostring(t[1]) .. tostring(t[2]) .. i", "xnil2"},
		{"upvalues and globals", "local a = 1; g = 2; local function f() a, g = g, a end; f(); return a .. g", "21"},
		{"in a nested function", "return (function() local x, y = 'a', 'b'; x, y = y, x; return x .. y end)()", "ba"},
	}
	for _, p := range []Profile{Profile110, Profile40, Profile44} {
		for _, c := range cases {
			ok, got := evalLua(t, p, c.code)
			if !ok || got != c.want {
				t.Errorf("%s %s: got %v %q, want %q", p, c.name, ok, got, c.want)
			}
		}
	}
}
