package dissect

import (
	"net/netip"
	"time"
)

// Frame is one captured packet that carries TCP to or from a watched port.
//
// Buffer lifetime: Payload aliases the capture reader's buffer and is valid
// only until the next call to CaptureReader.Next.
type Frame struct {
	Number  int       // 1-based position in the capture file, counting every record, as Wireshark numbers frames
	Time    time.Time // capture timestamp
	Src     netip.AddrPort
	Dst     netip.AddrPort
	Seq     uint32 // TCP sequence number of the first payload byte
	Ack     uint32 // TCP acknowledgement number (valid when Flags has TCPAck)
	Flags   TCPFlags
	Payload []byte // TCP payload, cut to the IP datagram length (no Ethernet padding)
	// PayloadLen is the TCP payload length the IP header declares. It is
	// larger than len(Payload) only when Truncated; consumers treat a value
	// below len(Payload), such as 0 in a hand-built Frame, as len(Payload).
	PayloadLen int
	// Truncated is true when the capture's snap length cut this frame's payload.
	Truncated bool
	// WireLen is the frame's original length on the wire.
	WireLen int
}

// TCPFlags is the subset of TCP header flags the reassembler cares about.
type TCPFlags uint8

// TCP flags.
const (
	TCPFin TCPFlags = 1 << iota
	TCPSyn
	TCPRst
	TCPAck
)

// Direction tells which way a stream's bytes flow. The server is the side whose
// port is one of the watched ports (1883 by default).
type Direction uint8

// Directions of a TCP connection.
const (
	ToServer Direction = iota
	ToClient
)

func (d Direction) String() string {
	if d == ToServer {
		return "to-server"
	}
	return "to-client"
}

// ConnKey names one TCP connection by its client and server endpoints.
type ConnKey struct {
	Client netip.AddrPort
	Server netip.AddrPort
}

// StreamHandler receives the in-order bytes of both directions of one TCP
// connection from the Assembler.
//
// Buffer lifetime: data passed to Data is valid only during the call.
type StreamHandler interface {
	// Data delivers bytes that directly follow the previous bytes of this
	// direction. f is the frame that carried them; bytes held back while a
	// hole before them was unresolved come later, with their own (older)
	// frame's number and time.
	Data(dir Direction, data []byte, f *Frame)
	// Gap reports that lost bytes (not present in the capture) precede the
	// next Data of this direction; lost is the number of missing bytes when
	// known, or -1. The handler must not decode across a gap.
	Gap(dir Direction, lost int, f *Frame)
	// Close is called once when the connection ends (FIN from both sides,
	// RST, or the end of the capture when atEOF is true). end is the frame
	// whose FIN or RST closed it, nil when the capture ended first.
	Close(end *Frame, atEOF bool)
}
