package filter

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/spec"
)

// kind is the type of a value as the filter compares it.
type kind uint8

const (
	kNone  kind = iota // a protocol or subtree: existence only (protocols also have bytes)
	kUint              // unsigned integers
	kBool              // booleans (0 or 1)
	kStr               // text
	kBytes             // byte strings
	kAddr              // IP addresses
	kTime              // absolute time, nanoseconds since the epoch
)

func (k kind) String() string {
	return [...]string{"a protocol or subtree", "an unsigned integer", "a boolean", "a character string", "a byte string", "an IP address", "a time"}[k]
}

// pseudo says where a field's values come from.
type pseudo uint8

const (
	pSpec      pseudo = iota // nodes of the MQTT packets
	pMQTT                    // the MQTT protocol: one occurrence per packet, its bytes
	pFrame                   // the frame: always present
	pIP                      // IPv4 present
	pIPv6                    // IPv6 present
	pTCP                     // TCP: always present
	pFrameNum                // frame.number
	pFrameTime               // frame.time_epoch
	pSrc                     // ip.src / ipv6.src
	pDst
	pAddr // ip.addr: source and destination
	pSrcPort
	pDstPort
	pPort
	pStream // tcp.stream
	pInfo   // _ws.col.Info: the Info texts of the frame's packets
	pProto  // _ws.col.Protocol
)

// fieldDef is a filterable name: a field of the spec table (one or more
// spec.Fields sharing the abbreviation), a protocol, or a pseudo-field.
type fieldDef struct {
	name   string
	kind   kind
	src    pseudo
	v6     bool // ipv6.* rather than ip.*
	typ    spec.FieldType
	base   spec.Base
	values *spec.ValueTable
	bits   int // width of integer fields, for range checks
	set    [2]uint64
}

func (d *fieldDef) has(idx int) bool {
	return idx >= 0 && idx < 128 && d.set[idx>>6]&(1<<(idx&63)) != 0
}

var catalogue = func() map[string]*fieldDef {
	m := map[string]*fieldDef{}
	for _, f := range spec.Fields {
		d := m[f.Abbrev]
		if d == nil {
			d = &fieldDef{name: f.Abbrev, src: pSpec, typ: f.Type, base: f.Base, values: f.Values}
			switch {
			case f.Type == spec.FTBool:
				d.kind, d.bits = kBool, 1
			case f.Type.IsInteger():
				d.kind = kUint
				d.bits = map[spec.FieldType]int{spec.FTUint8: 8, spec.FTUint16: 16, spec.FTUint32: 32, spec.FTUint64: 64}[f.Type]
			case f.Type.IsText():
				d.kind = kStr
			case f.Type == spec.FTBytes:
				d.kind = kBytes
			default:
				d.kind = kNone
			}
			m[f.Abbrev] = d
		}
		if i := f.Index(); i >= 0 && i < 128 {
			d.set[i>>6] |= 1 << (i & 63)
		}
	}
	add := func(name string, k kind, src pseudo, v6 bool) {
		m[name] = &fieldDef{name: name, kind: k, src: src, v6: v6}
	}
	add(spec.MQTT.Filter, kBytes, pMQTT, false)
	add("frame", kNone, pFrame, false)
	add("ip", kNone, pIP, false)
	add("ipv6", kNone, pIPv6, true)
	add("tcp", kNone, pTCP, false)
	add("frame.number", kUint, pFrameNum, false)
	add("frame.time_epoch", kTime, pFrameTime, false)
	add("ip.src", kAddr, pSrc, false)
	add("ip.dst", kAddr, pDst, false)
	add("ip.addr", kAddr, pAddr, false)
	add("ipv6.src", kAddr, pSrc, true)
	add("ipv6.dst", kAddr, pDst, true)
	add("ipv6.addr", kAddr, pAddr, true)
	add("tcp.srcport", kUint, pSrcPort, false)
	add("tcp.dstport", kUint, pDstPort, false)
	add("tcp.port", kUint, pPort, false)
	add("tcp.stream", kUint, pStream, false)
	add("_ws.col.Info", kStr, pInfo, false)
	add("_ws.col.Protocol", kStr, pProto, false)
	for _, n := range []string{"frame.number", "tcp.srcport", "tcp.dstport", "tcp.port", "tcp.stream"} {
		m[n].bits = 32
	}
	return m
}()

// Names returns every name a filter or a field column may use, sorted.
func Names() []string {
	out := make([]string, 0, len(catalogue))
	for n := range catalogue {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// val is one occurrence of a field, or a literal.
type val struct {
	u   uint64 // kUint, kBool, kTime (nanoseconds)
	b   []byte // kStr, kBytes
	a   netip.Addr
	pfx netip.Prefix // a CIDR literal
	neg bool         // a negative integer literal: below every field value
	n   int          // the occurrence's length on the wire
}

// each calls fn for every occurrence of d in the PDUs, until fn returns
// true; it reports whether fn did. Frame-level fields are taken from the
// first PDU only: every PDU of a frame shares them.
func (d *fieldDef) each(pdus []*dissect.PDU, fn func(v *val) bool) bool {
	if len(pdus) == 0 {
		return false
	}
	var v val
	switch d.src {
	case pSpec:
		for _, pdu := range pdus {
			p := pdu.Packet
			for i := range p.Nodes {
				n := &p.Nodes[i]
				if !d.has(n.Field.Index()) {
					continue
				}
				v = val{u: n.Uint, n: n.Len}
				if d.kind == kStr {
					v.b = textBytes(n.Raw)
				} else if d.kind == kBytes {
					v.b = n.Raw
				}
				if fn(&v) {
					return true
				}
			}
		}
		return false
	case pMQTT:
		for _, pdu := range pdus {
			v = val{b: pdu.Packet.Raw, n: len(pdu.Packet.Raw)}
			if fn(&v) {
				return true
			}
		}
		return false
	}
	pdu := pdus[0]
	v4 := pdu.Src.Addr().Is4() || pdu.Src.Addr().Is4In6()
	switch d.src {
	case pFrame, pTCP:
		return fn(&v)
	case pIP, pIPv6:
		if v4 == d.v6 {
			return false
		}
		return fn(&v)
	case pFrameNum:
		v.u = uint64(pdu.Frame)
		return fn(&v)
	case pFrameTime:
		v.u = uint64(pdu.Time.UnixNano())
		return fn(&v)
	case pSrc, pDst, pAddr:
		if v4 == d.v6 {
			return false
		}
		if d.src != pDst {
			v.a = pdu.Src.Addr().Unmap()
			if fn(&v) {
				return true
			}
		}
		if d.src != pSrc {
			v.a = pdu.Dst.Addr().Unmap()
			return fn(&v)
		}
		return false
	case pSrcPort, pDstPort, pPort:
		if d.src != pDstPort {
			v.u = uint64(pdu.Src.Port())
			if fn(&v) {
				return true
			}
		}
		if d.src != pSrcPort {
			v.u = uint64(pdu.Dst.Port())
			return fn(&v)
		}
		return false
	case pInfo:
		// Wireshark's Info column joins the packets of a frame with ", ".
		for i, p := range pdus {
			if i > 0 {
				v.b = append(v.b, ", "...)
			}
			v.b = p.Packet.AppendInfo(v.b)
		}
		return fn(&v)
	case pProto:
		v.b = []byte(spec.MQTT.ShortName)
		return fn(&v)
	case pStream:
		// Wireshark numbers every TCP conversation from 0; mqttdissect
		// numbers the MQTT ones, which is the same when all TCP in the
		// capture is MQTT.
		v.u = uint64(pdu.ConnSeq - 1)
		return fn(&v)
	}
	return false
}

// textBytes returns a string field's value as Wireshark holds it: cut at
// the first U+0000, ill-formed UTF-8 replaced. Valid text is not copied.
func textBytes(raw []byte) []byte {
	if utf8.Valid(raw) {
		for _, c := range raw {
			if c == 0 {
				return []byte(dissect.TextShow(raw))
			}
		}
		return raw
	}
	return []byte(dissect.TextShow(raw))
}

// Column is one field of `-T fields` output (tshark's -e).
type Column struct {
	def *fieldDef
	buf []byte
}

// NewColumn returns the column for a field name, or an error naming it.
func NewColumn(name string) (*Column, error) {
	d, ok := catalogue[name]
	if !ok {
		return nil, &Error{Expr: name, Col: 1, Len: len(name), Msg: unknownField(name)}
	}
	switch d.src {
	case pFrame, pIP, pIPv6, pTCP:
		return nil, &Error{Expr: name, Col: 1, Len: len(name), Msg: name + " is a protocol whose text mqttdissect does not write; name one of its fields (such as tcp.srcport or ip.src)"}
	}
	return &Column{def: d}, nil
}

// Name is the field's name.
func (c *Column) Name() string { return c.def.name }

// Each calls fn with the text of each occurrence of the field in the
// frame's PDUs, formatted as tshark 4.0's -T fields prints it: integers in
// their display base (0x-padded hex for hexadecimal fields), booleans as 1
// or 0, byte strings as plain hex (<MISSING> when empty), text as is,
// subtrees as 1, the mqtt protocol as its tree line, frame.time_epoch as
// seconds with nine decimals. fn must not keep text.
func (c *Column) Each(pdus []*dissect.PDU, fn func(text []byte)) {
	d := c.def
	if d.src == pMQTT {
		// tshark prints a protocol as its tree line.
		for _, pdu := range pdus {
			c.buf = append(c.buf[:0], spec.MQTT.Name...)
			c.buf = append(c.buf, ", "...)
			c.buf = append(c.buf, spec.Packets[pdu.Packet.Type].Info()...)
			fn(c.buf)
		}
		return
	}
	if d.src == pSpec {
		// The common case, without closures.
		for _, pdu := range pdus {
			nodes := pdu.Packet.Nodes
			for i := range nodes {
				nd := &nodes[i]
				if !d.has(nd.Field.Index()) {
					continue
				}
				v := val{u: nd.Uint, n: nd.Len}
				if d.kind == kStr {
					v.b = textBytes(nd.Raw)
				} else if d.kind == kBytes {
					v.b = nd.Raw
				}
				c.buf = d.appendText(c.buf[:0], &v)
				fn(c.buf)
			}
		}
		return
	}
	d.each(pdus, func(v *val) bool {
		c.buf = d.appendText(c.buf[:0], v)
		fn(c.buf)
		return false
	})
}

func (d *fieldDef) appendText(buf []byte, v *val) []byte {
	switch d.kind {
	case kUint:
		if d.base == spec.BaseHex {
			return appendHex(buf, v.u, d.bits)
		}
		return strconv.AppendUint(buf, v.u, 10)
	case kBool:
		if v.u != 0 {
			return append(buf, '1')
		}
		return append(buf, '0')
	case kStr:
		return appendFieldText(buf, v.b)
	case kBytes:
		if len(v.b) == 0 {
			// tshark 4.0 prints an empty byte string so.
			return append(buf, "<MISSING>"...)
		}
		const digits = "0123456789abcdef"
		for _, x := range v.b {
			buf = append(buf, digits[x>>4], digits[x&15])
		}
		return buf
	case kAddr:
		return v.a.AppendTo(buf)
	case kTime:
		buf = strconv.AppendUint(buf, v.u/1e9, 10)
		frac := strconv.FormatUint(v.u%1e9, 10)
		buf = append(buf, '.')
		buf = append(buf, strings.Repeat("0", 9-len(frac))...)
		return append(buf, frac...)
	}
	return append(buf, '1')
}

// appendFieldText appends text as tshark 4.0's -T fields writes it:
// backspace, form feed, newline, carriage return and tab as \b \f \n \r
// \t (so a row stays one line), every other byte as it is.
func appendFieldText(buf, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, c)
		}
	}
	return buf
}

func appendHex(b []byte, v uint64, bits int) []byte {
	s := strconv.FormatUint(v, 16)
	b = append(b, "0x"...)
	for i := len(s); i < bits/4; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func unknownField(name string) string {
	return strconv.Quote(name) + " is neither a field nor a protocol mqttdissect knows (mqttdissect decode --list-fields lists them)"
}
