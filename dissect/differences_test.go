package dissect

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
	"github.com/mqttdissect/mqttdissect/internal/testtool"
)

// TestDeliberateDifferencesFromWireshark names each case where we read a
// capture differently from Wireshark 4.0 on purpose, says why, and checks
// with the real tshark that the difference still exists.
func TestDeliberateDifferencesFromWireshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	cases := []struct {
		name, why string
		build     func(t testing.TB, c *pcapbuild.Conn)
		ours      string // our packets, "frame:info[:rules]"
		wireshark string // substring of tshark's reading of the last frames
	}{
		{
			name: "remaining length split across segments",
			why: "MQTT runs over a byte stream (MQTT 5.0 §4.2); TCP may cut anywhere. Wireshark 4.0 " +
				"reads the length from the first segment only (packet-mqtt.c: 'XXX: ToDo') and loses the stream.",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				c.SendSplit(pcapbuild.ToServer, publish200(t), 2)
				c.Send(pcapbuild.ToServer, unhex(t, pingreq))
			},
			ours:      "4:Connect Command\n6:Publish Message [a/b]\n7:Ping Request",
			wireshark: "Malformed",
		},
		{
			name: "violations Wireshark passes silently",
			why: "reserved flags (§2.1.3), QoS 3 (§3.3.1.2), a 5-byte Remaining Length (§1.5.5), invalid UTF-8 " +
				"(§1.5.4) and packet identifier 0 (§2.2.1) are errors by the standard; Wireshark shows them without a note.",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, "12 0c 0004 4d515454 04 02 003c 0000"))
				c.Send(pcapbuild.ToServer, unhex(t, "36 06 0001 61 0005 78"))
				c.Send(pcapbuild.ToServer, unhex(t, "c0 80 80 80 80 00"))
				c.Send(pcapbuild.ToServer, unhex(t, "30 04 0002 fffe"))
				c.Send(pcapbuild.ToServer, unhex(t, "32 05 0001 61 0000"))
			},
			ours: "4:Connect Command:mqtt.reserved_flags\n5:Publish Message (id=5) [a]:mqtt.reserved_value\n" +
				"6:Ping Request:mqtt.long_varint\n7:Publish Message [\uFFFD\uFFFD]:mqtt.bad_utf8\n8:Publish Message (id=0) [a]:mqtt.zero_packet_id",
			wireshark: "Publish Message (id=0) [a]",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Log("why:", tc.why)
			b := pcapbuild.New(pcapbuild.Options{})
			c := b.Conn(testClient, testServer)
			c.Handshake()
			tc.build(t, c)
			capture := b.Pcap()
			got, err := runCapture(t, capture, RunConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, "\n"); g != tc.ours {
				t.Errorf("ours:\n%s\nwant:\n%s", g, tc.ours)
			}
			path := filepath.Join(t.TempDir(), "case.pcap")
			if err := os.WriteFile(path, capture, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(tshark, "-r", path, "-Y", "mqtt or _ws.malformed", "-T", "fields",
				"-e", "frame.number", "-e", "_ws.col.Info", "-e", "_ws.expert.message").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			if !strings.Contains(string(out), tc.wireshark) {
				t.Errorf("tshark no longer reads this as expected (%q):\n%s", tc.wireshark, out)
			}
			if strings.Contains(tc.name, "silently") {
				for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
					if cols := strings.Split(line, "\t"); len(cols) > 2 && cols[2] != "" {
						t.Errorf("tshark now notes %q here; revisit this case", cols[2])
					}
				}
			}
		})
	}
}
