package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
