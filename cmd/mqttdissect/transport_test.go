package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

func transportFile(name string) string {
	return filepath.Join("..", "..", "testdata", "transport", name)
}

// TestDecodeTransports runs the binary over the real TLS and WebSocket
// captures with their key logs and pins the output.
func TestDecodeTransports(t *testing.T) {
	for _, tc := range []struct {
		capture, keys string
		args          []string
		golden        string
	}{
		{"tls12.pcap", "tls12.keys", nil, "tls12.txt"},
		{"tls12.pcap", "tls12.keys", []string{"-V", "--type", "connack"}, "tls12.tree.txt"},
		{"tls13.pcap", "tls13.keys", []string{"--format", "jsonl"}, "tls13.jsonl"},
		{"ws.pcap", "", []string{"-V", "--type", "connect,connack"}, "ws.tree.txt"},
		{"wss.pcap", "wss.keys", []string{"--format", "jsonl", "--type", "connect"}, "wss.jsonl"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			args := append([]string{"decode"}, tc.args...)
			if tc.keys != "" {
				args = append(args, "--tls-keylog", transportFile(tc.keys))
			}
			stdout, stderr, code := runBinary(t, nil, append(args, transportFile(tc.capture))...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			golden(t, filepath.Join("transport", tc.golden), stdout)
			if tc.keys != "" {
				noSecrets(t, tc.keys, stdout+stderr)
			}
		})
	}
}

// noSecrets fails when output shows any secret of a key log.
func noSecrets(t *testing.T, keys, out string) {
	t.Helper()
	data, err := os.ReadFile(transportFile(keys))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && strings.Contains(strings.ToLower(out), strings.ToLower(f[2][:16])) {
			t.Errorf("output shows the key log's %s secret", f[0])
		}
	}
}

func TestTransportWithoutKeys(t *testing.T) {
	for _, cmd := range []string{"decode", "stats"} {
		t.Run(cmd, func(t *testing.T) {
			stdout, stderr, code := runBinary(t, nil, cmd, transportFile("tls13.pcap"))
			if code != 0 {
				t.Errorf("exit %d", code)
			}
			if n := strings.Count(stderr, "keys not in the key log: no --tls-keylog given"); n != 3 {
				t.Errorf("%d notes, want one per connection:\n%s", n, stderr)
			}
			if cmd == "decode" && stdout != "" {
				t.Errorf("decoded without keys:\n%s", stdout)
			}
			// The advice is the key log, not another port.
			if !strings.Contains(stderr, "MQTT may be inside the TLS or WebSocket connections reported above") ||
				strings.Contains(stderr, "try --port") {
				t.Errorf("no-MQTT advice:\n%s", stderr)
			}
		})
	}
	// Another capture's key log: the client randoms are named, the
	// secrets never.
	_, stderr, _ := runBinary(t, nil, "decode", "--tls-keylog", transportFile("tls12.keys"), transportFile("tls13.pcap"))
	if n := strings.Count(stderr, "keys not in the key log (client random "); n != 3 {
		t.Errorf("%d notes, want 3:\n%s", n, stderr)
	}
	noSecrets(t, "tls12.keys", stderr)
}

func TestTransportFlagErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.keys")
	if err := os.WriteFile(bad, []byte("CLIENT_RANDOM 00 1111111111111111\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkExitCodes(t, []exitCase{
		{"missing key log", []string{"decode", "--tls-keylog", "/nonexistent/keys.log"}, 2},
		{"bad key log", []string{"decode", "--tls-keylog", bad}, 2},
		{"ws port 0", []string{"decode", "--ws-port", "0"}, 2},
		{"tls port too large", []string{"stats", "--tls-port", "70000"}, 2},
	})
	_, stderr, _ := runBinary(t, nil, "decode", "--tls-keylog", bad)
	if !strings.Contains(stderr, "line 1") || strings.Contains(stderr, "1111111111111111") {
		t.Errorf("stderr %q: want the line number and no secret", stderr)
	}
}

// TestWSPortFlag: MQTT over WebSocket on a port of one's own is read with
// --ws-port and not without it.
func TestWSPortFlag(t *testing.T) {
	upgrade := "GET /mqtt HTTP/1.1\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
	accept := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
	// A CONNECT in one binary frame, masked with a zero key.
	connect := []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0}
	frame := append([]byte{0x82, 0x80 | byte(len(connect)), 0, 0, 0, 0}, connect...)
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("192.0.2.1:9002"))
	c.Handshake()
	c.Send(pcapbuild.ToServer, []byte(upgrade))
	c.Send(pcapbuild.ToClient, []byte(accept))
	c.Send(pcapbuild.ToServer, frame)
	c.Close()
	path := filepath.Join(t.TempDir(), "ws9002.pcap")
	if err := os.WriteFile(path, b.Pcap(), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, _ := runBinary(t, nil, "decode", path); out != "" {
		t.Errorf("read without --ws-port:\n%s", out)
	}
	out, stderr, code := runBinary(t, nil, "decode", "--ws-port", "9002", "--format", "jsonl", path)
	if code != 0 || !strings.Contains(out, `"transport":"ws"`) || !strings.Contains(out, `"type":"CONNECT"`) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
