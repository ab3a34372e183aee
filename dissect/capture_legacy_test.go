package dissect

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
	"github.com/mqttdissect/mqttdissect/internal/testtool"
)

// pcapRecords splits a little- or big-endian microsecond pcap into its
// records: seconds, microseconds, original length and data.
type pcapRec struct {
	sec, usec, orig uint32
	data            []byte
}

func pcapRecords(t testing.TB, pcap []byte) (uint32, []pcapRec) {
	t.Helper()
	if len(pcap) < 24 || binary.LittleEndian.Uint32(pcap) != 0xA1B2C3D4 {
		t.Fatal("want a little-endian microsecond pcap")
	}
	le := binary.LittleEndian
	link := le.Uint32(pcap[20:])
	var out []pcapRec
	for p := pcap[24:]; len(p) > 0; {
		incl := int(le.Uint32(p[8:]))
		out = append(out, pcapRec{le.Uint32(p), le.Uint32(p[4:]), le.Uint32(p[12:]), p[16 : 16+incl]})
		p = p[16+incl:]
	}
	return link, out
}

// toSnoop rewrites a pcap as a snoop file (RFC 1761), records padded to 4
// bytes, or with pad extra bytes of padding per record (a Shomiti file
// carries a 16-byte trailer there).
func toSnoop(t testing.TB, pcap []byte, network uint32, pad int) []byte {
	t.Helper()
	_, recs := pcapRecords(t, pcap)
	be := binary.BigEndian
	out := []byte("snoop\x00\x00\x00")
	out = be.AppendUint32(out, 2)
	out = be.AppendUint32(out, network)
	for _, r := range recs {
		n := snoopRecordLen + len(r.data)
		padding := (4-n%4)%4 + pad
		out = be.AppendUint32(out, r.orig)
		out = be.AppendUint32(out, uint32(len(r.data)))
		out = be.AppendUint32(out, uint32(n+padding))
		out = be.AppendUint32(out, 0)
		out = be.AppendUint32(out, r.sec)
		out = be.AppendUint32(out, r.usec)
		out = append(out, r.data...)
		out = append(out, make([]byte, padding)...)
	}
	return out
}

// netxrayOpts vary the NetXRay file written by toNetXRay.
type netxrayOpts struct {
	version string // "002.001", "001.100", "001.000"
	trailer bool   // 2.x: mark every record with a 4-byte trailer
	gap     int    // bytes between the header and the first record
	tail    int    // bytes after the end offset
	// wrap > 0 writes a circular capture: the records from the wrap-th on
	// right after the header, then junk, then the first ones to the end
	// of the file.
	wrap int
}

// toNetXRay rewrites a pcap as a NetXRay / Windows Sniffer file, as
// Wireshark writes them: start time = the first record's second, time
// stamps in ticks since it.
func toNetXRay(t testing.TB, pcap []byte, o netxrayOpts) []byte {
	t.Helper()
	_, recs := pcapRecords(t, pcap)
	le := binary.LittleEndian
	hdr := make([]byte, netxrayHeaderLen)
	copy(hdr, "XCP\x00")
	copy(hdr[4:], o.version+"\x00")
	var start uint32
	if len(recs) > 0 {
		start = recs[0].sec
	}
	le.PutUint32(hdr[0x0C:], start)
	le.PutUint32(hdr[0x10:], uint32(len(recs)))
	le.PutUint32(hdr[0x18:], uint32(netxrayHeaderLen+o.gap))
	ticks := 1e6
	if o.version == "001.000" {
		ticks = 1000
	}
	body := make([]byte, o.gap)
	var records [][]byte
	for _, r := range recs {
		stamp := uint64((float64(r.sec-start) + float64(r.usec)/1e6) * ticks)
		h := le.AppendUint32(nil, uint32(stamp))
		h = le.AppendUint32(h, uint32(stamp>>32))
		data := r.data
		extra := 16
		if strings.HasPrefix(o.version, "002") {
			extra = 28
		}
		x := make([]byte, extra)
		if o.trailer {
			x[2], x[3] = 0xFF, 0xFF
			data = append(append([]byte(nil), data...), 0xde, 0xad, 0xbe, 0xef)
		}
		h = le.AppendUint16(h, uint16(int(r.orig)+len(data)-len(r.data)))
		h = le.AppendUint16(h, uint16(len(data)))
		records = append(records, append(append(h, x...), data...))
	}
	if o.wrap > 0 {
		var late, early []byte
		for i, rec := range records {
			if i < o.wrap {
				early = append(early, rec...)
			} else {
				late = append(late, rec...)
			}
		}
		junk := bytes.Repeat([]byte{0xA5}, 29)
		le.PutUint32(hdr[0x1C:], uint32(netxrayHeaderLen+len(late)))
		le.PutUint32(hdr[0x18:], uint32(netxrayHeaderLen+len(late)+len(junk)))
		return append(append(append(hdr, late...), junk...), early...)
	}
	for _, rec := range records {
		body = append(body, rec...)
	}
	le.PutUint32(hdr[0x1C:], uint32(netxrayHeaderLen+len(body)))
	return append(append(hdr, body...), make([]byte, o.tail)...)
}

// capStandardPcap is capStandardConn over IPv4 and Ethernet.
func capStandardPcap(start time.Time) []byte {
	b := pcapbuild.New(pcapbuild.Options{Start: start})
	capStandardConn(b.Conn(capClient4, capServer4))
	return b.Pcap()
}

// TestLegacyCaptures reads the same exchange as snoop and NetXRay files of
// every flavour and requires the frames of its pcap twin.
func TestLegacyCaptures(t *testing.T) {
	start := time.Date(2016, 4, 20, 16, 43, 10, 0, time.UTC)
	pcap := capStandardPcap(start)
	for _, tc := range []struct {
		name string
		data []byte
		ms   bool // time stamps in milliseconds
	}{
		{"snoop", toSnoop(t, pcap, 4, 0), false},
		{"snoop 802.3", toSnoop(t, pcap, 0, 0), false},
		{"shomiti", toSnoop(t, pcap, 10, shomitiTrailerLen), false},
		{"netxray 2.001", toNetXRay(t, pcap, netxrayOpts{version: "002.001"}), false},
		{"netxray 2.001 trailers", toNetXRay(t, pcap, netxrayOpts{version: "002.001", trailer: true}), false},
		{"netxray 2.001 gap and tail", toNetXRay(t, pcap, netxrayOpts{version: "002.001", gap: 100, tail: 37}), false},
		{"netxray 1.1", toNetXRay(t, pcap, netxrayOpts{version: "001.100"}), false},
		{"netxray circular", toNetXRay(t, pcap, netxrayOpts{version: "002.001", wrap: 4}), false},
		{"netxray circular, all before the wrap", toNetXRay(t, pcap, netxrayOpts{version: "002.001", wrap: len(capWant)}), false},
		{"netxray 1.0", toNetXRay(t, pcap, netxrayOpts{version: "001.000"}), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, r, err := capReadAll(t, tc.data, nil)
			if err != io.EOF {
				t.Fatalf("error %v after %d frames", err, len(got))
			}
			if tc.ms {
				// 1 ms apart: the millisecond stamps of NetXRay 1.0 keep them.
				for i := range got {
					got[i].Time = got[i].Time.Truncate(time.Millisecond)
				}
			}
			capCheckStandard(t, got, capClient4, capServer4, start, 1)
			if s := r.Stats(); s.Frames != len(capWant) || s.Unsupported != 0 || s.Skipped != 0 {
				t.Errorf("stats %+v", s)
			}
			// Wireshark, the reference, reads the same frames in the same
			// order at the same times.
			tshark, err := exec.LookPath("tshark")
			if err != nil {
				return
			}
			path := filepath.Join(t.TempDir(), "c.cap")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-e", "tcp.seq_raw", "-e", "frame.time_epoch").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			var ours []string
			for _, f := range got {
				ours = append(ours, fmt.Sprintf("%d\t%d.%09d", f.Seq, f.Time.Unix(), f.Time.Nanosecond()))
			}
			if want := strings.TrimSpace(string(out)); strings.Join(ours, "\n") != want {
				t.Errorf("frames and times differ from tshark's:\n%s\ntshark:\n%s", strings.Join(ours, "\n"), want)
			}
		})
	}
}

// TestLegacyCaptureDamage cuts the files at every byte and corrupts their
// headers: every frame before the damage comes back, then a *CaptureError
// with the offset of the record that could not be read.
func TestLegacyCaptureDamage(t *testing.T) {
	pcap := capStandardPcap(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"snoop", toSnoop(t, pcap, 4, 0)},
		{"netxray", toNetXRay(t, pcap, netxrayOpts{version: "002.001", trailer: true})},
		{"netxray circular", toNetXRay(t, pcap, netxrayOpts{version: "002.001", wrap: 5})},
	} {
		t.Run(tc.name+" cut", func(t *testing.T) {
			full, _, err := capReadAll(t, tc.data, nil)
			if err != io.EOF {
				t.Fatal(err)
			}
			// snoop has no record count: a cut between records is a shorter
			// capture. NetXRay's header gives the end, so every cut shows.
			boundary := map[int]bool{}
			if strings.HasPrefix(tc.name, "snoop") {
				for off := snoopHeaderLen; off <= len(tc.data); off += int(binary.BigEndian.Uint32(tc.data[off+8:])) {
					boundary[off] = true
					if off == len(tc.data) {
						break
					}
				}
			}
			for cut := 1; cut < len(tc.data); cut++ {
				got, _, err := capReadAll(t, tc.data[:cut], nil)
				if err == io.EOF && boundary[cut] {
					continue
				}
				// A circular NetXRay file cut between the records after its
				// start offset wraps early, as Wireshark's reader does:
				// nothing tells the cut apart from the end of the buffer.
				if err == io.EOF && tc.name == "netxray circular" && cut >= int(binary.LittleEndian.Uint32(tc.data[0x18:])) {
					continue
				}
				var ce *CaptureError
				if !errors.Is(err, ErrTruncatedCapture) || !errors.As(err, &ce) {
					t.Fatalf("cut at %d: %v", cut, err)
				}
				if ce.Offset > int64(cut) || len(got) > len(full) {
					t.Fatalf("cut at %d: offset %d, %d frames", cut, ce.Offset, len(got))
				}
				for i := range got {
					if got[i].payload != full[i].payload || got[i].Number != full[i].Number {
						t.Fatalf("cut at %d: frame %d differs", cut, i)
					}
				}
			}
		})
	}

	snoop := toSnoop(t, pcap, 4, 0)
	nx := toNetXRay(t, pcap, netxrayOpts{version: "002.001"})
	patch := func(b []byte, off int, v []byte) []byte {
		out := append([]byte(nil), b...)
		copy(out[off:], v)
		return out
	}
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	le32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	le16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	firstSnoop := int64(snoopHeaderLen)
	for _, tc := range []struct {
		name   string
		data   []byte
		offset int64
		msg    string
	}{
		{"snoop version", patch(snoop, 8, be32(7)), 0, "unsupported snoop version 7"},
		{"snoop included > record", patch(snoop, 16+8, be32(24)), firstSnoop, "shorter than its header"},
		{"snoop huge record", patch(snoop, 16+4, be32(1<<30)), firstSnoop, "exceeds the maximum"},
		{"snoop huge padding", patch(snoop, 16+8, be32(1<<30)), firstSnoop, "bytes of padding"},
		{"netxray version", patch(nx, 4, []byte("009.000")), 0, "unsupported NetXRay version"},
		{"netxray network", patch(nx, 0x2D, []byte{7}), 0, "modifier 7"},
		{"netxray end in header", patch(nx, 0x1C, le32(netxrayHeaderLen-1)), 0, "end at 127, inside the 128-byte header"},
		{"netxray start in header", patch(nx, 0x18, le32(4)), 0, "inside the 128-byte header"},
		{"netxray time unit", patch(nx, 0x30, []byte{9}), 0, "unknown NetXRay time unit 9"},
		{"netxray record past end", patch(nx, netxrayHeaderLen+10, le16(60000)), netxrayHeaderLen, "runs past the end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := capReadAll(t, tc.data, nil)
			var ce *CaptureError
			if !errors.Is(err, ErrCorruptCapture) || !errors.As(err, &ce) || ce.Offset != tc.offset || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, want corrupt at %d with %q", err, tc.offset, tc.msg)
			}
		})
	}
	// A NetXRay file shorter than its header's end offset is truncated.
	short := patch(nx, 0x1C, le32(uint32(len(nx)+50)))
	if _, _, err := capReadAll(t, short, nil); !errors.Is(err, ErrTruncatedCapture) {
		t.Errorf("file ending before the end offset: %v", err)
	}
	// Other networks are read as frames of a link type not decoded.
	got, r, err := capReadAll(t, toSnoop(t, pcap, 2, 0), nil)
	if err != io.EOF || len(got) != 0 || r.Stats().Unsupported != len(capWant) {
		t.Errorf("Token Ring snoop: %v, %d frames, %+v", err, len(got), r.Stats())
	}
}

// sharedCapture returns a capture of ../shared/captures (the seed
// tutorial's own files, kept beside the repository), skipping the test
// when it is absent.
func sharedCapture(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join("..", "..", "shared", "captures", name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not available: %v", path, err)
	}
	return path
}

// TestTutorialSnifferCapture reads the seed tutorial's Windows Sniffer
// 2.00x file: the same MQTT packets as its tcpdump twin (tshark -Y mqtt
// shows 19 frames, 20 packets, in both), at the times Wireshark shows.
func TestTutorialSnifferCapture(t *testing.T) {
	cap, times := capSummaries(t, sharedCapture(t, "tutorial-windows-sniffer.cap"))
	pcap, _ := capSummaries(t, sharedCapture(t, "tutorial-tcpdump.pcap"))
	if len(cap) != 20 || len(pcap) != 20 {
		t.Fatalf("%d packets in the .cap, %d in the pcap; want 20", len(cap), len(pcap))
	}
	for i := range cap {
		if cap[i] != pcap[i] {
			t.Errorf("packet %d:\n%s\npcap:\n%s", i, cap[i], pcap[i])
		}
	}
	// Wireshark's reading of the .cap: the first MQTT frame at
	// 2016-04-20 16:43:10.509491 UTC.
	if want := time.Date(2016, 4, 20, 16, 43, 10, 509491000, time.UTC); !times[0].Equal(want) {
		t.Errorf("first packet at %v, want %v", times[0], want)
	}
	// And the frames tshark, the reference, finds MQTT in.
	if tshark, err := exec.LookPath("tshark"); err == nil {
		out, err := exec.Command(tshark, "-r", sharedCapture(t, "tutorial-windows-sniffer.cap"), "-Y", "mqtt", "-T", "fields", "-e", "frame.number").Output()
		if err != nil {
			t.Fatal(err)
		}
		var ours []string
		for _, c := range cap {
			frame, _, _ := strings.Cut(strings.TrimPrefix(c, "Frame "), ":")
			if len(ours) == 0 || ours[len(ours)-1] != frame {
				ours = append(ours, frame)
			}
		}
		if got, want := strings.Join(ours, " "), strings.Join(strings.Fields(string(out)), " "); got != want {
			t.Errorf("MQTT in frames %s; tshark: %s", got, want)
		}
	}
}

// TestLegacyCapturesLikeWireshark converts every testdata capture with
// Wireshark's editcap to snoop and both NetXRay flavours it writes, and
// requires the same MQTT packets as the original.
func TestLegacyCapturesLikeWireshark(t *testing.T) {
	editcap := testtool.Need(t, "editcap")
	originals, _ := filepath.Glob("../testdata/*.pcap*")
	for _, orig := range originals {
		if strings.HasSuffix(orig, ".pdml") || strings.HasSuffix(orig, ".info") || strings.HasSuffix(orig, ".gz") {
			continue
		}
		want, _ := capSummaries(t, orig)
		for _, format := range []string{"snoop", "ngwsniffer_1_1", "ngwsniffer_2_0"} {
			t.Run(filepath.Base(orig)+"/"+format, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "c."+format)
				if msg, err := exec.Command(editcap, "-F", format, orig, out).CombinedOutput(); err != nil {
					t.Skipf("editcap cannot write %s: %v %s", format, err, msg)
				}
				got, _ := capSummaries(t, out)
				if len(got) != len(want) {
					t.Fatalf("%d packets, the original has %d", len(got), len(want))
				}
				for i := range got {
					if got[i] != want[i] {
						t.Errorf("packet %d: %q, original %q", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// capSummaries decodes a capture file to the tree of each MQTT packet
// (frame, addresses, fields, notes) without its time, which the formats
// keep to different precisions, and returns the times apart.
func capSummaries(t *testing.T, path string) ([]string, []time.Time) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var times []time.Time
	cfg := &RunConfig{}
	cfg.OnPDU = func(p *PDU) {
		q := *p
		q.Time = time.Time{}
		out = append(out, string(AppendTree(nil, &q)))
		times = append(times, p.Time)
	}
	if _, err := Run(context.Background(), bytes.NewReader(data), cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out, times
}
