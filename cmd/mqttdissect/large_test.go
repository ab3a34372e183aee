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
