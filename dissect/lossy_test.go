package dissect

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
	"github.com/mqttdissect/mqttdissect/internal/testtool"
)

// publishLen builds a QoS 0 PUBLISH on topic whose Remaining Length is rl.
func publishLen(topic string, rl int) []byte {
	var hdr []byte
	hdr = append(hdr, 0x30)
	for v := rl; ; {
		b := byte(v & 0x7f)
		v >>= 7
		if v > 0 {
			hdr = append(hdr, b|0x80)
			continue
		}
		hdr = append(hdr, b)
		break
	}
	body := append([]byte{byte(len(topic) >> 8), byte(len(topic))}, topic...)
	body = append(body, bytes.Repeat([]byte("p"), rl-len(body))...)
	return append(hdr, body...)
}

// TestTwoGapsInOnePacket (issue 11, case 1): a PUBLISH of which the capture
// saw bytes 0-99 and 600-699, then complete packets. Before the fix the
// skip left by the first gap ate the packets after the second one, with no
// note.
func TestTwoGapsInOnePacket(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(testClient, testServer)
	c.Handshake()
	c.Send(pcapbuild.ToServer, unhex(t, connect311)) // 4
	big := publishLen("a/0", 1000)                   // 1003 bytes
	c.Send(pcapbuild.ToServer, big[:100])            // 5
	c.Drop(pcapbuild.ToServer, 500)
	c.Send(pcapbuild.ToServer, big[600:700]) // 6
	c.Drop(pcapbuild.ToServer, len(big)-700)
	c.Send(pcapbuild.ToServer, publishLen("b/1", 10)) // 7
	c.Send(pcapbuild.ToServer, publishLen("c/2", 10)) // 8
	c.Send(pcapbuild.ToServer, publishLen("d/3", 10)) // 9
	c.Send(pcapbuild.ToServer, unhex(t, pingreq))     // 10
	c.Send(pcapbuild.ToClient, unhex(t, "d0 00"))     // 11: its ACK covers everything
	got, err := runCapture(t, b.Pcap(), RunConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"4:Connect Command",
		"5:Publish Message [a/0]:mqtt.truncated,mqtt.gap",
		"7:Publish Message [b/1]:mqtt.gap,mqtt.skipped",
		"8:Publish Message [c/2]",
		"9:Publish Message [d/3]",
		"10:Ping Request",
		"11:Ping Response",
	}
	if g := strings.Join(got, "\n"); g != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", g, strings.Join(want, "\n"))
	}
}

// TestSkippedBytesNamed: captured bytes after a gap that start no packet
// are named, with their frames, on the next packet.
func TestSkippedBytesNamed(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(testClient, testServer)
	c.Handshake()
	c.Send(pcapbuild.ToServer, unhex(t, connect311)) // 4
	c.Drop(pcapbuild.ToServer, 7)
	c.Send(pcapbuild.ToServer, []byte("\xff\xffjunk")) // 5: no packet starts here
	c.Send(pcapbuild.ToServer, []byte("\xffmore"))     // 6
	c.Send(pcapbuild.ToServer, unhex(t, pingreq))      // 7
	c.Send(pcapbuild.ToClient, unhex(t, "d0 00"))      // 8
	var notes []string
	cfg := RunConfig{}
	cfg.OnPDU = func(p *PDU) {
		for _, n := range p.Packet.Notes {
			notes = append(notes, fmt.Sprintf("%d:%s", p.Frame, n.Message))
		}
	}
	rs, err := Run(context.Background(), bytes.NewReader(b.Pcap()), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(notes, "\n")
	if !strings.Contains(joined, "7:11 captured bytes before this packet were not read as MQTT (frames 5-6)") {
		t.Errorf("notes:\n%s", joined)
	}
	if rs.SkippedBytes != 11 || rs.Gaps != 1 || rs.LostBytes != 7 {
		t.Errorf("run stats %+v", rs)
	}
}

// TestHeldBytesKeepTheirFrame (issue 11, case 2): bytes that follow lost
// bytes are held until the peer's ACK proves the loss; the packet they
// complete is reported at the frame and time that carried them, not at
// the ACK's, as Wireshark reports it.
func TestHeldBytesKeepTheirFrame(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{Step: time.Millisecond})
	c := b.Conn(testClient, testServer)
	c.Handshake()
	c.Send(pcapbuild.ToServer, unhex(t, connect311)) // 4
	c.Send(pcapbuild.ToClient, unhex(t, "20 02 00 00"))
	c.Drop(pcapbuild.ToServer, 2980)
	c.Send(pcapbuild.ToServer, unhex(t, pingreq)) // 6
	b.Sleep(20 * time.Second)
	c.Send(pcapbuild.ToClient, unhex(t, "d0 00")) // 7: acknowledges the lost bytes
	type seen struct {
		frame int
		t     time.Time
		info  string
	}
	var got []seen
	cfg := RunConfig{}
	cfg.OnPDU = func(p *PDU) { got = append(got, seen{p.Frame, p.Time, p.Packet.Info()}) }
	if _, err := Run(context.Background(), bytes.NewReader(b.Pcap()), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %+v", got)
	}
	ping, pong := got[2], got[3]
	if ping.info != "Ping Request" || ping.frame != 6 || pong.frame != 7 {
		t.Errorf("got %+v", got)
	}
	if d := pong.t.Sub(ping.t); d < 20*time.Second {
		t.Errorf("PINGREQ stamped %v before PINGRESP, want the time of frame 6 (20 s earlier)", d)
	}
}

// TestHeldBytesOneSided: with only the client's side captured no ACK
// proves the loss; the bytes after the hole are held until the end of the
// capture, and still reported at their own frame and time.
func TestHeldBytesOneSided(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{Step: time.Millisecond})
	c := b.Conn(testClient, testServer)
	c.Send(pcapbuild.ToServer, unhex(t, connect311)) // 1
	c.Drop(pcapbuild.ToServer, 100)
	c.Send(pcapbuild.ToServer, unhex(t, pingreq)) // 2
	b.Sleep(21600 * time.Millisecond)
	c.Send(pcapbuild.ToServer, unhex(t, pingreq)) // 3
	var frames []int
	var times []time.Time
	cfg := RunConfig{}
	cfg.OnPDU = func(p *PDU) { frames, times = append(frames, p.Frame), append(times, p.Time) }
	if _, err := Run(context.Background(), bytes.NewReader(b.Pcap()), &cfg); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(frames) != "[1 2 3]" || times[2].Sub(times[1]) < 21*time.Second {
		t.Errorf("frames %v, times %v", frames, times)
	}
}

// TestSkippedAtEndNamed: skipped bytes that no packet follows are named in
// RunStats, with their frames.
func TestSkippedAtEndNamed(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(testClient, testServer)
	c.Handshake()
	c.Send(pcapbuild.ToServer, unhex(t, connect311)) // 4
	c.Drop(pcapbuild.ToServer, 7)
	c.Send(pcapbuild.ToServer, []byte("\xff\xffjunk")) // 5
	c.Send(pcapbuild.ToClient, unhex(t, "d0 00"))      // 6: its ACK proves the loss
	rs, err := Run(context.Background(), bytes.NewReader(b.Pcap()), &RunConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := SkippedRange{Conn: ConnKey{Client: testClient, Server: testServer}, Dir: ToServer, Bytes: 6, First: 5, Last: 5}
	if len(rs.SkippedAtEnd) != 1 || rs.SkippedAtEnd[0] != want {
		t.Errorf("skipped at end %+v, want %+v", rs.SkippedAtEnd, want)
	}
}

// lossyCaptures are the captures of issue 11's cases 1 and 2, for the
// comparison with tshark.
func lossyCaptures(t testing.TB) map[string][]byte {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(testClient, testServer)
	c.Handshake()
	c.Send(pcapbuild.ToServer, unhex(t, connect311))
	big := publishLen("a/0", 1000)
	c.Send(pcapbuild.ToServer, big[:100])
	c.Drop(pcapbuild.ToServer, 500)
	c.Send(pcapbuild.ToServer, big[600:700])
	c.Drop(pcapbuild.ToServer, len(big)-700)
	for _, topic := range []string{"b/1", "c/2", "d/3"} {
		c.Send(pcapbuild.ToServer, publishLen(topic, 10))
	}
	c.Send(pcapbuild.ToServer, unhex(t, pingreq))
	c.Send(pcapbuild.ToClient, unhex(t, "d0 00"))
	twoGaps := b.Pcap()

	b = pcapbuild.New(pcapbuild.Options{})
	c = b.Conn(testClient, testServer)
	c.Handshake()
	c.Send(pcapbuild.ToServer, unhex(t, connect311))
	c.Send(pcapbuild.ToClient, unhex(t, "20 02 00 00"))
	c.Drop(pcapbuild.ToServer, 2980)
	c.Send(pcapbuild.ToServer, unhex(t, pingreq))
	b.Sleep(20 * time.Second)
	c.Send(pcapbuild.ToClient, unhex(t, "d0 00"))
	return map[string][]byte{"two-gaps": twoGaps, "held": b.Pcap()}
}

// TestLossyFramesAgreeWithTshark: after gaps, every packet Wireshark shows
// is ours at the same frame and time; ours has in addition only the
// packets a gap cut (mqtt.truncated), which Wireshark does not show.
func TestLossyFramesAgreeWithTshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	for name, capture := range lossyCaptures(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name+".pcap")
			if err := os.WriteFile(path, capture, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(tshark, "-n", "-r", path, "-Y", "mqtt", "-T", "fields",
				"-e", "frame.number", "-e", "frame.time_epoch", "-e", "mqtt.msgtype").Output()
			if err != nil {
				t.Fatal(err)
			}
			var ws []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Split(line, "\t")
				if len(f) == 3 {
					ws = append(ws, f[0]+" "+strings.TrimRight(strings.TrimRight(f[1], "0"), ".")+" "+f[2])
				}
			}
			var ours []string
			cfg := RunConfig{}
			cfg.OnPDU = func(p *PDU) {
				if p.Packet.Truncated() {
					return
				}
				ts := fmt.Sprintf("%d.%09d", p.Time.Unix(), p.Time.Nanosecond())
				ts = strings.TrimRight(strings.TrimRight(ts, "0"), ".")
				ours = append(ours, fmt.Sprintf("%d %s %d", p.Frame, ts, p.Packet.Type))
			}
			if _, err := Run(context.Background(), bytes.NewReader(capture), &cfg); err != nil {
				t.Fatal(err)
			}
			if strings.Join(ours, "\n") != strings.Join(ws, "\n") {
				t.Errorf("ours:\n%s\ntshark:\n%s", strings.Join(ours, "\n"), strings.Join(ws, "\n"))
			}
		})
	}
}
