// Package hostile writes the captures of issue 11: inputs built to make a
// reader of MQTT spend memory or time out of proportion to their size. The
// sizes are parameters, so tests run them small and the README's figures
// come from the full sizes (TestWriteHostile in package dissect writes them).
package hostile

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

var (
	broker = netip.MustParseAddrPort("192.0.2.1:1883")
	sub    = netip.MustParseAddrPort("192.0.2.10:40001")
	pub    = netip.MustParseAddrPort("192.0.2.11:40002")
)

const (
	up   = pcapbuild.ToServer
	down = pcapbuild.ToClient
	// segment is the TCP payload per frame for large packets.
	segment = 60000
)

func packet(first byte, body []byte) []byte {
	return append(append([]byte{first}, pcapbuild.Varint(len(body))...), body...)
}

func str(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func connect(id string) []byte {
	body := str(nil, "MQTT")
	body = append(body, 4, 0x02, 0, 60)
	return packet(0x10, str(body, id))
}

var connack = []byte{0x20, 0x02, 0x00, 0x00}

// Subscribe builds a 3.1.1 SUBSCRIBE of filters, each at QoS 1.
func Subscribe(id int, filters []string) []byte {
	body := binary.BigEndian.AppendUint16(nil, uint16(id))
	for _, f := range filters {
		body = append(str(body, f), 1)
	}
	return packet(0x82, body)
}

// Unsubscribe builds a 3.1.1 UNSUBSCRIBE of filters.
func Unsubscribe(id int, filters []string) []byte {
	body := binary.BigEndian.AppendUint16(nil, uint16(id))
	for _, f := range filters {
		body = str(body, f)
	}
	return packet(0xa2, body)
}

// Publish builds a PUBLISH at QoS 0 or 1.
func Publish(topic string, qos, id int, payload string) []byte {
	body := str(nil, topic)
	if qos > 0 {
		body = binary.BigEndian.AppendUint16(body, uint16(id))
	}
	return packet(0x30|byte(qos<<1), append(body, payload...))
}

// send writes payload in segments of at most segment bytes.
func send(c *pcapbuild.Conn, dir pcapbuild.Dir, payload []byte) {
	for len(payload) > 0 {
		n := min(len(payload), segment)
		c.Send(dir, payload[:n])
		payload = payload[n:]
	}
}

func session(b *pcapbuild.Builder, client netip.AddrPort, id string) *pcapbuild.Conn {
	c := b.Conn(client, broker)
	c.Handshake()
	c.Send(up, connect(id))
	c.Send(down, connack)
	return c
}

// BigSubscribe is one SUBSCRIBE of n one-byte topic filters: 4 bytes per
// entry, so n = 4,000,000 makes a 16 MB packet (issue 11, case 3).
func BigSubscribe(n int) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	c := session(b, sub, "big")
	body := []byte{0, 1}
	for i := range n {
		body = append(body, 0, 1, 'a'+byte(i%26), 1)
	}
	send(c, up, packet(0x82, body))
	return b.Pcap()
}

// SharpFilters subscribes to # filters times, then publishes topics
// distinct topics of topicLen bytes (issue 11, case 4: 1,000, 20, 60,000).
func SharpFilters(filters, topics, topicLen int) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	s := session(b, sub, "sharp")
	for i := range filters {
		s.Send(up, Subscribe(i%65535+1, []string{"#"}))
	}
	p := session(b, pub, "pub")
	for i := range topics {
		name := strconv.Itoa(i) + "/" + strings.Repeat("t", max(topicLen-8, 1))
		send(p, up, Publish(name, 0, 0, "x"))
	}
	return b.Pcap()
}

// ManySubscriptions subscribes to subs filters ("t/N", and "+/N" for every
// tenth), in SUBSCRIBEs of 1,000, and publishes topics topics "t/N", many
// per segment (issue 11, case 4: 10,000 x 10,000).
func ManySubscriptions(subs, topics int) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	s := session(b, sub, "many")
	var fs []string
	for i := range subs {
		f := "t/" + strconv.Itoa(i)
		if i%10 == 0 {
			f = "+/" + strconv.Itoa(i)
		}
		fs = append(fs, f)
		if len(fs) == 1000 || i == subs-1 {
			send(s, up, Subscribe(i%65535+1, fs))
			fs = fs[:0]
		}
	}
	p := session(b, pub, "pub")
	var batch []byte
	for i := range topics {
		batch = append(batch, Publish("t/"+strconv.Itoa(i), 0, 0, "")...)
		if len(batch) > 1400 {
			p.Send(up, batch)
			batch = batch[:0]
		}
	}
	send(p, up, batch)
	return b.Pcap()
}

// DeepTopics is ManySubscriptions with topics and filters of levels
// levels: the filters share a prefix of + levels and differ at the last
// (issue 11, case 4: 10,000 x 10,000 x 200 levels, 8 MB).
func DeepTopics(subs, topics, levels int) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	s := session(b, sub, "deep")
	plus := strings.Repeat("+/", levels-1)
	lits := strings.Repeat("a/", levels-1)
	var fs []string
	for i := range subs {
		f := plus + strconv.Itoa(i)
		switch i % 4 {
		case 1:
			f = lits + strconv.Itoa(i)
		case 2:
			f = strings.Repeat("a/", i%levels) + "#"
		case 3:
			f = strings.Repeat("+/", i%levels) + "#"
		}
		fs = append(fs, f)
		if len(fs) == 100 || i == subs-1 {
			send(s, up, Subscribe(i%65535+1, fs))
			fs = fs[:0]
		}
	}
	p := session(b, pub, "pub")
	var batch []byte
	for i := range topics {
		batch = append(batch, Publish(lits+strconv.Itoa(i), 0, 0, "")...)
		if len(batch) > 1400 {
			p.Send(up, batch)
			batch = batch[:0]
		}
	}
	send(p, up, batch)
	return b.Pcap()
}

// BigUnsubscribes sends packets UNSUBSCRIBEs of filters filters each, none
// subscribed before (issue 11, case 4: 20 x 10,000).
func BigUnsubscribes(packets, filters int) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	s := session(b, sub, "unsub")
	for k := range packets {
		fs := make([]string, filters)
		for i := range fs {
			fs[i] = "u/" + strconv.Itoa(k) + "/" + strconv.Itoa(i)
		}
		send(s, up, Unsubscribe(k+1, fs))
	}
	return b.Pcap()
}

// PartialHeaders opens conns connections (raw IP, no handshake) that each
// send the first 2 bytes of a PUBLISH whose Remaining Length is not
// complete (issue 11, case 5: 1,000,000 connections, 58 MB).
func PartialHeaders(conns int) []byte {
	b := pcapbuild.New(pcapbuild.Options{Link: pcapbuild.Link{Type: layers.LinkTypeRaw}, Step: time.Microsecond})
	for i := range conns {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		c := b.Conn(netip.AddrPortFrom(ip, 40000), broker)
		c.Send(up, []byte{0x30, 0xff})
	}
	return b.Pcap()
}

// ManyPublishes publishes n QoS 1 messages on one topic, of which the one
// QoS 1 subscriber gets delivered (issue 11, case 8: 10,000 and 3,486).
func ManyPublishes(n, delivered int) []byte {
	b := pcapbuild.New(pcapbuild.Options{Step: 10 * time.Microsecond})
	s := session(b, sub, "subscriber")
	s.Send(up, Subscribe(1, []string{"loss/#"}))
	s.Send(down, []byte{0x90, 0x03, 0x00, 0x01, 0x01})
	p := session(b, pub, "publisher")
	for i := range n {
		id := i%65535 + 1
		p.Send(up, Publish("loss/job", 1, id, "m"))
		p.Send(down, []byte{0x40, 0x02, byte(id >> 8), byte(id)})
		if i*delivered/n != (i+1)*delivered/n {
			s.Send(down, Publish("loss/job", 1, id, "m"))
			s.Send(up, []byte{0x40, 0x02, byte(id >> 8), byte(id)})
		}
	}
	return b.Pcap()
}
