package dissect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
	"github.com/mqttdissect/mqttdissect/spec"
)

var (
	testClient = netip.MustParseAddrPort("192.0.2.10:40000")
	testServer = netip.MustParseAddrPort("192.0.2.1:1883")
)

// seen is a compact record of one decoded packet: "frame:info[:rules]".
func runCapture(t testing.TB, capture []byte, cfg RunConfig) ([]string, error) {
	t.Helper()
	var out []string
	cfg.OnPDU = func(pdu *PDU) {
		s := fmt.Sprintf("%d:%s", pdu.Frame, pdu.Packet.Info())
		if r := ruleNames(pdu.Packet); r != "" {
			s += ":" + r
		}
		out = append(out, s)
	}
	_, err := Run(context.Background(), bytes.NewReader(capture), &cfg)
	return out, err
}

var (
	connect311 = "10 0c 0004 4d515454 04 02 003c 0000"
	pingreq    = "c0 00"
)

// publish200 is a QoS 0 PUBLISH with a two-byte Remaining Length (200).
func publish200(t testing.TB) []byte {
	body := append(unhex(t, "0003 612f62"), bytes.Repeat([]byte("x"), 195)...)
	return append(unhex(t, "30 c8 01"), body...)
}

func TestStreams(t *testing.T) {
	tests := []struct {
		name  string
		build func(t testing.TB, c *pcapbuild.Conn)
		cfg   RunConfig
		want  string // packets, one per line
	}{
		{
			name: "several packets in one segment",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311+pingreq+pingreq))
			},
			want: "4:Connect Command\n4:Ping Request\n4:Ping Request",
		},
		{
			// Wireshark 4.0 loses the stream here (its "XXX: ToDo"); the
			// standard allows any segmentation, so we must not.
			name: "remaining length split across two segments",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				c.SendSplit(pcapbuild.ToServer, publish200(t), 2)
				c.Send(pcapbuild.ToServer, unhex(t, pingreq))
			},
			want: "4:Connect Command\n6:Publish Message [a/b]\n7:Ping Request",
		},
		{
			name: "one packet over three segments",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				c.SendSplit(pcapbuild.ToServer, publish200(t), 1, 50)
			},
			want: "4:Connect Command\n7:Publish Message [a/b]",
		},
		{
			name: "malformed packet then a good one",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				c.Send(pcapbuild.ToServer, unhex(t, "30 04 0009 6162"+pingreq))
			},
			want: "4:Connect Command\n5:Publish Message:mqtt.malformed\n5:Ping Request",
		},
		{
			name: "mid-session start without a version",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, "30 05 0001 61 00 78"))
			},
			want: "1:Publish Message [a]:mqtt.unknown_version",
		},
		{
			name: "mid-session start with --mqtt-version 5",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, "30 05 0001 61 00 78"))
			},
			cfg:  RunConfig{StreamConfig: StreamConfig{Options: Options{DefaultVersion: spec.V5}}},
			want: "1:Publish Message [a]:mqtt.assumed_version",
		},
		{
			name: "out-of-order segments",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				c.SendOutOfOrder(pcapbuild.ToServer, publish200(t), []int{60, 120}, 2, 1, 0)
			},
			want: "4:Connect Command\n7:Publish Message [a/b]",
		},
		{
			name: "retransmission is not decoded twice",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				c.Retransmit(pcapbuild.ToServer, 0, 14)
				c.Send(pcapbuild.ToServer, unhex(t, pingreq))
			},
			want: "4:Connect Command\n6:Ping Request",
		},
		{
			name: "both directions share the version from CONNECT",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, "10 0d 0004 4d515454 05 02 003c 00 0000"))
				c.Send(pcapbuild.ToClient, unhex(t, "20 03 00 00 00"))
			},
			want: "4:Connect Command\n5:Connect Ack",
		},
		{
			name: "bytes lost inside a packet: resume at the next one",
			build: func(t testing.TB, c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				p := publish200(t)
				c.Send(pcapbuild.ToServer, p[:50])
				c.Drop(pcapbuild.ToServer, 50)
				c.Send(pcapbuild.ToServer, append(p[100:], unhex(t, pingreq)...))
				c.Ack(pcapbuild.ToClient)
			},
			// Each packet at the frame that carried its last byte; the
			// 103 captured bytes of the broken PUBLISH in frame 6 named.
			want: "4:Connect Command\n5:Publish Message [a/b]:mqtt.truncated,mqtt.gap\n6:Ping Request:mqtt.gap,mqtt.skipped",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := pcapbuild.New(pcapbuild.Options{})
			c := b.Conn(testClient, testServer)
			if !strings.Contains(tt.name, "mid-session") {
				c.Handshake()
			}
			tt.build(t, c)
			got, err := runCapture(t, b.Pcap(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, "\n"); g != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", g, tt.want)
			}
		})
	}
}

// TestTruncatedCaptureFile: every packet before the damage, then an error.
func TestTruncatedCaptureFile(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(testClient, testServer)
	c.Handshake()
	for i := 0; i < 10; i++ {
		c.Send(pcapbuild.ToServer, unhex(t, pingreq))
	}
	full := b.Pcap()
	all, err := runCapture(t, full, RunConfig{})
	if err != nil || len(all) != 10 {
		t.Fatalf("full capture: %d packets, %v", len(all), err)
	}
	errs := 0
	for cut := len(full) - 1; cut > 24; cut -= 7 {
		got, err := runCapture(t, full[:cut], RunConfig{})
		// A cut on a record boundary leaves a valid, shorter capture.
		if err != nil && !errors.Is(err, ErrTruncatedCapture) {
			t.Fatalf("cut at %d: err = %v, want ErrTruncatedCapture", cut, err)
		}
		if err != nil {
			errs++
		}
		if len(got) > len(all) || strings.Join(got, "\n") != strings.Join(all[:len(got)], "\n") {
			t.Fatalf("cut at %d: got %v", cut, got)
		}
	}
	if errs == 0 {
		t.Fatal("no cut gave ErrTruncatedCapture")
	}
}
