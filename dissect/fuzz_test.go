package dissect

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mqttdissect/mqttdissect/spec"
)

// FuzzDecode feeds arbitrary bytes to the packet decoder in every version:
// it must not panic, must keep every node inside the bytes present, and must
// not allocate in proportion to declared lengths.
func FuzzDecode(f *testing.F) {
	// Every MQTT packet of the real captures, with the version it was read in.
	captures, _ := filepath.Glob("../testdata/*.pcap*")
	for _, c := range captures {
		if filepath.Ext(c) != ".pcap" && filepath.Ext(c) != ".pcapng" {
			continue
		}
		data, err := os.ReadFile(c)
		if err != nil {
			f.Fatal(err)
		}
		cfg := &RunConfig{}
		cfg.OnPDU = func(p *PDU) {
			if len(p.Packet.Raw) < 1024 {
				f.Add(append([]byte(nil), p.Packet.Raw...), byte(p.Packet.Version))
			}
		}
		if _, err := Run(context.Background(), bytes.NewReader(data), cfg); err != nil {
			f.Fatal(err)
		}
	}
	for _, s := range []string{
		"10 0c 0004 4d515454 04 02 003c 0000",
		"32 26 0003 612f62 0001 19 03 000a 746578742f706c61696e 26 0002 6b31 0002 7631 23 0003 68656c6c6f",
		"82 10 0001 07 26 0001 6b 0001 76 0003 612f23 02",
		"e0 02 8e 00", "c0 80 80 80 80 00", "30 ff ff ff 7f 00 01 61",
	} {
		for _, v := range []byte{0, 3, 4, 5} {
			f.Add(unhex(f, s), v)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, version byte) {
		st := &ConnState{Version: spec.Version(version % 6)}
		var p Packet
		// The high bits pick a small ceiling on repeated entries, so that
		// the hidden part of lists and property blocks is explored too.
		err := Decode(&p, b, st, Direction(version&1), &Options{PayloadAsText: version&8 != 0, MaxRepeat: int(version >> 5)})
		for _, n := range p.Nodes {
			if n.Offset < 0 || n.Len < 0 || n.Offset > len(b) || len(n.Raw) > len(b) {
				t.Fatalf("node %s out of bounds: offset %d len %d of %d bytes", n.Field.Abbrev, n.Offset, n.Len, len(b))
			}
		}
		if p.Malformed != (err != nil && !p.Truncated()) && !p.Truncated() {
			t.Fatalf("malformed=%v but err=%v", p.Malformed, err)
		}
		if p.Hidden < 0 || (p.Hidden > 0 && version>>5 == 0 && len(b) < 4*DefaultMaxRepeat) {
			t.Fatalf("%d entries hidden", p.Hidden)
		}
		_ = p.Info()
		_ = AppendJSON(nil, &PDU{Packet: &p})
	})
}

// FuzzStream feeds arbitrary bytes, cut into segments at fuzzed points, to
// the MQTT stream layer of one connection, as the TCP reassembler would.
func FuzzStream(f *testing.F) {
	f.Add(unhex(f, connect311+pingreq+"30 c8 01"), []byte{3, 7, 1})
	f.Add(unhex(f, "30 04 0009 6162 c0 00"), []byte{1})
	seeds, _ := filepath.Glob("../testdata/*.pcap")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil && len(b) < 1<<16 {
			f.Add(b[40:], []byte{5, 200, 17})
		}
	}
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		total, packets := 0, 0
		cfg := &StreamConfig{MaxPacketBuffer: 1 << 12, OnPDU: func(p *PDU) {
			packets++
			if len(p.Packet.Raw) > total {
				t.Fatalf("packet of %d bytes from %d bytes fed", len(p.Packet.Raw), total)
			}
		}}
		h := Streams(cfg)(ConnKey{}, &Frame{})
		frame := &Frame{Number: 1}
		for i := 0; len(data) > 0; i++ {
			n := len(data)
			if i < len(cuts) && int(cuts[i]) < n {
				n = int(cuts[i]) + 1
			}
			switch {
			case i%7 == 6:
				h.Gap(Direction(i&1), -1, frame)
			case i%5 == 4 && i < len(cuts):
				// A gap of known size, as a peer's ACK proves it.
				h.Gap(Direction(i%3/2), int(cuts[i])+1, frame)
			}
			total += n
			h.Data(Direction(i%3/2), data[:n], frame)
			data = data[n:]
			frame.Number++
		}
		h.Close(nil, true)
	})
}
