package validate

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
	"github.com/mqttdissect/mqttdissect/luagen/wslua"
	"github.com/mqttdissect/mqttdissect/spec"
)

// TestGeneratedMatchesNative validates the generated mqtt.lua against the
// native decoder on every testdata capture: no difference, no Lua error.
func TestGeneratedMatchesNative(t *testing.T) {
	src := generatedLua(t)
	v := newValidator(t, "mqtt.lua", src, Options{})
	total := 0
	for _, capture := range testCaptures(t) {
		res := runFile(t, v, capture, nil)
		if !res.OK() {
			t.Errorf("%s", report(res))
		}
		if res.PDUs == 0 || res.Fields == 0 || res.PDUs != res.LuaPDUs || res.PDUs != res.RefPDUs {
			t.Errorf("%s: nothing or not everything compared: %s", capture, res.Line())
		}
		total += res.PDUs
		t.Log(res.Line())
	}
	t.Logf("%d PDUs in all", total)
}

// TestGeneratedProfiles runs the generated dissector under every profile:
// it targets Wireshark 1.10 and later with Lua 5.1 to 5.4.
func TestGeneratedProfiles(t *testing.T) {
	src := generatedLua(t)
	captures := testCaptures(t)
	for _, p := range wslua.Profiles() {
		v := newValidator(t, "mqtt.lua", src, Options{Profile: p})
		for _, capture := range captures {
			if res := runFile(t, v, capture, nil); !res.OK() {
				t.Errorf("Wireshark %s: %s", p, report(res))
			}
		}
	}
}

// TestSampleCaptureFixture keeps testdata/mcbin.pcap equal to what
// mcbinCapture builds (go test -update rewrites it).
func TestSampleCaptureFixture(t *testing.T) {
	want := mcbinCapture()
	path := filepath.Join("testdata", "mcbin.pcap")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what mcbinCapture builds (go test ./luagen/validate -run Fixture -update)", path)
	}
}

// TestSampleGolden validates the hand-written memcached dissector against
// its golden trees, and checks that the golden file is what the current
// reading writes.
func TestSampleGolden(t *testing.T) {
	src, err := os.ReadFile("testdata/mcbin.lua")
	if err != nil {
		t.Fatal(err)
	}
	capture := filepath.Join("testdata", "mcbin.pcap")
	goldenPath := filepath.Join("testdata", "golden", GoldenName(capture))
	v := newValidator(t, "mcbin.lua", src, Options{KeepTrees: true})
	if got := v.Ports(); len(got) != 1 || got[0] != 11211 {
		t.Errorf("ports %v, want the script's 11211", got)
	}
	rec := runFile(t, v, capture, &Reference{Record: true})
	if !rec.OK() || !rec.Recorded || rec.LuaPDUs < 10 {
		t.Fatalf("recording: %s", report(rec))
	}
	var buf bytes.Buffer
	if err := WriteGolden(&buf, "mcbin.lua", rec); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(stored) {
		t.Errorf("%s is out of date (go test ./luagen/validate -run SampleGolden -update)", goldenPath)
	}
	// The sample exercises what it should.
	text := string(stored)
	for _, want := range []string{
		"frame 6 pdu 1: mcbin = ",                          // two PDUs in one segment
		"frame 9 pdu 0: mcbin = ",                          // reassembled from frames 7-9
		`! Warning/Undecoded: "Unknown opcode"`,            // ProtoExpert on an item
		`! Error/Malformed: "Extras and key are longer`,    // on the root
		`"Memcached Binary (Lua sample), garbage"`,         // the rest of a segment
		`mcbin.extras.flags = "0xdeadbeef" @24+4 "Flags: `, // nested field
	} {
		if !strings.Contains(text, want) {
			t.Errorf("golden trees lack %q", want)
		}
	}

	ref, err := ReadGolden(bytes.NewReader(stored))
	if err != nil {
		t.Fatal(err)
	}
	res := runFile(t, v, capture, ref)
	if !res.OK() || res.PDUs != len(ref.Trees) || res.PDUs < 10 || res.Experts < 3 {
		t.Errorf("validation against the golden trees: %s", report(res))
	}
	t.Log(res.Line())

	// A changed golden line is a precise difference.
	bad := strings.Replace(string(stored), `mcbin.key = "user:2" @24+6 "Key: user:2"`, `mcbin.key = "user:3" @24+6 "Key: user:3"`, 1)
	if bad == string(stored) {
		t.Fatal("golden file lacks the key line the test changes")
	}
	ref, err = ReadGolden(strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	res = runFile(t, v, capture, ref)
	if res.OK() || res.DiffCount != 1 {
		t.Fatalf("want 1 difference:\n%s", report(res))
	}
	want := `frame 6 pdu 1: mcbin.key: Lua "user:2", label "Key: user:2", golden "user:3", label "Key: user:3"`
	if got := res.Diffs[0].String(); got != want {
		t.Errorf("difference\n got %s\nwant %s", got, want)
	}
}

// mutate returns src with old replaced by new once, failing when old is
// not there.
func mutate(t *testing.T, src []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(src, []byte(old)) {
		t.Fatalf("the script lacks %q", old)
	}
	return bytes.Replace(src, []byte(old), []byte(new), 1)
}

// TestWrongDissectors checks that each kind of fault is reported with the
// frame, the field and both values.
func TestWrongDissectors(t *testing.T) {
	src := generatedLua(t)
	capture := filepath.Join("..", "..", "testdata", "v311.pcap")
	cases := []struct {
		name   string
		script []byte
		want   []string // substrings of the report
	}{
		{
			name:   "wrong label",
			script: mutate(t, src, `"Topic Length"`, `"Topic Len"`),
			want:   []string{`frame 8 pdu 0: mqtt.topic_len: Lua label "Topic Len: 14", native label "Topic Length: 14"`},
		},
		{
			name:   "wrong abbrev",
			script: mutate(t, src, `P .. ".kalive"`, `P .. ".keepalive"`),
			want:   []string{`frame 4 pdu 0: mqtt.kalive: Lua field mqtt.keepalive, native field mqtt.kalive`},
		},
		{
			name: "wrong value rendering",
			script: mutate(t, src, `ProtoField.uint16(P .. ".msgid", "Message Identifier", base.DEC)`,
				`ProtoField.uint16(P .. ".msgid", "Message Identifier", base.HEX)`),
			want: []string{`frame 8 pdu 0: mqtt.msgid: Lua "0x0001", label "Message Identifier: 0x0001", native "1", label "Message Identifier: 1"`},
		},
		{
			name: "Lua error",
			script: mutate(t, src, "function proto.dissector(tvb, pinfo, tree)\n",
				"function proto.dissector(tvb, pinfo, tree)\n    if pinfo.number == 8 then error(\"boom in frame 8\") end\n"),
			want: []string{"frame 8: Lua error: ", "boom in frame 8", "stack traceback:",
				"frame 8 pdu 0: mqtt: Lua (none), native \"Subscribe Request (id=1) [sensors/+/temp] [home/#] [plain/topic]\" with 14 fields"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, "mqtt.lua", tc.script, Options{})
			res := runFile(t, v, capture, nil)
			rep := report(res)
			if res.OK() {
				t.Fatalf("validation passed:\n%s", rep)
			}
			for _, w := range tc.want {
				if !strings.Contains(rep, w) {
					t.Errorf("report lacks %q:\n%s", w, rep)
				}
			}
		})
	}
}

// TestMissingReassembly validates a dissector that never asks for more
// data on a capture whose PUBLISH spans three segments.
func TestMissingReassembly(t *testing.T) {
	src := generatedLua(t)
	// Never ask TCP for more data.
	for _, field := range []string{"pinfo.desegment_len = ", "pinfo.desegment_offset = "} {
		if !bytes.Contains(src, []byte(field)) {
			t.Fatalf("the generated dissector never sets %s", field)
		}
	}
	script := bytes.ReplaceAll(src, []byte("pinfo.desegment_len = "), []byte("local _ = "))
	script = bytes.ReplaceAll(script, []byte("pinfo.desegment_offset = "), []byte("local _ = "))
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(netipMust("192.0.2.10:40000"), netipMust("192.0.2.1:1883"))
	c.Handshake()
	c.Send(pcapbuild.ToServer, unhex(t, "10 0c 0004 4d515454 04 02 003c 0000"))
	c.Send(pcapbuild.ToClient, unhex(t, "20 02 00 00"))
	c.SendSplit(pcapbuild.ToServer, publish(t, 200), 2, 100)
	c.Send(pcapbuild.ToServer, unhex(t, "c0 00"))
	var capture bytes.Buffer
	if err := b.WritePcap(&capture); err != nil {
		t.Fatal(err)
	}
	good := newValidator(t, "mqtt.lua", src, Options{})
	if res := runBytes(t, good, "split.pcap", capture.Bytes(), nil); !res.OK() || res.PDUs != 4 {
		t.Fatalf("the generated dissector: %s", report(res))
	}
	v := newValidator(t, "mqtt.lua", script, Options{})
	res := runBytes(t, v, "split.pcap", capture.Bytes(), nil)
	rep := report(res)
	for _, w := range []string{
		"hint: 1 native packet that spans TCP segments is missing from the Lua tree or cut short, the first completed by frame 8",
		"frame 8 pdu 0: mqtt: Lua (none), native \"Publish Message [a/b]\" with 9 fields",
		"it spans several TCP segments: does the dissector ask for more data (pinfo.desegment_offset and pinfo.desegment_len)",
		"frame 7 pdu 0: mqtt: Lua \"MQ Telemetry Transport Protocol, Reserved\" with 4 fields, native (none) (PDU the Lua dissector shows and the native decoder does not)",
	} {
		if !strings.Contains(rep, w) {
			t.Errorf("report lacks %q:\n%s", w, rep)
		}
	}
	if res.OK() {
		t.Error("validation passed")
	}
}

// TestProfilesRejectMissingAPI shows each profile rejecting an API point
// (or a Lua construct) its Wireshark release lacks, naming it and the
// first release that has it.
func TestProfilesRejectMissingAPI(t *testing.T) {
	const head = "local p = Proto(\"tiny\", \"Tiny\")\nlocal f = ProtoField.uint8(\"tiny.b\", \"B\")\np.fields = { f }\n"
	const tail = "DissectorTable.get(\"tcp.port\"):add(1883, p)\n"
	dissector := func(body string) string {
		return head + "function p.dissector(tvb, pinfo, tree)\n" + body + "\n  tree:add(p, tvb()):add(f, tvb(0, 1))\n  return tvb:len()\nend\n" + tail
	}
	cases := []struct {
		profile string
		script  string
		load    bool // fails while loading (else in the dissector)
		want    string
	}{
		{"1.10", head + "local e = ProtoExpert.new(\"tiny.e\", \"E\", expert.group.MALFORMED, expert.severity.ERROR)\n" + dissector(""), true,
			"wslua: ProtoExpert is not available in Wireshark 1.10 (first in 1.12)"},
		{"1.10", dissector("  for i = 1, 2 do\n    if i == 1 then goto continue end\n    ::continue::\n  end"), true,
			"tiny.lua:6: '=' expected near 'continue'"}, // what Lua 5.1 says of goto
		{"1.10/5.2", dissector("  local x = bit.band(1, 3)"), false, "wslua: bit is not available in Wireshark 1.10 built with Lua 5.2 (only bit32)"},
		{"1.12", dissector("  dissect_tcp_pdus(tvb, tree, 2, function() return 2 end, function() end)"), false,
			"wslua: dissect_tcp_pdus is not available in Wireshark 1.12 (first in 2.0)"},
		{"2.6", head + "local n = ProtoField.none(\"tiny.n\", \"N\")\n" + dissector(""), true,
			"wslua: ProtoField.none is not available in Wireshark 2.6 (first in 3.0)"},
		{"3.6", dissector("  local x = 7 // 2"), true, "tiny.lua:5: unexpected symbol near '/'"}, // Lua 5.2 has no //
		{"4.0", dissector("  local x = 7 & 3"), true, "&"},
		{"4.4", dissector("  local x = bit32.band(1, 3)"), false, "wslua: bit32 is not available in Lua 5.4 (Wireshark 4.4)"},
	}
	capture := filepath.Join("..", "..", "testdata", "v311.pcap")
	for _, tc := range cases {
		t.Run(tc.profile, func(t *testing.T) {
			p, err := wslua.ProfileByName(tc.profile)
			if err != nil {
				t.Fatal(err)
			}
			v, err := New("tiny.lua", []byte(tc.script), Options{Profile: p})
			if tc.load {
				le, ok := err.(*LoadError)
				if !ok {
					t.Fatalf("want a LoadError, got %v", err)
				}
				if !strings.Contains(le.Error(), tc.want) || !strings.Contains(le.Error(), "tiny.lua does not load in Wireshark "+p.String()) {
					t.Errorf("error %q lacks %q", le.Error(), tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res := runFile(t, v, capture, nil)
			if res.ErrorCount == 0 {
				t.Fatalf("no Lua error:\n%s", report(res))
			}
			if e := res.Errors[0]; !strings.Contains(e.Message, tc.want) || e.Frame != 4 {
				t.Errorf("first error %v, want frame 4 and %q", e, tc.want)
			}
			// The script works on the release that has the API point.
			if tc.profile != "4.4" {
				v40 := newValidator(t, "tiny.lua", []byte(tc.script), Options{})
				if res := runFile(t, v40, capture, nil); res.ErrorCount > 0 {
					t.Errorf("Wireshark 4.0: %v", res.Errors[0])
				}
			}
		})
	}
}

// TestBudget stops an endless loop with an error naming the frame.
func TestBudget(t *testing.T) {
	script := "local p = Proto(\"spin\", \"Spin\")\nfunction p.dissector(tvb, pinfo, tree)\n  if pinfo.number == 6 then while true do end end\n  tree:add(p, tvb())\nend\nDissectorTable.get(\"tcp.port\"):add(1883, p)\n"
	v := newValidator(t, "spin.lua", []byte(script), Options{Steps: 1_000_000})
	res := runFile(t, v, filepath.Join("..", "..", "testdata", "v311.pcap"), nil)
	if res.ErrorCount != 1 || res.Errors[0].Frame != 6 || res.Errors[0].Where != "spin.lua:3" ||
		!strings.Contains(res.Errors[0].Message, "exceeded its budget of 1000000 Lua instructions in frame 6 at spin.lua:3") {
		t.Errorf("errors %v", res.Errors)
	}
	if res.OK() || !strings.Contains(res.Stopped, "stopped at frame 6") || res.Frames != 6 {
		t.Errorf("not stopped at frame 6: frames %d, %q", res.Frames, res.Stopped)
	}
}

// TestSandbox: a script cannot run commands or write files.
func TestSandbox(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "written")
	for _, body := range []string{
		`os.execute("touch ` + victim + `")`,
		`io.popen("touch ` + victim + `")`,
		`io.open("` + victim + `", "w"):write("x")`,
		`require("socket")`,
	} {
		script := "local p = Proto(\"sbx\", \"Sandbox\")\nfunction p.dissector(tvb, pinfo, tree)\n  " + body + "\nend\nDissectorTable.get(\"tcp.port\"):add(1883, p)\n"
		v := newValidator(t, "sbx.lua", []byte(script), Options{})
		res := runFile(t, v, filepath.Join("..", "..", "testdata", "v311.pcap"), nil)
		if res.ErrorCount == 0 {
			t.Errorf("%s: no Lua error", body)
		}
	}
	if _, err := os.Stat(victim); err == nil {
		t.Error("a script wrote a file")
	}
}

// TestMQTTVersion: --mqtt-version reaches both sides.
func TestMQTTVersion(t *testing.T) {
	src := generatedLua(t)
	// A PUBLISH with properties, on a connection whose CONNECT is missing.
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(netipMust("192.0.2.10:40000"), netipMust("192.0.2.1:1883"))
	c.Send(pcapbuild.ToServer, unhex(t, "30 08 0003 612f62 00 6869"))
	var capture bytes.Buffer
	if err := b.WritePcap(&capture); err != nil {
		t.Fatal(err)
	}
	for _, ver := range []spec.Version{spec.VersionUnknown, spec.V311, spec.V5} {
		v := newValidator(t, "mqtt.lua", src, Options{MQTTVersion: ver})
		res := runBytes(t, v, "nover.pcap", capture.Bytes(), nil)
		if !res.OK() || res.PDUs != 1 {
			t.Errorf("version %v: %s", ver, report(res))
		}
	}
}

// TestJUnit writes a report with a failing PDU and a Lua error.
func TestJUnit(t *testing.T) {
	src := generatedLua(t)
	script := mutate(t, src, `"Topic Length"`, `"Topic Len"`)
	script = mutate(t, script, "function proto.dissector(tvb, pinfo, tree)\n",
		"function proto.dissector(tvb, pinfo, tree)\n    if pinfo.number == 8 then error(\"boom\") end\n")
	v := newValidator(t, "mqtt.lua", script, Options{KeepPDUs: true})
	res := runFile(t, v, filepath.Join("..", "..", "testdata", "v311.pcap"), nil)
	j := &JUnit{Script: "mqtt.lua"}
	j.AddResult(res, time.Second)
	j.AddError("other.lua", "4.0", "load", &LoadError{Script: "other.lua", Profile: wslua.Profile40, Err: &wslua.LuaError{Message: "x"}})
	var buf bytes.Buffer
	if _, err := j.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Tests int    `xml:"tests,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if len(doc.Suites) != 2 || doc.Errors != 2 || doc.Failures == 0 || doc.Tests != len(res.PDUList)+len(res.Errors)+1 {
		t.Errorf("totals: tests %d failures %d errors %d suites %d (PDUs %d)", doc.Tests, doc.Failures, doc.Errors, len(doc.Suites), res.PDUs)
	}
	found := false
	for _, c := range doc.Suites[0].Cases {
		if c.Failure != nil && strings.Contains(c.Failure.Text, `Lua label "Topic Len: `) {
			found = true
		}
	}
	if !found {
		t.Errorf("no failing testcase names the label:\n%s", buf.String())
	}
}
