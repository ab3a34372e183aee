package dissect

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
)

// MQTT over WebSocket (RFC 6455; MQTT 5.0 §6, MQTT 3.1.1 §6).
//
// The client opens with an HTTP/1.1 Upgrade offering the subprotocol
// "mqtt" ("mqttv3.1" for MQTT 3.1); after the server's 101 both sides send
// WebSocket frames. MQTT packets are carried in binary data messages, and
// the standard lets one message hold several packets or one packet span
// messages (MQTT 5.0 §6: "the receiver MUST NOT assume that MQTT Control
// Packets are aligned on WebSocket frame boundaries"). So the layer does not
// rebuild messages: it streams the unmasked payload of every data frame
// into the same MQTT stream framing as TCP, keeping only a frame header (at
// most 14 bytes) and a control frame's payload (at most 125 bytes).

// WebSocket opcodes (RFC 6455 §5.2, §11.8).
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
	wsPing         = 0x9
	wsPong         = 0xa
)

const (
	// maxHTTPHeader bounds the Upgrade request or response kept while its
	// end is awaited; real ones are a few hundred bytes.
	maxHTTPHeader = 16 << 10
	// maxControlPayload is RFC 6455 §5.5's limit on a control frame.
	maxControlPayload = 125
	// maxConnNotes bounds the notes one connection's layers say.
	maxConnNotes = 10
)

// WSFrame is the header of one WebSocket frame, with Wireshark's names.
type WSFrame struct {
	Frame      int    // capture frame holding the frame's first byte
	Fin        bool   // websocket.fin
	RSV        uint8  // websocket.rsv: the three reserved bits
	Opcode     uint8  // websocket.opcode
	Masked     bool   // websocket.mask
	Len7       uint8  // websocket.payload_length: the 7-bit field
	PayloadLen uint64 // the payload length (websocket.payload_length_ext_16/64 when Len7 is 126/127)
	MaskKey    [4]byte
}

var wsOpcodeNames = map[uint8]string{
	wsContinuation: "Continuation",
	wsText:         "Text",
	wsBinary:       "Binary",
	wsClose:        "Connection Close",
	wsPing:         "Ping",
	wsPong:         "Pong",
}

// OpcodeName is Wireshark's name of the frame's opcode.
func (w *WSFrame) OpcodeName() string {
	if s, ok := wsOpcodeNames[w.Opcode]; ok {
		return s
	}
	return "Unknown"
}

// WSFields lists the frame's fields as [name, value] pairs in Wireshark's
// tree order: value is a bool, uint64 or string.
func (w *WSFrame) WSFields() [][2]any {
	out := [][2]any{
		{"websocket.fin", w.Fin},
		{"websocket.rsv", uint64(w.RSV)},
		{"websocket.opcode", uint64(w.Opcode)},
		{"websocket.mask", w.Masked},
		{"websocket.payload_length", uint64(w.Len7)},
	}
	switch w.Len7 {
	case 126:
		out = append(out, [2]any{"websocket.payload_length_ext_16", w.PayloadLen})
	case 127:
		out = append(out, [2]any{"websocket.payload_length_ext_64", w.PayloadLen})
	}
	if w.Masked {
		out = append(out, [2]any{"websocket.masking_key", string(hexBytes(w.MaskKey[:]))})
	}
	return out
}

func hexBytes(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

// WebSocket close status codes (RFC 6455 §7.4.1) Wireshark names.
var wsCloseNames = map[uint16]string{
	1000: "Normal Closure", 1001: "Going Away", 1002: "Protocol error",
	1003: "Unsupported Data", 1005: "No Status Rcvd", 1006: "Abnormal Closure",
	1007: "Invalid frame payload data", 1008: "Policy Violation", 1009: "Message Too Big",
	1010: "Mandatory Ext.", 1011: "Internal Server", 1015: "TLS handshake",
}

type wsPhase uint8

const (
	wsHTTP   wsPhase = iota // reading the Upgrade request or response
	wsFrames                // reading frames
	wsLost                  // framing lost after a gap: looking for a frame header
	wsDead                  // not MQTT over WebSocket: ignore the rest
)

// wsHalf is one direction of a WebSocket connection.
type wsHalf struct {
	phase    wsPhase
	http     []byte // the HTTP header so far
	hdr      [14]byte
	hdrN     int // header bytes read
	frame    WSFrame
	left     uint64 // payload bytes of the frame still to come
	inBody   bool   // reading the frame's payload
	maskPos  int    // position in the masking key of the next payload byte
	ctl      []byte // a control frame's payload (at most 125 bytes kept)
	msgOpen  bool   // a fragmented data message awaits its continuation
	closed   bool   // a Close frame was sent
	textSaid bool
}

// wsLayer reads WebSocket under an MQTT stream.
type wsLayer struct {
	connNoter
	inner StreamHandler
	via   *Via
	half  [2]wsHalf
	last  Frame
}

func newWSLayer(ts *transportShared, key ConnKey, inner StreamHandler, via *Via) *wsLayer {
	return &wsLayer{connNoter: connNoter{ts: ts, key: key, layer: "WebSocket"}, inner: inner, via: via}
}

// connNoter says what a layer under MQTT has to say about one connection,
// at most maxConnNotes times: a broken stream must not flood the output.
type connNoter struct {
	ts    *transportShared
	key   ConnKey
	layer string // "TLS", "WebSocket": named in the last note
	notes int
}

func (c *connNoter) note(f *Frame, kind NoteKind, format string, args ...any) {
	c.notes++
	switch {
	case c.notes < maxConnNotes:
		c.ts.note(c.key, f, kind, format, args...)
	case c.notes == maxConnNotes:
		c.ts.note(c.key, f, kind, "further %s notes on this connection not shown", c.layer)
	}
}

func (w *wsLayer) Data(dir Direction, data []byte, f *Frame) {
	w.last.Number, w.last.Time = f.Number, f.Time
	h := &w.half[dir&1]
	for len(data) > 0 {
		switch h.phase {
		case wsDead:
			return
		case wsHTTP:
			data = w.httpHeader(h, dir, data, f)
		case wsLost:
			if !w.plausibleFrame(dir, data) {
				return // wait for a segment that starts with a frame
			}
			h.phase, h.hdrN, h.inBody, h.msgOpen = wsFrames, 0, false, false
		case wsFrames:
			if h.inBody {
				data = w.payload(h, dir, data, f)
			} else {
				data = w.header(h, dir, data, f)
			}
		}
	}
}

// httpHeader collects the Upgrade request or response and returns the bytes
// after its blank line.
func (w *wsLayer) httpHeader(h *wsHalf, dir Direction, data []byte, f *Frame) []byte {
	// Search from a little before the new bytes for the blank line.
	from := max(len(h.http)-3, 0)
	room := maxHTTPHeader - len(h.http)
	take := min(room, len(data))
	h.http = append(h.http, data[:take]...)
	i := bytes.Index(h.http[from:], []byte("\r\n\r\n"))
	if i < 0 {
		if len(h.http) >= maxHTTPHeader {
			w.note(f, NoteWSNotRead, "HTTP header over %d bytes without its end: WebSocket not read", maxHTTPHeader)
			w.kill()
		}
		return nil
	}
	end := from + i + 4
	rest := data[take-(len(h.http)-end):]
	head := string(h.http[:end])
	h.http = nil
	if dir == ToServer {
		w.request(head, f)
	} else {
		w.response(head, f)
	}
	if h.phase == wsHTTP {
		h.phase = wsFrames
	}
	return rest
}

// headerValue returns the value of an HTTP header field (case-insensitive
// name), "" when absent.
func headerValue(head, name string) string {
	for _, line := range strings.Split(head, "\r\n")[1:] {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// mqttSubprotocol reports whether a Sec-WebSocket-Protocol list names MQTT
// ("mqtt", MQTT 5.0 §6 and 3.1.1 §6; "mqttv3.1" for MQTT 3.1).
func mqttSubprotocol(list string) bool {
	for _, p := range strings.Split(list, ",") {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "mqtt", "mqttv3.1":
			return true
		}
	}
	return false
}

func (w *wsLayer) request(head string, f *Frame) {
	if !strings.EqualFold(headerValue(head, "Upgrade"), "websocket") {
		w.ts.plainHTTP++
		w.kill()
		return
	}
	if p := headerValue(head, "Sec-WebSocket-Protocol"); p != "" && !mqttSubprotocol(p) {
		w.note(f, NoteWSNotRead, "WebSocket subprotocol %q is not MQTT: not read", p)
		w.kill()
	}
}

func (w *wsLayer) response(head string, f *Frame) {
	status, _, _ := strings.Cut(head, "\r\n")
	fields := strings.Fields(status)
	if len(fields) < 2 || fields[1] != "101" {
		if w.half[ToServer].phase != wsDead {
			w.note(f, NoteWSFraming, "WebSocket upgrade refused: %s", strconv.Quote(status))
		}
		w.kill()
		return
	}
	if p := headerValue(head, "Sec-WebSocket-Protocol"); p != "" && !mqttSubprotocol(p) {
		w.note(f, NoteWSNotRead, "WebSocket subprotocol %q is not MQTT: not read", p)
		w.kill()
	}
}

func (w *wsLayer) kill() {
	w.half[0].phase, w.half[1].phase = wsDead, wsDead
	w.half[0].http, w.half[1].http = nil, nil
}

// plausibleFrame says whether data could start a frame of dir: FIN set or a
// data opcode, a known opcode, no reserved bits, and the mask bit the
// direction requires (RFC 6455 §5.1). It is used only to resume after lost
// bytes.
func (w *wsLayer) plausibleFrame(dir Direction, data []byte) bool {
	if len(data) < 2 || data[0]&0x70 != 0 {
		return false
	}
	if _, ok := wsOpcodeNames[data[0]&0x0f]; !ok || data[0]&0x0f == wsContinuation {
		return false
	}
	return (data[1]&0x80 != 0) == (dir == ToServer)
}

// header reads a frame header and returns the bytes after it.
func (w *wsLayer) header(h *wsHalf, dir Direction, data []byte, f *Frame) []byte {
	if h.hdrN == 0 {
		h.frame = WSFrame{Frame: f.Number}
	}
	need := 2
	for {
		if h.hdrN >= 2 {
			need = 2
			switch h.hdr[1] & 0x7f {
			case 126:
				need += 2
			case 127:
				need += 8
			}
			if h.hdr[1]&0x80 != 0 {
				need += 4
			}
		}
		if h.hdrN >= need {
			break
		}
		if len(data) == 0 {
			return nil
		}
		n := copy(h.hdr[h.hdrN:need], data)
		h.hdrN += n
		data = data[n:]
	}
	b := h.hdr[:need]
	fr := &h.frame
	fr.Fin = b[0]&0x80 != 0
	fr.RSV = b[0] >> 4 & 7
	fr.Opcode = b[0] & 0x0f
	fr.Masked = b[1]&0x80 != 0
	fr.Len7 = b[1] & 0x7f
	k := 2
	switch fr.Len7 {
	case 126:
		fr.PayloadLen = uint64(binary.BigEndian.Uint16(b[2:]))
		k = 4
	case 127:
		fr.PayloadLen = binary.BigEndian.Uint64(b[2:])
		k = 10
	default:
		fr.PayloadLen = uint64(fr.Len7)
	}
	if fr.Masked {
		copy(fr.MaskKey[:], b[k:k+4])
	}
	h.hdrN = 0
	if fr.PayloadLen >= 1<<63 {
		// RFC 6455 §5.2: "the most significant bit MUST be 0". The frame's
		// end is unknowable: look for the next frame.
		w.note(f, NoteWSFraming, "WebSocket frame length %d has its top bit set (RFC 6455 §5.2): frames lost until the next plausible one", fr.PayloadLen)
		w.lose(h, dir, f)
		return data
	}
	w.check(h, dir, f)
	h.left, h.inBody, h.maskPos, h.ctl = fr.PayloadLen, true, 0, h.ctl[:0]
	if h.left == 0 {
		w.frameEnd(h, dir, f)
	}
	return data
}

// check notes what RFC 6455 and MQTT forbid in a frame header; the frame
// is still read.
func (w *wsLayer) check(h *wsHalf, dir Direction, f *Frame) {
	fr := &h.frame
	if fr.RSV != 0 {
		w.note(f, NoteWSFraming, "WebSocket frame with reserved bits %#x and no extension negotiated (RFC 6455 §5.2)", fr.RSV)
	}
	if fr.Masked != (dir == ToServer) {
		if dir == ToServer {
			w.note(f, NoteWSFraming, "WebSocket frame from the client not masked (RFC 6455 §5.1)")
		} else {
			w.note(f, NoteWSFraming, "WebSocket frame from the server masked (RFC 6455 §5.1)")
		}
	}
	switch op := fr.Opcode; {
	case op >= wsClose:
		if _, ok := wsOpcodeNames[op]; !ok {
			w.note(f, NoteWSFraming, "WebSocket frame with reserved opcode %#x: payload skipped (RFC 6455 §5.2)", op)
		} else if !fr.Fin || fr.PayloadLen > maxControlPayload {
			w.note(f, NoteWSFraming, "WebSocket control frame fragmented or over 125 bytes (RFC 6455 §5.5)")
		}
	case op == wsContinuation:
		if !h.msgOpen {
			w.note(f, NoteWSFraming, "WebSocket continuation frame without a message to continue (RFC 6455 §5.4)")
		}
	case op == wsText || op == wsBinary:
		if h.msgOpen {
			w.note(f, NoteWSFraming, "WebSocket data frame inside a fragmented message (RFC 6455 §5.4)")
		}
		if op == wsText && !h.textSaid {
			h.textSaid = true
			w.note(f, NoteWSFraming, "MQTT in a WebSocket text frame: MQTT 5.0 §6 requires binary frames")
		}
	default:
		w.note(f, NoteWSFraming, "WebSocket frame with reserved opcode %#x: payload skipped (RFC 6455 §5.2)", op)
	}
	if h.closed {
		w.note(f, NoteWSFraming, "WebSocket frame after Close (RFC 6455 §5.5.1)")
	}
}

func (fr *WSFrame) isData() bool { return fr.Opcode <= wsBinary }

// payload streams the frame's payload: data frames to the MQTT layer,
// control frames into h.ctl.
func (w *wsLayer) payload(h *wsHalf, dir Direction, data []byte, f *Frame) []byte {
	fr := &h.frame
	n := len(data)
	if uint64(n) > h.left {
		n = int(h.left)
	}
	chunk := data[:n]
	if fr.Masked {
		buf := w.ts.wsScratch[:0]
		buf = append(buf, chunk...)
		for i := range buf {
			buf[i] ^= fr.MaskKey[(h.maskPos+i)&3]
		}
		h.maskPos = (h.maskPos + n) & 3
		w.ts.wsScratch = buf
		chunk = buf
	}
	switch {
	case fr.isData():
		w.via.WS = fr
		w.inner.Data(dir, chunk, f)
	case fr.Opcode >= wsClose && fr.Opcode <= wsPong:
		room := maxControlPayload - len(h.ctl)
		h.ctl = append(h.ctl, chunk[:min(room, len(chunk))]...)
	}
	h.left -= uint64(n)
	if h.left == 0 {
		w.frameEnd(h, dir, f)
	}
	return data[n:]
}

func (w *wsLayer) frameEnd(h *wsHalf, dir Direction, f *Frame) {
	fr := &h.frame
	h.inBody = false
	switch {
	case fr.isData():
		h.msgOpen = !fr.Fin
	case fr.Opcode == wsClose:
		h.closed = true
		if len(h.ctl) >= 2 {
			code := binary.BigEndian.Uint16(h.ctl)
			if code != 1000 && code != 1001 {
				name := wsCloseNames[code]
				if name == "" {
					name = "Unknown"
				}
				w.note(f, NoteWSFraming, "WebSocket Close from the %s with status %d (%s) %q", sideName(dir), code, name, TextShow(h.ctl[2:]))
			}
		}
	}
}

func sideName(dir Direction) string {
	if dir == ToServer {
		return "client"
	}
	return "server"
}

// lose drops frame sync in one direction; the MQTT layer is told.
func (w *wsLayer) lose(h *wsHalf, dir Direction, f *Frame) {
	h.phase, h.inBody, h.hdrN, h.left = wsLost, false, 0, 0
	w.inner.Gap(dir, -1, f)
}

func (w *wsLayer) Gap(dir Direction, lost int, f *Frame) {
	h := &w.half[dir&1]
	switch h.phase {
	case wsDead, wsLost:
		return
	case wsHTTP:
		w.note(f, NoteWSNotRead, "bytes lost inside the WebSocket upgrade: not read")
		w.kill()
		return
	}
	if h.inBody && lost >= 0 && uint64(lost) <= h.left {
		// The loss is inside this frame's payload (or ends with it): the
		// frame's end, and so the next header, is still known.
		h.left -= uint64(lost)
		h.maskPos = (h.maskPos + lost) & 3
		if h.frame.isData() {
			w.inner.Gap(dir, lost, f)
		}
		if h.left == 0 {
			w.frameEnd(h, dir, f)
		}
		return
	}
	w.lose(h, dir, f)
}

func (w *wsLayer) Close(end *Frame, atEOF bool) {
	w.inner.Close(end, atEOF)
}
