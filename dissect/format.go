package dissect

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mqttdissect/mqttdissect/spec"
)

// AppendSummary appends one tshark-like line for the packet: frame number,
// seconds since start, source -> destination, and Info.
func AppendSummary(b []byte, pdu *PDU, start time.Time) []byte {
	var num [32]byte
	b = appendPadded(b, strconv.AppendInt(num[:0], int64(pdu.Frame), 10), 6)
	b = append(b, ' ')
	b = appendPadded(b, appendSeconds(num[:0], pdu.Time.Sub(start)), 11)
	b = append(b, ' ')
	b = pdu.Src.AppendTo(b)
	b = append(b, " -> "...)
	b = pdu.Dst.AppendTo(b)
	b = append(b, " MQTT "...)
	b = pdu.Packet.AppendInfo(b)
	if pdu.Packet.Malformed {
		b = append(b, " [Malformed Packet]"...)
	} else if pdu.Packet.Truncated() {
		b = append(b, " [Packet size limited during capture]"...)
	}
	return append(b, '\n')
}

// appendSeconds appends d in seconds with six decimals ("0.002339"),
// rounded to the microsecond, without floating point.
func appendSeconds(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	us := (d + 500) / time.Microsecond
	b = strconv.AppendInt(b, int64(us/1e6), 10)
	b = append(b, '.')
	frac := int64(us % 1e6)
	for div := int64(100000); div > 0; div /= 10 {
		b = append(b, byte('0'+frac/div%10))
	}
	return b
}

func appendPadded(b []byte, s []byte, width int) []byte {
	for i := len(s); i < width; i++ {
		b = append(b, ' ')
	}
	return append(b, s...)
}

// AppendTree appends the packet as an indented tree, like `tshark -V` shows
// the MQTT part of a frame, followed by its notes.
func AppendTree(b []byte, pdu *PDU) []byte {
	p := pdu.Packet
	b = append(b, "Frame "...)
	b = strconv.AppendInt(b, int64(pdu.Frame), 10)
	b = append(b, ": "...)
	b = pdu.Src.AppendTo(b)
	b = append(b, " -> "...)
	b = pdu.Dst.AppendTo(b)
	b = append(b, ", "...)
	b = append(b, pdu.Time.UTC().Format(time.RFC3339Nano)...)
	b = append(b, '\n')
	b = appendViaTree(b, pdu)
	b = append(b, spec.MQTT.Name...)
	b = append(b, ", "...)
	b = append(b, spec.Packets[p.Type].Info()...)
	b = append(b, '\n')
	for i := range p.Nodes {
		n := &p.Nodes[i]
		for d := 0; d <= n.Depth; d++ {
			b = append(b, "    "...)
		}
		b = append(b, Label(p, i)...)
		b = append(b, '\n')
		for j := range p.Notes {
			// Notes on a field follow its first node.
			note := &p.Notes[j]
			if note.Field == n.Field.Abbrev && note.Offset == n.Offset && firstNodeAt(p, i) {
				b = appendNote(b, note, n.Depth+1)
			}
		}
	}
	for j := range p.Notes {
		if !noteHasNode(p, &p.Notes[j]) {
			b = appendNote(b, &p.Notes[j], 0)
		}
	}
	return b
}

func firstNodeAt(p *Packet, i int) bool {
	n := &p.Nodes[i]
	for k := 0; k < i; k++ {
		if p.Nodes[k].Field == n.Field && p.Nodes[k].Offset == n.Offset {
			return false
		}
	}
	return true
}

func noteHasNode(p *Packet, note *Note) bool {
	if note.Field == "" {
		return false
	}
	for i := range p.Nodes {
		if p.Nodes[i].Field.Abbrev == note.Field && p.Nodes[i].Offset == note.Offset {
			return true
		}
	}
	return false
}

func appendNote(b []byte, note *Note, depth int) []byte {
	for d := 0; d <= depth; d++ {
		b = append(b, "    "...)
	}
	b = append(b, "[Expert Info ("...)
	b = append(b, severityTitle(note.Severity)...)
	b = append(b, '/')
	b = append(b, groupTitle(note.Rule)...)
	b = append(b, "): "...)
	b = append(b, note.Message...)
	return append(b, "]\n"...)
}

func severityTitle(s spec.Severity) string {
	switch s {
	case spec.SevChat:
		return "Chat"
	case spec.SevNote:
		return "Note"
	case spec.SevWarn:
		return "Warning"
	}
	return "Error"
}

func groupTitle(r *spec.Rule) string {
	if r == nil {
		return "Protocol"
	}
	switch r.Group {
	case spec.GroupMalformed:
		return "Malformed"
	case spec.GroupSequence:
		return "Sequence"
	case spec.GroupAssumed:
		return "Assumption"
	}
	return "Protocol"
}

// Label renders node i of p as Wireshark's tree shows it ("Topic: a/b",
// "0011 .... = Message Type: Publish Message (3)").
func Label(p *Packet, i int) string {
	n := &p.Nodes[i]
	f := n.Field
	var sb strings.Builder
	if n.Generated {
		sb.WriteByte('[')
	}
	if f.Mask != 0 {
		sb.WriteString(bitPattern(f.Mask, n.Whole))
		sb.WriteString(" = ")
	}
	sb.WriteString(f.Name)
	if f.Type != spec.FTNone {
		sb.WriteString(": ")
		sb.WriteString(valueText(n))
	}
	// A flags byte lists its named bit fields, as proto_tree_add_bitmask does.
	for j := i + 1; j < len(p.Nodes) && p.Nodes[j].Depth > n.Depth; j++ {
		c := &p.Nodes[j]
		if c.Depth != n.Depth+1 || c.Field.Mask == 0 {
			continue
		}
		switch {
		case c.Field.Type == spec.FTBool && c.Uint != 0:
			sb.WriteString(", ")
			sb.WriteString(c.Field.Name)
		case c.Field.Values != nil:
			if v, ok := c.Field.Values.Lookup(c.Uint); ok {
				sb.WriteString(", ")
				sb.WriteString(c.Field.Name)
				sb.WriteString(": ")
				sb.WriteString(v.Name)
			}
		}
	}
	if n.Generated {
		sb.WriteByte(']')
	}
	return sb.String()
}

func valueText(n *Node) string {
	f := n.Field
	switch {
	case f.Type == spec.FTBool:
		return spec.BoolNames[n.Uint&1]
	case f.Type.IsInteger():
		num := strconv.FormatUint(n.Uint, 10)
		if f.Base == spec.BaseHex {
			num = hexShow(n.Uint, f.Type)
			if f.Mask != 0 {
				num = "0x" + strconv.FormatUint(n.Uint, 16)
			}
		}
		if f.Values != nil {
			name := "Unknown"
			if v, ok := f.Values.Lookup(n.Uint); ok {
				name = v.Name
			}
			return name + " (" + num + ")"
		}
		return num
	case f.Type.IsText():
		return FormatText(TextShow(n.Raw))
	case f.Type == spec.FTBytes:
		// Wireshark labels show at most 36 bytes, and "<MISSING>" for none.
		switch {
		case len(n.Raw) == 0:
			return "<MISSING>"
		case len(n.Raw) > maxLabelBytes:
			return hex.EncodeToString(n.Raw[:maxLabelBytes]) + "…"
		}
		return hex.EncodeToString(n.Raw)
	}
	return ""
}

// maxLabelBytes is how many bytes of an FT_BYTES value Wireshark's labels
// show before an ellipsis.
const maxLabelBytes = 36

// bitPattern renders an 8-bit mask as Wireshark does: "0011 ...." with the
// bits of the field shown and the others as dots.
func bitPattern(mask uint32, whole uint64) string {
	var b [9]byte
	k := 0
	for bit := 7; bit >= 0; bit-- {
		if bit == 3 {
			b[k] = ' '
			k++
		}
		switch {
		case mask&(1<<bit) == 0:
			b[k] = '.'
		case whole&(1<<bit) != 0:
			b[k] = '1'
		default:
			b[k] = '0'
		}
		k++
	}
	return string(b[:k])
}

// AppendJSON appends the packet as one JSON object of the JSONL schema:
// frame, time, src, dst, version, type, info, fields, notes (and malformed).
// Each field is [name, value, depth], in depth-first tree order.
func AppendJSON(b []byte, pdu *PDU) []byte {
	p := pdu.Packet
	b = append(b, `{"frame":`...)
	b = strconv.AppendInt(b, int64(pdu.Frame), 10)
	b = append(b, `,"time":"`...)
	b = appendUTCNano(b, pdu.Time)
	b = append(b, `","src":"`...)
	b = pdu.Src.AppendTo(b)
	b = append(b, `","dst":"`...)
	b = pdu.Dst.AppendTo(b)
	b = append(b, '"')
	b = appendViaJSON(b, pdu)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(p.Version), 10)
	b = append(b, `,"type":"`...)
	b = append(b, spec.Packets[p.Type].Name...)
	b = append(b, `","info":`...)
	b = appendJSONString(b, p.Info())
	b = append(b, `,"fields":[`...)
	for i := range p.Nodes {
		n := &p.Nodes[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = append(b, n.Field.Abbrev...)
		b = append(b, `",`...)
		b = appendJSONValue(b, n)
		// The depth, third so that readers of [name, value] keep working:
		// a node's children follow it with a greater depth.
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(n.Depth), 10)
		b = append(b, ']')
	}
	b = append(b, `],"notes":[`...)
	for i := range p.Notes {
		note := &p.Notes[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"severity":"`...)
		b = append(b, note.Severity.String()...)
		b = append(b, `","message":`...)
		b = appendJSONString(b, note.Message)
		b = append(b, `,"field":`...)
		b = appendJSONString(b, note.Field)
		b = append(b, '}')
	}
	b = append(b, `],"malformed":`...)
	b = strconv.AppendBool(b, p.Malformed)
	if p.Hidden > 0 {
		// Entries of repeated lists past Options.MaxRepeat (README, JSONL schema).
		b = append(b, `,"hidden":`...)
		b = strconv.AppendInt(b, int64(p.Hidden), 10)
	}
	return append(b, '}')
}

func appendJSONValue(b []byte, n *Node) []byte {
	f := n.Field
	switch {
	case f.Type == spec.FTBool:
		return strconv.AppendBool(b, n.Uint != 0)
	case f.Type.IsInteger():
		return strconv.AppendUint(b, n.Uint, 10)
	case f.Type.IsText():
		if utf8.Valid(n.Raw) && indexByte(n.Raw, 0) < 0 {
			return appendJSONBytes(b, n.Raw)
		}
		return appendJSONString(b, TextShow(n.Raw))
	case f.Type == spec.FTBytes:
		b = append(b, '"')
		b = hex.AppendEncode(b, n.Raw)
		return append(b, '"')
	}
	return append(b, "null"...)
}

func appendJSONString(b []byte, s string) []byte {
	return appendJSONBytes(b, []byte(s))
}

// appendJSONBytes appends valid UTF-8 text as a JSON string.
func appendJSONBytes(b []byte, s []byte) []byte {
	const digits = "0123456789abcdef"
	b = append(b, '"')
	// Runs of bytes that need no escape (nearly all of them) are copied
	// whole.
	start := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		b = append(b, s[start:i]...)
		start = i + 1
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', digits[c>>4], digits[c&15])
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendUTCNano appends t in UTC as 2006-01-02T15:04:05.000000000Z, the
// JSONL "time" key, without time.Format's layout parsing: JSONL writes one
// per packet. Years outside 0000-9999 fall back to time.Format.
func appendUTCNano(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, "2006-01-02T15:04:05.000000000Z07:00")
	}
	hour, minute, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, minute, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond(), 9)
	return append(b, 'Z')
}

// appendDigits appends v (>= 0) in decimal, zero-padded to width digits.
func appendDigits(b []byte, v, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v > 0 || i > len(tmp)-width {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[i:]...)
}
