package dissect

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Real captures of MQTT over TLS and WebSocket (testdata/transport, made by
// testdata/make-transport-captures.sh with mosquitto, aedes and MQTT.js
// under node --tls-keylog).

func transportKeyLog(t testing.TB, capture string) *TransportConfig {
	t.Helper()
	tc := &TransportConfig{}
	keys := strings.TrimSuffix(capture, filepath.Ext(capture)) + ".keys"
	f, err := os.Open(keys)
	if os.IsNotExist(err) {
		return tc
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if tc.KeyLog, err = ReadKeyLog(f); err != nil {
		t.Fatal(err)
	}
	return tc
}

// TestTLSAgreesWithWireshark compares the decoder with tshark 4.0's reading
// of the same captures decrypted with the same key logs, field by field.
func TestTLSAgreesWithWireshark(t *testing.T) {
	pdmls, _ := filepath.Glob("../testdata/transport/*.pdml")
	if len(pdmls) == 0 {
		t.Fatal("no PDML files in testdata/transport")
	}
	for _, pdmlPath := range pdmls {
		capture := strings.TrimSuffix(pdmlPath, ".pdml")
		t.Run(filepath.Base(capture), func(t *testing.T) {
			want, err := readPDML(pdmlPath, "mqtt")
			if err != nil {
				t.Fatal(err)
			}
			cfg := RunConfig{}
			cfg.Transport = transportKeyLog(t, capture)
			var notes []string
			cfg.OnConnNote = func(n ConnNote) { notes = append(notes, n.String()) }
			got := decodeFile(t, capture, cfg)
			if len(notes) > 0 {
				t.Errorf("connection notes: %q", notes)
			}
			if len(got) != len(want) || len(got) == 0 {
				t.Errorf("%d MQTT packets, Wireshark has %d", len(got), len(want))
			}
			fields := 0
			for i := 0; i < len(got) && i < len(want); i++ {
				g, w := got[i], want[i]
				if g.Frame != w.Frame {
					t.Errorf("packet %d: frame %d, Wireshark %d", i, g.Frame, w.Frame)
				}
				if d := compareFields(g.Fields, w.Fields); d != "" {
					t.Errorf("frame %d packet %d differs from Wireshark:\n%s", g.Frame, i, d)
				}
				fields += len(w.Fields)
			}
			t.Logf("%d packets, %d fields compared", len(want), fields)
			compareInfoLast(t, capture+".info", got)

			// Without the key log: nothing decoded, one note per connection.
			cfg = RunConfig{}
			notes = nil
			cfg.OnConnNote = func(n ConnNote) { notes = append(notes, n.Message) }
			if got := decodeFile(t, capture, cfg); len(got) != 0 {
				t.Errorf("without keys: %d packets", len(got))
			}
			if len(notes) != 3 {
				t.Errorf("without keys: notes %q, want one per connection", notes)
			}
			for _, n := range notes {
				if !strings.Contains(n, "keys not in the key log") {
					t.Errorf("note %q", n)
				}
			}
		})
	}
}

// wsRecorder stands for the MQTT layer: it keeps what the layers under it
// hand up, per connection and direction.
type wsRecorder struct {
	key  ConnKey
	data map[string]*bytes.Buffer
}

func (r *wsRecorder) Data(dir Direction, b []byte, _ *Frame) {
	src, dst := r.key.Client.Port(), r.key.Server.Port()
	if dir == ToClient {
		src, dst = dst, src
	}
	k := fmt.Sprintf("%d>%d", src, dst)
	if r.data[k] == nil {
		r.data[k] = &bytes.Buffer{}
	}
	r.data[k].Write(b)
}
func (r *wsRecorder) Gap(Direction, int, *Frame) {}
func (r *wsRecorder) Close(*Frame, bool)         {}

// TestWebSocketAgreesWithWireshark checks that the bytes the WebSocket
// layer hands to MQTT are, per connection and direction, the unmasked
// payloads tshark 4.0's WebSocket dissector shows (.wsdata); the MQTT read
// over them is then the TCP reading that the plain captures compare.
func TestWebSocketAgreesWithWireshark(t *testing.T) {
	files, _ := filepath.Glob("../testdata/transport/*.wsdata")
	if len(files) == 0 {
		t.Fatal("no .wsdata files in testdata/transport")
	}
	for _, wsPath := range files {
		capture := strings.TrimSuffix(wsPath, ".wsdata")
		t.Run(filepath.Base(capture), func(t *testing.T) {
			want := map[string][]byte{}
			raw, err := os.ReadFile(wsPath)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				f := strings.Split(line, "\t")
				if len(f) < 4 || f[3] == "" {
					continue
				}
				k := f[1] + ">" + f[2]
				for _, h := range strings.Split(f[3], ",") {
					b, err := hex.DecodeString(h)
					if err != nil {
						t.Fatal(err)
					}
					want[k] = append(want[k], b...)
				}
			}
			got := map[string]*bytes.Buffer{}
			tc := transportKeyLog(t, capture)
			tc.MQTTPorts = []uint16{DefaultPort}
			ts := newTransportShared(tc, func(n ConnNote) { t.Errorf("note: %s", n) })
			in, err := os.Open(capture)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			ports := watchedPorts(nil, tc)
			cr, err := OpenCapture(in, ports)
			if err != nil {
				t.Fatal(err)
			}
			asm := NewAssembler(ports, func(key ConnKey, f *Frame) StreamHandler {
				return &sniffer{ts: ts, key: key, inner: &wsRecorder{key: key, data: got}, via: &Via{}, tlsAllowed: true}
			})
			for {
				f, err := cr.Next()
				if err != nil {
					break
				}
				asm.Add(f)
			}
			asm.Flush()
			if len(got) != len(want) {
				t.Errorf("%d streams, Wireshark %d", len(got), len(want))
			}
			total := 0
			for k, w := range want {
				g := got[k]
				if g == nil || !bytes.Equal(g.Bytes(), w) {
					t.Errorf("%s: our payload differs from Wireshark's (%d bytes, Wireshark %d)", k, lenOf(g), len(w))
				}
				total += len(w)
			}
			t.Logf("%d streams, %d payload bytes compared", len(want), total)
		})
	}
}

func lenOf(b *bytes.Buffer) int {
	if b == nil {
		return 0
	}
	return b.Len()
}

// TestRealTransportPackets pins what decode reads on the WebSocket
// captures: every packet of every MQTT.js session, the transport named.
func TestRealTransportPackets(t *testing.T) {
	for _, name := range []string{"ws.pcap", "wss.pcap"} {
		t.Run(name, func(t *testing.T) {
			capture := filepath.Join("..", "testdata", "transport", name)
			data, err := os.ReadFile(capture)
			if err != nil {
				t.Fatal(err)
			}
			pkts, notes := runTransport(t, data, transportKeyLog(t, capture))
			if len(notes) > 0 {
				t.Errorf("notes: %q", notes)
			}
			counts := map[string]int{}
			for _, p := range pkts {
				f := strings.Split(p, ":")
				if len(f) > 3 {
					t.Errorf("packet with notes: %s", p)
				}
				info := f[1]
				if i := strings.IndexAny(info, " ("); i > 0 && strings.HasPrefix(info, "Publish Message") {
					info = "Publish Message"
				}
				counts[info+"/"+f[len(f)-1]]++
			}
			tr := strings.TrimSuffix(name, ".pcap")
			for _, k := range []string{"Connect Command", "Connect Ack", "Disconnect Req"} {
				if counts[k+"/"+tr] != 2 {
					t.Errorf("%d %s over %s, want 2 (counts %v)", counts[k+"/"+tr], k, tr, counts)
				}
			}
			if counts["Publish Message/"+tr] != 8 {
				t.Errorf("%d PUBLISH over %s, want 8 (counts %v)", counts["Publish Message/"+tr], tr, counts)
			}
		})
	}
}

// compareInfoLast checks the Info column against tshark's. Over TLS each
// record is dissected on its own and Wireshark's column shows the packets
// of the frame's last record only, so its text must end ours.
func compareInfoLast(t *testing.T, path string, got []decodedPDU) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ours := map[int]string{}
	for _, g := range got {
		if s, ok := ours[g.Frame]; ok {
			ours[g.Frame] = s + ", " + g.Info
		} else {
			ours[g.Frame] = g.Info
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		num, info, _ := strings.Cut(line, "\t")
		frame, _ := strconv.Atoi(num)
		if !strings.HasSuffix(ours[frame], info) {
			t.Errorf("frame %d: Info %q, Wireshark %q", frame, ours[frame], info)
		}
	}
}

func benchmarkTransport(b *testing.B, name string) {
	capture := filepath.Join("..", "testdata", "transport", name)
	data, err := os.ReadFile(capture)
	if err != nil {
		b.Fatal(err)
	}
	tc := transportKeyLog(b, capture)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		cfg := RunConfig{}
		cfg.Transport = tc
		n := 0
		cfg.OnPDU = func(*PDU) { n++ }
		if _, err := Run(context.Background(), bytes.NewReader(data), &cfg); err != nil || n == 0 {
			b.Fatal(err, n)
		}
	}
}

// Decoding speed over each transport, capture bytes per second (TLS:
// record parsing, key derivation per session and AEAD decryption).
func BenchmarkTLS12(b *testing.B)     { benchmarkTransport(b, "tls12.pcap") }
func BenchmarkTLS13(b *testing.B)     { benchmarkTransport(b, "tls13.pcap") }
func BenchmarkWebSocket(b *testing.B) { benchmarkTransport(b, "ws.pcap") }
func BenchmarkWSS(b *testing.B)       { benchmarkTransport(b, "wss.pcap") }
