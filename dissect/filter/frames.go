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
	pdu dissect.PDU
	pkt dissect.Packet
	buf []byte
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

// Add copies p into the buffer.
func (b *FrameBuffer) Add(p *dissect.PDU) {
	if b.n == len(b.store) {
		b.store = append(b.store, &pduCopy{})
		b.pdus = append(b.pdus, nil)
	}
	c := b.store[b.n]
	c.buf = p.Packet.CopyTo(&c.pkt, c.buf)
	c.pdu = *p
	c.pdu.Packet = &c.pkt
	b.pdus[b.n] = &c.pdu
	b.n++
	b.frame = p.Frame
}
