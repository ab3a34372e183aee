package validate

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

// benchCapture is one MQTT 3.1.1 connection carrying n QoS 1 PUBLISH
// packets (topic sensors/<k>/temp, a 20-byte payload) and their PUBACKs,
// several packets to a segment now and then as real captures have them.
func benchCapture(n int) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(netipMust("192.0.2.10:40000"), netipMust("192.0.2.1:1883"))
	c.Handshake()
	c.Send(pcapbuild.ToServer, []byte{0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 4, 'b', 'e', 'n', 'c'})
	c.Send(pcapbuild.ToClient, []byte{0x20, 2, 0, 0})
	var batch []byte
	for i := 0; i < n; i++ {
		topic := fmt.Sprintf("sensors/%d/temp", i%100)
		payload := fmt.Sprintf(`{"t":%6.2f,"seq":%05d}`, float64(i%4000)/100, i%100000)[:20]
		id := i%65535 + 1
		rem := 2 + len(topic) + 2 + len(payload)
		p := []byte{0x32, byte(rem), byte(len(topic) >> 8), byte(len(topic))}
		p = append(p, topic...)
		p = append(p, byte(id>>8), byte(id))
		p = append(p, payload...)
		batch = append(batch, p...)
		if i%4 != 3 { // three of four segments carry one packet, the fourth two
			c.Send(pcapbuild.ToServer, batch)
			batch = batch[:0]
			c.Send(pcapbuild.ToClient, []byte{0x40, 2, byte(id >> 8), byte(id)})
		}
	}
	if len(batch) > 0 {
		c.Send(pcapbuild.ToServer, batch)
	}
	c.Close()
	var out bytes.Buffer
	if err := b.WritePcap(&out); err != nil {
		panic(err)
	}
	return out.Bytes()
}

// BenchmarkValidate validates the generated mqtt.lua against the native
// decoder on a synthetic capture of 60,000 PUBLISH packets (and 45,000
// PUBACKs: 105,002 MQTT packets with CONNECT and CONNACK), reporting MQTT
// packets per second on one core:
//
//	go test ./luagen/validate -run '^$' -bench Validate -benchtime 5x -cpu 1
func BenchmarkValidate(b *testing.B) {
	src := generatedLua(b)
	capture := benchCapture(60000)
	v := newValidator(b, "mqtt.lua", src, Options{})
	// One run outside the clock to check the result.
	res, err := v.Run(context.Background(), "bench.pcap", bytes.NewReader(capture), nil)
	if err != nil {
		b.Fatal(err)
	}
	if !res.OK() || res.PDUs != 105002 {
		b.Fatalf("%s", report(res))
	}
	b.ReportAllocs()
	b.ResetTimer()
	pdus := 0
	for i := 0; i < b.N; i++ {
		res, err := v.Run(context.Background(), "bench.pcap", bytes.NewReader(capture), nil)
		if err != nil || !res.OK() {
			b.Fatal(err)
		}
		pdus += res.PDUs
	}
	b.ReportMetric(float64(pdus)/b.Elapsed().Seconds(), "PDUs/s")
}
