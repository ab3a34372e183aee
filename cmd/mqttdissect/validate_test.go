package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// validateCLI runs mqttdissect in-process and returns stdout, stderr and the
// exit status.
func validateCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// lastLine returns the last line of out.
func validateLastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}

// generatedForValidate writes the generated dissector with the lua command
// and returns its path and source.
func generatedForValidate(t *testing.T) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mqtt.lua")
	if _, stderr, code := validateCLI(t, "lua", "-o", path); code != 0 {
		t.Fatalf("lua -o: exit %d: %s", code, stderr)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, src
}

// writeScript writes src as a script file and returns its path.
func writeValidateScript(t *testing.T, name string, src []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestValidateGenerated is the acceptance test: the generated
// dissector validates on every testdata capture, with the shell glob
// testdata/*.pcap* (which also names the .pdml and .info files).
func TestValidateGenerated(t *testing.T) {
	lua, _ := generatedForValidate(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "*.pcap*"))
	if err != nil || len(files) < 8 {
		t.Fatalf("glob: %v %v", files, err)
	}
	out, stderr, code := validateCLI(t, append([]string{"validate", "--lua", lua}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	want := regexp.MustCompile(`^validate: 8 captures, [1-9]\d* PDUs, [1-9]\d* fields, \d+ expert infos compared: 0 differences, 0 Lua errors$`)
	if !want.MatchString(validateLastLine(out)) {
		t.Errorf("last line %q", validateLastLine(out))
	}
	if !strings.Contains(out, "validate: skipped 16 files that are not pcap or pcapng") {
		t.Errorf("the .pdml and .info files were not skipped:\n%s", out)
	}
	t.Log(validateLastLine(out))
}

// TestValidateProfiles runs the generated dissector under each release it
// targets.
func TestValidateProfiles(t *testing.T) {
	lua, _ := generatedForValidate(t)
	capture := filepath.Join("..", "..", "testdata", "v5.pcapng")
	for _, ws := range []string{"1.10", "1.10/5.2", "1.12", "2.6", "3.6", "4.0", "4.4"} {
		out, _, code := validateCLI(t, "validate", "--lua", lua, "--wireshark", ws, capture)
		if code != 0 {
			t.Errorf("--wireshark %s: exit %d\n%s", ws, code, out)
		}
	}
}

const validateSampleLua = "../../luagen/validate/testdata/mcbin.lua"
const validateSampleCapture = "../../luagen/validate/testdata/mcbin.pcap"
const validateSampleGolden = "../../luagen/validate/testdata/golden/mcbin.pcap.tree.txt"

// TestValidateGolden validates a dissector of another protocol against
// golden trees, writes them with --update, and fails on a changed one.
func TestValidateGolden(t *testing.T) {
	stored, err := os.ReadFile(validateSampleGolden)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, _, code := validateCLI(t, "validate", "--lua", validateSampleLua, "--golden", dir, "--update", validateSampleCapture)
	if code != 0 {
		t.Fatalf("--update: exit %d\n%s", code, out)
	}
	written, err := os.ReadFile(filepath.Join(dir, "mcbin.pcap.tree.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(written, stored) {
		t.Errorf("--update wrote other trees than %s", validateSampleGolden)
	}
	if !strings.Contains(out, "mcbin.pcap: recorded 11 PDUs, 0 Lua errors") {
		t.Errorf("--update output:\n%s", out)
	}

	out, _, code = validateCLI(t, "validate", "--lua", validateSampleLua, "--golden", filepath.Dir(validateSampleGolden), validateSampleCapture)
	if code != 0 || !strings.HasPrefix(validateLastLine(out), "validate: 1 capture, 11 PDUs, ") {
		t.Fatalf("--golden: exit %d\n%s", code, out)
	}

	changed := bytes.Replace(stored, []byte(`"Opcode: GetK (0x0c)"`), []byte(`"Opcode: GetKey (0x0c)"`), 1)
	if err := os.WriteFile(filepath.Join(dir, "mcbin.pcap.tree.txt"), changed, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = validateCLI(t, "validate", "--lua", validateSampleLua, "--golden", dir, validateSampleCapture)
	if code != 1 || !strings.Contains(out, `frame 6 pdu 1: mcbin.opcode: Lua label "Opcode: GetK (0x0c)", golden label "Opcode: GetKey (0x0c)"`) ||
		!strings.HasPrefix(validateLastLine(out), "validate: FAIL: 1 of 1 capture: 1 difference in 1 PDU, 0 Lua errors") {
		t.Errorf("changed golden: exit %d\n%s", code, out)
	}

	out, _, code = validateCLI(t, "validate", "--lua", validateSampleLua, "--golden", t.TempDir(), validateSampleCapture)
	if code != 1 || !strings.Contains(out, "no golden trees (run with --update to write them)") {
		t.Errorf("missing golden: exit %d\n%s", code, out)
	}
}

// TestValidateFailures: each kind of broken dissector exits 1 with precise
// messages and the one-line summary last.
func TestValidateFailures(t *testing.T) {
	_, gen := generatedForValidate(t)
	v311 := filepath.Join("..", "..", "testdata", "v311.pcap")
	big := filepath.Join("..", "..", "testdata", "bigpayload.pcap")
	mutate := func(old, new string) []byte {
		if !bytes.Contains(gen, []byte(old)) {
			t.Fatalf("the generated dissector lacks %q", old)
		}
		return bytes.Replace(gen, []byte(old), []byte(new), 1)
	}
	noReassembly := bytes.ReplaceAll(gen, []byte("pinfo.desegment_len = "), []byte("local _ = "))
	noReassembly = bytes.ReplaceAll(noReassembly, []byte("pinfo.desegment_offset = "), []byte("local _ = "))
	sample, err := os.ReadFile(validateSampleLua)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		script  []byte
		args    []string
		capture string
		want    []string
		last    string
	}{
		{
			name:    "wrong field",
			script:  mutate(`ProtoField.uint16(P .. ".msgid", "Message Identifier", base.DEC)`, `ProtoField.uint16(P .. ".msgid", "Message Identifier", base.HEX)`),
			capture: v311,
			want:    []string{`  frame 8 pdu 0: mqtt.msgid: Lua "0x0001", label "Message Identifier: 0x0001", native "1", label "Message Identifier: 1"`},
			last:    "validate: FAIL: 1 of 1 capture: ",
		},
		{
			name: "Lua error",
			script: mutate("function proto.dissector(tvb, pinfo, tree)\n",
				"function proto.dissector(tvb, pinfo, tree)\n    if pinfo.number == 8 then local t = nil; return t.x end\n"),
			capture: v311,
			want:    []string{"  frame 8: Lua error: ", "attempt to index", "stack traceback:"},
			last:    "validate: FAIL: 1 of 1 capture: 1 difference in 1 PDU, 1 Lua error",
		},
		{
			name:    "missing reassembly",
			script:  noReassembly,
			capture: big,
			want: []string{"hint: 2 native packets that span TCP segments are missing from the Lua tree or cut short, the first completed by frame 21: " +
				"does the dissector ask for more data (pinfo.desegment_offset and pinfo.desegment_len) when a PDU is not complete?"},
			last: "validate: FAIL: 1 of 1 capture: ",
		},
		{
			name:    "ProtoExpert in Wireshark 1.10",
			script:  sample,
			args:    []string{"--wireshark", "1.10"},
			capture: validateSampleCapture,
			want:    []string{"wslua: ProtoExpert is not available in Wireshark 1.10 (first in 1.12)"},
			last:    "validate: FAIL: ",
		},
		{
			name:    "goto in Lua 5.1",
			script:  mutate("function proto.dissector(tvb, pinfo, tree)\n", "function proto.dissector(tvb, pinfo, tree)\n    goto start\n    ::start::\n"),
			args:    []string{"--wireshark", "1.10"},
			capture: v311,
			want:    []string{"does not load in Wireshark 1.10 (Lua 5.1): ", "'=' expected near 'start'"},
			last:    "validate: FAIL: ",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lua := writeValidateScript(t, "bad.lua", tc.script)
			args := append([]string{"validate", "--lua", lua}, tc.args...)
			out, stderr, code := validateCLI(t, append(args, tc.capture)...)
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s%s", code, out, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if !strings.HasPrefix(validateLastLine(out), tc.last) {
				t.Errorf("last line %q, want prefix %q", validateLastLine(out), tc.last)
			}
		})
	}
}

// TestValidateBudget stops an endless loop with an error naming the frame.
func TestValidateBudget(t *testing.T) {
	lua := writeValidateScript(t, "spin.lua", []byte(`local p = Proto("spin", "Spin")
function p.dissector(tvb, pinfo, tree)
  if pinfo.number == 6 then while true do end end
  tree:add(p, tvb())
  return tvb:len()
end
DissectorTable.get("tcp.port"):add(1883, p)
`))
	out, _, code := validateCLI(t, "validate", "--lua", lua, "--budget", "100000", "--golden", t.TempDir(), "--update",
		filepath.Join("..", "..", "testdata", "v311.pcap"))
	if code != 1 || !strings.Contains(out, "frame 6: Lua error: wslua: script exceeded its budget of 100000 Lua instructions in frame 6 at ") || !strings.Contains(out, "spin.lua:3 (endless loop?)") ||
		!strings.Contains(out, "stopped at frame 6") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

// TestValidateJUnit writes a JUnit report with a failing PDU.
func TestValidateJUnit(t *testing.T) {
	_, gen := generatedForValidate(t)
	lua := writeValidateScript(t, "mqtt.lua", bytes.Replace(gen, []byte(`"Topic Length"`), []byte(`"Topic Len"`), 1))
	report := filepath.Join(t.TempDir(), "report.xml")
	out, _, code := validateCLI(t, "validate", "--lua", lua, "--junit", report,
		filepath.Join("..", "..", "testdata", "v311.pcap"), filepath.Join("..", "..", "testdata", "v5.pcapng"))
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Tests int    `xml:"tests,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Text string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 2 || doc.Tests != 44+53 || doc.Failures == 0 {
		t.Errorf("suites %d, tests %d, failures %d", len(doc.Suites), doc.Tests, doc.Failures)
	}
	if !strings.Contains(string(data), `mqtt.topic_len: Lua label &#34;Topic Len: `) && !strings.Contains(string(data), `mqtt.topic_len: Lua label "Topic Len: `) {
		t.Errorf("the report lacks the difference:\n%.2000s", data)
	}
}

// TestValidateUsage: mistakes in the command line exit 2.
func TestValidateUsage(t *testing.T) {
	capture := filepath.Join("..", "..", "testdata", "v311.pcap")
	for _, args := range [][]string{
		{"validate", capture},
		{"validate", "--lua", validateSampleLua},
		{"validate", "--lua", validateSampleLua, "--wireshark", "5.0", capture},
		{"validate", "--lua", validateSampleLua, "--update", capture},
		{"validate", "--lua", "no-such.lua", capture},
		{"validate", "--lua", validateSampleLua, "--mqtt-version", "6", capture},
		{"validate", "--lua", validateSampleLua, "--port", "70000", capture},
	} {
		if out, stderr, code := validateCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d\n%s%s", args, code, out, stderr)
		}
	}
}

// TestValidateNothingCompared: a capture without traffic on the script's
// ports is a failure, not a pass, and says where the traffic was.
func TestValidateNothingCompared(t *testing.T) {
	lua, _ := generatedForValidate(t)
	report := filepath.Join(t.TempDir(), "report.xml")
	out, _, code := validateCLI(t, "validate", "--lua", lua, "--port", "8883", "--junit", report, filepath.Join("..", "..", "testdata", "v311.pcap"))
	if code != 1 || !strings.Contains(out, "nothing compared") || !strings.Contains(out, "TCP ports read 8883 (the script registers none: read through Decode As)") ||
		!strings.Contains(out, "ports 1883 (") {
		t.Errorf("exit %d\n%s", code, out)
	}
	if x, err := os.ReadFile(report); err != nil || !strings.Contains(string(x), `type="NothingCompared"`) {
		t.Errorf("JUnit: %v\n%s", err, x)
	}
}

// TestValidateMemoryLimit: a script that allocates without end is stopped
// by --memory with a Lua error and exit 1, never a Go fatal error.
func TestValidateMemoryLimit(t *testing.T) {
	lua := writeValidateScript(t, "hog.lua", []byte(`local p = Proto("hog", "Hog")
function p.dissector(tvb, pinfo, tree)
  local s = string.rep("x", 2^36)
end
DissectorTable.get("tcp.port"):add(1883, p)
`))
	out, _, code := validateCLI(t, "validate", "--lua", lua, "--memory", "64", filepath.Join("..", "..", "testdata", "v311.pcap"))
	if code != 1 || !strings.Contains(out, "exceeded its memory limit of 64 MiB in frame") || !strings.Contains(out, "hog.lua:3") {
		t.Errorf("exit %d\n%s", code, out)
	}
}
