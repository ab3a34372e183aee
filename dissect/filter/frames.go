package filter

import "github.com/mqttdissect/mqttdissect/dissect"

// FrameBuffer gathers the MQTT packets one frame completed, copying them:
// the decoder reuses its PDU and Packet, and Wireshark filters and prints
// whole frames. Its storage is reused from frame to frame.
type FrameBuffer struct {
	frame int
	n     int
	store []*pduCopy
	pdus  []*dissect.PDU
}

type pduCopy struct {
	pdu   dissect.PDU
	pkt   dissect.Packet
	nodes []dissect.Node
	buf   []byte
}

// Frame is the number of the frame gathered, 0 when the buffer is empty.
func (b *FrameBuffer) Frame() int { return b.frame }

// Len is the number of packets gathered.
func (b *FrameBuffer) Len() int { return b.n }

// PDUs returns the gathered packets; they stay valid until Reset.
func (b *FrameBuffer) PDUs() []*dissect.PDU { return b.pdus[:b.n] }

// maxKept is the largest copy buffer kept for reuse: a frame that
// completed a large packet does not leave its memory behind.
const maxKept = 1 << 20

// Reset empties the buffer.
func (b *FrameBuffer) Reset() {
	for _, c := range b.store[:b.n] {
		if cap(c.buf) > maxKept {
			c.buf = nil
		}
	}
	b.frame, b.n = 0, 0
}

// Add copies p into the buffer. The copy keeps what filters and field
// columns read: the frame's metadata, the packet's bytes, type and nodes.
func (b *FrameBuffer) Add(p *dissect.PDU) {
	if b.n == len(b.store) {
		b.store = append(b.store, &pduCopy{})
		b.pdus = append(b.pdus, nil)
	}
	c := b.store[b.n]
	src := p.Packet
	size := len(src.Raw)
	for i := range src.Nodes {
		size += len(src.Nodes[i].Raw)
	}
	if cap(c.buf) < size {
		c.buf = make([]byte, 0, size)
	}
	c.buf = append(c.buf[:0], src.Raw...)
	c.nodes = append(c.nodes[:0], src.Nodes...)
	for i := range c.nodes {
		n := &c.nodes[i]
		if n.Raw != nil {
			start := len(c.buf)
			c.buf = append(c.buf, n.Raw...)
			n.Raw = c.buf[start:len(c.buf):len(c.buf)]
		}
	}
	c.pkt = dissect.Packet{Type: src.Type, Flags: src.Flags, Version: src.Version, Len: src.Len,
		Raw: c.buf[:len(src.Raw):len(src.Raw)], Nodes: c.nodes, Malformed: src.Malformed,
		PacketID: src.PacketID, ReasonCode: src.ReasonCode, TopicAlias: src.TopicAlias, KeepAlive: src.KeepAlive, ProtoLevel: src.ProtoLevel}
	c.pdu = *p
	c.pdu.Packet = &c.pkt
	b.pdus[b.n] = &c.pdu
	b.n++
	b.frame = p.Frame
}
