package filter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

// benchCapture is 100,000 QoS 1 PUBLISH over 10 connections, like
// dissect's benchmark capture.
var benchCapture = sync.OnceValue(func() []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	server := netip.MustParseAddrPort("192.0.2.1:1883")
	for c := 0; c < 10; c++ {
		conn := b.Conn(netip.AddrPortFrom(netip.MustParseAddr("192.0.2.10"), uint16(40000+c)), server)
		conn.Handshake()
		conn.Send(pcapbuild.ToServer, []byte("\x10\x14\x00\x04MQTT\x04\x02\x00\x3c\x00\x08bench-00"))
		conn.Send(pcapbuild.ToClient, []byte{0x20, 0x02, 0x00, 0x00})
		for i := 0; i < 10000; i++ {
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

func benchRun(b *testing.B, onPDU func(*dissect.PDU)) {
	capture := benchCapture()
	b.SetBytes(int64(len(capture)))
	b.ReportAllocs()
	packets := 0
	start := time.Now()
	for i := 0; i < b.N; i++ {
		cfg := &dissect.RunConfig{}
		cfg.OnPDU = func(p *dissect.PDU) { packets++; onPDU(p) }
		if _, err := dissect.Run(context.Background(), bytes.NewReader(capture), cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(packets)/time.Since(start).Seconds(), "pkts/s")
}

// BenchmarkUnfiltered is decode's summary output with no filter: the
// baseline the filtered runs compare with.
func BenchmarkUnfiltered(b *testing.B) {
	var buf []byte
	var start time.Time
	benchRun(b, func(p *dissect.PDU) {
		buf = dissect.AppendSummary(buf[:0], p, start)
		io.Discard.Write(buf)
	})
}

// BenchmarkFilteredPacket is decode -Y with summary output.
func BenchmarkFilteredPacket(b *testing.B) {
	f, err := Compile(`mqtt.qos >= 1 && mqtt.topic matches "^sensors/1" && !(mqtt.msgid in {3, 8})`)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	var start time.Time
	benchRun(b, func(p *dissect.PDU) {
		if f.MatchPDU(p) {
			buf = dissect.AppendSummary(buf[:0], p, start)
			io.Discard.Write(buf)
		}
	})
}

// BenchmarkFilteredFields is decode -Y ... -T fields: frames gathered,
// filtered and printed as tshark's fields.
func BenchmarkFilteredFields(b *testing.B) {
	f, err := Compile(`mqtt.qos >= 1 && mqtt.topic contains "/1"`)
	if err != nil {
		b.Fatal(err)
	}
	var cols []*Column
	for _, n := range []string{"frame.number", "mqtt.topic", "mqtt.msg"} {
		c, _ := NewColumn(n)
		cols = append(cols, c)
	}
	var fb FrameBuffer
	var buf []byte
	flush := func() {
		if fb.Len() > 0 && f.Match(fb.PDUs()) {
			buf = buf[:0]
			for _, c := range cols {
				c.Each(fb.PDUs(), func(t []byte) { buf = append(buf, t...) })
			}
			io.Discard.Write(buf)
		}
		fb.Reset()
	}
	benchRun(b, func(p *dissect.PDU) {
		if fb.Len() > 0 && fb.Frame() != p.Frame {
			flush()
		}
		fb.Add(p)
	})
	flush()
}
