package pcapbuild

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// sample writes one connection per interface of every supported link type.
func sample() *Builder {
	b := New(Options{Link: Link{Type: layers.LinkTypeEthernet, VLAN: []uint16{10, 20}, Pad: true}})
	links := []Link{{Type: layers.LinkTypeLinuxSLL}, {Type: layers.LinkTypeLinuxSLL2}, {Type: layers.LinkTypeNull},
		{Type: layers.LinkTypeLoop}, {Type: layers.LinkTypeRaw}, {Type: layers.LinkTypeIPv4}, {Type: layers.LinkTypeIPv6}}
	ifaces := []int{0}
	for _, l := range links {
		ifaces = append(ifaces, b.AddInterface(l))
	}
	for i, iface := range ifaces {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 40000)
		server := netip.MustParseAddrPort("10.0.0.100:1883")
		if i%2 == 1 && b.links[iface].Type != layers.LinkTypeIPv4 || b.links[iface].Type == layers.LinkTypeIPv6 {
			client = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)}), 40000)
			server = netip.MustParseAddrPort("[2001:db8::100]:1883")
		}
		c := b.ConnOn(iface, client, server)
		c.Handshake()
		c.SendSplit(ToServer, []byte("\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"), 4)
		c.Send(ToClient, []byte{0x20, 0x02, 0x00, 0x00})
		c.Close()
	}
	return b
}

// onesSum is the folded 16-bit ones' complement sum of the byte strings.
func onesSum(parts ...[]byte) uint32 {
	var sum uint32
	for _, b := range parts {
		for len(b) >= 2 {
			sum += uint32(binary.BigEndian.Uint16(b))
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum
}

// tcpChecksumOK verifies a TCP checksum over the pseudo-header.
func tcpChecksumOK(src, dst, seg []byte) bool {
	pseudo := binary.BigEndian.AppendUint32([]byte{0, 6}, uint32(len(seg)))
	return onesSum(src, dst, pseudo, seg) == 0xffff
}

func TestRoundTripAndChecksums(t *testing.T) {
	b := sample()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b.Pcapng()), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		var first gopacket.Decoder = ci.AncillaryData[0].(layers.LinkType)
		switch ci.AncillaryData[0].(layers.LinkType) {
		case layers.LinkTypeIPv4:
			first = layers.LayerTypeIPv4
		case layers.LinkTypeIPv6:
			first = layers.LayerTypeIPv6
		}
		p := gopacket.NewPacket(data, first, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Fatalf("packet %d: no TCP: %v", n, p)
		}
		seg := append(tcp.Contents, tcp.Payload...)
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			if !tcpChecksumOK(ip.SrcIP.To4(), ip.DstIP.To4(), seg) {
				t.Errorf("packet %d: bad TCP checksum", n)
			}
			if onesSum(ip.Contents) != 0xffff {
				t.Errorf("packet %d: bad IPv4 header checksum", n)
			}
		case *layers.IPv6:
			if !tcpChecksumOK(ip.SrcIP, ip.DstIP, seg) {
				t.Errorf("packet %d: bad TCP checksum", n)
			}
		}
	}
	if n != b.Len() || n != 8*9 {
		t.Errorf("read %d packets, builder has %d", n, b.Len())
	}
}

func TestBigEndianMatchesLittleEndian(t *testing.T) {
	for _, ng := range []bool{false, true} {
		le := New(Options{})
		be := New(Options{BigEndian: true})
		for _, b := range []*Builder{le, be} {
			c := b.Conn(netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:1883"))
			c.Send(ToServer, []byte("abc"))
			b.InterfaceStats(0)
		}
		read := func(data []byte) (out []string) {
			var src gopacket.PacketDataSource
			if ng {
				r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
				if err != nil {
					t.Fatal(err)
				}
				src = r
			} else {
				r, err := pcapgo.NewReader(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				src = r
			}
			for {
				d, ci, err := src.ReadPacketData()
				if err != nil {
					return out
				}
				out = append(out, ci.Timestamp.String()+string(d))
			}
		}
		w := func(b *Builder) []byte {
			if ng {
				return b.Pcapng()
			}
			return b.Pcap()
		}
		l, g := read(w(le)), read(w(be))
		if len(l) != 1 || strings.Join(l, "") != strings.Join(g, "") {
			t.Errorf("ng=%v: big-endian file reads differently", ng)
		}
	}
}

// TestTshark checks, when tshark is installed, that it reads the files
// without complaint and decodes port 1883 as MQTT.
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	dir := t.TempDir()
	b := sample()
	for name, data := range map[string][]byte{"s.pcapng": b.Pcapng(), "be.pcapng": func() []byte {
		bb := sample()
		bb.opts.BigEndian = true
		return bb.Pcapng()
	}()} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tshark, "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
			"-Y", "mqtt or _ws.malformed or _ws.expert.severity >= warning", "-T", "fields", "-e", "mqtt.msgtype", "-e", "_ws.expert.message").CombinedOutput()
		if err != nil {
			t.Fatalf("%s: tshark: %v\n%s", name, err, out)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if !strings.HasPrefix(l, "Running as user") {
				lines = append(lines, strings.TrimSpace(l))
			}
		}
		// Per connection: CONNECT (1) and CONNACK (2), nothing else.
		if got := strings.Join(lines, ","); got != strings.Repeat("1,2,", 7)+"1,2" {
			t.Errorf("%s: tshark saw %q", name, got)
		}
	}
}
