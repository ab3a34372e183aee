package dissect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/mqttdissect/mqttdissect/spec"
)

// ConnState is the only state that crosses packet boundaries: what one TCP
// connection has told the reader so far.
type ConnState struct {
	// Version is the protocol level learnt from CONNECT (both directions use
	// it), or the assumed one.
	Version spec.Version
	// Assumed is set while Version comes from Options.DefaultVersion.
	Assumed bool
	// SawConnect is set once a CONNECT was decoded.
	SawConnect bool
	// ClientID is the client identifier of the latest CONNECT.
	ClientID string
	// Gaps counts the gaps (lost bytes) seen so far per direction (index
	// ToServer, ToClient): what happened across one is unknown.
	Gaps [2]int
	// Evicted is set when the connection's state was dropped because too
	// many connections were open at once (Assembler.MaxConns).
	Evicted bool
	// aliases maps Topic Alias to topic name, per direction: each side
	// assigns its own (MQTT 5.0 §3.3.2.3.4).
	aliases [2]map[uint16]string
}

// NewConnState returns the state of a connection nothing has been seen on.
func NewConnState(opts *Options) *ConnState {
	st := &ConnState{}
	if opts != nil && opts.DefaultVersion.Known() {
		st.Version, st.Assumed = opts.DefaultVersion, true
	}
	return st
}

// Options change how packets are read.
type Options struct {
	// DefaultVersion is used on connections whose CONNECT is not in the
	// capture (Wireshark's mqtt.default_version preference).
	DefaultVersion spec.Version
	// PayloadAsText shows payloads with the text fields (mqtt.msg_text),
	// as Wireshark's mqtt.show_msg_as_text preference does.
	PayloadAsText bool
	// MaxRepeat overrides DefaultMaxRepeat when > 0.
	MaxRepeat int
}

// DefaultMaxRepeat is how many entries of one repeated list (the topic
// filters of a SUBSCRIBE, the reason codes of a SUBACK, the properties of
// a block) become nodes of the tree. The rest are still read and checked,
// but only counted: an mqtt.repeats_hidden note says how many, so that one
// 16 MB packet of 4-byte entries does not build a tree of millions of
// nodes. Notes made on hidden entries beyond maxHiddenNotes are counted
// the same way.
const DefaultMaxRepeat = 1000

const maxHiddenNotes = 100

// Decode reads one MQTT control packet into p, following the spec table.
//
// b holds the packet as captured: it starts at the fixed header and may be
// shorter than the packet declares when the capture cut it. Decode never
// reads past len(b) and allocates nothing proportional to declared lengths.
// The returned error is a *DecodeError wrapping ErrTruncated or ErrMalformed
// when the packet could not be read to its end; p then holds every field up
// to that point, and p.Malformed or p.Truncated() says which.
func Decode(p *Packet, b []byte, st *ConnState, dir Direction, opts *Options) error {
	if opts == nil {
		opts = &Options{}
	}
	p.reset(b)
	p.vals.gen++
	d := decoder{p: p, buf: b, st: st, dir: dir, opts: opts, version: st.Version, vals: p.vals, maxRepeat: opts.MaxRepeat}
	if d.maxRepeat <= 0 {
		d.maxRepeat = DefaultMaxRepeat
	}
	err := d.packet()
	if err != nil {
		p.Err = err
		if errors.Is(err, ErrTruncated) {
			d.noteAt(spec.RuleTruncated, "", len(b), len(b), p.Len)
		} else {
			p.Malformed = true
			de, _ := err.(*DecodeError)
			field, msg := "", err.Error()
			if de != nil {
				field, msg = de.Field, de.Err.Error()
			}
			d.noteAt(spec.RuleMalformed, field, d.off, fieldLabel(field), msg)
		}
	}
	p.Version = d.version
	if d.protoLevel >= 0 {
		// The CONNECT's level applies to both directions from now on.
		st.SawConnect = true
		st.Assumed = false
		st.Version = spec.Version(d.protoLevel)
		if !st.Version.Known() {
			st.Version = spec.VersionUnknown
		}
		st.ClientID = TextShow(p.ClientID)
	}
	return err
}

func fieldLabel(abbrev string) string {
	if abbrev == "" {
		return "packet"
	}
	return abbrev
}

// decoder interprets the table over one packet's bytes.
type decoder struct {
	p    *Packet
	buf  []byte // bytes present
	off  int    // next byte to read
	end  int    // end of the current scope (packet or property block), as declared
	st   *ConnState
	dir  Direction
	opts *Options

	version    spec.Version
	protoLevel int
	vals       *fieldValues
	alias      int // Topic Alias property of this packet, -1 if none
	topicSeen  bool
	topicEmpty bool

	// maxRepeat bounds the entries of a repeated list that become nodes;
	// hide is set while later entries are read without nodes, and
	// hiddenNotes counts the notes on them that were dropped.
	maxRepeat   int
	hide        int
	hiddenNotes int
}

// hiding starts or ends the hidden part of a repeated list: count is the
// number of entries read so far; it returns whether the next entry is
// hidden.
func (d *decoder) startHiding(count int) bool {
	if count == d.maxRepeat {
		d.hide++
		return true
	}
	return false
}

// stopHiding ends a hidden run of n entries of field f that began at off.
func (d *decoder) stopHiding(f *spec.Field, n, off int) {
	d.hide--
	d.p.Hidden += n
	abbrev := ""
	if f != nil {
		abbrev = f.Abbrev
	}
	d.noteAt(spec.RuleRepeatsHidden, abbrev, off, n, fieldLabel(abbrev), d.maxRepeat, d.hiddenNotes)
	d.hiddenNotes = 0
}

func (d *decoder) packet() error {
	p := d.p
	d.alias, d.protoLevel = -1, -1
	if len(d.buf) < 2 {
		p.Len = 2
		return d.errAt(0, spec.HdrFlags, ErrTruncated, spec.Reasons.ShortPacket)
	}
	first := d.buf[0]
	shift := spec.MsgType.Shift()
	p.Type, p.Flags = spec.PacketType(first>>shift), first&(1<<shift-1)
	pkt := &spec.Packets[p.Type]

	// Remaining Length (MQTT 5.0 §2.1.4), read leniently as Wireshark does.
	remaining, n, err := readVarInt(d.buf[1:], spec.MaxVarIntBytesLenient)
	if err != nil {
		p.Len = len(d.buf) + 1
		if err == ErrTruncated {
			return d.errAt(1, spec.MsgLen, ErrTruncated, spec.Reasons.LengthCut)
		}
		return d.errAt(1, spec.MsgLen, err, spec.Reasons.LengthNoEnd)
	}
	p.Len = 1 + n + int(remaining)
	if remaining > spec.MaxRemainingLength {
		return d.errAt(1, spec.MsgLen, ErrMalformed, fmt.Sprintf(spec.Reasons.LengthTooLarge, remaining))
	}

	// Fixed header node and its bit fields.
	layout := pkt.FlagLayoutFor(d.version)
	d.add(spec.HdrFlags, 0, 0, 1, uint64(first), nil)
	for _, bit := range layout.Bits {
		d.bitField(bit, 1, 0, uint64(first))
	}
	d.add(spec.MsgLen, 0, 1, n, remaining, nil)
	if n > spec.MaxVarIntBytes {
		d.noteAt(spec.RuleLongVarInt, spec.MsgLen.Abbrev, 1, n)
	}
	if layout.Required >= 0 && int(p.Flags) != layout.Required {
		d.noteAt(spec.RuleReservedFlags, spec.HdrFlags.Abbrev, 0, pkt.Name, p.Flags, layout.Required)
	}
	if pkt.Versions != 0 && d.version.Known() && !pkt.Versions.Has(d.version) {
		d.noteAt(spec.RuleTypeNotInVersion, spec.MsgType.Abbrev, 0, pkt.Name, d.version)
	}
	if p.Type != spec.CONNECT {
		if d.st.Assumed {
			d.noteAt(spec.RuleAssumedVersion, "", 0, d.version)
		} else if d.version == spec.VersionUnknown && !d.st.SawConnect {
			d.noteAt(spec.RuleUnknownVersion, "", 0)
		}
	}

	d.off, d.end = 1+n, p.Len
	if err := d.elements(pkt.Body, 0); err != nil {
		return err
	}
	if d.off < d.end {
		d.noteAt(spec.RuleTrailingBytes, "", d.off, d.end-d.off)
		if d.end > len(d.buf) {
			return d.errAt(d.off, nil, ErrTruncated, "")
		}
	}
	return nil
}

func (d *decoder) holds(c *spec.Cond) bool {
	if !c.Versions.Has(d.version) {
		return false
	}
	if c.Flag != nil && d.vals.get(c.Flag.Index()) == 0 {
		return false
	}
	return d.end-d.off >= c.MinLeft
}

func (d *decoder) elements(els []spec.Element, depth int) error {
	for i := range els {
		e := &els[i]
		if !d.holds(&e.When) {
			continue
		}
		if !e.Repeat {
			if err := d.element(e, depth); err != nil {
				return err
			}
			continue
		}
		// Every repeated list of MQTT holds at least one entry (MQTT 5.0
		// §3.8.3, §3.9.3, §3.10.3, §3.11.3).
		if d.off >= d.end {
			d.noteAt(spec.RuleMissingPayload, "", d.off, spec.Packets[d.p.Type].Name)
		}
		count, hiddenAt := 0, -1
		for d.off < d.end {
			if d.startHiding(count) {
				hiddenAt = d.off
			}
			count++
			if err := d.element(e, depth); err != nil {
				if hiddenAt >= 0 {
					d.stopHiding(firstField(e), count-d.maxRepeat, hiddenAt)
				}
				return err
			}
		}
		if hiddenAt >= 0 {
			d.stopHiding(firstField(e), count-d.maxRepeat, hiddenAt)
		}
	}
	return nil
}

// firstField names a repeated element by its field, or its first one.
func firstField(e *spec.Element) *spec.Field {
	for e.Field == nil && len(e.Elements) > 0 {
		e = &e.Elements[0]
	}
	return e.Field
}

func (d *decoder) element(e *spec.Element, depth int) error {
	switch e.Wire {
	case spec.WireU8, spec.WireU16, spec.WireU32, spec.WireVarInt:
		return d.integer(e, depth)
	case spec.WireUTF8, spec.WireBinary:
		return d.lengthPrefixed(e, depth)
	case spec.WirePair, spec.WireGroup:
		return d.elements(e.Elements, depth)
	case spec.WireRest:
		return d.rest(e, depth)
	case spec.WireProperties:
		return d.properties(e, depth)
	case spec.WireNone:
		d.generated(e, depth)
		return nil
	}
	return d.errAt(d.off, e.Field, ErrMalformed, "table has an unknown wire type "+e.Wire.String())
}

// need checks that n bytes can be read at d.off within the current scope.
func (d *decoder) need(f *spec.Field, n int, what string) error {
	if d.off+n > d.end {
		return d.errAt(d.off, f, ErrMalformed, fmt.Sprintf(spec.Reasons.NeedBytes, what, n, d.end-d.off))
	}
	if d.off+n > len(d.buf) {
		return d.errAt(d.off, f, ErrTruncated, "")
	}
	return nil
}

// readVarInt reads a variable byte integer (MQTT 5.0 §1.5.5) of at most max
// bytes. It returns ErrTruncated when b ends inside the integer and
// ErrMalformed when max bytes all have the continuation bit set.
func readVarInt(b []byte, max int) (uint64, int, error) {
	var v uint64
	for i := 0; i < max; i++ {
		if i >= len(b) {
			return 0, 0, ErrTruncated
		}
		v |= uint64(b[i]&0x7F) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, ErrMalformed
}

func (d *decoder) integer(e *spec.Element, depth int) error {
	f := e.Field
	var v uint64
	n := e.Wire.FixedSize()
	if e.Wire == spec.WireVarInt {
		limit := d.end
		if limit > len(d.buf) {
			limit = len(d.buf)
		}
		var err error
		v, n, err = readVarInt(d.buf[d.off:limit], spec.MaxVarIntBytesLenient)
		if err == ErrTruncated && limit == d.end {
			err = ErrMalformed
		}
		if err != nil {
			return d.errAt(d.off, f, err, spec.Reasons.VarIntPastEnd)
		}
		if n > spec.MaxVarIntBytes {
			d.noteAt(spec.RuleLongVarInt, f.Abbrev, d.off, n)
		}
	} else {
		if err := d.need(f, n, f.Name); err != nil {
			return err
		}
		b := d.buf[d.off:]
		switch n {
		case 1:
			v = uint64(b[0])
		case 2:
			v = uint64(binary.BigEndian.Uint16(b))
		case 4:
			v = uint64(binary.BigEndian.Uint32(b))
		}
	}
	off := d.off
	d.add(f, depth, off, n, v, nil)
	d.checkValue(f, off, v)
	for _, bit := range e.Bits {
		d.bitField(bit, depth+1, off, v)
	}
	d.off += n
	d.role(e, off, v, nil)
	return nil
}

// bitField adds a field masked out of a flags byte.
func (d *decoder) bitField(f *spec.Field, depth, off int, whole uint64) {
	v := (whole & uint64(f.Mask)) >> f.Shift()
	d.add(f, depth, off, 1, v, nil)
	if d.hide == 0 {
		d.p.Nodes[len(d.p.Nodes)-1].Whole = whole
	}
	if f.MustBeZero && v != 0 {
		d.noteAt(spec.RuleReservedBits, f.Abbrev, off, f.Abbrev)
	}
	d.checkValue(f, off, v)
}

func (d *decoder) checkValue(f *spec.Field, off int, v uint64) {
	if f.Values == nil || f.Values == spec.PropertyIDs {
		return
	}
	name, ok := f.Values.Lookup(v)
	switch {
	case !ok && f.Type != spec.FTBool:
		d.noteAt(spec.RuleUndefinedValue, f.Abbrev, off, f.Abbrev, v)
	case name.Reserved:
		d.noteAt(spec.RuleReservedValue, f.Abbrev, off, f.Abbrev, v)
	}
}

func (d *decoder) lengthPrefixed(e *spec.Element, depth int) error {
	f := e.Field
	if d.opts.PayloadAsText && e.Text != nil {
		f = e.Text
	}
	lenField := e.Length
	if lenField == nil {
		lenField = f
	}
	if err := d.need(lenField, 2, spec.Reasons.WhatLength); err != nil {
		return err
	}
	start := d.off
	n := int(binary.BigEndian.Uint16(d.buf[d.off:]))
	if e.Length != nil {
		d.add(e.Length, depth, d.off, 2, uint64(n), nil)
	}
	d.off += 2
	if d.off+n > d.end {
		d.off = start
		return d.errAt(start, f, ErrMalformed, fmt.Sprintf(spec.Reasons.StringPastEnd, n, d.end-start-2))
	}
	if d.off+n > len(d.buf) {
		return d.errAt(d.off, f, ErrTruncated, "")
	}
	val := d.buf[d.off : d.off+n]
	switch {
	case n == 0 && e.OmitEmpty:
	case e.Length != nil:
		d.add(f, depth, d.off, n, 0, val)
	default:
		d.add(f, depth, start, n+2, 0, val) // FT_UINT_STRING: length inside the item
	}
	d.checkText(e, f, d.off, val)
	d.off += n
	d.role(e, d.off-n, uint64(n), val)
	return nil
}

func (d *decoder) checkText(e *spec.Element, f *spec.Field, off int, val []byte) {
	if e.Check&spec.CheckUTF8 != 0 {
		if !utf8.Valid(val) {
			d.noteAt(spec.RuleBadUTF8, f.Abbrev, off, f.Abbrev)
		} else if indexByte(val, 0) >= 0 {
			d.noteAt(spec.RuleNulInString, f.Abbrev, off, f.Abbrev)
		}
	}
	if e.Check&spec.CheckNonEmpty != 0 && len(val) == 0 {
		d.noteAt(spec.RuleEmptyTopic, f.Abbrev, off)
	}
	if e.Check&spec.CheckNoWildcard != 0 {
		for _, c := range val {
			if c == '+' || c == '#' {
				d.noteAt(spec.RuleWildcardInTopic, f.Abbrev, off, f.Abbrev)
				break
			}
		}
	}
}

func (d *decoder) rest(e *spec.Element, depth int) error {
	f := e.Field
	if d.opts.PayloadAsText && e.Text != nil {
		f = e.Text
	}
	end := d.end
	if end > len(d.buf) {
		end = len(d.buf)
	}
	val := d.buf[d.off:end]
	d.add(f, depth, d.off, d.end-d.off, 0, val)
	d.role(e, d.off, 0, val)
	if d.end > len(d.buf) {
		return d.errAt(len(d.buf), f, ErrTruncated, "")
	}
	d.off = d.end
	return nil
}

// properties reads a property block (MQTT 5.0 §2.2.2): a variable byte
// integer length, then identifier and value pairs.
func (d *decoder) properties(e *spec.Element, depth int) error {
	start := d.off
	limit := d.end
	if limit > len(d.buf) {
		limit = len(d.buf)
	}
	length, n, err := readVarInt(d.buf[d.off:limit], spec.MaxVarIntBytesLenient)
	if err == ErrTruncated && limit == d.end {
		err = ErrMalformed
	}
	if err != nil {
		return d.errAt(d.off, spec.PropertyLen, err, spec.Reasons.PropsLenCut)
	}
	if n > spec.MaxVarIntBytes {
		d.noteAt(spec.RuleLongVarInt, spec.PropertyLen.Abbrev, d.off, n)
	}
	if uint64(d.off+n)+length > uint64(d.end) {
		return d.errAt(d.off, spec.PropertyLen, ErrMalformed, fmt.Sprintf(spec.Reasons.PropsPastEnd, length, d.end-d.off-n))
	}
	blockEnd := d.off + n + int(length)
	d.add(e.Field, depth, start, n+int(length), 0, nil)
	d.add(e.Length, depth+1, d.off, n, length, nil)
	d.off += n

	// Restrict reads to the block while its properties are read.
	outerEnd := d.end
	d.end = blockEnd
	defer func() { d.end = outerEnd }()
	var seen [256]bool
	count, hiddenAt := 0, -1
	defer func() {
		if hiddenAt >= 0 {
			d.stopHiding(spec.PropertyID, count-d.maxRepeat, hiddenAt)
		}
	}()
	for d.off < d.end {
		if d.startHiding(count) {
			hiddenAt = d.off
		}
		count++
		if err := d.need(spec.PropertyID, 1, spec.Reasons.WhatPropertyID); err != nil {
			return err
		}
		idOff := d.off
		id := d.buf[d.off]
		d.add(spec.PropertyID, depth+1, d.off, 1, uint64(id), nil)
		d.off++
		prop := spec.PropertyByID(id)
		if prop == nil {
			// Wireshark swallows the rest of the block as one string.
			end := min(d.end, len(d.buf))
			d.add(spec.PropUnknown, depth+1, d.off, d.end-d.off, 0, d.buf[d.off:end])
			d.noteAt(spec.RuleUnknownProperty, spec.PropertyID.Abbrev, idOff, id)
			if d.end > len(d.buf) {
				return d.errAt(len(d.buf), spec.PropUnknown, ErrTruncated, "")
			}
			d.off = d.end
			break
		}
		if !prop.In.Has(e.Context) {
			d.noteAt(spec.RulePropertyNotAllowed, spec.PropertyID.Abbrev, idOff, prop.Name, e.Context)
		}
		if seen[id] && !prop.Repeatable {
			d.noteAt(spec.RulePropertyRepeated, spec.PropertyID.Abbrev, idOff, prop.Name)
		}
		seen[id] = true
		if err := d.elements(prop.Value, depth+1); err != nil {
			if de, ok := err.(*DecodeError); ok && errors.Is(de.Err, ErrMalformed) && blockEnd < outerEnd {
				de.Err = fmt.Errorf("%w (inside the %s property)", de.Err, prop.Name)
			}
			return err
		}
	}
	return nil
}

// generated handles elements with no bytes of their own: the topic a v5
// Topic Alias stands for (MQTT 5.0 §3.3.2.3.4).
func (d *decoder) generated(e *spec.Element, depth int) {
	if e.Role != spec.RoleAliasTopic || !d.topicSeen {
		return
	}
	defer func() { d.role(e, d.off, 0, d.p.Topic) }()
	aliases := &d.st.aliases[d.dir&1]
	switch {
	case d.alias >= 0 && !d.topicEmpty:
		if *aliases == nil {
			*aliases = make(map[uint16]string)
		}
		(*aliases)[uint16(d.alias)] = string(d.p.Topic)
	case d.alias >= 0:
		topic, ok := (*aliases)[uint16(d.alias)]
		if !ok {
			d.noteAt(spec.RuleUnknownAlias, spec.PropTopicAlias.Abbrev, d.off)
			return
		}
		if d.hide > 0 {
			return
		}
		d.add(e.Field, depth, d.off, 0, 0, []byte(topic))
		d.p.Nodes[len(d.p.Nodes)-1].Generated = true
		d.p.Topic = d.p.Nodes[len(d.p.Nodes)-1].Raw
	case d.topicEmpty:
		d.noteAt(spec.RuleEmptyTopic, spec.Topic.Abbrev, d.off)
	}
}

// role records what an element's value means for the packet summary and the
// connection state.
func (d *decoder) role(e *spec.Element, off int, v uint64, raw []byte) {
	p := d.p
	switch e.Role {
	case spec.RoleVersion:
		d.protoLevel = int(v)
		p.ProtoLevel = int(v)
		d.version = spec.Version(v)
		if !d.version.Known() {
			d.noteAt(spec.RuleUnknownLevel, e.Field.Abbrev, off, v)
			d.version = spec.VersionUnknown
		}
	case spec.RolePacketID:
		p.PacketID = int(v)
	case spec.RoleTopic:
		p.Topic = raw
		d.topicSeen, d.topicEmpty = true, len(raw) == 0
	case spec.RoleTopicAlias:
		d.alias = int(v)
		p.TopicAlias = int(v)
	case spec.RoleClientID:
		p.ClientID = raw
	case spec.RoleUsername:
		p.Username = raw
	case spec.RolePayload:
		p.Payload = raw
	case spec.RoleReasonCode:
		if p.ReasonCode < 0 {
			p.ReasonCode = int(v)
		}
	case spec.RoleKeepAlive:
		p.KeepAlive = int(v)
	}
	if e.Check&spec.CheckNonZero != 0 && v == 0 {
		d.noteAt(spec.RuleZeroPacketID, e.Field.Abbrev, off, e.Field.Abbrev)
	}
	if e.Info == spec.InfoBracket && d.hide == 0 {
		p.infoBracket = append(p.infoBracket, " ["...)
		if utf8.Valid(raw) && indexByte(raw, 0) < 0 {
			p.infoBracket = append(p.infoBracket, raw...)
		} else {
			// Wireshark's columns show text as its tree does.
			p.infoBracket = append(p.infoBracket, TextShow(raw)...)
		}
		p.infoBracket = append(p.infoBracket, ']')
	}
}

func (d *decoder) add(f *spec.Field, depth, off, n int, v uint64, raw []byte) {
	d.vals.set(f.Index(), v)
	if d.hide > 0 {
		return
	}
	u := v
	if f.Type == spec.FTBool && u != 0 {
		u = 1 // a boolean is set when any of its bits is, as in Wireshark
	}
	d.p.Nodes = append(d.p.Nodes, Node{Field: f, Depth: depth, Offset: off, Len: n, Uint: u, Raw: raw})
}

func (d *decoder) noteAt(r *spec.Rule, field string, off int, args ...any) {
	if d.hide > 0 && len(d.p.Notes) >= maxHiddenNotes {
		d.hiddenNotes++
		return
	}
	msg := r.Message
	if len(args) > 0 {
		msg = fmt.Sprintf(r.Message, args...)
	}
	d.p.Notes = append(d.p.Notes, Note{Rule: r, Severity: r.Severity, Message: msg, Field: field, Offset: off})
}

func (d *decoder) errAt(off int, f *spec.Field, sentinel error, detail string) error {
	name := ""
	if f != nil {
		name = f.Abbrev
	}
	err := sentinel
	if detail != "" {
		err = &reasonError{sentinel, detail}
	}
	d.off = off
	return &DecodeError{Offset: off, Field: name, Err: err}
}

// reasonError is fmt.Errorf("%w: %s", sentinel, detail) without fmt's cost,
// which showed when a million connections each ended in a cut packet.
type reasonError struct {
	sentinel error
	detail   string
}

func (e *reasonError) Error() string { return e.sentinel.Error() + ": " + e.detail }
func (e *reasonError) Unwrap() error { return e.sentinel }

// fieldValues remembers the values decoded in the current packet by field
// index, for Cond.Flag. A generation number marks which entries belong to
// the current packet, so nothing is cleared between packets.
type fieldValues struct {
	gen  uint32
	gens [96]uint32
	vals [96]uint64
}

func (fv *fieldValues) set(i int, v uint64) {
	if i >= 0 && i < len(fv.vals) {
		fv.vals[i], fv.gens[i] = v, fv.gen
	}
}

func (fv *fieldValues) get(i int) uint64 {
	if i >= 0 && i < len(fv.vals) && fv.gens[i] == fv.gen {
		return fv.vals[i]
	}
	return 0
}
