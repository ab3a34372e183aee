// Package pcapbuild writes small synthetic pcap and pcapng captures for tests.
//
// A Builder records packets in memory; Conn helpers produce TCP segments with
// consistent sequence and acknowledgement numbers and valid IPv4/IPv6 and TCP
// checksums, so Wireshark/tshark decodes the result as a clean capture. The
// records are then written with gopacket's pcapgo writers:
//
//	b := pcapbuild.New(pcapbuild.Options{})
//	c := b.Conn(netip.MustParseAddrPort("10.0.0.1:50000"), netip.MustParseAddrPort("10.0.0.2:1883"))
//	c.Handshake()
//	c.Send(pcapbuild.ToServer, connectPacket)
//	c.Close()
//	err := b.WritePcap(w)
//
// Everything is deterministic: timestamps start at Options.Start and advance
// by Options.Step per record. Builder methods panic on programmer errors (a
// bad interface index, a cut outside the payload) because they are test
// helpers; the Write methods return I/O errors.
package pcapbuild

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Dir is the direction of a segment within a Conn.
type Dir uint8

// Directions: the server is the Conn's second address.
const (
	ToServer Dir = iota
	ToClient
)

func (d Dir) other() Dir { return 1 - d }

// Flags are TCP header flags for Conn.Segment.
type Flags uint8

// TCP flags.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
)

// Link describes the link layer of one capture interface.
type Link struct {
	// Type is one of layers.LinkTypeEthernet (the default), LinkTypeLinuxSLL,
	// LinkTypeLinuxSLL2, LinkTypeNull, LinkTypeLoop, LinkTypeRaw,
	// LinkTypeIPv4 or LinkTypeIPv6.
	Type layers.LinkType
	// VLAN lists 802.1Q tags (Ethernet only), outermost first. With more than
	// one tag the outer ones use the 802.1ad ethertype 0x88a8 (QinQ).
	VLAN []uint16
	// Pad pads Ethernet frames to the 60-byte minimum, as a receiving NIC
	// captures them; the IP total length then excludes the padding.
	Pad bool
}

// Options configure a Builder. The embedded Link is interface 0; its zero
// Type means Ethernet. IPv4 or IPv6 follows from each Conn's addresses.
type Options struct {
	Link
	// Snaplen cuts every record to this many bytes, marking it truncated as
	// a capture with a small snap length would (0: no cut).
	Snaplen uint32
	// Start is the first timestamp (default 2024-01-02 03:04:05 UTC).
	Start time.Time
	// Step is added to the clock before every record (default 1ms).
	Step time.Duration
	// Nanos writes a nanosecond-resolution pcap (pcapng is always ns).
	Nanos bool
	// BigEndian writes the file in big-endian byte order.
	BigEndian bool
}

type recKind uint8

const (
	recPacket recKind = iota
	recStats          // pcapng interface statistics block, skipped in pcap
)

type record struct {
	kind  recKind
	iface int
	ts    time.Time
	data  []byte // full frame; cut to Snaplen when written
}

// Builder accumulates records of a synthetic capture. It is not safe for
// concurrent use.
type Builder struct {
	opts  Options
	links []Link
	recs  []record
	now   time.Time
}

// New returns a Builder whose interface 0 uses opts.Link.
func New(opts Options) *Builder {
	if opts.Start.IsZero() {
		opts.Start = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	if opts.Step == 0 {
		opts.Step = time.Millisecond
	}
	if opts.Type == 0 {
		// The zero Options mean Ethernet; BSD loopback (link type 0) is
		// had with NewNull or AddInterface.
		opts.Type = layers.LinkTypeEthernet
	}
	return &Builder{opts: opts, links: []Link{opts.Link}, now: opts.Start}
}

// NewNull returns a Builder whose interface 0 is BSD loopback (link type 0),
// which the zero Options value cannot express.
func NewNull(opts Options) *Builder {
	b := New(opts)
	b.links[0] = Link{Type: layers.LinkTypeNull}
	return b
}

// AddInterface adds a capture interface and returns its index. Only
// WritePcapng can write a capture with interfaces of different link types.
func (b *Builder) AddInterface(l Link) int {
	b.links = append(b.links, l)
	return len(b.links) - 1
}

// Len returns the number of packet records so far; the next record is frame
// Len()+1 in Wireshark's numbering.
func (b *Builder) Len() int {
	n := 0
	for _, r := range b.recs {
		if r.kind == recPacket {
			n++
		}
	}
	return n
}

// Sleep advances the clock by d (in addition to the per-record Step).
func (b *Builder) Sleep(d time.Duration) { b.now = b.now.Add(d) }

// Raw appends a record whose link-layer bytes are frame, verbatim.
func (b *Builder) Raw(iface int, frame []byte) {
	b.link(iface)
	b.now = b.now.Add(b.opts.Step)
	b.recs = append(b.recs, record{kind: recPacket, iface: iface, ts: b.now, data: bytes.Clone(frame)})
}

// UDP appends a UDP datagram on interface iface (a record that is not TCP).
func (b *Builder) UDP(iface int, src, dst netip.AddrPort, payload []byte) {
	udp := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	b.Raw(iface, b.frame(iface, src.Addr(), dst.Addr(), false, layers.IPProtocolUDP, udp, payload))
}

// InterfaceStats appends a pcapng interface statistics block, a block that
// is not a packet and so has no frame number. WritePcap leaves it out.
func (b *Builder) InterfaceStats(iface int) {
	b.link(iface)
	b.recs = append(b.recs, record{kind: recStats, iface: iface, ts: b.now})
}

func (b *Builder) link(iface int) Link {
	if iface < 0 || iface >= len(b.links) {
		panic(fmt.Sprintf("pcapbuild: no interface %d", iface))
	}
	return b.links[iface]
}

// frame serializes an IP packet carrying transport (TCP or UDP, checksums
// computed over the pseudo-header) and prepends iface's link-layer header.
// toServer selects the link-layer addresses and the SLL packet type.
func (b *Builder) frame(iface int, src, dst netip.Addr, toServer bool, proto layers.IPProtocol, transport gopacket.SerializableLayer, payload []byte) []byte {
	l := b.link(iface)
	if src.Is4() != dst.Is4() {
		panic("pcapbuild: mixed IPv4 and IPv6 addresses")
	}
	var ip gopacket.NetworkLayer
	var ipl gopacket.SerializableLayer
	if src.Is4() {
		v4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, Flags: layers.IPv4DontFragment,
			SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		ip, ipl = v4, v4
	} else {
		v6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto,
			SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice())}
		ip, ipl = v6, v6
	}
	switch t := transport.(type) {
	case *layers.TCP:
		if err := t.SetNetworkLayerForChecksum(ip); err != nil {
			panic(err)
		}
	case *layers.UDP:
		if err := t.SetNetworkLayerForChecksum(ip); err != nil {
			panic(err)
		}
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ipl, transport, gopacket.Payload(payload)); err != nil {
		panic(err)
	}
	out := append(linkHeader(l, src.Is4(), toServer), buf.Bytes()...)
	if l.Type == layers.LinkTypeEthernet && l.Pad && len(out) < 60 {
		out = append(out, make([]byte, 60-len(out))...)
	}
	return out
}

// linkHeader builds the link-layer header for an IP packet.
func linkHeader(l Link, v4, toServer bool) []byte {
	ethType := uint16(layers.EthernetTypeIPv6)
	if v4 {
		ethType = uint16(layers.EthernetTypeIPv4)
	}
	clientMAC := []byte{0x02, 0, 0, 0, 0, 0x01}
	serverMAC := []byte{0x02, 0, 0, 0, 0, 0x02}
	srcMAC, dstMAC := clientMAC, serverMAC
	if !toServer {
		srcMAC, dstMAC = serverMAC, clientMAC
	}
	var h []byte
	switch l.Type {
	case layers.LinkTypeEthernet:
		h = append(append(h, dstMAC...), srcMAC...)
		for i, id := range l.VLAN {
			tpid := uint16(layers.EthernetTypeDot1Q)
			if i < len(l.VLAN)-1 {
				tpid = uint16(layers.EthernetTypeQinQ)
			}
			h = binary.BigEndian.AppendUint16(h, tpid)
			h = binary.BigEndian.AppendUint16(h, id&0x0fff)
		}
		h = binary.BigEndian.AppendUint16(h, ethType)
	case layers.LinkTypeLinuxSLL:
		pktType := uint16(0) // PACKET_HOST: addressed to us
		if !toServer {
			pktType = 4 // PACKET_OUTGOING
		}
		h = binary.BigEndian.AppendUint16(h, pktType)
		h = binary.BigEndian.AppendUint16(h, 1) // ARPHRD_ETHER
		h = binary.BigEndian.AppendUint16(h, 6)
		h = append(append(h, srcMAC...), 0, 0)
		h = binary.BigEndian.AppendUint16(h, ethType)
	case layers.LinkTypeLinuxSLL2:
		pktType := byte(0)
		if !toServer {
			pktType = 4
		}
		h = binary.BigEndian.AppendUint16(h, ethType)
		h = append(h, 0, 0)       // reserved
		h = append(h, 0, 0, 0, 2) // interface index
		h = append(h, 0, 1)       // ARPHRD_ETHER
		h = append(h, pktType, 6) // packet type, address length
		h = append(append(h, srcMAC...), 0, 0)
	case layers.LinkTypeNull:
		fam := uint32(2) // AF_INET
		if !v4 {
			fam = 24 // BSD AF_INET6
		}
		h = binary.LittleEndian.AppendUint32(h, fam) // host order of a little-endian capturer
	case layers.LinkTypeLoop:
		fam := uint32(2)
		if !v4 {
			fam = 24
		}
		h = binary.BigEndian.AppendUint32(h, fam)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
	default:
		panic(fmt.Sprintf("pcapbuild: unsupported link type %d", l.Type))
	}
	return h
}

// Conn writes the segments of one TCP connection. Sequence numbers are
// tracked per direction; every segment but the first SYN carries an ACK of
// everything the other side sent, dropped bytes included (the receiver got
// them, only the capture missed them).
type Conn struct {
	b       *Builder
	iface   int
	ep      [2]netip.AddrPort // ep[ToServer] is the client (sender toward the server)
	isn     [2]uint32
	next    [2]uint32 // next sequence number per direction
	sent    [2][]byte // stream history per direction, for Retransmit
	synSent [2]bool   // a SYN was sent in that direction
	Window  uint16
}

// Conn starts a connection on interface 0. Without Handshake the capture
// starts mid-connection. Default ISNs are 1000 (client) and 5000 (server).
func (b *Builder) Conn(client, server netip.AddrPort) *Conn { return b.ConnOn(0, client, server) }

// ConnOn starts a connection on interface iface.
func (b *Builder) ConnOn(iface int, client, server netip.AddrPort) *Conn {
	b.link(iface)
	c := &Conn{b: b, iface: iface, ep: [2]netip.AddrPort{client, server}, Window: 65535}
	c.SetISN(ToServer, 1000)
	c.SetISN(ToClient, 5000)
	return c
}

// SetISN sets the initial sequence number of dir; call it before sending.
func (c *Conn) SetISN(dir Dir, isn uint32) {
	c.isn[dir], c.next[dir] = isn, isn
}

// Seq returns the next sequence number dir will use.
func (c *Conn) Seq(dir Dir) uint32 { return c.next[dir] }

// Handshake writes SYN, SYN-ACK and ACK.
func (c *Conn) Handshake() {
	c.Segment(ToServer, c.next[ToServer], SYN, nil)
	c.next[ToServer]++
	c.synSent[ToServer] = true
	c.Segment(ToClient, c.next[ToClient], SYN|ACK, nil)
	c.next[ToClient]++
	c.synSent[ToClient] = true
	c.Ack(ToServer)
}

// Send writes payload from dir as one segment.
func (c *Conn) Send(dir Dir, payload []byte) {
	c.Segment(dir, c.next[dir], PSH|ACK, payload)
	c.advance(dir, payload)
}

// SendSplit writes payload as several segments cut at the given offsets.
func (c *Conn) SendSplit(dir Dir, payload []byte, cuts ...int) {
	for _, p := range split(payload, cuts) {
		c.Send(dir, p)
	}
}

// SendOutOfOrder cuts payload at cuts and writes the pieces in the order
// given by order (indexes into the pieces; pieces not named are dropped from
// the capture but still count as sent).
func (c *Conn) SendOutOfOrder(dir Dir, payload []byte, cuts []int, order ...int) {
	pieces := split(payload, cuts)
	base := c.next[dir]
	offs := make([]uint32, len(pieces))
	off := uint32(0)
	for i, p := range pieces {
		offs[i] = off
		off += uint32(len(p))
	}
	for _, i := range order {
		c.Segment(dir, base+offs[i], PSH|ACK, pieces[i])
	}
	c.advance(dir, payload)
}

// Retransmit writes again n bytes of dir's stream starting at stream offset
// off (0 is the first byte after the SYN, or the first byte sent).
func (c *Conn) Retransmit(dir Dir, off, n int) {
	if off < 0 || n < 0 || off+n > len(c.sent[dir]) {
		panic("pcapbuild: Retransmit beyond the bytes sent")
	}
	c.Segment(dir, c.streamStart(dir)+uint32(off), PSH|ACK, c.sent[dir][off:off+n])
}

// Drop advances dir's sequence number by n bytes without writing them: the
// bytes were sent but the capture lost them (they read as zeros if
// retransmitted later).
func (c *Conn) Drop(dir Dir, n int) {
	c.advance(dir, make([]byte, n))
}

// Ack writes a pure ACK from dir acknowledging all that the other side sent.
func (c *Conn) Ack(dir Dir) { c.Segment(dir, c.next[dir], ACK, nil) }

// Fin writes a FIN from dir.
func (c *Conn) Fin(dir Dir) {
	c.Segment(dir, c.next[dir], FIN|ACK, nil)
	c.next[dir]++
}

// Close writes FIN from the client, FIN from the server, and the last ACK.
func (c *Conn) Close() {
	c.Fin(ToServer)
	c.Fin(ToClient)
	c.Ack(ToServer)
}

// Reset writes an RST from dir.
func (c *Conn) Reset(dir Dir) { c.Segment(dir, c.next[dir], RST|ACK, nil) }

// Segment writes one arbitrary segment from dir without changing the
// Conn's sequence state. The ACK number is the other side's next sequence
// number when flags has ACK.
func (c *Conn) Segment(dir Dir, seq uint32, flags Flags, payload []byte) {
	src, dst := c.ep[ToServer], c.ep[ToClient]
	if dir == ToClient {
		src, dst = dst, src
	}
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: seq, Window: c.Window,
		FIN: flags&FIN != 0, SYN: flags&SYN != 0, RST: flags&RST != 0,
		PSH: flags&PSH != 0, ACK: flags&ACK != 0,
	}
	if tcp.ACK {
		tcp.Ack = c.next[dir.other()]
	}
	if tcp.SYN {
		// An MSS option, as real stacks send, so the header has options.
		tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}
	}
	b := c.b
	b.now = b.now.Add(b.opts.Step)
	data := b.frame(c.iface, src.Addr(), dst.Addr(), dir == ToServer, layers.IPProtocolTCP, tcp, payload)
	b.recs = append(b.recs, record{kind: recPacket, iface: c.iface, ts: b.now, data: data})
}

func (c *Conn) streamStart(dir Dir) uint32 {
	if c.synSent[dir] {
		return c.isn[dir] + 1
	}
	return c.isn[dir]
}

func (c *Conn) advance(dir Dir, p []byte) {
	c.sent[dir] = append(c.sent[dir], p...)
	c.next[dir] += uint32(len(p))
}

func split(p []byte, cuts []int) [][]byte {
	var out [][]byte
	prev := 0
	for _, c := range cuts {
		if c < prev || c > len(p) {
			panic("pcapbuild: cuts must be ascending offsets within the payload")
		}
		out = append(out, p[prev:c])
		prev = c
	}
	return append(out, p[prev:])
}

// capture returns a record's captured bytes and original length.
func (b *Builder) capture(r record) ([]byte, gopacket.CaptureInfo) {
	data := r.data
	ci := gopacket.CaptureInfo{Timestamp: r.ts, Length: len(data), InterfaceIndex: r.iface}
	if b.opts.Snaplen > 0 && len(data) > int(b.opts.Snaplen) {
		data = data[:b.opts.Snaplen]
	}
	ci.CaptureLength = len(data)
	return data, ci
}

func (b *Builder) snaplen() uint32 {
	if b.opts.Snaplen > 0 {
		return b.opts.Snaplen
	}
	return 262144
}

// WritePcap writes the records as a classic pcap file. All interfaces must
// share one link type.
func (b *Builder) WritePcap(w io.Writer) error {
	for _, l := range b.links[1:] {
		if l.Type != b.links[0].Type {
			return fmt.Errorf("pcapbuild: pcap cannot mix link types %d and %d; use WritePcapng", b.links[0].Type, l.Type)
		}
	}
	var buf bytes.Buffer
	pw := pcapgo.NewWriter(&buf)
	if b.opts.Nanos {
		pw = pcapgo.NewWriterNanos(&buf)
	}
	if err := pw.WriteFileHeader(b.snaplen(), b.links[0].Type); err != nil {
		return err
	}
	for _, r := range b.recs {
		if r.kind != recPacket {
			continue
		}
		data, ci := b.capture(r)
		if err := pw.WritePacket(ci, data); err != nil {
			return err
		}
	}
	out := buf.Bytes()
	if b.opts.BigEndian {
		swapPcap(out)
	}
	_, err := w.Write(out)
	return err
}

// WritePcapng writes the records as a pcapng file with one interface
// description block per interface.
func (b *Builder) WritePcapng(w io.Writer) error {
	var buf bytes.Buffer
	intf := pcapgo.DefaultNgInterface
	intf.LinkType = b.links[0].Type
	intf.SnapLength = b.opts.Snaplen
	intf.Name = "if0"
	nw, err := pcapgo.NewNgWriterInterface(&buf, intf, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		return err
	}
	for i, l := range b.links[1:] {
		intf.LinkType = l.Type
		intf.Name = fmt.Sprintf("if%d", i+1)
		if _, err := nw.AddInterface(intf); err != nil {
			return err
		}
	}
	for _, r := range b.recs {
		switch r.kind {
		case recPacket:
			data, ci := b.capture(r)
			err = nw.WritePacket(ci, data)
		case recStats:
			err = nw.WriteInterfaceStats(r.iface, pcapgo.NgInterfaceStatistics{
				LastUpdate: r.ts, PacketsReceived: pcapgo.NgNoValue64, PacketsDropped: 0})
		}
		if err != nil {
			return err
		}
	}
	if err := nw.Flush(); err != nil {
		return err
	}
	out := buf.Bytes()
	if b.opts.BigEndian {
		if err := swapPcapng(out); err != nil {
			return err
		}
	}
	_, err = w.Write(out)
	return err
}

// Pcap returns the capture as pcap bytes; it panics on error (tests only).
func (b *Builder) Pcap() []byte {
	var buf bytes.Buffer
	if err := b.WritePcap(&buf); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Pcapng returns the capture as pcapng bytes; it panics on error.
func (b *Builder) Pcapng() []byte {
	var buf bytes.Buffer
	if err := b.WritePcapng(&buf); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Varint encodes n (>= 0) as an MQTT variable byte integer (MQTT 5.0
// §1.5.5), with as many bytes as it takes: tests that build MQTT packets
// by hand write Remaining Lengths and property lengths with it, including
// lengths longer than the standard's four bytes.
func Varint(n int) []byte {
	var b []byte
	for {
		c := byte(n % 128)
		n /= 128
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}
