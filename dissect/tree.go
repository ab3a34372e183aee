package dissect

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mqttdissect/mqttdissect/spec"
)

// Node is one field of a decoded packet. Nodes are kept in a flat slice in
// depth-first order; Depth says how deep each one sits (0 = directly under
// the MQTT protocol item).
//
// Buffer lifetime: Raw aliases the packet's bytes and is valid as long as the
// Packet's buffer is (until the Packet is reused).
type Node struct {
	Field     *spec.Field
	Depth     int
	Offset    int // from the first byte of the MQTT packet
	Len       int
	Uint      uint64 // integer and boolean values (booleans: 0 or 1)
	Raw       []byte // string and bytes values
	Generated bool   // not on the wire (a topic resolved from an alias)
	// Whole is the full byte a bit field was masked from.
	Whole uint64
}

// Note is a remark on a packet: a violation of the standard, a malformed
// packet, or an assumption the reader made.
type Note struct {
	Rule     *spec.Rule
	Severity spec.Severity
	Message  string
	Field    string // abbreviation of the field concerned, "" for the packet
	Offset   int    // from the first byte of the MQTT packet
}

// Packet is one decoded MQTT control packet.
//
// Buffer lifetime: Raw, and every Node's Raw, alias the bytes passed to
// Decode; they stay valid until those bytes are reused (for a Stream, until
// its handler returns).
type Packet struct {
	Type    spec.PacketType
	Flags   uint8 // low four bits of the first byte
	Version spec.Version
	Raw     []byte // the whole MQTT packet as captured
	Len     int    // the whole packet's length as declared by its header
	Nodes   []Node
	Notes   []Note
	// Malformed is set when the packet could not be read to its end.
	Malformed bool
	// Hidden counts entries of repeated lists read but not made nodes
	// (Options.MaxRepeat); an mqtt.repeats_hidden note says where.
	Hidden int
	// Err is why, when Malformed or Truncated.
	Err error

	// Summary values the layout's roles point at.
	PacketID    int // -1 when the packet has none
	Topic       []byte
	TopicAlias  int // -1 when none
	ClientID    []byte
	Username    []byte
	Payload     []byte
	ReasonCode  int // first reason/return code, -1 when none
	KeepAlive   int // -1 when none
	ProtoLevel  int // CONNECT's protocol level, -1 when none
	infoBracket []byte
	// vals is kept across packets (behind a pointer, so reset does not copy
	// it); see fieldValues.
	vals *fieldValues
}

func (p *Packet) reset(raw []byte) {
	vals := p.vals
	if vals == nil {
		vals = new(fieldValues)
	}
	*p = Packet{Raw: raw, Nodes: p.Nodes[:0], Notes: p.Notes[:0], infoBracket: p.infoBracket[:0],
		PacketID: -1, TopicAlias: -1, ReasonCode: -1, KeepAlive: -1, ProtoLevel: -1, vals: vals}
}

// Info returns the packet's part of Wireshark's Info column, e.g.
// "Publish Message (id=7) [sensors/t]".
func (p *Packet) Info() string {
	return string(p.AppendInfo(nil))
}

// AppendInfo appends Info to b without allocating more than b needs.
func (p *Packet) AppendInfo(b []byte) []byte {
	b = append(b, spec.Packets[p.Type].Info()...)
	if p.PacketID >= 0 {
		b = append(b, " (id="...)
		b = strconv.AppendInt(b, int64(p.PacketID), 10)
		b = append(b, ')')
	}
	return append(b, p.infoBracket...)
}

// Value returns the value of the packet's first node of field f (a
// fixed-header bit such as spec.QoSLevel, a flag, a number), and whether
// the packet has one.
func (p *Packet) Value(f *spec.Field) (uint64, bool) {
	for i := range p.Nodes {
		if p.Nodes[i].Field == f {
			return p.Nodes[i].Uint, true
		}
	}
	return 0, false
}

// Truncated reports whether the capture holds fewer bytes than the packet
// declares.
func (p *Packet) Truncated() bool { return len(p.Raw) < p.Len }

// HasErrors reports whether a note of error severity was made.
func (p *Packet) HasErrors() bool {
	for i := range p.Notes {
		if p.Notes[i].Severity >= spec.SevError {
			return true
		}
	}
	return false
}

// Errors returned by the decoder. Truncated is not malformed: a truncated
// packet was cut by the capture, a malformed one is wrong on the wire.
var (
	ErrTruncated = errors.New("truncated")
	ErrMalformed = errors.New("malformed")
)

// DecodeError says where a packet stopped making sense.
type DecodeError struct {
	Offset int    // from the first byte of the MQTT packet
	Field  string // abbreviation of the field being read
	Err    error  // wraps ErrTruncated or ErrMalformed
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("dissect: offset %d: %v", e.Offset, e.Err)
	}
	return fmt.Sprintf("dissect: offset %d: %s: %v", e.Offset, e.Field, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Show renders the node's value the way Wireshark's PDML "show" attribute
// does: decimal or 0x-hex integers, 0/1 booleans, colon-separated hex bytes,
// text with invalid UTF-8 replaced.
func (n *Node) Show() string {
	f := n.Field
	switch {
	case f.Type == spec.FTBool:
		return strconv.FormatUint(n.Uint, 10)
	case f.Type.IsInteger():
		if f.Base == spec.BaseHex {
			return hexShow(n.Uint, f.Type)
		}
		return strconv.FormatUint(n.Uint, 10)
	case f.Type.IsText():
		return EscapeControl(TextShow(n.Raw))
	case f.Type == spec.FTBytes:
		return colonHex(n.Raw)
	}
	return ""
}

// EscapeControl writes control characters other than tab, newline and
// carriage return as \xN, as Wireshark's PDML does (0x01 is "\x1", DEL
// "\x7f"). Text without such characters, or already escaped, is returned
// as it is.
func EscapeControl(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
			sb.WriteString("\\x")
			sb.WriteString(strconv.FormatUint(uint64(c), 16))
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

func hexShow(v uint64, t spec.FieldType) string {
	width := 16
	switch t {
	case spec.FTUint8:
		width = 2
	case spec.FTUint16:
		width = 4
	case spec.FTUint32:
		width = 8
	}
	s := strconv.FormatUint(v, 16)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return "0x" + s
}

func colonHex(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	out := make([]byte, 0, len(b)*3-1)
	const digits = "0123456789abcdef"
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TextShow renders string bytes as Wireshark does for ENC_UTF_8 text: the
// text ends at the first U+0000, and ill-formed UTF-8 is replaced as
// ReplaceIllFormedUTF8 does.
func TextShow(b []byte) string {
	if i := indexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return ReplaceIllFormedUTF8(b)
}

// ReplaceIllFormedUTF8 replaces each ill-formed piece of b with U+FFFD, as
// Wireshark's UTF-8 string decoding does. A piece is the longest start of a
// well-formed sequence, or else one byte (Unicode's "maximal subpart"):
// Wireshark 4.0 shows 30 e2 82 41 ff ff as "0\uFFFDA\uFFFD\uFFFD".
func ReplaceIllFormedUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError || n > 1 {
			sb.Write(b[:n])
			b = b[n:]
			continue
		}
		sb.WriteString("\uFFFD")
		b = b[illFormedLen(b):]
	}
	return sb.String()
}

// illFormedLen returns the length of the maximal subpart at the start of b,
// which does not begin a well-formed UTF-8 sequence: the lead byte and the
// continuation bytes that are still allowed after it, at least 1.
func illFormedLen(b []byte) int {
	var more int
	lo, hi := byte(0x80), byte(0xBF)
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		more = 1
	case c == 0xE0:
		more, lo = 2, 0xA0
	case c == 0xED:
		more, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		more = 2
	case c == 0xF0:
		more, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		more = 3
	case c == 0xF4:
		more, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 1; k <= more && k < len(b); k++ {
		if b[k] < lo || b[k] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
		n++
	}
	return n
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// JSONValue returns the node's value for the JSONL schema: a number for
// integers, a bool for flags, a string for text, lower-case hex for bytes,
// and nil for subtrees.
func (n *Node) JSONValue() any {
	f := n.Field
	switch {
	case f.Type == spec.FTBool:
		return n.Uint != 0
	case f.Type.IsInteger():
		return n.Uint
	case f.Type.IsText():
		return TextShow(n.Raw)
	case f.Type == spec.FTBytes:
		return hex.EncodeToString(n.Raw)
	}
	return nil
}

// FormatText escapes a string for a tree label as Wireshark 4.0's
// format_text does (checked with tshark 4.0.17): \a \b \f \n \r \t \v by name, other
// C0 controls and DEL in octal ("\001", "\177"), a backslash as is. Bytes
// from 0x80 are read as UTF-8 without the rules on overlong forms: a lead
// byte with all its continuation bytes gives its code point (C0 80 is
// "\u0000"), which is shown as "\uXXXX" when GLib does not call it
// printable (controls, format characters such as U+FEFF, unassigned code
// points) and as U+FFFD when it is a surrogate or above U+10FFFF;
// a lead byte without all its continuation bytes, or a stray continuation
// byte, is one U+FFFD.
func FormatText(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			need := 0
			switch {
			case c >= 0xC0 && c <= 0xDF:
				need = 1
			case c >= 0xE0 && c <= 0xEF:
				need = 2
			case c >= 0xF0 && c <= 0xF7:
				need = 3
			case c >= 0xF8 && c <= 0xFB:
				need = 4
			case c >= 0xFC && c <= 0xFD:
				need = 5
			}
			j := i + 1
			if need == 0 { // a continuation byte, FE or FF
				sb.WriteString("\uFFFD")
				i = j
				continue
			}
			cp := rune(c & (0x3F >> need))
			for j < len(s) && j-i <= need && s[j]&0xC0 == 0x80 {
				cp = cp<<6 | rune(s[j]&0x3F)
				j++
			}
			complete := j-i-1 == need
			i = j
			switch {
			case !complete || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF):
				sb.WriteString("\uFFFD")
			case !printable(cp):
				if cp > 0xFFFF {
					fmt.Fprintf(&sb, `\U%08X`, cp)
				} else {
					fmt.Fprintf(&sb, `\u%04X`, cp)
				}
			default:
				sb.WriteRune(cp)
			}
			continue
		}
		i++
		switch c {
		case '\a':
			sb.WriteString(`\a`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\v':
			sb.WriteString(`\v`)
		default:
			if c < 0x20 || c == 0x7f {
				sb.WriteByte('\\')
				sb.WriteByte('0' + c>>6)
				sb.WriteByte('0' + (c>>3)&7)
				sb.WriteByte('0' + c&7)
			} else {
				sb.WriteByte(c)
			}
		}
	}
	return sb.String()
}

// printable is GLib's g_unichar_isprint, which format_text asks: not a
// control, format, surrogate or unassigned code point.
func printable(r rune) bool {
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Cs) {
		return false
	}
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Co)
}

// CopyTo makes dst a copy of p that does not share p's buffers, which the
// decoder reuses: every byte slice of the copy points into buf (grown as
// needed and returned for reuse), and dst's own Nodes and Notes slices are
// reused.
func (p *Packet) CopyTo(dst *Packet, buf []byte) []byte {
	size := len(p.Raw) + len(p.Topic) + len(p.ClientID) + len(p.Username) + len(p.Payload) + len(p.infoBracket)
	for i := range p.Nodes {
		size += len(p.Nodes[i].Raw)
	}
	if cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	buf = buf[:0]
	own := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		start := len(buf)
		buf = append(buf, b...)
		return buf[start:len(buf):len(buf)]
	}
	nodes, notes := dst.Nodes[:0], dst.Notes[:0]
	*dst = *p
	dst.vals = nil
	dst.Raw = own(p.Raw)
	dst.Topic, dst.ClientID, dst.Username, dst.Payload = own(p.Topic), own(p.ClientID), own(p.Username), own(p.Payload)
	dst.infoBracket = own(p.infoBracket)
	dst.Nodes = append(nodes, p.Nodes...)
	for i := range dst.Nodes {
		dst.Nodes[i].Raw = own(p.Nodes[i].Raw)
	}
	dst.Notes = append(notes, p.Notes...)
	return buf
}
