package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testdata(name string) string { return filepath.Join("..", "..", "testdata", name) }

func TestVersionAndUsageConventions(t *testing.T) {
	out, _, code := runBinary(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "mqttdissect ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	for _, tc := range []struct {
		args []string
		help string
	}{
		{[]string{"frob"}, "'mqttdissect --help'"},
		{[]string{"decode", "--format", "xml"}, "'mqttdissect decode --help'"},
		{[]string{"decode", "-V", "--format", "json"}, "'mqttdissect decode --help'"},
		{[]string{"decode", "-Y", "mqtt.qos =="}, "'mqttdissect decode --help'"},
		{[]string{"decode", "-T", "fields"}, "'mqttdissect decode --help'"},
		{[]string{"decode", "-e", "mqtt.topic"}, "'mqttdissect decode --help'"},
		{[]string{"decode", "-T", "fields", "-e", "mqtt.nope"}, "'mqttdissect decode --help'"},
		{[]string{"decode", "-T", "fields", "-e", "mqtt.topic", "-E", "quote=x"}, "'mqttdissect decode --help'"},
		{[]string{"decode", "--with-acks"}, "'mqttdissect decode --help'"},
		{[]string{"decode", "--port", "any", "-"}, "'mqttdissect decode --help'"},
		{[]string{"stats", "--format", "xml"}, "'mqttdissect stats --help'"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, stderr, code := runBinary(t, []byte{}, tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.help) {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			for _, leak := range []string{": dissect: ", "luagen: ", ".tmp"} {
				if strings.Contains(stderr, leak) {
					t.Errorf("stderr leaks %q: %q", leak, stderr)
				}
			}
		})
	}
	// --list-fields names the table's fields and the pseudo-fields.
	if out, _, code := runBinary(t, nil, "decode", "--list-fields"); code != 0 || !strings.Contains(out, "mqtt.topic") || !strings.Contains(out, "frame.number") || !strings.Contains(out, `"Publish Message"`) {
		t.Errorf("--list-fields: exit %d:\n%s", code, out)
	}
	// Enumerations are case-insensitive.
	if _, stderr, code := runBinary(t, nil, "decode", "--format", "JSONL", "--progress", "NEVER", "--type", "Publish", testdata("v311.pcap")); code != 0 {
		t.Errorf("upper-case enumerations: exit %d: %s", code, stderr)
	}
	// Help shows no empty default for lists.
	for _, sub := range []string{"decode", "stats", "validate", "lua"} {
		out, _, _ := runBinary(t, nil, sub, "--help")
		if strings.Contains(out, "(default [])") || strings.Contains(out, "(default )") {
			t.Errorf("%s --help shows an empty default", sub)
		}
	}
	// Completion offers the values of enumerated flags, not file names.
	for _, tc := range []struct{ args, want []string }{
		{[]string{"decode", "--format", ""}, []string{"text", "json", "jsonl", "fields"}},
		{[]string{"decode", "--type", "PUB"}, []string{"PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP"}},
		{[]string{"stats", "--progress", ""}, []string{"auto", "always", "never"}},
		{[]string{"decode", "--mqtt-version", ""}, []string{"3.1", "3.1.1", "5"}},
		{[]string{"validate", "--wireshark", "1."}, []string{"1.10", "1.10/5.2", "1.12"}},
	} {
		out, _, _ := runBinary(t, nil, append([]string{"__complete"}, tc.args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(tc.want)+1 || strings.Join(lines[:len(tc.want)], " ") != strings.Join(tc.want, " ") || lines[len(lines)-1] != ":4" {
			t.Errorf("completion of %v = %q", tc.args, out)
		}
	}
}

func TestDecodeNoMQTTSaysSo(t *testing.T) {
	out, stderr, code := runBinary(t, nil, "decode", "--port", "1884", testdata("v311.pcap"))
	if code != 0 || out != "" {
		t.Errorf("exit %d, output %q", code, out)
	}
	for _, want := range []string{"no MQTT packets on TCP port 1884 in 101 frames", "1883 (101 frames, 568 bytes)", "try --port 1883"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	_, stderr, _ = runBinary(t, nil, "stats", "--port", "1884", testdata("v311.pcap"))
	if !strings.Contains(stderr, "no MQTT packets") {
		t.Errorf("stats stderr %q", stderr)
	}
	// stats counts every frame of the file, MQTT or not.
	out, _, _ = runBinary(t, nil, "stats", "--port", "1884", "--format", "json", testdata("v311.pcap"))
	var rep struct {
		Summary struct{ Frames int } `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Summary.Frames != 101 {
		t.Errorf("stats frames = %d (%v)", rep.Summary.Frames, err)
	}
	// --port any finds the port from the CONNECTs and reads it.
	out, stderr, code = runBinary(t, nil, "decode", "--port", "any", testdata("v311.pcap"))
	full, _, _ := runBinary(t, nil, "decode", testdata("v311.pcap"))
	if code != 0 || out != full || !strings.Contains(stderr, "MQTT found on TCP port 1883 (6 connections, 6 answered by CONNACK)") {
		t.Errorf("--port any: exit %d, stderr %q, same output %v", code, stderr, out == full)
	}
}

func TestDecodeShorthandsAndOutputs(t *testing.T) {
	v5 := testdata("v5.pcapng")
	frames := func(out string) string {
		var fs []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(l); len(f) > 0 {
				fs = append(fs, f[0])
			}
		}
		return strings.Join(fs, " ")
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"with-acks keeps the QoS 2 flow and the SUBACK", []string{"--topic", "v5/plain", "--with-acks"}, "8 9 54 55 56 57 58 59 60 65"},
		{"topic alone", []string{"--topic", "v5/plain"}, "8 54 57"},
		{"empty client id", []string{"--client-id", "", "-c", "3"}, "4 6 8"},
		{"assigned client id, from the CONNACK on", []string{"--client-id", "auto-EE3C2697-CB9E-0819-5D80-BFC501CE457A", "-c", "2"}, "6 8"},
		{"several client ids", []string{"--client-id", "nobody", "--client-id", "", "-c", "1"}, "4"},
		{"type shorthand", []string{"--type", "suback,UNSUBACK"}, "9 11 13 100"},
		{"shorthand and -Y", []string{"--type", "publish", "-Y", "mqtt.retain == 1"}, "38 103"},
		{"-c", []string{"-c", "2"}, "4 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runBinary(t, nil, append(append([]string{"decode"}, tc.args...), v5)...)
			if code != 0 || frames(out) != tc.want {
				t.Errorf("exit %d, frames %q, want %q (stderr %q)", code, frames(out), tc.want, stderr)
			}
		})
	}
	t.Run("hex dump", func(t *testing.T) {
		out, _, _ := runBinary(t, nil, "decode", "-x", "-c", "1", v5)
		lines := strings.Split(out, "\n")
		if len(lines) < 3 || !strings.HasPrefix(lines[1], "0000  10 a5 01 00 04 4d 51 54 54 05 ee 00 05 25 21 00   .....MQTT....%!.") {
			t.Errorf("hex dump:\n%s", out)
		}
	})
	t.Run("jsonl depth", func(t *testing.T) {
		out, _, _ := runBinary(t, nil, "decode", "--format", "jsonl", "-c", "1", v5)
		var p struct{ Fields [][3]any }
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		depth := map[string]float64{}
		for _, f := range p.Fields {
			if _, ok := depth[f[0].(string)]; !ok {
				depth[f[0].(string)] = f[2].(float64)
			}
		}
		if depth["mqtt.hdrflags"] != 0 || depth["mqtt.msgtype"] != 1 || depth["mqtt.properties"] != 0 || depth["mqtt.property_id"] != 1 {
			t.Errorf("depths %v", depth)
		}
	})
}

func TestMalformedLine(t *testing.T) {
	for _, tc := range []struct {
		n      int
		frames []int
		want   string
	}{
		{1, []int{7}, "1 malformed MQTT packet (frame 7)"},
		{7, []int{1, 2, 3, 4, 5}, "7 malformed MQTT packets (frame 1, 2, 3, 4, 5, ...)"},
		{2, []int{3, 9}, "2 malformed MQTT packets (frame 3, 9)"},
	} {
		if got := malformedLine(tc.n, tc.frames); got != tc.want {
			t.Errorf("malformedLine(%d, %v) = %q, want %q", tc.n, tc.frames, got, tc.want)
		}
	}
}

// movePort writes a copy of an Ethernet/IPv4 pcap with TCP port from moved
// to to, as a broker on a non-standard port would be captured.
func movePort(t *testing.T, path string, from, to uint16) string {
	t.Helper()
	header, recs := pcapRecords(t, path)
	data := append([]byte{}, header...)
	for _, r := range recs {
		r = append([]byte{}, r...)
		frame := r[16:]
		if len(frame) > 14+20+4 && frame[12] == 0x08 && frame[13] == 0x00 {
			tcp := frame[14+int(frame[14]&15)*4:]
			for _, off := range []int{0, 2} {
				if uint16(tcp[off])<<8|uint16(tcp[off+1]) == from {
					tcp[off], tcp[off+1] = byte(to>>8), byte(to)
				}
			}
		}
		data = append(data, r...)
	}
	out := filepath.Join(t.TempDir(), "moved.pcap")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPortAnyFindsAnotherPort: MQTT on port 18830 is not silent: decode
// names the port, and --port any finds and decodes it.
func TestPortAnyFindsAnotherPort(t *testing.T) {
	moved := movePort(t, testdata("v311.pcap"), 1883, 18830)
	out, stderr, code := runBinary(t, nil, "decode", moved)
	if code != 0 || out != "" || !strings.Contains(stderr, "18830 (101 frames") || !strings.Contains(stderr, "try --port 18830") {
		t.Errorf("default port: exit %d, output %q, stderr %q", code, out, stderr)
	}
	want, _, _ := runBinary(t, nil, "decode", "--port", "18830", moved)
	got, stderr, code := runBinary(t, nil, "decode", "--port", "any", moved)
	if code != 0 || got != want || want == "" || !strings.Contains(stderr, "MQTT found on TCP port 18830 (6 connections") {
		t.Errorf("--port any: exit %d, stderr %q, same output %v", code, stderr, got == want)
	}
}

func TestWithoutPrefixes(t *testing.T) {
	for in, want := range map[string]string{
		"dissect: not a pcap or pcapng file":              "not a pcap or pcapng file",
		"a.pcap: dissect: truncated capture: frame 3":     "a.pcap: truncated capture: frame 3",
		"luagen: protocol name \"X\": use lower-case":     "protocol name \"X\": use lower-case",
		"topic sensors/dissect: x is kept":                "topic sensors/dissect: x is kept",
		"install: cannot write: luagen: port 0 is not ok": "install: cannot write: port 0 is not ok",
	} {
		if got := withoutPrefixes(errors.New(in)).Error(); got != want {
			t.Errorf("withoutPrefixes(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStatsPortAny: stats finds a broker on another port as decode does.
func TestStatsPortAny(t *testing.T) {
	moved := movePort(t, testdata("v311.pcap"), 1883, 18830)
	want, _, _ := runBinary(t, nil, "stats", "--format", "json", "--port", "18830", moved)
	got, stderr, code := runBinary(t, nil, "stats", "--format", "json", "--port", "ANY", moved)
	if code != 0 || got != want || !strings.Contains(stderr, "MQTT found on TCP port 18830") {
		t.Errorf("exit %d, stderr %q, same report %v", code, stderr, got == want)
	}
	if _, stderr, code := runBinary(t, nil, "stats", "--port", "any,1883", moved); code != exitUsage {
		t.Errorf("any with a port: exit %d, %q", code, stderr)
	}
}
