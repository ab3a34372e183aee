package dissect

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

var (
	capClient4 = netip.MustParseAddrPort("10.0.0.1:50000")
	capServer4 = netip.MustParseAddrPort("10.0.0.2:1883")
	capClient6 = netip.MustParseAddrPort("[2001:db8::1]:50001")
	capServer6 = netip.MustParseAddrPort("[2001:db8::2]:1883")
)

// capFrame is a copy of a Frame that outlives the next call to Next.
type capFrame struct {
	Frame
	payload string
}

// capReadAll reads every frame, returning copies and the final error
// (io.EOF on a clean end).
func capReadAll(t testing.TB, data []byte, ports []uint16) ([]capFrame, *CaptureReader, error) {
	t.Helper()
	r, err := OpenCapture(bytes.NewReader(data), ports)
	if err != nil {
		return nil, nil, err
	}
	var out []capFrame
	for {
		f, err := r.Next()
		if err != nil {
			return out, r, err
		}
		c := capFrame{Frame: *f, payload: string(f.Payload)}
		c.Payload = nil
		out = append(out, c)
	}
}

func capGzip(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// capStandardConn writes a small MQTT exchange: handshake, CONNECT split in
// two segments, CONNACK, close. It returns the builder's records count.
func capStandardConn(c *pcapbuild.Conn) {
	c.Handshake()
	c.SendSplit(pcapbuild.ToServer, []byte("\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04test"), 7)
	c.Send(pcapbuild.ToClient, []byte{0x20, 0x02, 0x00, 0x00})
	c.Close()
}

// capWant is the expected summary of capStandardConn's frames.
var capWant = []struct {
	dir     pcapbuild.Dir
	flags   TCPFlags
	payload string
}{
	{pcapbuild.ToServer, TCPSyn, ""},
	{pcapbuild.ToClient, TCPSyn | TCPAck, ""},
	{pcapbuild.ToServer, TCPAck, ""},
	{pcapbuild.ToServer, TCPAck, "\x10\x10\x00\x04MQT"},
	{pcapbuild.ToServer, TCPAck, "T\x04\x02\x00\x3c\x00\x04test"},
	{pcapbuild.ToClient, TCPAck, "\x20\x02\x00\x00"},
	{pcapbuild.ToServer, TCPFin | TCPAck, ""},
	{pcapbuild.ToClient, TCPFin | TCPAck, ""},
	{pcapbuild.ToServer, TCPAck, ""},
}

func capCheckStandard(t *testing.T, got []capFrame, client, server netip.AddrPort, start time.Time, firstNum int) {
	t.Helper()
	if len(got) != len(capWant) {
		t.Fatalf("got %d frames, want %d", len(got), len(capWant))
	}
	for i, w := range capWant {
		g := got[i]
		src, dst := client, server
		if w.dir == pcapbuild.ToClient {
			src, dst = server, client
		}
		if g.Src != src || g.Dst != dst {
			t.Errorf("frame %d: %v -> %v, want %v -> %v", i, g.Src, g.Dst, src, dst)
		}
		if g.Flags != w.flags {
			t.Errorf("frame %d: flags %b, want %b", i, g.Flags, w.flags)
		}
		if g.payload != w.payload {
			t.Errorf("frame %d: payload %q, want %q", i, g.payload, w.payload)
		}
		if g.PayloadLen != len(w.payload) || g.Truncated {
			t.Errorf("frame %d: PayloadLen %d truncated %v", i, g.PayloadLen, g.Truncated)
		}
		if g.Number != firstNum+i {
			t.Errorf("frame %d: Number %d, want %d", i, g.Number, firstNum+i)
		}
		if want := start.Add(time.Duration(i+1) * time.Millisecond); !g.Time.Equal(want) {
			t.Errorf("frame %d: time %v, want %v", i, g.Time, want)
		}
	}
	// Sequence numbers: client ISN 1000, server ISN 5000 (pcapbuild's).
	if got[0].Seq != 1000 || got[1].Seq != 5000 || got[1].Ack != 1001 || got[3].Seq != 1001 || got[4].Seq != 1008 || got[5].Ack != 1019 {
		t.Errorf("unexpected sequence numbers: %+v", got[:6])
	}
}

func TestCaptureLinkTypes(t *testing.T) {
	start := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	links := []struct {
		name string
		link pcapbuild.Link
	}{
		{"ethernet", pcapbuild.Link{Type: layers.LinkTypeEthernet}},
		{"ethernet-padded", pcapbuild.Link{Type: layers.LinkTypeEthernet, Pad: true}},
		{"vlan", pcapbuild.Link{Type: layers.LinkTypeEthernet, VLAN: []uint16{42}}},
		{"qinq", pcapbuild.Link{Type: layers.LinkTypeEthernet, VLAN: []uint16{100, 200}, Pad: true}},
		{"linux-sll", pcapbuild.Link{Type: layers.LinkTypeLinuxSLL}},
		{"linux-sll2", pcapbuild.Link{Type: layers.LinkTypeLinuxSLL2}},
		{"null", pcapbuild.Link{Type: layers.LinkTypeNull}},
		{"loop", pcapbuild.Link{Type: layers.LinkTypeLoop}},
		{"raw", pcapbuild.Link{Type: layers.LinkTypeRaw}},
		{"raw12", pcapbuild.Link{Type: 12}},
		{"ipv4", pcapbuild.Link{Type: layers.LinkTypeIPv4}},
		{"ipv6", pcapbuild.Link{Type: layers.LinkTypeIPv6}},
	}
	formats := []struct {
		name  string
		write func(b *pcapbuild.Builder) []byte
		opts  pcapbuild.Options
	}{
		{"pcap", (*pcapbuild.Builder).Pcap, pcapbuild.Options{}},
		{"pcap-nanos", (*pcapbuild.Builder).Pcap, pcapbuild.Options{Nanos: true}},
		{"pcap-bigendian", (*pcapbuild.Builder).Pcap, pcapbuild.Options{BigEndian: true}},
		{"pcap-gzip", func(b *pcapbuild.Builder) []byte { return capGzip(b.Pcap()) }, pcapbuild.Options{}},
		{"pcapng", (*pcapbuild.Builder).Pcapng, pcapbuild.Options{}},
		{"pcapng-bigendian", (*pcapbuild.Builder).Pcapng, pcapbuild.Options{BigEndian: true}},
		{"pcapng-gzip", func(b *pcapbuild.Builder) []byte { return capGzip(b.Pcapng()) }, pcapbuild.Options{}},
	}
	for _, l := range links {
		for _, v6 := range []bool{false, true} {
			if (l.link.Type == layers.LinkTypeIPv4 && v6) || (l.link.Type == layers.LinkTypeIPv6 && !v6) {
				continue
			}
			for _, fm := range formats {
				name := fmt.Sprintf("%s/ipv%d/%s", l.name, map[bool]int{false: 4, true: 6}[v6], fm.name)
				t.Run(name, func(t *testing.T) {
					opts := fm.opts
					opts.Link = l.link
					b := pcapbuild.New(opts)
					if l.link.Type == layers.LinkTypeNull {
						b = pcapbuild.NewNull(opts)
					}
					client, server := capClient4, capServer4
					if v6 {
						client, server = capClient6, capServer6
					}
					capStandardConn(b.Conn(client, server))
					data := fm.write(b)
					got, r, err := capReadAll(t, data, nil)
					if err != io.EOF {
						t.Fatalf("err = %v, want io.EOF", err)
					}
					capCheckStandard(t, got, client, server, start, 1)
					st := r.Stats()
					if st.Frames != 9 || st.Matched != 9 || st.Skipped != 0 {
						t.Errorf("stats %+v", st)
					}
					if r.BytesRead() != int64(len(data)) {
						t.Errorf("BytesRead %d, want %d", r.BytesRead(), len(data))
					}
					capCompareWithGopacket(t, data, got)
				})
			}
		}
	}
}

// capCompareWithGopacket decodes the same file with gopacket's pcapgo
// readers and layer decoders and checks both readers agree.
func capCompareWithGopacket(t *testing.T, data []byte, got []capFrame) {
	t.Helper()
	type src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var rd src
	var linkOf func(ci gopacket.CaptureInfo) layers.LinkType
	if bytes.HasPrefix(data, []byte{0x0a, 0x0d, 0x0d, 0x0a}) || (bytes.HasPrefix(data, []byte{0x1f, 0x8b}) && capIsNg(data)) {
		ng, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			t.Fatalf("pcapgo: %v", err)
		}
		rd = ng
		linkOf = func(ci gopacket.CaptureInfo) layers.LinkType { return ci.AncillaryData[0].(layers.LinkType) }
	} else {
		pr, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("pcapgo: %v", err)
		}
		rd = pr
		linkOf = func(gopacket.CaptureInfo) layers.LinkType { return pr.LinkType() }
	}
	i := 0
	for n := 1; ; n++ {
		pkt, ci, err := rd.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("pcapgo: %v", err)
		}
		var first gopacket.Decoder = linkOf(ci)
		switch linkOf(ci) {
		case layers.LinkTypeIPv4:
			first = layers.LayerTypeIPv4
		case layers.LinkTypeIPv6:
			first = layers.LayerTypeIPv6
		}
		p := gopacket.NewPacket(pkt, first, gopacket.NoCopy)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil || (tcp.SrcPort != 1883 && tcp.DstPort != 1883) {
			continue
		}
		if i >= len(got) {
			t.Fatalf("gopacket found more frames than the reader")
		}
		g := got[i]
		i++
		if g.Number != n || g.Seq != tcp.Seq || g.Ack != tcp.Ack || g.payload != string(tcp.Payload) ||
			g.Src.Port() != uint16(tcp.SrcPort) || !g.Time.Equal(ci.Timestamp) || g.WireLen != ci.Length {
			t.Errorf("frame %d differs from gopacket: ours %+v, gopacket seq %d ack %d payload %q time %v", n, g, tcp.Seq, tcp.Ack, tcp.Payload, ci.Timestamp)
		}
	}
	if i != len(got) {
		t.Errorf("gopacket found %d frames, the reader %d", i, len(got))
	}
}

func capIsNg(gz []byte) bool {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return false
	}
	var m [4]byte
	_, _ = io.ReadFull(zr, m[:])
	return m == [4]byte{0x0a, 0x0d, 0x0d, 0x0a}
}

func TestCaptureMixedLinkTypes(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	sll2 := b.AddInterface(pcapbuild.Link{Type: layers.LinkTypeLinuxSLL2})
	raw := b.AddInterface(pcapbuild.Link{Type: layers.LinkTypeRaw})
	null := b.AddInterface(pcapbuild.Link{Type: layers.LinkTypeNull})
	conns := []*pcapbuild.Conn{
		b.Conn(capClient4, capServer4),
		b.ConnOn(sll2, netip.MustParseAddrPort("10.1.0.1:40000"), capServer4),
		b.ConnOn(raw, capClient6, capServer6),
		b.ConnOn(null, netip.MustParseAddrPort("127.0.0.1:40001"), netip.MustParseAddrPort("127.0.0.1:1883")),
	}
	for i, c := range conns {
		c.Send(pcapbuild.ToServer, []byte{0xc0, byte(i)})
	}
	got, _, err := capReadAll(t, b.Pcapng(), nil)
	if err != io.EOF || len(got) != 4 {
		t.Fatalf("got %d frames, err %v", len(got), err)
	}
	for i, g := range got {
		if g.payload != string([]byte{0xc0, byte(i)}) || g.Number != i+1 {
			t.Errorf("frame %d: %+v", i, g)
		}
	}
	if err := b.WritePcap(io.Discard); err == nil {
		t.Error("WritePcap with mixed link types should fail")
	}
}

func TestCapturePortsFilterAndNumbering(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	mqtt := b.Conn(capClient4, capServer4)
	tls := b.Conn(netip.MustParseAddrPort("10.0.0.1:50002"), netip.MustParseAddrPort("10.0.0.2:8883"))
	other := b.Conn(netip.MustParseAddrPort("10.0.0.1:50003"), netip.MustParseAddrPort("10.0.0.2:80"))
	mqtt.Send(pcapbuild.ToServer, []byte("a"))                                                                   // 1
	b.UDP(0, netip.MustParseAddrPort("10.0.0.1:5353"), netip.MustParseAddrPort("224.0.0.251:1883"), []byte("x")) // 2: UDP, even on 1883
	tls.Send(pcapbuild.ToServer, []byte("b"))                                                                    // 3
	b.Raw(0, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1})   // 4: ARP
	b.InterfaceStats(0)                                                                                          // not a frame in pcapng
	other.Send(pcapbuild.ToServer, []byte("c"))                                                                  // 5
	mqtt.Send(pcapbuild.ToClient, []byte("d"))                                                                   // 6
	tls.Send(pcapbuild.ToClient, []byte("e"))                                                                    // 7

	for _, format := range []string{"pcap", "pcapng"} {
		data := b.Pcap()
		if format == "pcapng" {
			data = b.Pcapng()
		}
		for _, tc := range []struct {
			ports []uint16
			want  string // payload@number
		}{
			{nil, "a@1 d@6"},
			{[]uint16{8883}, "b@3 e@7"},
			{[]uint16{1883, 8883}, "a@1 b@3 d@6 e@7"},
			{[]uint16{80, 50003}, "c@5"},
			{[]uint16{9999}, ""},
		} {
			t.Run(fmt.Sprintf("%s/%v", format, tc.ports), func(t *testing.T) {
				got, r, err := capReadAll(t, data, tc.ports)
				if err != io.EOF {
					t.Fatal(err)
				}
				var s []string
				for _, g := range got {
					s = append(s, fmt.Sprintf("%s@%d", g.payload, g.Number))
				}
				if strings.Join(s, " ") != tc.want {
					t.Errorf("got %q, want %q", strings.Join(s, " "), tc.want)
				}
				if st := r.Stats(); st.Frames != 7 || st.Matched != len(got) || st.Skipped != 0 {
					t.Errorf("stats %+v", st)
				}
			})
		}
	}
}

// ngBlock builds a little-endian pcapng block.
func ngBlock(typ uint32, body []byte) []byte {
	body = append(body, make([]byte, (4-len(body)%4)%4)...)
	n := uint32(12 + len(body))
	out := binary.LittleEndian.AppendUint32(nil, typ)
	out = binary.LittleEndian.AppendUint32(out, n)
	out = append(out, body...)
	return binary.LittleEndian.AppendUint32(out, n)
}

func ngSHB() []byte {
	body := binary.LittleEndian.AppendUint32(nil, byteOrderMagic)
	body = append(body, 1, 0, 0, 0)
	body = append(body, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	return ngBlock(blockSHB, body)
}

// ngIDB builds an interface description with optional if_tsresol and
// if_tsoffset options (tsresol 0 means none).
func ngIDB(link uint16, snaplen uint32, tsresol byte, tsoffset int64) []byte {
	body := binary.LittleEndian.AppendUint16(nil, link)
	body = append(body, 0, 0)
	body = binary.LittleEndian.AppendUint32(body, snaplen)
	body = append(body, 2, 0, 3, 0, 'e', 't', 'h', 0) // if_name, padded
	if tsresol != 0 {
		body = append(body, 9, 0, 1, 0, tsresol, 0, 0, 0)
	}
	if tsoffset != 0 {
		body = append(body, 14, 0, 8, 0)
		body = binary.LittleEndian.AppendUint64(body, uint64(tsoffset))
	}
	return ngBlock(blockIDB, append(body, 0, 0, 0, 0))
}

func ngEPB(iface uint32, ts uint64, pkt []byte, wirelen int) []byte {
	body := binary.LittleEndian.AppendUint32(nil, iface)
	body = binary.LittleEndian.AppendUint32(body, uint32(ts>>32))
	body = binary.LittleEndian.AppendUint32(body, uint32(ts))
	body = binary.LittleEndian.AppendUint32(body, uint32(len(pkt)))
	body = binary.LittleEndian.AppendUint32(body, uint32(wirelen))
	return ngBlock(blockEPB, append(body, pkt...))
}

// capPacket returns the raw-IP bytes of one TCP segment to port 1883.
func capPacket(payload string) []byte {
	b := pcapbuild.New(pcapbuild.Options{Link: pcapbuild.Link{Type: layers.LinkTypeRaw}})
	b.Conn(capClient4, capServer4).Send(pcapbuild.ToServer, []byte(payload))
	return b.Pcap()[24+16:]
}

func TestCapturePcapngBlocks(t *testing.T) {
	pkt := capPacket("hello")
	var f []byte
	f = append(f, ngSHB()...)
	f = append(f, ngIDB(linkRaw, 0, 3, 1000)...)                 // 0: milliseconds, +1000 s
	f = append(f, ngIDB(linkRaw, 0, 0x80|20, 0)...)              // 1: 2^-20 s
	f = append(f, ngIDB(linkRaw, 42, 0, 0)...)                   // 2: microseconds, snaplen 42
	f = append(f, ngBlock(4, []byte{0, 0, 0, 0})...)             // name resolution: no frame
	f = append(f, ngEPB(0, 1_700_000_000_123, pkt, len(pkt))...) // frame 1
	f = append(f, ngBlock(blockCustom, []byte{0xd9, 0x7e, 0, 0, 'x'})...)
	f = append(f, ngEPB(1, 5<<20|1<<19, pkt, len(pkt))...) // frame 3: 5.5 s
	spb := binary.LittleEndian.AppendUint32(nil, uint32(len(pkt)))
	f = append(f, ngBlock(blockSPB, append(spb, pkt...))...) // frame 4: interface 0
	pb := binary.LittleEndian.AppendUint16(nil, 0)
	pb = append(pb, 0, 0)
	pb = binary.LittleEndian.AppendUint32(pb, 0)
	pb = binary.LittleEndian.AppendUint32(pb, 42_000)
	pb = binary.LittleEndian.AppendUint32(pb, uint32(len(pkt)))
	pb = binary.LittleEndian.AppendUint32(pb, uint32(len(pkt)))
	f = append(f, ngBlock(blockPB, append(pb, pkt...))...)         // frame 5: obsolete packet block
	f = append(f, ngBlock(blockJournal, []byte("MESSAGE=x\n"))...) // frame 6
	f = append(f, ngEPB(2, 7, pkt[:42], len(pkt))...)              // frame 7: snapped
	f = append(f, ngSHB()...)                                      // new section: interfaces reset
	f = append(f, ngIDB(linkEthernet, 0, 9, 0)...)                 // 0: ns, Ethernet
	eth := append([]byte{1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 7, 0x08, 0x00}, pkt...)
	f = append(f, ngEPB(0, 1_000_000_007, eth, len(eth))...) // frame 8

	got, r, err := capReadAll(t, f, nil)
	if err != io.EOF {
		t.Fatal(err)
	}
	want := []struct {
		num  int
		time time.Time
		pay  string
	}{
		{1, time.Unix(1_700_001_000, 123e6), "hello"},
		{3, time.Unix(5, 5e8), "hello"},
		{4, time.Time{}, "hello"},
		{5, time.Unix(1042, 0), "hello"},
		{7, time.Unix(0, 7000), "he"},
		{8, time.Unix(1, 7), "hello"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d frames: %+v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Number != w.num || !g.Time.Equal(w.time) || g.payload != w.pay {
			t.Errorf("frame %d: number %d time %v payload %q; want %d %v %q", i, g.Number, g.Time, g.payload, w.num, w.time, w.pay)
		}
	}
	if g := got[4]; !g.Truncated || g.PayloadLen != 5 || g.WireLen != len(pkt) {
		t.Errorf("snapped frame: %+v", g)
	}
	if st := r.Stats(); st.Frames != 8 || st.Matched != 6 {
		t.Errorf("stats %+v", st)
	}
}

func TestCaptureSnaplen(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{Snaplen: 64})
	c := b.Conn(capClient4, capServer4)
	c.Send(pcapbuild.ToServer, []byte(strings.Repeat("x", 100)))
	c.Send(pcapbuild.ToServer, []byte("short"))
	for _, data := range [][]byte{b.Pcap(), b.Pcapng()} {
		got, _, err := capReadAll(t, data, nil)
		if err != io.EOF || len(got) != 2 {
			t.Fatalf("%d frames, %v", len(got), err)
		}
		// 64 bytes = 14 Ethernet + 20 IP + 20 TCP + 10 payload.
		if g := got[0]; !g.Truncated || g.payload != strings.Repeat("x", 10) || g.PayloadLen != 100 || g.WireLen != 154 {
			t.Errorf("cut frame: truncated %v payload %d/%d wire %d", g.Truncated, len(g.payload), g.PayloadLen, g.WireLen)
		}
		if g := got[1]; g.Truncated || g.payload != "short" {
			t.Errorf("uncut frame: %+v", g)
		}
	}
}

// capRawPcap writes packets as a raw-IP pcap.
func capRawPcap(pkts ...[]byte) []byte {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	_ = w.WriteFileHeader(65535, layers.LinkTypeRaw)
	for _, p := range pkts {
		_ = w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(p), Length: len(p)}, p)
	}
	return buf.Bytes()
}

func TestCaptureIPEdgeCases(t *testing.T) {
	v4 := capPacket("data")
	b6 := pcapbuild.New(pcapbuild.Options{Link: pcapbuild.Link{Type: layers.LinkTypeRaw}})
	b6.Conn(capClient6, capServer6).Send(pcapbuild.ToServer, []byte("six"))
	v6 := b6.Pcap()[40:]

	edit := func(p []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(p)) }
	// withExt inserts an IPv6 extension header of type typ before TCP.
	withExt := func(p []byte, typ byte, ext []byte) []byte {
		out := append(bytes.Clone(p[:40]), ext...)
		out[40] = p[6] // the extension's next header is the old one
		out[6] = typ
		binary.BigEndian.PutUint16(out[4:], uint16(len(p)-40+len(ext)))
		return append(out, p[40:]...)
	}
	cases := []struct {
		name    string
		pkt     []byte
		want    string // payload, or "" for no frame
		skipped int
		frags   int
	}{
		{"plain-v4", v4, "data", 0, 0},
		{"plain-v6", v6, "six", 0, 0},
		{"v4-padding", append(bytes.Clone(v4), 0, 0, 0, 0), "data", 0, 0},
		{"v4-options", edit(v4, func(p []byte) []byte {
			out := append(bytes.Clone(p[:20]), 1, 1, 1, 1) // 4 bytes of NOP options
			out[0] = 0x46
			binary.BigEndian.PutUint16(out[2:], uint16(len(p)+4))
			return append(out, p[20:]...)
		}), "data", 0, 0},
		{"v4-tso-zero-length", edit(v4, func(p []byte) []byte { p[2], p[3] = 0, 0; return p }), "data", 0, 0},
		{"v4-first-fragment", edit(v4, func(p []byte) []byte { p[6] |= 0x20; return p }), "", 0, 1},
		{"v4-later-fragment", edit(v4, func(p []byte) []byte { p[6], p[7] = 0, 10; return p }), "", 0, 1},
		{"v4-not-tcp", edit(v4, func(p []byte) []byte { p[9] = 17; return p }), "", 0, 0},
		{"v4-short-ihl", edit(v4, func(p []byte) []byte { p[0] = 0x44; return p }), "", 1, 0},
		{"v4-ihl-beyond", edit(v4, func(p []byte) []byte { p[0] = 0x4f; return p[:40] }), "", 1, 0},
		{"v4-total-below-ihl", edit(v4, func(p []byte) []byte { p[2], p[3] = 0, 10; return p }), "", 1, 0},
		{"tcp-offset-short", edit(v4, func(p []byte) []byte { p[32] = 0x40; return p }), "", 1, 0},
		{"tcp-offset-beyond", edit(v4, func(p []byte) []byte { p[32] = 0xf0; return p }), "", 1, 0},
		{"tcp-cut", v4[:30], "", 1, 0},
		{"v6-hop-by-hop", withExt(v6, 0, []byte{0, 0, 1, 4, 0, 0, 0, 0}), "six", 0, 0},
		{"v6-two-ext", withExt(withExt(v6, 60, []byte{0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 0, []byte{0, 0, 1, 4, 0, 0, 0, 0}), "six", 0, 0},
		{"v6-atomic-fragment", withExt(v6, 44, []byte{0, 0, 0, 0, 0, 0, 0, 1}), "six", 0, 0},
		{"v6-fragment", withExt(v6, 44, []byte{0, 0, 0, 1, 0, 0, 0, 1}), "", 0, 1},
		{"v6-ah", withExt(v6, 51, []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), "six", 0, 0},
		{"v6-esp", withExt(v6, 50, []byte{0, 0, 0, 0, 0, 0, 0, 0}), "", 0, 0},
		{"v6-ext-beyond", edit(withExt(v6, 0, []byte{0, 200, 0, 0, 0, 0, 0, 0}), func(p []byte) []byte { return p }), "", 1, 0},
		{"v6-short", v6[:39], "", 1, 0},
		{"v6-padding", append(bytes.Clone(v6), 0, 0), "six", 0, 0},
		{"raw-bad-version", edit(v4, func(p []byte) []byte { p[0] = 0x55; return p }), "", 1, 0},
		{"empty", nil, "", 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, r, err := capReadAll(t, capRawPcap(tc.pkt), nil)
			if err != io.EOF {
				t.Fatal(err)
			}
			gotPay := ""
			if len(got) == 1 {
				gotPay = got[0].payload
			}
			if len(got) > 1 || gotPay != tc.want || (tc.want != "" && len(got) != 1) {
				t.Errorf("got %d frames, payload %q; want %q", len(got), gotPay, tc.want)
			}
			if st := r.Stats(); st.Skipped != tc.skipped || st.Fragments != tc.frags {
				t.Errorf("stats %+v, want skipped %d fragments %d", st, tc.skipped, tc.frags)
			}
		})
	}
}

func TestCaptureLinkEdgeCases(t *testing.T) {
	v4 := capPacket("x")
	for _, tc := range []struct {
		name    string
		link    layers.LinkType
		frame   []byte
		want    bool
		skipped int
		unsupp  int
	}{
		{"null-big-endian-host", layers.LinkTypeNull, append([]byte{0, 0, 0, 2}, v4...), true, 0, 0},
		{"null-unknown-family", layers.LinkTypeNull, append([]byte{7, 0, 0, 0}, v4...), false, 0, 0},
		{"null-short", layers.LinkTypeNull, []byte{2, 0}, false, 1, 0},
		{"ethernet-short", layers.LinkTypeEthernet, make([]byte, 13), false, 1, 0},
		{"ethernet-arp", layers.LinkTypeEthernet, append(make([]byte, 12), 0x08, 0x06, 0, 1), false, 0, 0},
		{"ethernet-vlan-cut", layers.LinkTypeEthernet, append(make([]byte, 12), 0x81, 0x00, 0), false, 1, 0},
		{"ethernet-vlan-loop", layers.LinkTypeEthernet, append(make([]byte, 12), bytes.Repeat([]byte{0x81, 0x00, 0, 1}, 20)...), false, 1, 0},
		{"ethernet-9100-tag", layers.LinkTypeEthernet, append(append(make([]byte, 12), 0x91, 0x00, 0, 5, 0x08, 0x00), v4...), true, 0, 0},
		{"sll-short", layers.LinkTypeLinuxSLL, make([]byte, 15), false, 1, 0},
		{"sll2-short", layers.LinkTypeLinuxSLL2, make([]byte, 19), false, 1, 0},
		{"ipv4-link-short", layers.LinkTypeIPv4, v4[:19], false, 1, 0},
		{"unsupported", layers.LinkTypeIEEE802_11, v4, false, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := pcapgo.NewWriter(&buf)
			_ = w.WriteFileHeader(65535, tc.link)
			_ = w.WritePacket(gopacket.CaptureInfo{CaptureLength: len(tc.frame), Length: len(tc.frame)}, tc.frame)
			got, r, err := capReadAll(t, buf.Bytes(), nil)
			if err != io.EOF || (len(got) == 1) != tc.want {
				t.Fatalf("got %d frames, err %v", len(got), err)
			}
			if st := r.Stats(); st.Skipped != tc.skipped || st.Unsupported != tc.unsupp {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// capRecordEnds returns the offset just past each frame's record (pcap) or
// block (pcapng), the header size, and the end of every block (pcapng), by
// walking the file's framing.
func capRecordEnds(t *testing.T, f []byte, ng bool) (header int, ends []int, blocks map[int]bool) {
	t.Helper()
	if !ng {
		for off := 24; off < len(f); {
			off += 16 + int(binary.LittleEndian.Uint32(f[off+8:]))
			ends = append(ends, off)
		}
		return 24, ends, nil
	}
	header = -1
	blocks = map[int]bool{}
	for off := 0; off < len(f); {
		typ, n := binary.LittleEndian.Uint32(f[off:]), int(binary.LittleEndian.Uint32(f[off+4:]))
		off += n
		blocks[off] = true
		switch typ {
		case blockSHB:
			if header < 0 {
				header = off
			}
		case blockEPB:
			ends = append(ends, off)
		}
	}
	return header, ends, blocks
}

func TestCaptureTruncated(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(capClient4, capServer4)
	capStandardConn(c)
	c2 := b.Conn(capClient6, capServer6)
	c2.Send(pcapbuild.ToServer, []byte("abc"))
	b.InterfaceStats(0)
	c2.Send(pcapbuild.ToServer, []byte("def"))

	for _, format := range []string{"pcap", "pcapng"} {
		t.Run(format, func(t *testing.T) {
			full := b.Pcap()
			if format == "pcapng" {
				full = b.Pcapng()
			}
			all, _, err := capReadAll(t, full, nil)
			if err != io.EOF || len(all) != 11 {
				t.Fatalf("full file: %d frames, %v", len(all), err)
			}
			header, ends, blocks := capRecordEnds(t, full, format == "pcapng")
			for cut := 0; cut < len(full); cut++ {
				got, _, err := capReadAll(t, full[:cut], nil)
				if cut == 0 {
					if !errors.Is(err, ErrNotCapture) {
						t.Fatalf("empty file: %v", err)
					}
					continue
				}
				var ce *CaptureError
				if cut < header {
					if !errors.As(err, &ce) || !errors.Is(err, ErrTruncatedCapture) || ce.Frame != 0 || ce.Offset != 0 {
						t.Fatalf("cut %d in the header: %v", cut, err)
					}
					continue
				}
				// Frames whose records end by the cut come back in full.
				complete := 0
				for complete < len(ends) && ends[complete] <= cut {
					complete++
				}
				if len(got) != complete || !slices.EqualFunc(got, all[:complete], func(a, b capFrame) bool { return a.payload == b.payload && a.Number == b.Number }) {
					t.Fatalf("cut %d: got %d frames, want %d", cut, len(got), complete)
				}
				prevEnd := header
				if complete > 0 {
					prevEnd = ends[complete-1]
				}
				if cut == prevEnd {
					if err != io.EOF {
						t.Fatalf("cut %d at a record boundary: %v", cut, err)
					}
					continue
				}
				if blocks[cut] && err == io.EOF {
					// Cut right after a non-frame block (the statistics
					// block): a clean end too.
					continue
				}
				if !errors.As(err, &ce) || !errors.Is(err, ErrTruncatedCapture) || errors.Is(err, ErrCorruptCapture) || !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("cut %d: err %v, want a truncation", cut, err)
				}
				if ce.Frame != complete+1 || ce.Offset < int64(prevEnd) || ce.Offset >= int64(cut) {
					t.Fatalf("cut %d: error %v; want frame %d at offset in [%d,%d)", cut, err, complete+1, prevEnd, cut)
				}
				if format == "pcap" && ce.Offset != int64(prevEnd) {
					t.Fatalf("cut %d: offset %d, want %d", cut, ce.Offset, prevEnd)
				}
			}
		})
	}
	t.Run("gzip", func(t *testing.T) {
		full := capGzip(b.Pcapng())
		all, _, _ := capReadAll(t, b.Pcapng(), nil)
		for cut := 2; cut < len(full); cut++ {
			got, _, err := capReadAll(t, full[:cut], nil)
			if !errors.Is(err, ErrTruncatedCapture) {
				t.Fatalf("cut %d: %v", cut, err)
			}
			if len(got) > len(all) || !slices.EqualFunc(got, all[:len(got)], func(a, b capFrame) bool { return a.payload == b.payload }) {
				t.Fatalf("cut %d: frames differ", cut)
			}
		}
	})
}

func TestCaptureErrorMessage(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(capClient4, capServer4)
	c.Send(pcapbuild.ToServer, []byte("one"))
	c.Send(pcapbuild.ToServer, []byte("two"))
	full := b.Pcap()
	_, _, err := capReadAll(t, full[:len(full)-2], nil)
	want := fmt.Sprintf("dissect: truncated capture: frame 2 at byte offset %d: unexpected EOF", 24+16+57)
	if err == nil || err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestCaptureCorrupt(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(capClient4, capServer4)
	c.Send(pcapbuild.ToServer, []byte("one"))
	c.Send(pcapbuild.ToServer, []byte("two"))
	c.Send(pcapbuild.ToServer, []byte("three"))
	pcap, ng := b.Pcap(), b.Pcapng()
	_, ngEnds, _ := capRecordEnds(t, ng, true)
	rec := 16 + 57 // one pcap record: 14+20+20+3 bytes of frame

	set32 := func(f []byte, off int, v uint32) []byte {
		f = bytes.Clone(f)
		binary.LittleEndian.PutUint32(f[off:], v)
		return f
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		frames int   // frames returned before the error
		offset int64 // of the error
		msg    string
	}{
		{"pcap-record-length", set32(pcap, 24+rec+8, 0xfffffff0), 1, int64(24 + rec), "record length 4294967280 exceeds"},
		{"pcap-version", set32(pcap, 4, 0x00040003), -1, 0, "unsupported pcap version 3.4"},
		{"pcapng-block-length-unaligned", set32(ng, ngEnds[0]+4, 97), 1, int64(ngEnds[0]), "bad pcapng block length 97"},
		{"pcapng-block-length-huge", set32(ng, ngEnds[1]+4, 0xfffffff0), 2, int64(ngEnds[1]), "bad pcapng block length"},
		{"pcapng-block-length-small", set32(ng, ngEnds[1]+4, 8), 2, int64(ngEnds[1]), "bad pcapng block length 8"},
		{"pcapng-trailer", set32(ng, ngEnds[1]-4, 1), 1, int64(ngEnds[0]), "does not match trailing length"},
		{"pcapng-interface", set32(ng, ngEnds[0]+8, 7), 1, int64(ngEnds[0]), "undescribed interface 7"},
		{"pcapng-caplen", set32(ng, ngEnds[0]+20, 1000), 1, int64(ngEnds[0]), "packet length 1000 exceeds its block"},
		{"pcapng-bom", set32(ng, 8, 0x12345678), -1, 0, "byte-order mark"},
		{"pcapng-version", set32(ng, 12, 2), -1, 0, "unsupported pcapng version 2.0"},
		{"pcapng-tsresol", func() []byte {
			f := append(ngSHB(), ngIDB(linkRaw, 0, 0x80|64, 0)...)
			return f
		}(), 0, 28, "timestamp resolution 2^-64"},
		{"gzip-checksum", func() []byte {
			z := capGzip(pcap)
			z[len(z)-8] ^= 0xff // CRC-32 in the trailer
			return z
		}(), 3, int64(len(pcap)), "checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := capReadAll(t, tc.data, nil)
			var ce *CaptureError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorruptCapture) || errors.Is(err, ErrTruncatedCapture) {
				t.Fatalf("err = %v, want a corrupt-capture error", err)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "dissect: corrupt capture: ") {
				t.Errorf("message %q lacks %q", err, tc.msg)
			}
			if tc.frames >= 0 && len(got) != tc.frames {
				t.Errorf("%d frames before the error, want %d", len(got), tc.frames)
			}
			if tc.frames < 0 && (got != nil || ce.Frame != 0) {
				t.Errorf("header error should come from OpenCapture: %v", err)
			}
			if ce.Offset != tc.offset {
				t.Errorf("offset %d, want %d", ce.Offset, tc.offset)
			}
		})
	}
}

func TestCaptureNotACapture(t *testing.T) {
	for _, in := range []string{"", "hello world", "\x1f", "GET / HTTP/1.1\r\n", capGzipString("plain text inside gzip")} {
		_, err := OpenCapture(strings.NewReader(in), nil)
		if !errors.Is(err, ErrNotCapture) || !strings.HasPrefix(err.Error(), "dissect: not a pcap, pcapng, snoop or NetXRay") {
			t.Errorf("%q: %v", in, err)
		}
	}
	// The start of a magic number is a truncated capture, not a foreign file.
	_, err := OpenCapture(strings.NewReader("\xd4\xc3"), nil)
	if !errors.Is(err, ErrTruncatedCapture) {
		t.Errorf("partial magic: %v", err)
	}
	// A broken gzip header is corrupt.
	_, err = OpenCapture(strings.NewReader("\x1f\x8b\x09\x00\x00\x00\x00\x00\x00\x00"), nil)
	if !errors.Is(err, ErrCorruptCapture) {
		t.Errorf("bad gzip header: %v", err)
	}
}

func capGzipString(s string) string { return string(capGzip([]byte(s))) }

// errReader fails after its data with a non-EOF error.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestCaptureReadError(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	b.Conn(capClient4, capServer4).Send(pcapbuild.ToServer, []byte("one"))
	boom := errors.New("disk on fire")
	r, err := OpenCapture(&errReader{data: b.Pcap(), err: boom}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	if !errors.Is(err, boom) || errors.Is(err, ErrTruncatedCapture) || errors.Is(err, ErrCorruptCapture) {
		t.Errorf("err = %v", err)
	}
	if _, err2 := r.Next(); err2 != err {
		t.Errorf("error not sticky: %v", err2)
	}
}

// TestCaptureHostileLengths checks that lengths taken from the file do not
// drive allocation: a tiny file claiming huge records allocates little.
func TestCaptureHostileLengths(t *testing.T) {
	big := append(ngSHB(), ngIDB(linkRaw, 0, 0, 0)...)
	big = binary.LittleEndian.AppendUint32(big, blockEPB)
	big = binary.LittleEndian.AppendUint32(big, 100<<20) // 100 MiB claimed
	big = append(big, make([]byte, 64)...)
	skip := append(ngSHB(), binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 4), 120<<20)...)
	for _, data := range [][]byte{big, skip} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err := capReadAll(t, data, nil)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTruncatedCapture) {
			t.Errorf("err = %v", err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
			t.Errorf("allocated %d bytes for a %d-byte file", n, len(data))
		}
	}
}

func TestCaptureLargeBlocks(t *testing.T) {
	// A packet block bigger than the read buffer (through a huge options
	// area) and a big non-packet block are both read correctly.
	pkt := capPacket("big")
	epb := ngEPB(0, 0, pkt, len(pkt))
	opt := append([]byte{1, 0, 0xfc, 0xff}, bytes.Repeat([]byte{'c'}, 0xfffc)...) // comment options
	body := slices.Clone(epb[8 : len(epb)-4])
	for range 20 {
		body = append(body, opt...)
	}
	var f []byte
	f = append(f, ngSHB()...)
	f = append(f, ngIDB(linkRaw, 0, 0, 0)...)
	f = append(f, ngBlock(blockEPB, body)...)
	f = append(f, ngBlock(0x80000001, make([]byte, bufSize+100))...) // local-use block, skipped
	f = append(f, epb...)
	got, _, err := capReadAll(t, f, nil)
	if err != io.EOF || len(got) != 2 || got[0].payload != "big" || got[1].Number != 2 {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestCaptureAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		link layers.LinkType
		ng   bool
	}{{"ethernet-pcap", layers.LinkTypeEthernet, false}, {"sll2-pcapng", layers.LinkTypeLinuxSLL2, true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := pcapbuild.New(pcapbuild.Options{Link: pcapbuild.Link{Type: tc.link}})
			c := b.Conn(capClient4, capServer4)
			for range 2000 {
				c.Send(pcapbuild.ToServer, []byte("\x30\x0a\x00\x03a/b0123456"))
			}
			data := b.Pcap()
			if tc.ng {
				data = b.Pcapng()
			}
			r, err := OpenCapture(bytes.NewReader(data), nil)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			allocs := testing.AllocsPerRun(1000, func() {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
				n++
			})
			if allocs != 0 {
				t.Errorf("%v allocations per frame", allocs)
			}
		})
	}
}

var capBench struct {
	once       sync.Once
	pcap, ng   []byte
	gz, sll2ng []byte
	frames     int
}

// capBenchCaptures builds ~100,000 frames of MQTT traffic: 20 connections
// each publishing 5,000 small QoS 0 messages, one per segment.
func capBenchCaptures() {
	capBench.once.Do(func() {
		build := func(link layers.LinkType) *pcapbuild.Builder {
			b := pcapbuild.New(pcapbuild.Options{Link: pcapbuild.Link{Type: link}})
			var conns []*pcapbuild.Conn
			for i := range 20 {
				c := b.Conn(netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(40000+i)), capServer4)
				conns = append(conns, c)
			}
			msg := []byte("\x30\x26\x00\x0fsensors/temp/42{\"t\":21.5,\"h\":40,\"ok\":1}")
			for range 5000 {
				for _, c := range conns {
					c.Send(pcapbuild.ToServer, msg)
				}
			}
			return b
		}
		eth, sll2 := build(layers.LinkTypeEthernet), build(layers.LinkTypeLinuxSLL2)
		capBench.pcap, capBench.ng = eth.Pcap(), eth.Pcapng()
		capBench.gz, capBench.sll2ng = capGzip(capBench.pcap), sll2.Pcapng()
		capBench.frames = eth.Len()
	})
}

func BenchmarkCaptureReader(b *testing.B) {
	capBenchCaptures()
	report := func(b *testing.B, size int) {
		b.SetBytes(int64(size))
		b.ReportMetric(float64(capBench.frames)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{{"pcap", capBench.pcap}, {"pcapng", capBench.ng}, {"pcapng-sll2", capBench.sll2ng}, {"pcap-gzip", capBench.gz}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := OpenCapture(bytes.NewReader(tc.data), nil)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := r.Next()
					if err != nil {
						break
					}
					n++
				}
				if n != capBench.frames {
					b.Fatalf("%d frames", n)
				}
			}
			report(b, len(tc.data))
		})
	}
	// The whole layer under the MQTT decoder: reading and reassembly.
	b.Run("pcap+assembler", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := OpenCapture(bytes.NewReader(capBench.pcap), nil)
			if err != nil {
				b.Fatal(err)
			}
			a := NewAssembler(nil, func(ConnKey, *Frame) StreamHandler { return discardHandler{} })
			for {
				f, err := r.Next()
				if err != nil {
					break
				}
				a.Add(f)
			}
			a.Flush()
		}
		report(b, len(capBench.pcap))
	})
	// Baselines: gopacket's pcapgo reader (zero-copy) feeding this file's
	// header decoder, and feeding gopacket's DecodingLayerParser.
	b.Run("baseline-pcapgo+decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pr, err := pcapgo.NewReader(bytes.NewReader(capBench.pcap))
			if err != nil {
				b.Fatal(err)
			}
			cr := &CaptureReader{}
			cr.ports.set(nil)
			n := 0
			for {
				data, _, err := pr.ZeroCopyReadPacketData()
				if err != nil {
					break
				}
				if cr.decode(linkEthernet, data) {
					n++
				}
			}
			if n != capBench.frames {
				b.Fatalf("%d frames", n)
			}
		}
		report(b, len(capBench.pcap))
	})
	b.Run("baseline-pcapgo+DecodingLayerParser", func(b *testing.B) {
		b.ReportAllocs()
		var eth layers.Ethernet
		var vlan layers.Dot1Q
		var ip4 layers.IPv4
		var ip6 layers.IPv6
		var tcp layers.TCP
		parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &vlan, &ip4, &ip6, &tcp)
		parser.IgnoreUnsupported = true
		decoded := make([]gopacket.LayerType, 0, 8)
		for b.Loop() {
			pr, err := pcapgo.NewReader(bytes.NewReader(capBench.pcap))
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for {
				data, _, err := pr.ZeroCopyReadPacketData()
				if err != nil {
					break
				}
				_ = parser.DecodeLayers(data, &decoded)
				if len(decoded) > 0 && decoded[len(decoded)-1] == layers.LayerTypeTCP && (tcp.DstPort == 1883 || tcp.SrcPort == 1883) {
					n++
				}
			}
			if n != capBench.frames {
				b.Fatalf("%d frames", n)
			}
		}
		report(b, len(capBench.pcap))
	})
}
