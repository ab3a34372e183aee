package dissect

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

var (
	wsClient = netip.MustParseAddrPort("192.0.2.10:40001")
	wsServer = netip.MustParseAddrPort("192.0.2.1:8083")
)

const (
	wsUpgrade = "GET /mqtt HTTP/1.1\r\nHost: broker\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
	wsAccept = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
)

// wsFrameBytes builds a WebSocket frame (RFC 6455 §5.2): the client's are
// masked with a fixed key, the server's are not.
func wsFrameBytes(dir pcapbuild.Dir, fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var mask byte
	if dir == pcapbuild.ToServer {
		mask = 0x80
	}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, mask|byte(n))
	case n < 1<<16:
		out = append(out, mask|126, byte(n>>8), byte(n))
	default:
		out = append(out, mask|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if mask == 0 {
		return append(out, payload...)
	}
	key := []byte{0x12, 0x34, 0x56, 0x78}
	out = append(out, key...)
	for i, c := range payload {
		out = append(out, c^key[i&3])
	}
	return out
}

func wsBin(dir pcapbuild.Dir, p []byte) []byte { return wsFrameBytes(dir, true, wsBinary, p) }

// runTransport decodes a capture with the transport layers and records
// packets ("frame:info:transport") and connection notes ("note: ...").
func runTransport(t testing.TB, capture []byte, tc *TransportConfig) (pkts, notes []string) {
	t.Helper()
	cfg := RunConfig{}
	cfg.Transport = tc
	cfg.OnPDU = func(pdu *PDU) {
		tr := "tcp"
		if pdu.Via != nil {
			tr = pdu.Via.Transport.String()
		}
		s := fmt.Sprintf("%d:%s:%s", pdu.Frame, pdu.Packet.Info(), tr)
		if r := ruleNames(pdu.Packet); r != "" {
			s += ":" + r
		}
		pkts = append(pkts, s)
	}
	cfg.OnConnNote = func(n ConnNote) { notes = append(notes, n.Message) }
	if _, err := Run(context.Background(), bytes.NewReader(capture), &cfg); err != nil {
		t.Fatal(err)
	}
	return pkts, notes
}

func TestWebSocket(t *testing.T) {
	big := append(unhex(t, "30 ec a2 04 0003 612f62"), bytes.Repeat([]byte("y"), 69991)...) // 64-bit WS length
	tests := []struct {
		name  string
		build func(t testing.TB, c *pcapbuild.Conn)
		want  string // packets, one per line
		notes string // connection notes, one per line
	}{
		{
			name: "upgrade, one packet per message",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte(wsUpgrade))
				c.Send(pcapbuild.ToClient, []byte(wsAccept))
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, connect311)))
				c.Send(pcapbuild.ToClient, wsBin(pcapbuild.ToClient, unhex(t, "20 02 00 00")))
			},
			want: "6:Connect Command:ws\n7:Connect Ack:ws",
		},
		{
			name: "frames in the same segment as the headers",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, append([]byte(wsUpgrade), wsBin(pcapbuild.ToServer, unhex(t, connect311))...))
				c.Send(pcapbuild.ToClient, append([]byte(wsAccept), wsBin(pcapbuild.ToClient, unhex(t, "20 02 00 00"))...))
			},
			want: "4:Connect Command:ws\n5:Connect Ack:ws",
		},
		{
			name: "several packets in one message, one packet over several messages",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte(wsUpgrade))
				c.Send(pcapbuild.ToClient, []byte(wsAccept))
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, connect311+pingreq+pingreq)))
				p := publish200(t)
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, p[:2]))
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, p[2:100]))
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, p[100:]))
			},
			want: "6:Connect Command:ws\n6:Ping Request:ws\n6:Ping Request:ws\n9:Publish Message [a/b]:ws",
		},
		{
			name: "fragmented message with ping and pong between fragments",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte(wsUpgrade))
				c.Send(pcapbuild.ToClient, []byte(wsAccept))
				p := append(unhex(t, connect311), publish200(t)...)
				var b []byte
				b = append(b, wsFrameBytes(pcapbuild.ToServer, false, wsBinary, p[:10])...)
				b = append(b, wsFrameBytes(pcapbuild.ToServer, true, wsPing, []byte("hi"))...)
				b = append(b, wsFrameBytes(pcapbuild.ToServer, false, wsContinuation, p[10:50])...)
				c.SendSplit(pcapbuild.ToServer, b, 3, 9, 20)
				c.Send(pcapbuild.ToClient, wsFrameBytes(pcapbuild.ToClient, true, wsPong, []byte("hi")))
				c.Send(pcapbuild.ToServer, wsFrameBytes(pcapbuild.ToServer, true, wsContinuation, p[50:]))
			},
			want: "9:Connect Command:ws\n11:Publish Message [a/b]:ws",
		},
		{
			name: "16- and 64-bit payload lengths, split anywhere",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte(wsUpgrade))
				c.Send(pcapbuild.ToClient, []byte(wsAccept))
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, connect311)))
				c.SendSplit(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, publish200(t)), 1, 3)
				c.SendSplit(pcapbuild.ToClient, wsBin(pcapbuild.ToClient, big), 5, 1400, 30000)
			},
			want: "6:Connect Command:ws\n9:Publish Message [a/b]:ws\n13:Publish Message [a/b]:ws",
		},
		{
			name: "MQTT 5.0, one message per packet, mqttv3.1 offered too",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte(strings.Replace(wsUpgrade, ": mqtt\r", ": mqttv3.1, mqtt\r", 1)))
				c.Send(pcapbuild.ToClient, []byte(wsAccept))
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, "10 0d 0004 4d515454 05 02 003c 00 0000")))
				c.Send(pcapbuild.ToClient, wsBin(pcapbuild.ToClient, unhex(t, "20 03 00 00 00")))
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, "e0 00")))
			},
			want: "6:Connect Command:ws\n7:Connect Ack:ws\n8:Disconnect Req:ws",
		},
		{
			name: "close with an error status",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte(wsUpgrade))
				c.Send(pcapbuild.ToClient, []byte(wsAccept))
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, connect311)))
				c.Send(pcapbuild.ToClient, wsFrameBytes(pcapbuild.ToClient, true, wsClose, append([]byte{0x03, 0xea}, "bad"...)))
			},
			want:  "6:Connect Command:ws",
			notes: `WebSocket Close from the server with status 1002 (Protocol error) "bad"`,
		},
		{
			name: "bad framing is a note and decoding goes on",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte(wsUpgrade))
				c.Send(pcapbuild.ToClient, []byte(wsAccept))
				c.Send(pcapbuild.ToServer, wsFrameBytes(pcapbuild.ToServer, true, 0x3, []byte("junk")))
				c.Send(pcapbuild.ToServer, wsFrameBytes(pcapbuild.ToServer, true, wsContinuation, unhex(t, connect311)))
				c.Send(pcapbuild.ToClient, wsFrameBytes(pcapbuild.ToServer, true, wsText, unhex(t, "20 02 00 00")))
				c.Send(pcapbuild.ToServer, wsFrameBytes(pcapbuild.ToServer, true, wsPing, bytes.Repeat([]byte("p"), 200)))
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, pingreq)))
			},
			want: "7:Connect Command:ws\n8:Connect Ack:ws\n10:Ping Request:ws",
			notes: "WebSocket frame with reserved opcode 0x3: payload skipped (RFC 6455 §5.2)\n" +
				"WebSocket continuation frame without a message to continue (RFC 6455 §5.4)\n" +
				"WebSocket frame from the server masked (RFC 6455 §5.1)\n" +
				"MQTT in a WebSocket text frame: MQTT 5.0 §6 requires binary frames\n" +
				"WebSocket control frame fragmented or over 125 bytes (RFC 6455 §5.5)",
		},
		{
			name: "another subprotocol is not read",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte(strings.Replace(wsUpgrade, ": mqtt", ": chat", 1)))
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, connect311)))
			},
			notes: `WebSocket subprotocol "chat" is not MQTT: not read`,
		},
		{
			name: "upgrade refused",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte(wsUpgrade))
				c.Send(pcapbuild.ToClient, []byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			},
			notes: `WebSocket upgrade refused: "HTTP/1.1 400 Bad Request"`,
		},
		{
			name: "frames without their upgrade (capture started late)",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, connect311)))
			},
			notes: "no WebSocket upgrade at the start of this connection (did the capture start after it?): not read",
		},
		{
			name: "plain HTTP on a WebSocket port is ignored",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
				c.Send(pcapbuild.ToClient, []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
			},
		},
		{
			name: "lost bytes inside a frame: the MQTT layer resumes",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte(wsUpgrade))
				c.Send(pcapbuild.ToClient, []byte(wsAccept))
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, connect311)))
				f := wsBin(pcapbuild.ToServer, publish200(t))
				c.Send(pcapbuild.ToServer, f[:50])
				c.Drop(pcapbuild.ToServer, 50)
				c.Send(pcapbuild.ToServer, f[100:])
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, pingreq)))
				c.Ack(pcapbuild.ToClient)
			},
			// Each packet at the frame of its last captured byte (as Wireshark
			// does); the tail of the cut PUBLISH in frame 8 is named by a note.
			want: "6:Connect Command:ws\n7:Publish Message [a/b]:ws:mqtt.truncated,mqtt.gap\n9:Ping Request:ws:mqtt.gap,mqtt.skipped",
		},
		{
			name: "lost bytes up to a frame's end: the next frame is read",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, []byte(wsUpgrade))
				c.Send(pcapbuild.ToClient, []byte(wsAccept))
				f := wsBin(pcapbuild.ToServer, publish200(t))
				c.Send(pcapbuild.ToServer, f[:50])
				c.Drop(pcapbuild.ToServer, len(f)-50)
				c.Send(pcapbuild.ToServer, wsBin(pcapbuild.ToServer, unhex(t, pingreq)))
				c.Ack(pcapbuild.ToClient)
			},
			want: "6:Publish Message [a/b]:ws:mqtt.unknown_version,mqtt.truncated,mqtt.gap\n7:Ping Request:ws:mqtt.unknown_version,mqtt.gap",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := pcapbuild.New(pcapbuild.Options{})
			c := b.Conn(wsClient, wsServer)
			c.Handshake()
			tt.build(t, c)
			c.Close()
			pkts, notes := runTransport(t, b.Pcap(), nil)
			if got := strings.Join(pkts, "\n"); got != tt.want {
				t.Errorf("packets:\n%s\nwant:\n%s", got, tt.want)
			}
			if got := strings.Join(notes, "\n"); got != tt.notes {
				t.Errorf("notes:\n%s\nwant:\n%s", got, tt.notes)
			}
		})
	}
}

// TestConnNotesBounded: a layer says at most maxConnNotes things about one
// connection, the last of them that more were left out, however broken the
// stream (a connection of garbage must not flood stderr).
func TestConnNotesBounded(t *testing.T) {
	for _, layer := range []string{"TLS", "WebSocket"} {
		var got []string
		ts := newTransportShared(&TransportConfig{}, func(n ConnNote) { got = append(got, n.Message) })
		c := connNoter{ts: ts, layer: layer}
		for i := 0; i < 10*maxConnNotes; i++ {
			c.note(&Frame{Number: i + 1}, NoteKind(0), "bad record %d", i)
		}
		if len(got) != maxConnNotes || got[len(got)-1] != "further "+layer+" notes on this connection not shown" {
			t.Errorf("%s: %d notes, last %q", layer, len(got), got[len(got)-1])
		}
	}
}
