package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/largecap"
)

// TestDecodeLargePublish decodes a 20 MB PUBLISH sent over 1,460-byte
// segments, then more packets, with the real binary: the whole payload
// (as Wireshark's built-in dissector reads it), nothing cut short, and
// every packet after it.
func TestDecodeLargePublish(t *testing.T) {
	if testing.Short() {
		t.Skip("20 MB capture")
	}
	n := 20 * largecap.MB
	path := filepath.Join(t.TempDir(), "publish-20MB.pcap")
	if err := os.WriteFile(path, largecap.Publish(n), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runBinary(t, nil, "decode", "--format", "jsonl", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var types []string
	want := hex.EncodeToString(largecap.Payload(n))
	found := false
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var pkt struct {
			Type      string  `json:"type"`
			Fields    [][]any `json:"fields"`
			Malformed bool    `json:"malformed"`
			Notes     []any   `json:"notes"`
		}
		if err := json.Unmarshal([]byte(line), &pkt); err != nil {
			t.Fatalf("%v: %.200s", err, line)
		}
		types = append(types, pkt.Type)
		if pkt.Malformed || len(pkt.Notes) > 0 {
			t.Errorf("%s: malformed %v, notes %v", pkt.Type, pkt.Malformed, pkt.Notes)
		}
		for _, f := range pkt.Fields {
			if f[0] == "mqtt.msg" {
				if s, _ := f[1].(string); len(s) == 2*n {
					found = s == want
				}
			}
		}
	}
	if !found {
		t.Errorf("no mqtt.msg with the whole %d-byte payload", n)
	}
	if got := strings.Join(types, " "); got != "CONNECT CONNACK PUBLISH PUBACK PUBLISH PINGREQ PINGRESP DISCONNECT" {
		t.Errorf("packets %s", got)
	}
}

// naive3MB adds the whole 3 MB PUBLISH (3,000,020 bytes) as one bytes item.
const naive3MB = `
local p = Proto("naive", "Naive")
local f = ProtoField.bytes("naive.data", "Data")
p.fields = { f }
function p.dissector(tvb, pinfo, tree)
    if tvb:len() < 3000020 then
        pinfo.desegment_offset = 0
        pinfo.desegment_len = 3000020 - tvb:len()
        return tvb:len()
    end
    tree:add(p, tvb()):add(f, tvb())
    return tvb:len()
end
DissectorTable.get("tcp.port"):add(1883, p)
`

// TestValidate110Ceiling: `validate --wireshark 1.10` fails a dissector
// that would make 1.10's tshark abort (a 3 MB bytes item), naming frame,
// field, size and outcome, and passes the generated one on the same
// capture (which shows the payload over what 1.10 can export).
func TestValidate110Ceiling(t *testing.T) {
	capture := filepath.Join(t.TempDir(), "publish-3MB.pcap")
	if err := os.WriteFile(capture, largecap.Publish(3*largecap.MB), 0o644); err != nil {
		t.Fatal(err)
	}
	naive := writeValidateScript(t, "naive.lua", []byte(naive3MB))
	out, _, code := validateCLI(t, "validate", "--lua", naive, "--wireshark", "1.10", "--port", "1883", capture)
	if code != 1 {
		t.Errorf("naive dissector under 1.10: exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"frame 2060", "field naive.data", "3000020-byte value", "tshark aborts"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	if out, _, code := validateCLI(t, "validate", "--lua", naive, "--wireshark", "4.0", "--port", "1883", capture); strings.Contains(out, "tshark aborts") {
		t.Errorf("4.0 has no such ceiling (exit %d):\n%s", code, out)
	}
	gen, _ := generatedForValidate(t)
	if out, _, code := validateCLI(t, "validate", "--lua", gen, "--wireshark", "1.10", capture); code != 0 {
		t.Errorf("generated dissector under 1.10: exit %d:\n%s", code, out)
	}
}
