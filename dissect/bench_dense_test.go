package dissect

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

// denseCapture is shaped like a busy broker on loopback: five clients whose
// segments each carry up to ~2,000 MQTT packets (64 KB segments of small QoS 1
// PUBLISHes), answered by segments packed with PUBACKs. It is the shape on
// which a dissector's per-segment costs (Info column growth, desegmentation)
// show, which one packet per segment hides.
func denseCapture(messages int) []byte {
	b := pcapbuild.New(pcapbuild.Options{Link: pcapbuild.Link{Type: 0}})
	server := netip.MustParseAddrPort("192.0.2.1:1883")
	const clients = 5
	const segmentMax = 64000
	per := messages / clients
	for c := 0; c < clients; c++ {
		conn := b.Conn(netip.AddrPortFrom(netip.MustParseAddr("192.0.2.20"), uint16(41000+c)), server)
		conn.Handshake()
		conn.Send(pcapbuild.ToServer, []byte("\x10\x14\x00\x04MQTT\x04\x02\x00\x3c\x00\x08dense-00"))
		conn.Send(pcapbuild.ToClient, []byte{0x20, 0x02, 0x00, 0x00})
		var out, acks []byte
		for i := 0; i < per; i++ {
			topic := fmt.Sprintf("plant/%d/line/%d", c, i%40)
			payload := strconv.Itoa(i)
			id := i%65535 + 1
			out = append(out, 0x32, byte(2+len(topic)+2+len(payload)), 0, byte(len(topic)))
			out = append(out, topic...)
			out = append(out, byte(id>>8), byte(id))
			out = append(out, payload...)
			acks = append(acks, 0x40, 0x02, byte(id>>8), byte(id))
			if len(out) > segmentMax-64 || i == per-1 {
				conn.Send(pcapbuild.ToServer, out)
				conn.Send(pcapbuild.ToClient, acks)
				out, acks = out[:0], acks[:0]
			}
		}
		conn.Send(pcapbuild.ToServer, []byte{0xe0, 0x00})
		conn.Close()
	}
	return b.Pcap()
}

// TestWriteDenseBenchCapture writes denseCapture to the file named by
// MQTTDISSECT_BENCH_DENSE (MQTTDISSECT_BENCH_MESSAGES PUBLISHes, default
// 100,000, each answered by a PUBACK), for .ci/bench-tshark:
//
//	MQTTDISSECT_BENCH_DENSE=/tmp/dense.pcap go test ./dissect -run TestWriteDenseBenchCapture
func TestWriteDenseBenchCapture(t *testing.T) {
	path := os.Getenv("MQTTDISSECT_BENCH_DENSE")
	if path == "" {
		t.Skip("set MQTTDISSECT_BENCH_DENSE to write the dense benchmark capture")
	}
	messages := benchMessages
	if n, err := strconv.Atoi(os.Getenv("MQTTDISSECT_BENCH_MESSAGES")); err == nil && n > 0 {
		messages = n
	}
	if err := os.WriteFile(path, denseCapture(messages), 0o644); err != nil {
		t.Fatal(err)
	}
}
