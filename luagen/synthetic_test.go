package luagen

import (
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
	"github.com/mqttdissect/mqttdissect/spec"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

var (
	client  = netip.MustParseAddrPort("192.0.2.10:40000")
	client2 = netip.MustParseAddrPort("192.0.2.11:40001")
	server  = netip.MustParseAddrPort("192.0.2.1:1883")
)

// Packets used by several cases.
const (
	connect311 = "10 10 0004 4d515454 04 02 003c 0004 61626364"
	connack    = "20 02 00 00"
	connect5   = "10 11 0004 4d515454 05 02 003c 03 22000a 0001 63"
	connack5   = "20 03 00 00 00"
	pingreq    = "c0 00"
)

// publish returns a QoS 1 PUBLISH (id 7) to topic a/b with n payload bytes.
func publish(t testing.TB, n int) []byte {
	t.Helper()
	body := append(unhex(t, "0003 612f62 0007"), []byte(strings.Repeat("x", n))...)
	var hdr []byte
	rl := len(body)
	hdr = append(hdr, 0x32)
	for {
		b := byte(rl % 128)
		rl /= 128
		if rl > 0 {
			hdr = append(hdr, b|0x80)
			continue
		}
		hdr = append(hdr, b)
		break
	}
	return append(hdr, body...)
}

type synthCase struct {
	name   string
	build  func(t testing.TB, b *pcapbuild.Builder)
	opts   Options         // generator options
	prefs  []string        // tshark -o, with PROTO for the protocol name
	native dissect.Options // the same for the native decoder
	ports  []uint16
	expect []string // note texts (substrings) the case must produce
	twoPas bool     // also read with tshark -2 (the second pass replays state)
	// snaplen cuts every frame of the capture
	snaplen    uint32
	tsharkOnly bool // not in wsmock.lua
	hostOnly   bool // only with the machine's own tshark (4.0)
}

// conn starts a connection with a handshake and runs f on it.
func conn(b *pcapbuild.Builder, from netip.AddrPort, f func(c *pcapbuild.Conn)) {
	c := b.Conn(from, server)
	c.Handshake()
	f(c)
	c.Close()
}

var synthCases = []synthCase{
	{
		name: "remaining length split across segments",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				c.Send(pcapbuild.ToClient, unhex(t, connack))
				c.SendSplit(pcapbuild.ToServer, publish(t, 200), 2)
				c.SendSplit(pcapbuild.ToServer, publish(t, 300), 1)
				c.Send(pcapbuild.ToServer, unhex(t, pingreq))
			})
		},
		twoPas: true,
	},
	{
		name: "one packet over three segments, then more in the last",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				stream := append(publish(t, 400), append(unhex(t, pingreq), publish(t, 3)...)...)
				c.SendSplit(pcapbuild.ToServer, stream, 10, 150)
				c.SendSplit(pcapbuild.ToServer, append(publish(t, 20), publish(t, 20)...), 30)
			})
		},
		twoPas: true,
	},
	{
		name: "several packets in one segment",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				all := unhex(t, connect311)
				all = append(all, publish(t, 5)...)
				all = append(all, unhex(t, "30 07 0003 612f63 6869"+pingreq+"e0 00")...)
				c.Send(pcapbuild.ToServer, all)
				c.Send(pcapbuild.ToClient, unhex(t, connack+"90 03 0007 00"))
			})
		},
	},
	{
		name: "malformed packets, then good ones",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				c.Send(pcapbuild.ToServer, unhex(t, "30 05 0009 616263")) // topic length past the end
				c.Send(pcapbuild.ToServer, unhex(t, pingreq))
				c.Send(pcapbuild.ToServer, unhex(t, "82 05 0001 0001 61")) // SUBSCRIBE without its QoS byte
				c.Send(pcapbuild.ToServer, unhex(t, "30 ff ff ff ff ff ff ff ff ff ff"))
				c.Send(pcapbuild.ToServer, unhex(t, "ff ff 00 12"))       // not a packet start: skipped
				c.Send(pcapbuild.ToServer, unhex(t, pingreq+"c0 00"))     // found again
				c.Send(pcapbuild.ToServer, unhex(t, "30 ff ff ff ff 0f")) // too large
				c.Send(pcapbuild.ToServer, unhex(t, "c0 00"))
			})
		},
		expect: []string{"mqtt.topic: malformed: length 9 runs past the end", "remaining length has no end",
			"is too large", "mqtt.sub.qos: malformed: Requested QoS needs 1 bytes"},
		twoPas: true,
	},
	{
		name: "v5 topic aliases per direction",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect5))
				c.Send(pcapbuild.ToClient, unhex(t, connack5))
				c.Send(pcapbuild.ToServer, unhex(t, "30 0b 0003 612f62 03 230001 6869")) // sets alias 1
				c.Send(pcapbuild.ToServer, unhex(t, "30 08 0000 03 230001 796f"))        // uses it
				c.Send(pcapbuild.ToServer, unhex(t, "30 08 0000 03 230002 796f"))        // unknown alias
				c.Send(pcapbuild.ToClient, unhex(t, "30 08 0000 03 230001 796f"))        // other direction: unknown
				c.Send(pcapbuild.ToServer, unhex(t, "30 04 0000 00 7a"))                 // empty topic, no alias
				c.Send(pcapbuild.ToServer, unhex(t, "30 0b 0003 612f63 03 230001 6869"+"30 08 0000 03 230001 796f"))
			})
		},
		expect: []string{"Unknown topic alias", "Length cannot be 0"},
		twoPas: true,
	},
	{
		name: "notes on v3.1.1 packets",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, "12 10 0004 4d515454 04 03 003c 0004 61626364")) // flags, reserved bit
				c.Send(pcapbuild.ToClient, unhex(t, "20 02 02 09"))                                  // reserved bits, undefined code
				c.Send(pcapbuild.ToServer, unhex(t, "36 06 0001 61 0005 78"))                        // QoS 3
				c.Send(pcapbuild.ToServer, unhex(t, "c0 80 80 80 80 00"))                            // 5-byte length
				c.Send(pcapbuild.ToServer, unhex(t, "30 04 0002 fffe"))                              // invalid UTF-8
				c.Send(pcapbuild.ToServer, unhex(t, "30 06 0004 61ff2f62"))                          // invalid UTF-8 inside
				c.Send(pcapbuild.ToServer, unhex(t, "32 05 0001 61 0000"))                           // packet id 0
				c.Send(pcapbuild.ToServer, unhex(t, "30 05 0003 612f23"))                            // wildcard
				c.Send(pcapbuild.ToServer, unhex(t, "30 05 0003 610062"))                            // NUL
				c.Send(pcapbuild.ToServer, unhex(t, "82 02 0001"))                                   // no topic filter
				c.Send(pcapbuild.ToServer, unhex(t, "82 05 0001 0000 00"))                           // empty filter
				c.Send(pcapbuild.ToClient, unhex(t, "b0 04 0001 0000"))                              // trailing bytes
				c.Send(pcapbuild.ToServer, unhex(t, "f0 00"))                                        // AUTH in 3.1.1
				c.Send(pcapbuild.ToServer, unhex(t, "00 00"))                                        // type 0
				c.Send(pcapbuild.ToServer, unhex(t, "a0 02 0001"))                                   // UNSUBSCRIBE flags, no filter
			})
			conn(b, client2, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, "10 10 0004 4d515454 06 02 003c 0004 61626364")) // level 6
				c.Send(pcapbuild.ToServer, unhex(t, pingreq))
			})
		},
		expect: []string{"fixed header flags of CONNECT are 0x2, the standard requires 0x0", "mqtt.conflag.reserved: reserved bits must be 0",
			"mqtt.qos: value 3 is reserved", "uses 5 bytes", "not well-formed UTF-8", "must not be 0", "must not contain + or #",
			"contains U+0000", "carries no topic filter", "Length cannot be 0", "2 bytes after the last field",
			"AUTH is not defined in MQTT 3.1.1", "mqtt.msgtype: value 0 is reserved", "mqtt.conack.val: value 9 is not defined",
			"protocol level 6 is not 3, 4 or 5"},
	},
	{
		name: "notes on v5 packets",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect5))
				c.Send(pcapbuild.ToClient, unhex(t, "20 09 00 00 06 1f0003616263"))     // CONNACK with a reason string
				c.Send(pcapbuild.ToServer, unhex(t, "30 09 0001 61 05 110000000a"))     // not allowed in PUBLISH
				c.Send(pcapbuild.ToServer, unhex(t, "30 08 0001 61 04 01000101"))       // repeated
				c.Send(pcapbuild.ToServer, unhex(t, "30 07 0001 61 03 7f6162"))         // unknown identifier
				c.Send(pcapbuild.ToServer, unhex(t, "82 07 0001 00 0001 61 f0"))        // subscription options
				c.Send(pcapbuild.ToServer, unhex(t, "30 09 0001 61 03 260005 7a7a"))    // malformed inside a property
				c.Send(pcapbuild.ToServer, unhex(t, "30 0a 0001 61 05 0b 80808001 7a")) // long varint property
				c.Send(pcapbuild.ToServer, unhex(t, "30 0c 0001 61 08 03 0003 6a736f 0b01"))
				c.Send(pcapbuild.ToServer, unhex(t, "e0 02 8e 00"))
			})
		},
		expect: []string{"property Session Expiry Interval is not allowed in PUBLISH", "property Payload Format Indicator appears more than once",
			"unknown property identifier 0x7f", "mqtt.subscription_options_reserved: reserved bits must be 0",
			"mqtt.subscription_options_retain: value 3 is reserved", "(inside the User Property property)"},
	},
	{
		name: "default version preference",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			c := b.Conn(client, server)
			c.Send(pcapbuild.ToServer, unhex(t, "30 0c 0001 61 08 03 0003 6a736f 0b01"))
			c.Send(pcapbuild.ToServer, unhex(t, "40 04 0007 10 00"))
		},
		prefs:  []string{"PROTO.default_version:MQTT v5.0"},
		native: dissect.Options{DefaultVersion: spec.V5},
		expect: []string{"no CONNECT seen on this connection: read as MQTT 5.0"},
	},
	{
		name: "no CONNECT, no preference",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			c := b.Conn(client, server)
			c.Send(pcapbuild.ToServer, unhex(t, "30 0c 0001 61 08 03 0003 6a736f 0b01"))
			c.Send(pcapbuild.ToClient, unhex(t, "20 02 00 00"))
		},
		expect: []string{"Unknown version"},
	},
	{
		name: "payload as text preference",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, "10 1b 0004 4d515454 04 06 003c 0001 63 0003 772f74 0007 676f6f64627965"))
				c.Send(pcapbuild.ToServer, unhex(t, "30 0a 0001 61 68c3a96c6c6fff"))
				c.Send(pcapbuild.ToServer, unhex(t, "30 03 0001 61"))
			})
		},
		prefs:  []string{"PROTO.show_msg_as_text:TRUE"},
		native: dissect.Options{PayloadAsText: true},
	},
	{
		name: "extra port preference",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			c := b.Conn(client, netip.MustParseAddrPort("192.0.2.1:11883"))
			c.Handshake()
			c.Send(pcapbuild.ToServer, unhex(t, connect311))
			c.Send(pcapbuild.ToServer, publish(t, 3))
		},
		prefs: []string{"PROTO.extra_ports:11883, 1883"},
		ports: []uint16{1883, 11883},
	},
	{
		name: "ports set when generating",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			c := b.Conn(client, netip.MustParseAddrPort("192.0.2.1:11884"))
			c.Handshake()
			c.Send(pcapbuild.ToServer, unhex(t, connect311))
			c.Send(pcapbuild.ToServer, publish(t, 3))
			c2 := b.Conn(client2, server) // 1883 is not among them
			c2.Send(pcapbuild.ToServer, unhex(t, connect311))
		},
		opts:  Options{Ports: []uint16{11884}},
		ports: []uint16{11884},
	},
	{
		name:    "capture cut short by the snap length",
		snaplen: 120,
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				c.Send(pcapbuild.ToServer, publish(t, 300))
				c.Send(pcapbuild.ToServer, append(publish(t, 10), publish(t, 100)...))
				c.Send(pcapbuild.ToServer, unhex(t, pingreq))
			})
		},
		expect: []string{"packet cut short"},
	},
	{
		name: "mutated packets",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			// Valid packets with bytes changed at random (a fixed seed),
			// sent in random pieces: whatever the bytes, both readers must
			// agree and the Lua must not fail. The Remaining Length is
			// kept, so no packet is left incomplete when the connection
			// ends (the native decoder shows such a packet as cut short;
			// Wireshark waits for the rest and shows nothing).
			rng := rand.New(rand.NewPCG(1, 2))
			seeds := []string{
				connect5, connack5, connect311, connack, pingreq, "d0 00",
				"10 12 0006 4d5149736470 03 02 003c 0004 61626364", "20 02 00 00",
				"30 0b 0003 612f62 03 230001 6869", "30 08 0000 03 230001 796f", "32 07 0001 61 0007 7878",
				"82 07 0001 00 0001 61 01", "90 04 0001 00 00", "30 0c 0001 61 08 03 0003 6a736f 0b01",
				"20 09 00 00 06 1f0003616263", "e0 02 8e 00", "f0 02 18 00", "a2 06 0001 00 0001 61",
				"62 04 0007 92 00", "10 1b 0004 4d515454 04 06 003c 0001 63 0003 772f74 0007 676f6f64627965",
				"82 06 0001 0001 61 02", "b0 03 0001 00", "40 02 0007", "50 03 0007 10",
			}
			for n := 0; n < 6; n++ {
				from := netip.AddrPortFrom(client.Addr(), uint16(41000+n))
				conn(b, from, func(c *pcapbuild.Conn) {
					var streams [2][]byte
					for i := 0; i < 60; i++ {
						p := unhex(t, seeds[rng.IntN(len(seeds))])
						if i > 1 {
							hdr := 2 // every seed has a one-byte Remaining Length
							for k := rng.IntN(3); k > 0; k-- {
								at := hdr + rng.IntN(len(p)-hdr+1) - 1
								if at < hdr {
									at = 0 // the type and flags
								}
								p[at] = byte(rng.IntN(256))
							}
						}
						dir := rng.IntN(2)
						if i < 2 {
							dir = i
						}
						streams[dir] = append(streams[dir], p...)
					}
					for len(streams[0])+len(streams[1]) > 0 {
						dir := rng.IntN(2)
						if len(streams[dir]) == 0 {
							dir = 1 - dir
						}
						k := min(len(streams[dir]), 1+rng.IntN(40))
						c.Send(pcapbuild.Dir(dir), streams[dir][:k])
						streams[dir] = streams[dir][k:]
					}
				})
			}
		},
		twoPas: true,
	},
	{
		name: "control characters and non-ASCII text",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				topic := []byte{'a'}
				for i := 1; i < 0x20; i++ {
					topic = append(topic, byte(i))
				}
				topic = append(topic, 0x7f, '\\', 'z', 0xc3, 0xa9, 0xe2, 0x80, 0xa8, 0xf0, 0x9f, 0x98, 0x80)
				c.Send(pcapbuild.ToServer, append([]byte{0x30, byte(2 + len(topic)), 0, byte(len(topic))}, topic...))
				c.Send(pcapbuild.ToServer, unhex(t, "30 0b 0009 c3a9 ed a080 f4908080"))
			})
		},
		expect: []string{"not well-formed UTF-8"},
	},
	{
		name: "retransmitted and reordered segments",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect311))
				c.Send(pcapbuild.ToServer, publish(t, 10))
				c.Retransmit(pcapbuild.ToServer, 18, 19)
				c.SendOutOfOrder(pcapbuild.ToServer, append(publish(t, 50), publish(t, 5)...), []int{30, 60}, 1, 0, 2)
				c.Send(pcapbuild.ToServer, unhex(t, pingreq))
			})
		},
		// Wireshark's TCP puts segments back in order only when asked,
		// and 3.4's loses part of this stream even then.
		prefs:      []string{"tcp.reassemble_out_of_order:TRUE"},
		twoPas:     true,
		tsharkOnly: true, // wsmock.lua has no TCP sequence numbers
		hostOnly:   true,
	},
	{
		name: "name set when generating",
		build: func(t testing.TB, b *pcapbuild.Builder) {
			conn(b, client, func(c *pcapbuild.Conn) {
				c.Send(pcapbuild.ToServer, unhex(t, connect5))
				c.Send(pcapbuild.ToServer, unhex(t, "30 0b 0003 612f62 03 230001 6869"))
			})
		},
		opts:   Options{Name: "mqtt_x"},
		prefs:  []string{"PROTO.show_msg_as_text:TRUE"},
		native: dissect.Options{PayloadAsText: true},
	},
}

// TestSyntheticCaptures runs the generated dissector in the real tshark on
// captures built for the cases Wireshark's own captures lack (segmentation,
// malformed packets, notes, preferences), and requires the native
// decoder's reading: every field, every note as expert info, the Info
// column, and no Lua error.
func TestSyntheticCaptures(t *testing.T) {
	for i, bin := range tsharks(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) { syntheticCaptures(t, bin, i == 0) })
	}
}

func syntheticCaptures(t *testing.T, bin string, host bool) {
	major, minor := tsharkVersion(t, bin)
	for _, tc := range synthCases {
		if tc.hostOnly && !host {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			b := pcapbuild.New(pcapbuild.Options{Snaplen: tc.snaplen})
			tc.build(t, b)
			capture := filepath.Join(t.TempDir(), "case.pcap")
			if err := os.WriteFile(capture, b.Pcap(), 0o644); err != nil {
				t.Fatal(err)
			}
			name := tc.opts.Name
			if name == "" {
				name = FallbackName
			}
			// Where Wireshark has its own dissector, the preference gives
			// the ports to the Lua one.
			prefs := []string{name + ".take_over:TRUE"}
			for _, p := range tc.prefs {
				prefs = append(prefs, strings.Replace(p, "PROTO", name, 1))
			}
			luaPath := writeLua(t, tc.opts)
			native := readNative(t, capture, tc.native, tc.ports...)
			if len(native.PDUs) == 0 {
				t.Fatal("the native decoder finds no packet")
			}
			lua := readWithLua(t, bin, luaPath, name, capture, prefs...)
			report(t, "Lua vs native", diffPDUs(asNative(lua.PDUs), native.PDUs, "Lua", "native"))
			report(t, "Lua vs native", diffInfo(lua.Info, native.Info, major, minor))
			var all []string
			for _, p := range lua.PDUs {
				all = append(all, p.Notes...)
			}
			for _, want := range tc.expect {
				found := false
				for _, n := range all {
					found = found || strings.Contains(luaNote(n), want)
				}
				if !found {
					t.Errorf("no expert info contains %q (have %q)", want, all)
				}
			}
			if tc.twoPas {
				// Two passes: the second one reads every frame again, as the
				// GUI does when a packet is shown, and must replay the state.
				pdml := tshark(t, bin, luaPath, capture, append(prefOpts(prefs), "-2", "-T", "pdml")...)
				r, err := readPDML(strings.NewReader(string(xmlSafe(pdml))), name)
				if err != nil {
					t.Fatal(err)
				}
				report(t, "two passes vs native", diffPDUs(asNative(r.PDUs), native.PDUs, "Lua (-2)", "native"))
			}
		})
	}
}

func prefOpts(prefs []string) []string {
	var out []string
	for _, p := range prefs {
		out = append(out, "-o", p)
	}
	return out
}
