package stats

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/dissect"
)

// TestSessionTransport checks that each session names its transport and,
// over TLS, the version and cipher suite, on the real TLS and WebSocket
// captures.
func TestSessionTransport(t *testing.T) {
	tests := []struct {
		capture, keys string
		want          []string // per session: transport/version/suite
	}{
		{"tls12.pcap", "tls12.keys", []string{
			"tls/TLS 1.2/TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
			"tls/TLS 1.2/TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
			"tls/TLS 1.2/TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
		}},
		{"tls13.pcap", "tls13.keys", []string{
			"tls/TLS 1.3/TLS_AES_128_GCM_SHA256",
			"tls/TLS 1.3/TLS_AES_256_GCM_SHA384",
			"tls/TLS 1.3/TLS_CHACHA20_POLY1305_SHA256",
		}},
		{"ws.pcap", "", []string{"ws//", "ws//"}},
		{"wss.pcap", "wss.keys", []string{
			"wss/TLS 1.3/TLS_AES_256_GCM_SHA384",
			"wss/TLS 1.2/TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
		}},
	}
	dir := filepath.Join("..", "..", "testdata", "transport")
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			rc := &dissect.RunConfig{}
			rc.Transport = &dissect.TransportConfig{}
			if tt.keys != "" {
				kf, err := os.Open(filepath.Join(dir, tt.keys))
				if err != nil {
					t.Fatal(err)
				}
				defer kf.Close()
				if rc.Transport.KeyLog, err = dissect.ReadKeyLog(kf); err != nil {
					t.Fatal(err)
				}
			}
			f, err := os.Open(filepath.Join(dir, tt.capture))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, _, err := Analyze(context.Background(), f, rc, Config{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range r.Sessions.Rows {
				got = append(got, s.Transport+"/"+s.TLSVersion+"/"+s.TLSCipherSuite)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("sessions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			var sb strings.Builder
			if err := WriteText(&sb, r); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(sb.String(), "Transport  TLS version  Cipher suite") {
				t.Errorf("no transport table in the report:\n%s", sb.String())
			}
		})
	}
}

// TestTransportProblems: TLS without keys is a problem of the report, not
// only a line on stderr.
func TestTransportProblems(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "testdata", "transport", "tls12.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	notes := 0
	rc := &dissect.RunConfig{}
	rc.OnConnNote = func(dissect.ConnNote) { notes++ }
	r, _, err := Analyze(context.Background(), f, rc, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if notes != 3 {
		t.Errorf("%d notes passed on, want 3", notes)
	}
	var found bool
	for _, p := range r.Problems {
		if p.Category == "transport" && p.Kind == "tls.not_decrypted" && p.Count == 3 && strings.Contains(p.Message, "keys not in the key log") {
			found = true
		}
	}
	if !found {
		t.Errorf("no tls.not_decrypted problem with 3 connections: %+v", r.Problems)
	}
}
