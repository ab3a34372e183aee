package dissect

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

// capFuzzSeeds are small valid captures covering the formats and link
// types, for the fuzzer to mutate.
func capFuzzSeeds(f testing.TB) [][]byte {
	b := pcapbuild.New(pcapbuild.Options{Link: pcapbuild.Link{Type: layers.LinkTypeEthernet, VLAN: []uint16{7}, Pad: true}})
	c := b.Conn(capClient4, capServer4)
	c.Handshake()
	c.SendSplit(pcapbuild.ToServer, []byte("\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"), 3)
	c.Send(pcapbuild.ToClient, []byte{0x20, 0x02, 0x00, 0x00})
	c.Close()

	m := pcapbuild.New(pcapbuild.Options{Snaplen: 70})
	sll2 := m.AddInterface(pcapbuild.Link{Type: layers.LinkTypeLinuxSLL2})
	null := m.AddInterface(pcapbuild.Link{Type: layers.LinkTypeNull})
	m.ConnOn(sll2, capClient6, capServer6).Send(pcapbuild.ToServer, []byte("\x30\x05\x00\x01ab"))
	m.InterfaceStats(0)
	m.ConnOn(null, netip.MustParseAddrPort("127.0.0.1:4000"), netip.MustParseAddrPort("127.0.0.1:1883")).Send(pcapbuild.ToServer, bytes.Repeat([]byte{0xc0, 0}, 40))
	m.UDP(0, capClient4, capServer4, []byte("udp"))

	be := pcapbuild.New(pcapbuild.Options{BigEndian: true, Link: pcapbuild.Link{Type: layers.LinkTypeLinuxSLL}})
	be.Conn(capClient4, capServer4).Send(pcapbuild.ToServer, []byte{0xc0, 0})

	var hand []byte
	hand = append(hand, ngSHB()...)
	hand = append(hand, ngIDB(linkRaw, 0, 0x80|20, 5)...)
	hand = append(hand, ngEPB(0, 123456789, capPacket("x"), 41)...)
	hand = append(hand, ngBlock(blockSPB, append([]byte{41, 0, 0, 0}, capPacket("y")...))...)

	snoop := toSnoop(f, b.Pcap(), 4, 0)
	netxray := toNetXRay(f, b.Pcap(), netxrayOpts{version: "002.001", trailer: true})
	circular := toNetXRay(f, b.Pcap(), netxrayOpts{version: "001.100", wrap: 3})
	return [][]byte{b.Pcap(), b.Pcapng(), m.Pcapng(), be.Pcap(), be.Pcapng(), capGzip(b.Pcap()), hand, snoop, netxray, circular}
}

func FuzzCaptureReader(f *testing.F) {
	for _, s := range capFuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := OpenCapture(bytes.NewReader(data), []uint16{1883, 4000})
		if err != nil {
			var ce *CaptureError
			if !errors.Is(err, ErrNotCapture) && !errors.As(err, &ce) {
				t.Fatalf("OpenCapture: unexpected error type %T: %v", err, err)
			}
			return
		}
		// Reassemble too, so the Assembler sees whatever the reader makes
		// of hostile input.
		a := NewAssembler([]uint16{1883, 4000}, func(ConnKey, *Frame) StreamHandler { return discardHandler{} })
		// Every frame takes at least 12 bytes of (decompressed) input; gzip
		// can expand 1032:1, which bounds a runaway loop all the same.
		limit := 1032*len(data)/12 + 1
		last := 0
		for n := 0; ; n++ {
			if n > limit {
				t.Fatalf("more than %d frames from %d bytes", limit, len(data))
			}
			fr, err := r.Next()
			if err != nil {
				var ce *CaptureError
				if err != io.EOF && !errors.As(err, &ce) {
					t.Fatalf("Next: unexpected error type %T: %v", err, err)
				}
				if ce != nil && (ce.Offset < 0 || ce.Frame != r.Stats().Frames+1) {
					t.Fatalf("bad error position: %v (frames %d)", err, r.Stats().Frames)
				}
				if _, err2 := r.Next(); err2 != err {
					t.Fatalf("error not sticky: %v then %v", err, err2)
				}
				break
			}
			if fr.Number <= last || len(fr.Payload) > max(fr.PayloadLen, len(fr.Payload)) {
				t.Fatalf("bad frame %+v after %d", fr, last)
			}
			if fr.Truncated != (fr.PayloadLen > len(fr.Payload)) {
				t.Fatalf("Truncated %v but %d of %d payload bytes", fr.Truncated, len(fr.Payload), fr.PayloadLen)
			}
			last = fr.Number
			a.Add(fr)
		}
		a.Flush()
		if st := r.Stats(); st.Matched > st.Frames || st.Frames < last {
			t.Fatalf("inconsistent stats %+v", st)
		}
	})
}
