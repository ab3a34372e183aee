package wslua

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sandboxProfiles are the profiles every escape is tried under (one per
// Lua dialect).
var sandboxProfiles = []Profile{Profile110, Profile40, Profile44}

// runScript loads src under the profile and returns the load error and
// what the script printed. It fails the test if loading does not return
// within a minute (a blocked open() would hang it forever).
func runScript(t *testing.T, p Profile, opts Options, src string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	opts.Profile = p
	opts.Stdout = &out
	s := New(opts)
	defer s.Close()
	done := make(chan error, 1)
	go func() { done <- s.Load("probe.lua", []byte(src)) }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(time.Minute):
		t.Fatalf("script still running after a minute:\n%s", src)
		return "", nil
	}
}

// TestSandboxEscapes tries every route from a script to the machine found
// in gopher-lua's standard library: none may read a file (its words must
// not appear in the output or the error), run one, or leave a side effect.
func TestSandboxEscapes(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.env")
	if err := os.WriteFile(secret, []byte("TOKEN = hunter2secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shadow := filepath.Join(dir, "shadow")
	if err := os.WriteFile(shadow, []byte("root hunter2secret *:19000:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	luaFile := filepath.Join(dir, "evil.lua")
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(luaFile, []byte("print('RAN-EVIL') EVIL = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.lua")
	hasFIFO := runtime.GOOS != "windows" && syscall.Mkfifo(fifo, 0o600) == nil
	q := func(s string) string { return fmt.Sprintf("%q", s) }

	type probe struct {
		name, src string
		fifo      bool
	}
	probes := []probe{
		{"loaders[2] on a file", `package.path = ` + q(secret) + `
			local l = (package.loaders or package.searchers)
			for i = 1, #l do print(pcall(l[i], "x")) end
			print(pcall(function() local f = l[2]("x") if type(f) == "function" then f() end end))`, false},
		{"loaders[2] on a Lua file", `package.path = ` + q(luaFile) + `
			local l = (package.loaders or package.searchers)
			for i = 1, #l do local ok, f = pcall(l[i], "x") if type(f) == "function" then pcall(f) end end
			print(EVIL)`, false},
		{"_G.__index and loaders", `setmetatable(_G, {__index = function(t, k) print("KEY", k) end})
			package.path = ` + q(secret) + `
			local l = (package.loaders or package.searchers)
			for i = 1, #l do local ok, f = pcall(l[i], "x") if type(f) == "function" then pcall(f) end end`, false},
		{"loaders[2] on a non-Lua file", `package.path = ` + q(shadow) + `
			local l = (package.loaders or package.searchers)
			for i = 1, #l do print(pcall(l[i], "x")) end`, false},
		{"require", `package.path = ` + q(filepath.Join(dir, "?.lua")) + ` print(pcall(require, "evil")) print(pcall(require, "secret"))`, false},
		{"dofile, loadfile", `print(pcall(dofile, ` + q(luaFile) + `)) print(pcall(loadfile, ` + q(secret) + `))`, false},
		{"io", `print(pcall(io.open, ` + q(secret) + `)) print(pcall(io.lines, ` + q(secret) + `))
			print(pcall(io.input, ` + q(secret) + `)) print(pcall(io.read, "*a")) print(pcall(io.popen, "cat ` + secret + `"))
			print(pcall(io.output, ` + q(victim) + `)) print(pcall(io.tmpfile))`, false},
		{"os", `print(pcall(os.execute, "touch ` + victim + `")) print(pcall(os.getenv, "HOME"))
			print(pcall(os.remove, ` + q(secret) + `)) print(pcall(os.rename, ` + q(secret) + `, ` + q(victim) + `))
			print(pcall(os.tmpname)) print(pcall(os.setlocale, "C")) print(pcall(os.exit, 3))`, false},
		{"package.loadlib", `print(pcall(package.loadlib, ` + q(secret) + `, "f"))`, false},
		{"debug and string.dump", `print(debug) print(pcall(string.dump, print)) print(newproxy, _printregs, channel)`, false},
		{"module and seeall", `if module then print(pcall(module, "m", package.seeall)) end print(package.path, package.cpath)`, false},
		{"load with a reader", `local f = load(function() return nil end) print(type(f))`, false},
		{"loaders[2] on a FIFO", `package.path = ` + q(fifo) + `
			local l = (package.loaders or package.searchers)
			for i = 1, #l do print(pcall(l[i], "x")) end
			print(pcall(require, "x"))`, true},
	}
	for _, p := range sandboxProfiles {
		for _, pr := range probes {
			if pr.fifo && !hasFIFO {
				continue
			}
			t.Run(p.String()+"/"+pr.name, func(t *testing.T) {
				out, err := runScript(t, p, Options{}, pr.src)
				all := out
				if err != nil {
					all += err.Error()
				}
				for _, leak := range []string{"hunter2secret", "TOKEN", "RAN-EVIL"} {
					if strings.Contains(all, leak) {
						t.Errorf("%q leaked:\n%s", leak, all)
					}
				}
				if strings.Contains(out, "EVIL = ") || strings.Contains(out, "\ntrue\n") {
					t.Errorf("file ran:\n%s", out)
				}
				if _, err := os.Stat(victim); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("side effect: %s exists", victim)
				}
				if _, err := os.Stat(secret); err != nil {
					t.Errorf("secret file gone: %v", err)
				}
			})
		}
	}
}

// TestSandboxAudit lists what the standard library offers a script: every
// function reachable from _G that can name a file or a process must raise.
func TestSandboxAudit(t *testing.T) {
	for _, p := range sandboxProfiles {
		t.Run(p.String(), func(t *testing.T) {
			out, err := runScript(t, p, Options{}, `
				local names = {"dofile", "loadfile", "require", "os.execute", "os.exit", "os.getenv", "os.remove",
				  "os.rename", "os.setenv", "os.setlocale", "os.tmpname", "io.open", "io.popen", "io.lines",
				  "io.input", "io.output", "io.tmpfile", "io.close", "package.loadlib"}
				for _, n in ipairs(names) do
				  local f = _G
				  for part in string.gmatch(n, "[^.]+") do f = f and f[part] end
				  if f ~= nil then
				    local ok, err = pcall(f, "/etc/passwd", "r")
				    if ok then print("OPEN", n) end
				  end
				end
				local seen = {}
				for k, v in pairs(_G) do
				  if type(v) == "table" and k ~= "_G" then
				    for k2 in pairs(v) do seen[#seen + 1] = k .. "." .. tostring(k2) end
				  end
				end
				table.sort(seen)
				print(table.concat(seen, " "))`)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, "OPEN") {
				t.Errorf("usable:\n%s", out)
			}
			for _, gone := range []string{"debug.", "package.loaders.", "io.stdin"} {
				if strings.Contains(out, " "+gone) {
					t.Errorf("%s reachable", gone)
				}
			}
		})
	}
}

// TestBudgetProbes: work and memory a single library call could use
// without bound are charged or refused, deterministically.
func TestBudgetProbes(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
		opts            Options
	}{
		{"pattern backtracking", `string.find(string.rep("a", 30000), ".-.-.-.-b")`, "budget of 10000000 Lua instructions while loading at probe.lua:1", Options{LoadSteps: 10_000_000}},
		{"gsub backtracking", `string.gsub(string.rep("a", 3000), "(.-)(.-)(.-)b", "")`, "budget of 10000000 Lua instructions", Options{LoadSteps: 10_000_000}},
		{"gfind backtracking", `for x in string.gfind(string.rep("a", 3000), ".-.-.-b") do end`, "budget of 10000000 Lua instructions", Options{LoadSteps: 10_000_000}},
		{"gmatch backtracking", `for x in string.gmatch(string.rep("a", 3000), ".-.-.-b") do end`, "budget of 10000000 Lua instructions", Options{LoadSteps: 10_000_000}},
		{"unpack 2^31", `unpack({}, 1, 2^31)`, "too many results to unpack", Options{}},
		{"table.unpack 2^31", `(table.unpack or unpack)({}, 1, 2^31)`, "too many results to unpack", Options{}},
		{"string.rep 2^36", `string.rep("x", 2^36)`, "memory limit of 256 MiB while loading", Options{}},
		{"string.rep 2^31", `string.rep("x", 2^31)`, "memory limit of 256 MiB", Options{}},
		{"string.rep 300 MiB", `string.rep("x", 300 * 2^20)`, "memory limit of 256 MiB", Options{}},
		{"string.byte of all", `string.byte(string.rep("x", 2^20), 1, -1)`, "string slice too long", Options{}},
		{"format width", `string.format("%999999999d", 1)`, "invalid format (width or precision too long)", Options{}},
		{"concat of a big table", `local t = {} local s = string.rep("x", 2^20) for i = 1, 100 do t[i] = s end table.concat(t)`, "memory limit of 64 MiB", Options{MemoryLimit: 64 << 20}},
		{"doubling a string", `local s = "x" for i = 1, 40 do s = s .. s end`, "memory limit of 64 MiB", Options{MemoryLimit: 64 << 20}},
		{"growing a table", `local t = {} for i = 1, 1e9 do t[i] = {i} end`, "memory limit of 64 MiB", Options{MemoryLimit: 64 << 20, LoadSteps: 1e10}},
		{"1 MB strings", `local t = {} for i = 1, 1e6 do t[i] = string.rep("y", 2^20 - 1) .. i end`, "memory limit of 64 MiB", Options{MemoryLimit: 64 << 20}},
		{"ByteArray:set_size 2^40", `ByteArray.new("00"):set_size(2^40)`, "memory limit of 256 MiB", Options{}},
		{"ByteArray:tohex with a huge separator", `local b = ByteArray.new("00") b:set_size(2^20) b:tohex(false, string.rep(" ", 2^10))`, "memory limit of 256 MiB", Options{}},
		{"ByteArray doubling", `local b = ByteArray.new("00") for i = 1, 40 do b = b .. b end`, "memory limit of 64 MiB", Options{MemoryLimit: 64 << 20}},
		{"os.date of a huge format", `os.date(string.rep("%c", 2^24))`, "memory limit of 256 MiB", Options{}},
		{"sparse arrays", `local keep = {} for i = 1, 1000 do local t = {} t[2^20 - 1] = 1 t[2^26 - 1] = 1 keep[i] = t end`, "memory limit of 256 MiB", Options{}},
		{"nested coroutines", `local function f() coroutine.wrap(f)() end f()`, "C stack overflow", Options{}},
		{"nested resume", `local function f() local co = coroutine.create(f) local ok, e = coroutine.resume(co) error(e, 0) end f()`, "C stack overflow", Options{}},
		{"many coroutines", `local t = {} for i = 1, 1e7 do t[i] = coroutine.create(print) end`, "memory limit of 64 MiB", Options{MemoryLimit: 64 << 20}},
		{"loop in a coroutine", `coroutine.wrap(function() while true do end end)()`, "budget of 1000000 Lua instructions", Options{LoadSteps: 1_000_000}},
		{"pcall swallowing the budget", `while true do pcall(function() while true do end end) end`, "budget of 1000000 Lua instructions while loading at probe.lua:1", Options{LoadSteps: 1_000_000}},
		{"pcall swallowing the memory limit", `for i = 1, 10 do pcall(string.rep, "x", 2^40) end x = 1`, "memory limit of 256 MiB while loading at probe.lua:1", Options{}},
		{"collectgarbage loop", `for i = 1, 1e7 do collectgarbage() end`, "budget of 1000000 Lua instructions", Options{LoadSteps: 1_000_000}},
		{"table.insert at the front", `local t = {} for i = 1, 1e6 do table.insert(t, 1, i) end`, "budget of 10000000 Lua instructions", Options{LoadSteps: 10_000_000}},
		{"sort", `local t = {} for i = 1, 2e5 do t[i] = -i end for i = 1, 100 do table.sort(t) end`, "budget of 10000000 Lua instructions", Options{LoadSteps: 10_000_000}},
		{"load of a big chunk", `local src = "return " .. string.rep("1+", 2e6) .. "1" for i = 1, 10 do (loadstring or load)(src) end`, "budget of 10000000 Lua instructions", Options{LoadSteps: 10_000_000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Profile40
			if strings.Contains(tc.src, "unpack({}") || strings.Contains(tc.src, "gfind") {
				p = Profile110
			}
			_, err := runScript(t, p, tc.opts, tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestInitLoop: an endless loop in proto.init is reported as such, not as
// happening while loading.
func TestInitLoop(t *testing.T) {
	s := New(Options{Profile: Profile40, CallSteps: 1_000_000})
	defer s.Close()
	if err := s.Load("init.lua", []byte(`local p = Proto("il", "IL")
function p.init()
  while true do end
end
function p.dissector() end
DissectorTable.get("tcp.port"):add(7777, p)`)); err != nil {
		t.Fatal(err)
	}
	err := s.Init()
	if err == nil || strings.Contains(err.Error(), "while loading") || !strings.Contains(err.Error(), "in il.init at init.lua:3") {
		t.Errorf("init loop: %v", err)
	}
}

// TestLoadString: Lua 5.2 and 5.4 load a string chunk; Lua 5.1's load
// takes only a function.
func TestLoadString(t *testing.T) {
	for _, p := range []Profile{Profile40, Profile44} {
		out, err := runScript(t, p, Options{}, `local f = load("return 6 * 7") print(f())
			local g = load("return x", "chunk", "t", {x = 5}) print(g())
			print(load("return +"))`)
		if err != nil || !strings.HasPrefix(out, "42\n5\nnil\t[string \"return +\"]") {
			t.Errorf("%s: %v %q", p, err, out)
		}
	}
	if _, err := runScript(t, Profile110, Options{}, `load("return 1")`); err == nil {
		t.Error("1.10: load of a string works, unlike Lua 5.1")
	}
	if out, err := runScript(t, Profile110, Options{}, `print(loadstring("return 1")())`); err != nil || out != "1\n" {
		t.Errorf("1.10 loadstring: %v %q", err, out)
	}
}

// TestCaughtErrors: a runtime error the dissector catches itself is
// recorded with the call; error() values, feature tests and errors while
// loading are not.
func TestCaughtErrors(t *testing.T) {
	s := New(Options{Profile: Profile40})
	defer s.Close()
	err := s.Load("caught.lua", []byte(`local p = Proto("ce", "CE")
pcall(function() local x = nil; return x.y end) -- while loading: not recorded
local STOP = {}
function p.dissector(tvb, pinfo, tree)
  pcall(error, STOP)
  pcall(error, "deliberate")
  pcall(function() return tvb:no_such_method() end)
  pcall(function() return tvb(100, 4):uint() end) -- an API error: may be deliberate
  local ok, e = pcall(function()
    local t = nil
    return t.field
  end)
  tree:add(p, tvb())
end
DissectorTable.get("tcp.port"):add(7777, p)`))
	if err != nil {
		t.Fatal(err)
	}
	frs := feed(t, s, []seg{{ToServer, []byte{1, 2}}})
	c := frs[0].Calls[0]
	if c.Err != nil {
		t.Fatal(c.Err)
	}
	var msgs []string
	for _, e := range c.Caught {
		msgs = append(msgs, e.Where+" "+e.Message)
	}
	if len(c.Caught) < 1 || !strings.HasPrefix(msgs[len(msgs)-1], "caught.lua:11 ") || c.Caught[len(c.Caught)-1].Frame != 1 {
		t.Errorf("caught: %q", msgs)
	}
	for _, m := range msgs {
		if strings.Contains(m, "deliberate") || !strings.Contains(m, "attempt to") {
			t.Errorf("recorded: %q", m)
		}
	}
}

// TestInfoColumnCut: the Info column holds at most 4,095 bytes, other
// columns 255, as Wireshark's column buffers, cut on a UTF-8 boundary.
func TestInfoColumnCut(t *testing.T) {
	s := New(Options{Profile: Profile40})
	defer s.Close()
	err := s.Load("cols.lua", []byte(`local p = Proto("cc", "CC")
function p.dissector(tvb, pinfo, tree)
  for i = 1, 3000 do pinfo.cols.info:append("é") end
  pinfo.cols.protocol = string.rep("P", 1000)
end
DissectorTable.get("tcp.port"):add(7777, p)`))
	if err != nil {
		t.Fatal(err)
	}
	frs := feed(t, s, []seg{{ToServer, []byte{1}}})
	if n := len(frs[0].Info); n != 4094 || !strings.HasSuffix(frs[0].Info, "é") {
		t.Errorf("Info: %d bytes", n)
	}
	if n := len(frs[0].Protocol); n != 255 {
		t.Errorf("Protocol: %d bytes", n)
	}
}
