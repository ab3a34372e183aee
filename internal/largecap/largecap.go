// Package largecap writes synthetic captures with very large MQTT values:
// the cases where Wireshark 1.x's per-packet memory ceiling (see
// luagen/limits.go) decides whether tshark survives exporting a field.
// Every capture sends its large packet as 1,460-byte TCP segments (an
// Ethernet MSS) and then more packets, so a reader that loses its footing
// on the large one shows it on the packets after.
package largecap

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

// MSS is the TCP payload of every segment of a large packet.
const MSS = 1460

var (
	client = netip.MustParseAddrPort("192.0.2.10:40000")
	server = netip.MustParseAddrPort("192.0.2.1:1883")
)

// Big sizes used by the tests.
const (
	MB = 1000 * 1000
)

// packet builds an MQTT control packet: first byte, Remaining Length
// (MQTT 5.0 §1.5.5 variable byte integer), body.
func packet(first byte, body ...[]byte) []byte {
	n := 0
	for _, b := range body {
		n += len(b)
	}
	out := []byte{first}
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			out = append(out, b|0x80)
			continue
		}
		out = append(out, b)
		break
	}
	for _, b := range body {
		out = append(out, b...)
	}
	return out
}

// str is an MQTT UTF-8 string or binary data: two-byte length, bytes.
func str(s []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

// varint is a variable byte integer.

// Payload returns n deterministic bytes of every value 0 to 255 (not text).
func Payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// Text returns n bytes of well-formed UTF-8 without wildcards or NULs: ASCII
// with a two-byte "é" every 61 bytes, so a cut can fall inside a character.
func Text(n int) []byte {
	var b bytes.Buffer
	b.Grow(n)
	for i := 0; b.Len() < n; i++ {
		if i%61 == 60 && n-b.Len() >= 2 {
			b.WriteString("é")
			continue
		}
		b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789/-_"[i%39])
	}
	return b.Bytes()[:n]
}

// sendBig writes p as MSS-sized segments.
func sendBig(c *pcapbuild.Conn, dir pcapbuild.Dir, p []byte) {
	for len(p) > 0 {
		n := min(MSS, len(p))
		c.Send(dir, p[:n])
		p = p[n:]
	}
}

// The small packets around the large ones.
var (
	connect311 = packet(0x10, str([]byte("MQTT")), []byte{4, 2, 0, 60}, str([]byte("big")))
	connack    = packet(0x20, []byte{0, 0})
	puback7    = packet(0x40, []byte{0, 7})
	pingreq    = packet(0xC0)
	pingresp   = packet(0xD0)
	disconnect = packet(0xE0)
	after      = packet(0x30, str([]byte("after/big")), []byte("still read"))
)

// afterV5 is after in an MQTT 5 connection: with an empty property block.
var afterV5 = packet(0x30, str([]byte("after/big")), []byte{0}, []byte("still read"))

// tail writes the packets that follow the large one.
func tail(c *pcapbuild.Conn) { tailWith(c, after) }

// tailWith writes the packets that follow the large one, first the
// PUBLISH pub.
func tailWith(c *pcapbuild.Conn, pub []byte) {
	c.Send(pcapbuild.ToServer, pub)
	c.Send(pcapbuild.ToServer, pingreq)
	c.Send(pcapbuild.ToClient, pingresp)
	c.Send(pcapbuild.ToServer, disconnect)
	c.Close()
}

// Publish returns a pcap with one v3.1.1 QoS 1 PUBLISH (id 7, topic
// "big/payload") carrying n payload bytes, then more packets.
func Publish(n int) []byte { return PublishPayload(Payload(n)) }

// PublishPayload is Publish with the given payload.
func PublishPayload(payload []byte) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client, server)
	c.Handshake()
	c.Send(pcapbuild.ToServer, connect311)
	c.Send(pcapbuild.ToClient, connack)
	sendBig(c, pcapbuild.ToServer, packet(0x32, str([]byte("big/payload")), []byte{0, 7}, payload))
	c.Send(pcapbuild.ToClient, puback7)
	tail(c)
	return b.Pcap()
}

// MaxString is the longest MQTT UTF-8 string or binary data: its length is
// two bytes (MQTT 5.0 §1.5.4, §1.5.6). Topics, property strings, will
// messages and passwords can be no longer; only the payload and a property
// block (variable byte integer length) can reach megabytes.
const MaxString = 65535

// V5Properties returns a pcap with a v5 QoS 1 PUBLISH whose topic is
// MaxString bytes long and whose property block holds User Properties of
// MaxString-byte values adding up to at least propBytes, then more packets.
func V5Properties(propBytes int) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client, server)
	c.Handshake()
	c.Send(pcapbuild.ToServer, packet(0x10, str([]byte("MQTT")), []byte{5, 2, 0, 60, 0}, str([]byte("big5"))))
	c.Send(pcapbuild.ToClient, packet(0x20, []byte{0, 0, 0}))
	var props []byte
	for len(props) < propBytes {
		props = append(props, 0x26)
		props = append(props, str([]byte("key"))...)
		props = append(props, str(Text(MaxString))...)
	}
	sendBig(c, pcapbuild.ToServer, packet(0x32, str(Text(MaxString)), []byte{0, 7}, pcapbuild.Varint(len(props)), props, []byte("small payload")))
	c.Send(pcapbuild.ToClient, packet(0x40, []byte{0, 7}))
	tailWith(c, afterV5)
	return b.Pcap()
}

// V5UnknownProperty returns a pcap with a v5 QoS 1 PUBLISH whose property
// block is an unknown identifier (0x7F) followed by n bytes of text: Wireshark
// reads the rest of such a block as one string, the one way a string item
// can be megabytes long. Then more packets.
func V5UnknownProperty(n int) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client, server)
	c.Handshake()
	c.Send(pcapbuild.ToServer, packet(0x10, str([]byte("MQTT")), []byte{5, 2, 0, 60, 0}, str([]byte("big5"))))
	c.Send(pcapbuild.ToClient, packet(0x20, []byte{0, 0, 0}))
	props := append([]byte{0x7F}, Text(n)...)
	sendBig(c, pcapbuild.ToServer, packet(0x32, str([]byte("big/props")), []byte{0, 7}, pcapbuild.Varint(len(props)), props, []byte("small payload")))
	c.Send(pcapbuild.ToClient, packet(0x40, []byte{0, 7}))
	tailWith(c, afterV5)
	return b.Pcap()
}

// Will returns a pcap with a v3.1.1 CONNECT whose will message and password
// are MaxString bytes long, then more packets.
func Will() []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(client, server)
	c.Handshake()
	// Connect flags 0xC6: User Name, Password, Will Flag, Clean Session.
	sendBig(c, pcapbuild.ToServer, packet(0x10, str([]byte("MQTT")), []byte{4, 0xC6, 0, 60}, str([]byte("willer")),
		str([]byte("will/topic")), str(Payload(MaxString)), str([]byte("user")), str(Payload(MaxString))))
	c.Send(pcapbuild.ToClient, connack)
	tail(c)
	return b.Pcap()
}
