package wslua

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// headerLen is Ethernet (14) + IPv4 (20) + TCP (20): where the TCP payload
// starts in the frames writePcap produces.
const headerLen = 54

// writePcap writes the segments as one TCP connection between clientAP and
// serverAP, with consistent sequence numbers and correct checksums.
func writePcap(t *testing.T, path string, segs []seg) {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	seq := [2]uint32{1000, 5000}
	for i, sg := range segs {
		src, dst := clientAP, serverAP
		if sg.dir == ToClient {
			src, dst = dst, src
		}
		eth := &layers.Ethernet{SrcMAC: []byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}, DstMAC: []byte{0, 0x66, 0x77, 0x88, 0x99, 0xaa}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: uint16(i + 1), Protocol: layers.IPProtocolTCP,
			SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
			Seq: seq[sg.dir&1], Ack: seq[(sg.dir+1)&1], PSH: true, ACK: true, Window: 65535}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{ComputeChecksums: true, FixLengths: true},
			eth, ip, tcp, gopacket.Payload(sg.data)); err != nil {
			t.Fatal(err)
		}
		seq[sg.dir&1] += uint32(len(sg.data))
		data := sb.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1700000000+int64(i+1), 0), CaptureLength: len(data), Length: len(data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

type pdmlNode struct {
	Name     string     `xml:"name,attr"`
	ShowName string     `xml:"showname,attr"`
	Show     string     `xml:"show,attr"`
	Pos      int        `xml:"pos,attr"`
	Size     int        `xml:"size,attr"`
	Hide     string     `xml:"hide,attr"`
	Fields   []pdmlNode `xml:"field"`
	Protos   []pdmlNode `xml:"proto"`
}

type pdmlDoc struct {
	Packets []struct {
		Protos []pdmlNode `xml:"proto"`
	} `xml:"packet"`
}

// flat is one field as compared between tshark and the emulator.
type flat struct {
	Name, ShowName, Show string
	Pos, Size            int
}

func (f flat) String() string {
	return fmt.Sprintf("%s %q show=%q @%d+%d", f.Name, f.ShowName, f.Show, f.Pos, f.Size)
}

func flattenPDML(n pdmlNode, prefix string, out *[]flat) {
	if n.Name == prefix || strings.HasPrefix(n.Name, prefix+".") || n.Name == AbbrevText {
		show := n.Show
		if n.Name == prefix {
			show = ""
		}
		*out = append(*out, flat{n.Name, n.ShowName, show, n.Pos, n.Size})
	}
	for _, c := range n.Fields {
		flattenPDML(c, prefix, out)
	}
	for _, c := range n.Protos {
		flattenPDML(c, prefix, out)
	}
}

func flattenItem(it *Item, prefix string, base int, out *[]flat) {
	if it.Abbrev == prefix || strings.HasPrefix(it.Abbrev, prefix+".") || it.Abbrev == AbbrevText {
		*out = append(*out, flat{it.Abbrev, it.Text, it.Show(), base + it.Offset, it.Len})
	}
	for _, c := range it.Children {
		flattenItem(c, prefix, base, out)
	}
}

func TestFidelityTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed: skipping the comparison with real Wireshark")
	}
	dir := t.TempDir()
	pcap := filepath.Join(dir, "toy.pcap")
	writePcap(t, pcap, toySegments)
	labelSegs := []seg{{ToServer, hexb("0112fe41 420000ff 74c3a96c 00ff7a7a")}}
	writePcap(t, filepath.Join(dir, "labels.pcap"), labelSegs)
	for _, tc := range []struct {
		script, pcap, prefix string
		segs                 []seg
		min                  int
	}{
		{"testdata/toytlv.lua", pcap, "toytlv", toySegments, 50},
		{"testdata/toytlv_pdus.lua", pcap, "toytlv", toySegments, 50},
		{"testdata/labels.lua", filepath.Join(dir, "labels.pcap"), "lbl", labelSegs, 30},
	} {
		script, pcap, prefix := tc.script, tc.pcap, tc.prefix
		t.Run(filepath.Base(script), func(t *testing.T) {
			abs, _ := filepath.Abs(script)
			run := func(args ...string) []byte {
				cmd := exec.Command(tshark, append([]string{"-n", "-X", "lua_script:" + abs, "-r", pcap}, args...)...)
				cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("tshark: %v\n%s", err, stderr.String())
				}
				if strings.Contains(stderr.String(), "Lua: Error") {
					t.Fatalf("tshark Lua error:\n%s", stderr.String())
				}
				return out
			}
			var doc pdmlDoc
			if err := xml.Unmarshal(run("-T", "pdml"), &doc); err != nil {
				t.Fatal(err)
			}
			cols := strings.Split(strings.TrimRight(string(run("-T", "fields", "-e", "_ws.col.Protocol", "-e", "_ws.col.Info")), "\n"), "\n")

			s := loadFile(t, Profile40, script)
			frs := feed(t, s, tc.segs)
			if len(doc.Packets) != len(frs) {
				t.Fatalf("tshark saw %d packets, emulator %d", len(doc.Packets), len(frs))
			}
			compared := 0
			for i, fr := range frs {
				var want, got []flat
				for _, p := range doc.Packets[i].Protos {
					flattenPDML(p, prefix, &want)
				}
				for _, c := range fr.Calls {
					base := headerLen
					if c.Reassembled {
						base = 0
					}
					for _, it := range c.Items {
						flattenItem(it, prefix, base, &got)
					}
				}
				compared += len(want)
				if fmt.Sprint(want) != fmt.Sprint(got) {
					t.Errorf("frame %d differs\ntshark:\n%s\nemulator:\n%s", i+1, lines(want), lines(got))
				}
				// tshark's Info column starts with TCP's own text where the
				// script did not overwrite it; the emulator has no TCP text.
				wantCols := strings.SplitN(cols[i], "\t", 2)
				gotInfo := fr.Info
				if strings.Contains(wantCols[1], "Seq=") {
					gotInfo = strings.TrimPrefix(gotInfo, "[TCP segment")
					wantCols[1] = wantCols[1][strings.Index(wantCols[1], "Len=")+4:]
					wantCols[1] = strings.TrimLeft(wantCols[1], "0123456789 ")
					wantCols[1] = strings.TrimPrefix(wantCols[1], "[TCP segment")
				}
				if wantCols[0] != fr.Protocol || wantCols[1] != gotInfo {
					t.Errorf("frame %d columns: tshark %q %q, emulator %q %q", i+1, wantCols[0], wantCols[1], fr.Protocol, fr.Info)
				}
			}
			if compared < tc.min {
				t.Errorf("only %d fields compared", compared)
			}
			t.Logf("%d fields agree with tshark", compared)
		})
	}
}

func lines(fs []flat) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}
