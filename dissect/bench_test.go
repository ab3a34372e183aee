package dissect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

// benchMessages is the number of MQTT PUBLISH messages in the benchmark
// capture (plus CONNECT, CONNACK and DISCONNECT per connection).
const benchMessages = 100_000

var benchCapture = sync.OnceValue(func() []byte {
	messages := benchMessages
	if n, err := strconv.Atoi(os.Getenv("MQTTDISSECT_BENCH_MESSAGES")); err == nil && n > 0 {
		messages = n
	}
	b := pcapbuild.New(pcapbuild.Options{})
	server := netip.MustParseAddrPort("192.0.2.1:1883")
	per := messages / 10
	for c := 0; c < 10; c++ {
		conn := b.Conn(netip.AddrPortFrom(netip.MustParseAddr("192.0.2.10"), uint16(40000+c)), server)
		conn.Handshake()
		conn.Send(pcapbuild.ToServer, []byte("\x10\x14\x00\x04MQTT\x04\x02\x00\x3c\x00\x08bench-00"))
		conn.Send(pcapbuild.ToClient, []byte{0x20, 0x02, 0x00, 0x00})
		for i := 0; i < per; i++ {
			topic := fmt.Sprintf("sensors/%d/temp", i%50)
			payload := fmt.Sprintf(`{"t":%d.%d}`, 20+i%10, i%10)
			id := i%65535 + 1
			msg := []byte{0x32, byte(2 + len(topic) + 2 + len(payload)), 0, byte(len(topic))}
			msg = append(msg, topic...)
			msg = append(msg, byte(id>>8), byte(id))
			msg = append(msg, payload...)
			conn.Send(pcapbuild.ToServer, msg)
		}
		conn.Send(pcapbuild.ToServer, []byte{0xe0, 0x00})
		conn.Close()
	}
	return b.Pcap()
})

// TestWriteBenchCapture writes the benchmark capture to the file named by
// MQTTDISSECT_BENCH_CAPTURE (MQTTDISSECT_BENCH_MESSAGES changes its size),
// so tshark can be timed on the same bytes:
//
//	MQTTDISSECT_BENCH_CAPTURE=/tmp/bench.pcap go test ./dissect -run TestWriteBenchCapture
//	time tshark -r /tmp/bench.pcap > /dev/null
func TestWriteBenchCapture(t *testing.T) {
	path := os.Getenv("MQTTDISSECT_BENCH_CAPTURE")
	if path == "" {
		t.Skip("set MQTTDISSECT_BENCH_CAPTURE to write the benchmark capture")
	}
	if err := os.WriteFile(path, benchCapture(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func benchmarkRun(b *testing.B, format func(buf []byte, pdu *PDU) []byte) {
	capture := benchCapture()
	b.SetBytes(int64(len(capture)))
	b.ReportAllocs()
	var packets int
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var buf []byte
		cfg := &RunConfig{}
		cfg.OnPDU = func(pdu *PDU) {
			packets++
			buf = format(buf[:0], pdu)
			io.Discard.Write(buf)
		}
		if _, err := Run(context.Background(), bytes.NewReader(capture), cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(packets)/time.Since(start).Seconds(), "pkts/s")
}

// BenchmarkSummary measures `decode` with its default one-line output.
func BenchmarkSummary(b *testing.B) {
	var start time.Time
	benchmarkRun(b, func(buf []byte, pdu *PDU) []byte { return AppendSummary(buf, pdu, start) })
}

// BenchmarkJSONL measures `decode --format jsonl`.
func BenchmarkJSONL(b *testing.B) {
	benchmarkRun(b, func(buf []byte, pdu *PDU) []byte { return append(AppendJSON(buf, pdu), '\n') })
}

// BenchmarkDecodeOnly measures the table interpreter alone on one packet.
func BenchmarkDecodeOnly(b *testing.B) {
	raw := unhex(b, "32 26 0003 612f62 0001 19 03 000a 746578742f706c61696e 26 0002 6b31 0002 7631 23 0003 68656c6c6f")
	st := &ConnState{Version: 5}
	var p Packet
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Decode(&p, raw, st, ToServer, nil)
	}
}
