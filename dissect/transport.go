package dissect

import (
	"fmt"
	"time"
)

// Transports under MQTT.
//
// MQTT travels over plain TCP (1883), over TLS (8883), over WebSocket
// (RFC 6455; MQTT 5.0 §6, MQTT 3.1.1 §6) and over WebSocket inside TLS.
// Every connection of a watched port starts with a sniffer that looks at
// its first bytes and stacks the layers it finds (TLS, then an HTTP
// Upgrade to WebSocket) under the same MQTT stream framing as TCP.

// Transport names the layers an MQTT packet travelled in.
type Transport uint8

// Transports, in the words stats and JSONL use.
const (
	TransportTCP Transport = iota
	TransportTLS
	TransportWS
	TransportWSS
)

var transportNames = [...]string{"tcp", "tls", "ws", "wss"}

func (t Transport) String() string {
	if int(t) < len(transportNames) {
		return transportNames[t]
	}
	return fmt.Sprintf("transport(%d)", uint8(t))
}

// Default ports of the layered transports (IANA: 8883 secure-mqtt; the
// WebSocket ports are those brokers and cloud services use by default).
var (
	DefaultWSPorts  = []uint16{80, 8080, 8083, 9001}
	DefaultTLSPorts = []uint16{8883, 443}
)

// TransportConfig configures the layers under MQTT.
type TransportConfig struct {
	// WSPorts and TLSPorts are watched besides the MQTT ports; nil means
	// the defaults, an empty non-nil slice none.
	WSPorts  []uint16
	TLSPorts []uint16
	// KeyLog holds TLS secrets (NSS key log format); nil decrypts nothing.
	KeyLog *KeyLog
	// MQTTPorts are the plain MQTT ports (1883 when empty); Run sets them.
	MQTTPorts []uint16
}

// ConnNote is something said about a whole connection rather than one MQTT
// packet: TLS traffic that could not be decrypted, a WebSocket upgrade to
// another subprotocol, a record-layer error.
type ConnNote struct {
	Conn    ConnKey
	Kind    NoteKind
	Frame   int // the frame the note is about (the latest one of the connection when it closed)
	Time    time.Time
	Message string
}

// NoteKind sorts connection notes for reports.
type NoteKind uint8

// Kinds of connection notes.
const (
	NoteTLSNotDecrypted NoteKind = iota // TLS whose keys are missing, or a suite not decrypted
	NoteTLSError                        // a record-layer error: bad MAC, unknown record, lost bytes, fatal alert
	NoteWSNotRead                       // WebSocket not read: another subprotocol, refused or missing upgrade
	NoteWSFraming                       // WebSocket framing RFC 6455 forbids, or a close with an error
)

var noteKindNames = [...]string{"tls.not_decrypted", "tls.error", "websocket.not_read", "websocket.framing"}

func (k NoteKind) String() string {
	if int(k) < len(noteKindNames) {
		return noteKindNames[k]
	}
	return fmt.Sprintf("note_kind(%d)", uint8(k))
}

func (n ConnNote) String() string {
	return fmt.Sprintf("frame %d, %s -> %s: %s", n.Frame, n.Conn.Client, n.Conn.Server, n.Message)
}

// Via describes the layers between TCP and an MQTT packet.
type Via struct {
	Transport Transport
	// WS is the WebSocket frame whose payload completed the packet (ws, wss).
	WS *WSFrame
	// TLS describes the TLS session (tls, wss).
	TLS *TLSInfo
}

// ports returns the ports the transports add to the MQTT ports.
func (c *TransportConfig) ports() (ws, tls []uint16) {
	if c == nil {
		return DefaultWSPorts, DefaultTLSPorts
	}
	ws, tls = c.WSPorts, c.TLSPorts
	if ws == nil {
		ws = DefaultWSPorts
	}
	if tls == nil {
		tls = DefaultTLSPorts
	}
	return ws, tls
}

// watchedPorts is the union of the MQTT ports (1883 when empty) and the
// transports' ports.
func watchedPorts(mqtt []uint16, tc *TransportConfig) []uint16 {
	if len(mqtt) == 0 {
		mqtt = []uint16{DefaultPort}
	}
	ws, tls := tc.ports()
	out := append([]uint16(nil), mqtt...)
	out = append(out, ws...)
	return append(out, tls...)
}

// transportShared is the per-run state of the transport layers.
type transportShared struct {
	cfg      *TransportConfig
	mqttPort portSet
	wsPort   portSet
	tlsPort  portSet
	onNote   func(ConnNote)
	// wsScratch and tlsScratch are the unmasking and decryption buffers,
	// reused: data handed up a layer is valid only during the call.
	wsScratch  []byte
	tlsScratch []byte
	// plainHTTP counts connections of WebSocket ports that carried HTTP
	// without an Upgrade.
	plainHTTP int
	// quietTLS counts undecrypted TLS connections to port 443.
	quietTLS int
}

// newTransportShared returns nil when cfg is nil: no transport layers.
func newTransportShared(cfg *TransportConfig, onNote func(ConnNote)) *transportShared {
	if cfg == nil {
		return nil
	}
	ts := &transportShared{cfg: cfg, onNote: onNote}
	ws, tls := cfg.ports()
	ts.mqttPort.set(cfg.MQTTPorts)
	ts.wsPort.setExact(ws)
	ts.tlsPort.setExact(tls)
	return ts
}

func (s *portSet) setExact(ports []uint16) {
	for _, p := range ports {
		s[p/64] |= 1 << (p % 64)
	}
}

func (ts *transportShared) note(key ConnKey, f *Frame, kind NoteKind, format string, args ...any) {
	if ts.onNote == nil {
		return
	}
	n := ConnNote{Conn: key, Kind: kind, Message: fmt.Sprintf(format, args...)}
	if f != nil {
		n.Frame, n.Time = f.Number, f.Time
	}
	ts.onNote(n)
}

// sniffer decides a connection's layers from its first bytes, then hands
// everything to the layer stack it built.
type sniffer struct {
	ts    *transportShared
	key   ConnKey
	inner StreamHandler // the MQTT stream (or the layer above TLS)
	via   *Via
	next  StreamHandler // decided stack, nil while undecided
	// tlsAllowed is false above TLS (no TLS inside TLS).
	tlsAllowed bool
	// wsOnly is set on WebSocket-only ports: bytes that are not an
	// upgrade are not MQTT there.
	wsOnly bool
	last   Frame
}

// wrap returns the handler stack for a new connection whose MQTT
// stream is m.
func (ts *transportShared) wrap(key ConnKey, m *mqttStream) StreamHandler {
	if ts == nil {
		return m
	}
	mqttPort := ts.mqttPort.has(key.Server.Port())
	via := &Via{}
	m.via = via
	sn := &sniffer{ts: ts, key: key, inner: m, via: via, tlsAllowed: true}
	sn.wsOnly = !mqttPort && !ts.tlsPort.has(key.Server.Port())
	return sn
}

// looksTLS reports whether b starts with a TLS record header: a content
// type of TLS 1.2/1.3 (20-23) and a 3.x version. A CONNECT packet can never
// start so (its fixed-header flags must be 0, MQTT 5.0 §2.1.3).
func looksTLS(b []byte, handshakeOnly bool) bool {
	if len(b) < 3 || b[1] != 3 || b[2] > 4 {
		return false
	}
	if handshakeOnly {
		// Off the TLS ports only a ClientHello opens TLS.
		return b[0] == recHandshake && (len(b) < 6 || b[5] == 1)
	}
	return b[0] >= recChangeCipherSpec && b[0] <= recApplicationData
}

func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

func (s *sniffer) Data(dir Direction, data []byte, f *Frame) {
	s.last.Number, s.last.Time = f.Number, f.Time
	if s.next == nil {
		s.decide(dir, data)
	}
	s.next.Data(dir, data, f)
}

func (s *sniffer) plain() StreamHandler {
	if s.wsOnly {
		return &dropHandler{}
	}
	return s.inner
}

func (s *sniffer) decide(dir Direction, data []byte) {
	port := s.key.Server.Port()
	switch {
	case s.tlsAllowed && looksTLS(data, !s.ts.tlsPort.has(port)):
		// Above TLS, port 443 is HTTPS unless a WebSocket upgrade says
		// otherwise; other TLS ports carry MQTT directly.
		up := &sniffer{ts: s.ts, key: s.key, inner: s.inner, via: s.via, wsOnly: port == httpsPort || (s.wsOnly && !s.ts.tlsPort.has(port))}
		s.via.Transport = TransportTLS
		s.next = newTLSLayer(s.ts, s.key, up, s.via)
	case dir == ToServer && hasPrefix(data, "GET "), dir == ToClient && hasPrefix(data, "HTTP/1."):
		if s.via.Transport == TransportTLS {
			s.via.Transport = TransportWSS
		} else {
			s.via.Transport = TransportWS
		}
		s.next = newWSLayer(s.ts, s.key, s.inner, s.via)
	default:
		if s.wsOnly && !httpLike(data) {
			// WebSocket frames without their upgrade: the capture started
			// mid-connection, and the subprotocol is unknown.
			s.ts.note(s.key, &s.last, NoteWSNotRead, "no WebSocket upgrade at the start of this connection (did the capture start after it?): not read")
		}
		s.next = s.plain()
	}
}

// httpLike says whether b starts like HTTP/1.x: a method name and a space,
// or a status line. Used to skip plain HTTP quietly on WebSocket ports.
func httpLike(b []byte) bool {
	if hasPrefix(b, "HTTP/") {
		return true
	}
	for i, c := range b {
		switch {
		case c == ' ' && i > 0:
			return true
		case c < 'A' || c > 'Z' || i >= 10:
			return false
		}
	}
	return false
}

func (s *sniffer) Gap(dir Direction, lost int, f *Frame) {
	if s.next == nil {
		// Nothing seen yet: the first bytes will decide.
		return
	}
	s.next.Gap(dir, lost, f)
}

func (s *sniffer) Close(end *Frame, atEOF bool) {
	if s.next == nil {
		s.next = s.plain()
	}
	s.next.Close(end, atEOF)
}

// Evict tells the MQTT layer that the Assembler drops the connection for
// its ceiling; the layers between hold nothing worth a note.
func (s *sniffer) Evict(f *Frame) {
	if e, ok := s.inner.(Evicter); ok {
		e.Evict(f)
	}
}

// dropHandler ignores a connection that carries no MQTT.
type dropHandler struct{}

func (*dropHandler) Data(Direction, []byte, *Frame) {}
func (*dropHandler) Gap(Direction, int, *Frame)     {}
func (*dropHandler) Close(*Frame, bool)             {}
