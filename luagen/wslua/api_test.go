package wslua

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// evalLua runs code as the body of a function at load time under pcall and
// returns whether it succeeded and tostring of its result or error.
func evalLua(t *testing.T, p Profile, code string) (bool, string) {
	t.Helper()
	s := New(Options{Profile: p})
	defer s.Close()
	// No pcall around the code: API errors go through the Go-side call,
	// which is where missing API points are named.
	src := "__r = tostring((function()\n" + code + "\nend)())"
	if err := s.Load("t.lua", []byte(src)); err != nil {
		return false, err.Error()
	}
	return true, s.L.GetGlobal("__r").String()
}

// testScript declares a protocol with a few fields; code runs inside its
// dissector under pcall.
const testScript = `
local p = Proto("tst", "Test Proto")
local f_u8 = ProtoField.uint8("tst.u8", "U8", base.DEC)
local f_hex = ProtoField.uint8("tst.hex", "Hex", base.HEX, {[1]="One", [2]="Two"}, 0xF0)
local f_u16 = ProtoField.uint16("tst.u16", "U16", base.HEX_DEC)
local f_dh = ProtoField.uint16("tst.dh", "DH", base.DEC_HEX, nil, 0x0ff0)
local f_i16 = ProtoField.int16("tst.i16", "I16", base.DEC)
local f_u64 = ProtoField.uint64("tst.u64", "U64", base.HEX)
local f_b = ProtoField.bool("tst.b", "Flag", 8, {"Set", "Not set"}, 0x08)
local f_b2 = ProtoField.bool("tst.b2", "Flag2")
local f_s = ProtoField.string("tst.s", "Str")
local f_by = ProtoField.bytes("tst.by", "Bytes")
local f_unreg = ProtoField.uint8("tst.unreg", "Unreg")
p.fields = { f_u8, f_hex, f_u16, f_dh, f_i16, f_u64, f_b, f_b2, f_s, f_by }
function p.dissector(tvb, pinfo, tree)
  local ok, r = pcall(function()
CODE
  end)
  __ok = ok; __r = tostring(r)
end
DissectorTable.get("tcp.port"):add(7777, p)
`

func evalDissector(t *testing.T, p Profile, data []byte, code string) (bool, string, *FrameResult) {
	t.Helper()
	s := New(Options{Profile: p})
	defer s.Close()
	if err := s.Load("t.lua", []byte(strings.Replace(testScript, "CODE", code, 1))); err != nil {
		t.Fatalf("load: %v", err)
	}
	fr := s.NewConn().Segment(ToServer, data, frameInfo(1, ToServer))
	return lua.LVAsBool(s.L.GetGlobal("__ok")), s.L.GetGlobal("__r").String(), fr
}

type apiCase struct {
	name    string
	profile Profile
	code    string
	ok      bool
	want    string // substring of the result or error text
}

func runCases(t *testing.T, cases []apiCase, inDissector bool) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name+"/"+tc.profile.String(), func(t *testing.T) {
			var ok bool
			var got string
			if inDissector {
				ok, got, _ = evalDissector(t, tc.profile, hexb("0112fe41420000ff"), tc.code)
			} else {
				ok, got = evalLua(t, tc.profile, tc.code)
			}
			if ok != tc.ok || !strings.Contains(got, tc.want) {
				t.Errorf("got ok=%v %q; want ok=%v containing %q", ok, got, tc.ok, tc.want)
			}
		})
	}
}

func TestProtoAndFields(t *testing.T) {
	runCases(t, []apiCase{
		{"proto call", Profile110, `local p = Proto("abc", "ABC proto"); return p.name .. "|" .. p.description .. "|" .. tostring(p)`, true, "ABC|ABC proto|Proto: ABC"},
		{"proto new", Profile40, `return tostring(Proto.new("abc", "ABC proto"))`, true, "Proto: ABC"},
		{"proto new 1.10", Profile110, `return Proto.new("abc", "ABC proto")`, false, "wslua: Proto.new is not available in Wireshark 1.10 (first in 1.12)"},
		{"proto dup name", Profile40, `Proto("tcp", "My TCP")`, false, "bad argument #1 to 'Proto' (Proto_new: there cannot be two protocols with the same name)"},
		{"proto dup lua", Profile110, `Proto("abc", "x"); Proto("ABC", "y")`, false, "there cannot be two protocols with the same name"},
		{"proto dup desc", Profile40, `Proto("zzz", "Transmission Control Protocol")`, false, "bad argument #2 to 'Proto' (Proto_new: there cannot be two protocols with the same description)"},
		{"proto mqtt 1.10", Profile110, `return tostring(Proto("mqtt", "MQTT (generated)"))`, true, "Proto: MQTT"},
		{"proto mqtt 4.0", Profile40, `Proto("mqtt", "MQTT (generated)")`, false, "same name"},
		{"proto bad char", Profile40, `Proto("a b", "x")`, false, "Proto_new: invalid character in name"},
		{"prefs_changed 1.10", Profile110, `local p = Proto("abc", "x"); p.prefs_changed = function() end`, false, "A protocol doesn't have a `prefs_changed' attribute"},
		{"prefs_changed 1.12", Profile112, `local p = Proto("abc", "x"); p.prefs_changed = function() end; return "ok"`, true, "ok"},
		{"proto unknown attr", Profile40, `local p = Proto("abc", "x"); return p.foo`, false, "No such 'foo' method/field for object type 'Proto'"},
		{"uint8 base NONE", Profile40, `ProtoField.uint8("a.b", "x", base.NONE)`, false, "bad argument #3 to 'uint8' (Base must be either base.DEC, base.HEX, base.OCT, base.DEC_HEX, base.HEX_DEC or base.UNIT_STRING)"},
		{"uint8 base NONE 1.10", Profile110, `ProtoField.uint8("a.b", "x", base.NONE)`, false, "Base must be either base.DEC"},
		{"int8 hex", Profile40, `ProtoField.int8("a.b", "x", base.HEX)`, false, "bad argument #3 to 'int8' (Base must be either base.DEC or base.UNIT_STRING)"},
		{"bool display no mask", Profile40, `ProtoField.bool("a.b", "x", 8)`, false, "bad argument #3 to 'bool' (Fieldbase (fielddisplay) must be base.NONE if bitmask is zero.)"},
		{"bool mask no display", Profile110, `ProtoField.bool("a.b", "x", base.NONE, nil, 1)`, false, "Fieldbase (fielddisplay) must be between 1 and 64 if bitmask is non-zero."},
		{"bool mask 65", Profile44, `ProtoField.bool("a.b", "x", 65, nil, 1)`, false, "must be between 1 and 64"},
		{"bool ok", Profile110, `return tostring(ProtoField.bool("a.b", "x", 8, {"Set", "Not set"}, 0x80))`, true, "ProtoField(-2): x a.b ftypes.BOOLEAN"},
		{"bad abbrev", Profile40, `ProtoField.uint8("a b", "x")`, false, "bad argument #1 to 'uint8' (Invalid char in abbrev)"},
		{"empty abbrev", Profile40, `ProtoField.uint8("", "x")`, false, "Empty field name abbreviation"},
		{"vs keys", Profile40, `ProtoField.uint8("a.h", "S", base.DEC, {a = "x"})`, false, "bad argument #4 to 'uint8' (All keys of a table used as value_string must be integers)"},
		{"vs values", Profile40, `ProtoField.uint8("a.h", "S", base.DEC, {[1] = {}})`, false, "All values of a table used as value_string must be strings"},
		{"framenum base", Profile40, `ProtoField.framenum("a.j", "S", base.DEC)`, false, "bad argument #3 to 'framenum' (FRAMENUM must use base.NONE)"},
		{"field tostring", Profile40, `return tostring(ProtoField.uint16("qq.x", "X", base.HEX, nil, 0xff0))`, true, "ProtoField(-2): X qq.x ftypes.UINT16 base.HEX (nil) 00000ff0 (null)"},
		{"string desc 4.0", Profile40, `return tostring(ProtoField.string("a.g", "S", "desc"))`, true, "ftypes.STRING base.NONE (nil) 00000000 desc"},
		{"new numeric 1.10", Profile110, `ProtoField.new("S", "a.k", ftypes.UINT8)`, false, "bad argument #3 to 'new' (invalid ftypes)"},
		{"new numeric 1.12", Profile112, `return tostring(ProtoField.new("S", "a.k", ftypes.UINT8))`, true, "ftypes.UINT8 base.DEC"},
		{"none 2.6", Profile26, `ProtoField.none("a.n", "N")`, false, "wslua: ProtoField.none is not available in Wireshark 2.6 (first in 3.0)"},
		{"none 3.6", Profile36, `return tostring(ProtoField.none("a.n", "N"))`, true, "ftypes.NONE"},
		{"fields twice", Profile40, `local f = ProtoField.uint8("a.b", "x"); local p1 = Proto("p1", "P1"); local p2 = Proto("p2", "P2"); p1.fields = {f}; p2.fields = {f}; return "ok"`, false, "fields can be registered only once"},
		{"dt add without dissector", Profile40, `local p = Proto("abc", "x"); DissectorTable.get("tcp.port"):add(1883, p)`, false, "bad argument #2 to 'add' (DissectorTable_add: a Protocol that does not have a dissector cannot be added to a table)"},
		{"dt add without dissector 1.10", Profile110, `local p = Proto("abc", "x"); DissectorTable.get("tcp.port"):add(1883, p)`, false, "bad argument #2 to 'add' (a Protocol that does not have a dissector cannot be added to a table)"},
		{"dt range string", Profile40, `local p = Proto("abc", "x"); p.dissector = function() end; DissectorTable.get("tcp.port"):add("1883,8883", p); return tostring(DissectorTable.get("tcp.port"):get_dissector(8883))`, true, "abc"},
		{"dt range string 1.10", Profile110, `local p = Proto("abc", "x"); p.dissector = function() end; DissectorTable.get("tcp.port"):add("1883,8883", p)`, false, "number expected, got string"},
		{"dt unknown", Profile40, `return DissectorTable.get("nonexist")`, true, "nil"},
		{"prefs", Profile40, `local p = Proto("abc", "x"); p.prefs.port = Pref.uint("Port", 1883, "the port"); return p.prefs.port`, true, "1883"},
		{"prefs missing", Profile40, `local p = Proto("abc", "x"); return p.prefs.nope`, false, "bad argument #2 to '__index' (Prefs__index: no preference named like this)"},
		{"ProtoExpert 1.10", Profile110, `return ProtoExpert.new("a.e", "t", expert.group.MALFORMED, expert.severity.ERROR)`, false, "wslua: ProtoExpert is not available in Wireshark 1.10 (first in 1.12)"},
		{"ProtoExpert 1.12", Profile112, `return tostring(ProtoExpert.new("qq.e", "Text", expert.group.MALFORMED, expert.severity.ERROR))`, true, "ProtoExpert: ei=-1, hf=-2, abbr=qq.e, text=Text, group=117440512, severity=8388608"},
		{"ENC_LITTLE_ENDIAN 4.0", Profile40, `return ENC_LITTLE_ENDIAN`, true, "2147483648"},
		{"ENC_LITTLE_ENDIAN 4.4", Profile44, `return ENC_LITTLE_ENDIAN`, true, "-2147483648"},
		{"ftypes 4.0", Profile40, `return ftypes.UINT8 .. " " .. ftypes.STRING .. " " .. ftypes.BYTES`, true, "4 26 30"},
		{"ftypes 1.10", Profile110, `return ftypes.UINT8`, true, "3"},
		{"base", Profile40, `return base.HEX .. " " .. base.RANGE_STRING .. " " .. DESEGMENT_ONE_MORE_SEGMENT`, true, "2 256 268435455"},
		{"get_version", Profile40, `return get_version()`, true, "4.0.17"},
		{"dissect_tcp_pdus 1.12", Profile112, `return dissect_tcp_pdus(nil)`, false, "wslua: dissect_tcp_pdus is not available in Wireshark 1.12 (first in 2.0)"},
		{"dissect_tcp_pdus 2.6", Profile26, `return type(dissect_tcp_pdus)`, true, "function"},
		{"typeof", Profile40, `return typeof(Proto("abc", "x"))`, true, "Proto"},
		{"bytearray", Profile40, `local b = ByteArray.new("01 02 ff"); return b:len() .. " " .. tostring(b) .. " " .. b:get_index(2) .. " " .. b:tohex() .. " " .. b:subset(1,2):tohex()`, true, "3 0102FF 255 0102FF 02FF"},
		{"bytearray append", Profile40, `local b = ByteArray.new("0102ff"); b:append(ByteArray.new("abc", true)); return tostring(b) .. " " .. b:tohex(true, ":")`, true, "0102FF616263 01:02:ff:61:62:63"},
		{"address", Profile40, `return tostring(Address.ip("1.2.3.4"))`, true, "1.2.3.4"},
		{"logging 4.0", Profile40, `info("x")`, false, "the logging function info() is not available"},
		{"logging 1.10", Profile110, `info("x"); return "ok"`, true, "ok"},
	}, false)
}

func TestLuaDialects(t *testing.T) {
	runCases(t, []apiCase{
		{"bit 1.10", Profile110, `return bit.band(0xffffffff, 0xffffffff) .. " " .. bit.tohex(255) .. " " .. bit.tohex(-1) .. " " .. bit.lshift(1, 31) .. " " .. bit.rshift(-1, 1) .. " " .. bit.bnot(0) .. " " .. bit.tohex(255, -4) .. " " .. bit.tobit(2^32 + 5)`, true, "-1 000000ff ffffffff -2147483648 2147483647 -1 00FF 5"},
		{"bit 4.4", Profile44, `return bit.arshift(-256, 4) .. " " .. bit.bor(1, 2, 4) .. " " .. bit.bxor(5, 3) .. " " .. bit.rol(0x80000000, 1)`, true, "-16 7 6 1"},
		{"bit32 1.10", Profile110, `return bit32.band(1, 3)`, false, "wslua: bit32 is not available in Lua 5.1"},
		{"bit 1.10/5.2", Profile110Lua52, `return bit.band(1, 3)`, false, "wslua: bit is not available in Wireshark 1.10 built with Lua 5.2"},
		{"bit32 4.0", Profile40, `return bit32.band(-1, 0xff) .. " " .. bit32.bnot(0) .. " " .. bit32.rshift(0x80000000, 31) .. " " .. bit32.extract(0xf0, 4, 4)`, true, "255 4294967295 1 15"},
		{"bit32 4.4", Profile44, `return bit32.band(1, 3)`, false, "wslua: bit32 is not available in Lua 5.4 (Wireshark 4.4)"},
		{"unpack 4.4", Profile44, `return unpack({1, 2})`, false, "wslua: unpack is not available in Lua 5.4"},
		{"table.unpack 4.4", Profile44, `return table.unpack({7, 8})`, true, "7"},
		{"loadstring 4.4", Profile44, `return loadstring("return 1")`, false, "loadstring is not available"},
		{"unpack 4.0", Profile40, `return unpack({3, 4})`, true, "3"},
		{"setfenv 4.0", Profile40, `setfenv(1, {})`, false, "setfenv is not available in Lua 5.2"},
		{"format %d 4.0", Profile40, `return string.format("%d", 3.5)`, true, "3"},
		{"format %d 4.4", Profile44, `return string.format("%d", 3.5)`, false, "bad argument #2 to 'format' (number has no integer representation)"},
		{"format %d 4.4 int", Profile44, `return string.format("%5.2f|%d", 1.5, 3)`, true, " 1.50|3"},
		{"math.type 4.4", Profile44, `return math.type(1) .. math.type(1.5)`, true, "integerfloat"},
		{"feature test", Profile44, `local band = (bit and bit.band) or (bit32 and bit32.band); return band(6, 3)`, true, "2"},
		{"_VERSION", Profile26, `return _VERSION`, true, "Lua 5.2"},
	}, false)
}

func TestSandbox(t *testing.T) {
	runCases(t, []apiCase{
		{"os.execute", Profile40, `os.execute("true")`, false, "wslua: os.execute is disabled in the sandbox"},
		{"os.remove", Profile40, `os.remove("/tmp/x")`, false, "disabled"},
		{"os.exit", Profile40, `os.exit(1)`, false, "disabled"},
		{"os.getenv", Profile40, `os.getenv("HOME")`, false, "disabled"},
		{"io.open", Profile40, `io.open("/etc/passwd")`, false, "wslua: io.open is disabled in the sandbox"},
		{"io.popen", Profile40, `io.popen("ls")`, false, "disabled"},
		{"dofile", Profile40, `dofile("/etc/passwd")`, false, "disabled"},
		{"loadfile", Profile40, `loadfile("/etc/passwd")`, false, "disabled"},
		{"require", Profile40, `require("socket")`, false, "module 'socket' not found"},
		{"debug", Profile40, `return debug.getinfo(1)`, false, "nil"},
		{"os.time ok", Profile40, `return type(os.time()) .. type(os.clock()) .. type(os.date())`, true, "numbernumberstring"},
		{"io.write ok", Profile40, `io.write("x"); io.stderr:write("y"); return "ok"`, true, "ok"},
	}, false)
}

func TestTvbAndTree(t *testing.T) {
	runCases(t, []apiCase{
		{"uint", Profile40, `return tvb(0,1):uint() .. " " .. tvb(1,2):uint() .. " " .. tvb(1,2):le_uint() .. " " .. tvb(1,3):uint() .. " " .. tvb(0,4):uint()`, true, "1 4862 65042 1244737 18021953"},
		{"int", Profile40, `return tvb(2,1):int() .. " " .. tvb(1,2):le_int()`, true, "-2 -494"},
		{"uint 5 bytes", Profile40, `return tvb(0,5):uint()`, false, "TvbRange:uint() does not handle 5 byte integers"},
		{"uint 0 bytes", Profile40, `return tvb(0,0):uint()`, false, "TvbRange:uint() does not handle 0 byte integers"},
		{"le_uint 8", Profile40, `return tvb(0,8):le_uint()`, false, "TvbRange:le_uint() does not handle 8 byte integers"},
		{"out of bounds", Profile40, `return tvb(6,3)`, false, "Range is out of bounds"},
		{"out of bounds offset", Profile40, `return tvb(9)`, false, "out of bounds"},
		{"range at end", Profile40, `return tvb(8):len()`, true, "0"},
		{"uint64", Profile40, `return tostring(tvb(0,8):uint64())`, true, "77403699852345599"},
		{"len", Profile40, `return tvb:len() .. " " .. tvb:reported_length_remaining(3) .. " " .. tvb():len() .. " " .. tvb:range(2):len()`, true, "8 5 8 6"},
		{"string 4.0", Profile40, `return tvb(2,3):string()`, true, "\uFFFDAB"},
		{"string utf8", Profile40, `return tvb(3,2):string(ENC_UTF_8)`, true, "AB"},
		{"string 1.10 raw", Profile110, `return #tvb(2,3):string(ENC_UTF_8)`, true, "3"},
		{"stringz", Profile40, `return tvb(3):stringz()`, true, "AB"},
		{"bytes", Profile40, `return tostring(tvb(1,3):bytes())`, true, "12FE41"},
		{"bitfield", Profile40, `return tvb(1,1):bitfield(0,4) .. " " .. tvb(1,1):bitfield(4,4) .. " " .. tvb(1,2):bitfield(7,3)`, true, "1 2 3"},
		{"bitfield range", Profile40, `return tvb(1,1):bitfield(6,4)`, false, "Requested bitfield out of range"},
		{"raw 1.12", Profile112, `return tvb:raw(3, 2)`, true, "AB"},
		{"raw 1.10", Profile110, `return tvb:raw(3, 2)`, false, "wslua: Tvb:raw is not available in Wireshark 1.10 (first in 1.12)"},
		{"tostring range", Profile40, `return tostring(tvb(0,3))`, true, "0112fe"},
		{"tree add", Profile40, `return tree:add(f_u8, tvb(0,1)):get_text()`, true, "U8: 1"},
		{"tree add masked hex", Profile40, `return tree:add(f_hex, tvb(1,1)):get_text()`, true, "0001 .... = Hex: One (0x1)"},
		{"tree add hex_dec", Profile40, `return tree:add(f_u16, tvb(1,2)):get_text()`, true, "U16: 0x12fe (4862)"},
		{"tree add dec_hex mask", Profile40, `return tree:add(f_dh, tvb(1,2)):get_text()`, true, ".... 0010 1111 .... = DH: 47 (0x2f)"},
		{"tree add bool tfs", Profile40, `return tree:add(f_b, tvb(1,1)):get_text()`, true, ".... 0... = Flag: Not set"},
		{"tree add bool", Profile40, `return tree:add(f_b2, tvb(1,1)):get_text()`, true, "Flag2: True"},
		{"tree add bool explicit masked", Profile40, `return tree:add(f_b, tvb(1,1), true):get_text()`, true, "Flag: Not set"},
		{"tree add string", Profile40, `return tree:add(f_s, tvb(3,2)):get_text()`, true, "Str: AB"},
		{"tree add bytes empty", Profile40, `return tree:add(f_by, tvb(2,0)):get_text()`, true, "Bytes: <MISSING>"},
		{"tree add int", Profile40, `return tree:add(f_i16, tvb(1,2)):get_text()`, true, "I16: 4862"},
		{"tree add le", Profile40, `return tree:add_le(f_u16, tvb(1,2)):get_text()`, true, "U16: 0xfe12 (65042)"},
		{"tree add explicit", Profile40, `return tree:add(f_u8, tvb(0,1), 300):get_text()`, true, "U8: 300"},
		{"tree add explicit text", Profile40, `return tree:add(f_hex, tvb(1,1), 0x25, "explicit", "more"):get_text()`, true, "explicit more"},
		{"tree add u64", Profile40, `return tree:add(f_u64, tvb(0,8)):get_text()`, true, "U64: 0x0112fe41420000ff"},
		{"tree add proto text", Profile40, `local p = Proto("zz", "ZZ proto"); return tostring(tree:add(p, tvb(), "Label"))`, true, "TreeItem: Label"},
		{"tree add text", Profile40, `return tree:add(tvb(0,2), "just text"):get_text()`, true, "just text"},
		{"tree add unregistered", Profile40, `tree:add(f_unreg, tvb(0,1))`, false, "Tree item ProtoField/Protocol handle is invalid (ProtoField/Proto not registered?)"},
		{"append chain 1.12", Profile112, `local i = tree:add(f_u8, tvb(0,1)); i:append_text(" a"):append_text(" b"); return "ok"`, true, "ok"},
		{"append chain 1.10", Profile110, `local i = tree:add(f_u8, tvb(0,1)); i:append_text(" a"):append_text(" b")`, false, "nil"},
		{"prepend 1.10", Profile110, `tree:add(f_u8, tvb(0,1)):prepend_text("x")`, false, "wslua: TreeItem:prepend_text is not available in Wireshark 1.10 (first in 1.12)"},
		{"can_desegment 1.10", Profile110, `return pinfo.can_desegment`, false, "wslua: pinfo.can_desegment is not available in Wireshark 1.10 (first in 1.12)"},
		{"can_desegment 4.0", Profile40, `return pinfo.can_desegment`, true, "1"},
		{"pinfo", Profile40, `return pinfo.number .. " " .. tostring(pinfo.src) .. ":" .. pinfo.src_port .. " " .. tostring(pinfo.dst) .. ":" .. pinfo.dst_port .. " " .. tostring(pinfo.visited) .. " " .. pinfo.curr_proto`, true, "1 10.0.0.1:50000 10.0.0.2:7777 false TST"},
		{"pinfo unknown", Profile40, `return pinfo.nope`, false, "No such 'nope' method/field for object type 'Pinfo'"},
		{"cols", Profile40, `pinfo.cols.protocol = "X"; pinfo.cols.info:set("a"); pinfo.cols.info:append("b"); pinfo.cols.info:fence(); pinfo.cols.info:set("c"); pinfo.cols.info:clear(); pinfo.cols.info:append("d"); return tostring(pinfo.cols.info) .. tostring(pinfo.cols.protocol)`, true, "abdX"},
		{"ProtoExpert unregistered", Profile40, `local e = ProtoExpert.new("tst.e", "t", expert.group.MALFORMED, expert.severity.ERROR); tree:add_proto_expert_info(e)`, false, "ProtoExpert is not registered"},
		{"FT_NONE value", Profile40, `local p = Proto("zz", "ZZ"); return tree:add(p, tvb(0,1), "a", "b"):get_text()`, true, "a b"},
	}, true)
}

func TestExpertAndErrorRecording(t *testing.T) {
	ok, _, fr := evalDissector(t, Profile40, hexb("0102"), `
		local i = tree:add(f_u8, tvb(0,1))
		i:add_expert_info(PI_MALFORMED, PI_ERROR, "bad thing")
		i:add_expert_info(PI_PROTOCOL, PI_WARN)
		error("boom")`)
	if ok {
		t.Fatal("pcall should have failed")
	}
	items := fr.Items()
	if len(items) != 1 || len(items[0].Experts) != 2 {
		t.Fatalf("items: %+v", items)
	}
	if e := items[0].Experts[0]; e.Group != PIMalformed || e.Severity != PIError || e.Text != "bad thing" {
		t.Errorf("expert 0: %+v", e)
	}
	if e := items[0].Experts[1]; e.Text != "Protocol Warning" {
		t.Errorf("default expert text: %q", e.Text)
	}

	// An error that escapes the dissector is recorded like Wireshark's
	// "Lua Error: ..." item, and the next frame is dissected normally.
	s, err := loadSrc(t, Profile40, `
		local p = Proto("er", "Err proto")
		local f = ProtoField.uint8("er.b", "B")
		p.fields = {f}
		function p.dissector(tvb, pinfo, tree)
		  tree:add(f, tvb(0,1))
		  if tvb(0,1):uint() == 0 then local x = nil; return x.y end
		end
		DissectorTable.get("tcp.port"):add(7777, p)`)
	if err != nil {
		t.Fatal(err)
	}
	frs := feed(t, s, []seg{{ToServer, []byte{0}}, {ToServer, []byte{1}}})
	errs := frs[0].Errors()
	if len(errs) != 1 || errs[0].Frame != 1 || !strings.Contains(errs[0].Message, "test.lua:7:") {
		t.Fatalf("errors: %+v", errs)
	}
	if errs[0].Traceback == "" {
		t.Error("no traceback")
	}
	it := frs[0].Items()
	if len(it) != 2 || it[1].Abbrev != AbbrevLuaError || !strings.HasPrefix(it[1].Text, "Lua Error: test.lua:7:") {
		t.Fatalf("items: %s", it[1].Dump())
	}
	if len(frs[1].Errors()) != 0 || len(frs[1].Items()) != 1 {
		t.Errorf("frame 2 not dissected normally")
	}
}

func TestStrict51(t *testing.T) {
	cases := []struct{ src, want string }{
		{"for i=1,2 do goto continue end", "t.lua:1: '=' expected near 'continue'"},
		{"::a::", "t.lua:1: unexpected symbol near ':'"},
		{"local x = 7 // 2", "unexpected symbol near '/'"},
		{"local x = 1 & 2", "unexpected symbol near '&'"},
		{"local x = 1 | 2", "unexpected symbol near '|'"},
		{"local x = ~1", "unexpected symbol near '~'"},
		{"local x = 1 << 2", "unexpected symbol near '<'"},
		{"x = 1\ny = 2 >> 3", "t.lua:2: unexpected symbol near '>'"},
	}
	for _, c := range cases {
		err := CheckSyntax51("t.lua", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
	}
	for _, ok := range []string{
		`local s = "goto x // & | ~ << >>" -- goto y // &`,
		"--[[ goto x\n // ]] local a = [==[ :: & ]==] ~= nil",
		"local goto = 1 print(goto)",
		"local x = a ~= b and 1 <= 2 and 3 >= 2",
		"local t = { [1] = 2 }; local s = t[ [[x]] ]",
	} {
		if err := CheckSyntax51("t.lua", []byte(ok)); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	// Profile 1.10 rejects goto at load time even though gopher-lua accepts it.
	if _, err := loadSrc(t, Profile110, "for i=1,2 do if i then goto c end ::c:: end"); err == nil || !strings.Contains(err.Error(), "'=' expected near 'c'") {
		t.Errorf("1.10 accepted goto: %v", err)
	}
	if _, err := loadSrc(t, Profile40, "for i=1,2 do if i then goto c end ::c:: end"); err != nil {
		t.Errorf("4.0 (Lua 5.2) rejected goto: %v", err)
	}
	if _, err := loadSrc(t, Profile40, "local x = 1 // 2"); err == nil {
		t.Errorf("4.0 (Lua 5.2) accepted //")
	}
}

func TestFloat54(t *testing.T) {
	cases := []struct {
		code       string
		want44     string
		wantOthers string
	}{
		{`return tostring(6/2)`, "3.0", "3"},
		{`local ms = (2000 - 1000) / 1000; return "t=" .. ms .. "s"`, "t=1.0s", "t=1s"},
		{`local x = 7 / 2; return x .. ""`, "3.5", "3.5"},
		{`local n = 6; return n .. "|" .. 2^3 .. "|" .. 1.5e3 .. "|" .. 0x10`, "6|8.0|1500.0|16", "6|8|1500|16"},
		{`local x = 6/2; x = 4; return tostring(x)`, "4", "4"},
		{`return tostring(math.floor(6/2))`, "3", "3"},
		{`return string.format("%s %d", 10/2, 10/2)`, "5.0 5", "5 5"},
		{`return tostring(1e100/1)`, "1e+100", "1e+100"},
	}
	for _, c := range cases {
		for _, p := range []Profile{Profile40, Profile44} {
			ok, got := evalLua(t, p, c.code)
			want := c.wantOthers
			if p == Profile44 {
				want = c.want44
			}
			if !ok || got != want {
				t.Errorf("%s under %s: got %v %q, want %q", c.code, p, ok, got, want)
			}
		}
	}
	ok, got, _ := evalDissector(t, Profile44, hexb("01"), `tree:add(f_u8, tvb(0,1), 7/2)`)
	if ok || !strings.Contains(got, "number has no integer representation") {
		t.Errorf("4.4 float to uint8: %v %q", ok, got)
	}
	ok, got, _ = evalDissector(t, Profile40, hexb("01"), `return tree:add(f_u8, tvb(0,1), 7/2):get_text()`)
	if !ok || got != "U8: 3" {
		t.Errorf("4.0 float to uint8: %v %q", ok, got)
	}
}

func TestMisc(t *testing.T) {
	runCases(t, []apiCase{
		{"Proto is a function on 1.10", Profile110, `return type(Proto)`, true, "function"},
		{"Proto is a table on 1.12", Profile112, `return type(Proto)`, true, "table"},
		{"expert table 1.10", Profile110, `return expert.group.MALFORMED`, false, "wslua: expert (expert.group/expert.severity) is not available in Wireshark 1.10 (first in 1.12)"},
		{"UInt64", Profile40, `local u = UInt64(5) + 3; return tostring(u) .. " " .. u:tonumber() .. " " .. tostring(UInt64.max())`, true, "8 8 18446744073709551615"},
		{"DissectorTable set 1.10", Profile110, `local p = Proto("abc", "x"); p.dissector = function() end; DissectorTable.get("tcp.port"):set(1, p)`, false, "wslua: DissectorTable:set is not available in Wireshark 1.10 (first in 1.12)"},
	}, false)

	// Dissector:call and a Tvb kept past its call.
	s, err := loadSrc(t, Profile40, `
		local inner = Proto("inner", "Inner")
		local f = ProtoField.uint8("inner.b", "B")
		inner.fields = {f}
		function inner.dissector(tvb, pinfo, tree) tree:add(inner, tvb()):add(f, tvb(0,1)); return 1 end
		local outer = Proto("outer", "Outer")
		local saved
		function outer.dissector(tvb, pinfo, tree)
		  if saved then
		    local ok, e = pcall(function() return saved:len() end)
		    pinfo.cols.info = tostring(e)
		  end
		  saved = tvb
		  local n = Dissector.get("inner"):call(tvb(1):tvb(), pinfo, tree)
		  pinfo.cols.protocol = "n=" .. n
		end
		DissectorTable.get("tcp.port"):add(7777, outer)`)
	if err != nil {
		t.Fatal(err)
	}
	frs := feed(t, s, []seg{{ToServer, hexb("0102")}, {ToServer, hexb("0304")}})
	if frs[0].Protocol != "n=1" {
		t.Errorf("protocol %q", frs[0].Protocol)
	}
	b := frs[0].Items()[0].Find("inner.b")
	if b == nil || b.Value != uint64(2) || b.Offset != 1 {
		t.Errorf("inner item: %+v", b)
	}
	if !strings.HasSuffix(frs[1].Info, ": expired tvb") {
		t.Errorf("saved tvb: %q", frs[1].Info)
	}
}
