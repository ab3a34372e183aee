package spec

import "strconv"

// Severity is Wireshark's expert-info severity.
type Severity uint8

// Severities, lowest first.
const (
	SevChat Severity = iota
	SevNote
	SevWarn
	SevError
)

// String returns the lower-case name ("warning"); it never panics.
func (s Severity) String() string {
	switch s {
	case SevChat:
		return "chat"
	case SevNote:
		return "note"
	case SevWarn:
		return "warning"
	case SevError:
		return "error"
	}
	return "severity(" + strconv.Itoa(int(s)) + ")"
}

// Group is Wireshark's expert-info group.
type Group uint8

// Groups used by MQTT notes.
const (
	GroupProtocol  Group = iota // PI_PROTOCOL: a violation of the standard
	GroupMalformed              // PI_MALFORMED: the packet cannot be read on
	GroupSequence               // PI_SEQUENCE: the stream lost bytes
	GroupAssumed                // an assumption the reader made (no CONNECT seen)
)

// String returns the lower-case name; it never panics.
func (g Group) String() string {
	switch g {
	case GroupProtocol:
		return "protocol"
	case GroupMalformed:
		return "malformed"
	case GroupSequence:
		return "sequence"
	case GroupAssumed:
		return "assumption"
	}
	return "group(" + strconv.Itoa(int(g)) + ")"
}

// Rule is one kind of note a reader attaches to a packet. Message is a
// format string whose verbs the reader fills in the documented order.
type Rule struct {
	Name     string // stable identifier, Wireshark's expert name where it has one
	Group    Group
	Severity Severity
	Message  string
	Section  string // where the standard says so
}

// The rules. Messages are lower-case except where they repeat Wireshark's
// own expert texts verbatim (so users can search for them).
var (
	// Wireshark's own three expert infos.
	RuleEmptyTopic     = &Rule{"mqtt.illegal_topic_length", GroupProtocol, SevWarn, "Length cannot be 0", "MQTT 5.0 §4.7.3"}
	RuleUnknownVersion = &Rule{"mqtt.unknown_version", GroupProtocol, SevNote, "Unknown version (missing the CONNECT packet?)", "MQTT 5.0 §3.1.2.2"}
	RuleUnknownAlias   = &Rule{"mqtt.unknown_topic_alias", GroupProtocol, SevNote, "Unknown topic alias", "MQTT 5.0 §3.3.2.3.4"}

	// Violations Wireshark 4.0 lets pass silently.
	// %s packet name, %#x found, %#x required.
	RuleReservedFlags = &Rule{"mqtt.reserved_flags", GroupProtocol, SevWarn, "fixed header flags of %s are %#x, the standard requires %#x", "MQTT 5.0 §2.1.3"}
	// %s field name, %d value.
	RuleReservedValue = &Rule{"mqtt.reserved_value", GroupProtocol, SevWarn, "%s: value %d is reserved", "MQTT 5.0 §1.5, §2.1.2, §3.3.1.2"}
	// %s field name, %d value.
	RuleUndefinedValue = &Rule{"mqtt.undefined_value", GroupProtocol, SevWarn, "%s: value %d is not defined", "MQTT 5.0 §2.4, 3.1.1 §3.2.2.3"}
	// %s field name.
	RuleReservedBits = &Rule{"mqtt.reserved_bits", GroupProtocol, SevWarn, "%s: reserved bits must be 0", "MQTT 5.0 §3.1.2.3, §3.2.2.1, §3.8.3.1"}
	// %d bytes used.
	RuleLongVarInt = &Rule{"mqtt.long_varint", GroupProtocol, SevWarn, "variable byte integer uses %d bytes, at most 4 are allowed", "MQTT 5.0 §1.5.5"}
	// %s field name.
	RuleBadUTF8 = &Rule{"mqtt.bad_utf8", GroupProtocol, SevWarn, "%s: not well-formed UTF-8", "MQTT 5.0 §1.5.4"}
	// %s field name.
	RuleNulInString = &Rule{"mqtt.nul_in_string", GroupProtocol, SevWarn, "%s: contains U+0000", "MQTT 5.0 §1.5.4"}
	// %s field name.
	RuleZeroPacketID = &Rule{"mqtt.zero_packet_id", GroupProtocol, SevWarn, "%s: packet identifier must not be 0", "MQTT 5.0 §2.2.1"}
	// %s field name.
	RuleWildcardInTopic = &Rule{"mqtt.wildcard_in_topic", GroupProtocol, SevWarn, "%s: a topic name must not contain + or #", "MQTT 5.0 §4.7.1"}
	// %s property name, %s packet name.
	RulePropertyNotAllowed = &Rule{"mqtt.property_not_allowed", GroupProtocol, SevWarn, "property %s is not allowed in %s", "MQTT 5.0 §2.2.2.2"}
	// %s property name.
	RulePropertyRepeated = &Rule{"mqtt.property_repeated", GroupProtocol, SevWarn, "property %s appears more than once", "MQTT 5.0 §2.2.2.2"}
	// %#02x identifier.
	RuleUnknownProperty = &Rule{"mqtt.unknown_property", GroupMalformed, SevError, "unknown property identifier %#02x; the rest of the block is not read", "MQTT 5.0 §2.2.2.2"}
	// %s packet name, %s version.
	RuleTypeNotInVersion = &Rule{"mqtt.type_not_in_version", GroupProtocol, SevWarn, "%s is not defined in MQTT %s", "MQTT 5.0 §2.1.2"}
	// %d bytes.
	RuleTrailingBytes = &Rule{"mqtt.trailing_bytes", GroupProtocol, SevWarn, "%d bytes after the last field", "MQTT 5.0 §2.1.4"}
	// %s packet name.
	RuleMissingPayload = &Rule{"mqtt.missing_payload", GroupProtocol, SevWarn, "%s carries no topic filter", "MQTT 5.0 §3.8.3, §3.10.3"}
	// %d level.
	RuleUnknownLevel = &Rule{"mqtt.unknown_level", GroupProtocol, SevNote, "protocol level %d is not 3, 4 or 5; later packets are read as if no CONNECT was seen", "MQTT 5.0 §3.1.2.2"}

	// Packets that cannot be read to the end. %s field name, %s reason.
	RuleMalformed = &Rule{"mqtt.malformed", GroupMalformed, SevError, "%s: %s", "MQTT 5.0 §1.5"}

	// Reader assumptions and stream events.
	// %s version.
	RuleAssumedVersion = &Rule{"mqtt.assumed_version", GroupAssumed, SevNote, "no CONNECT seen on this connection: read as MQTT %s as set by --mqtt-version", ""}
	// %d bytes.
	RuleGap        = &Rule{"mqtt.gap", GroupSequence, SevWarn, "%d bytes of this stream are missing from the capture; decoding resumes at the next packet boundary found", ""}
	RuleGapUnknown = &Rule{"mqtt.gap", GroupSequence, SevWarn, "bytes of this stream are missing from the capture; decoding resumes at the next packet boundary found", ""}
	// %d bytes, %s frames ("7" or "7-9").
	RuleSkipped = &Rule{"mqtt.skipped", GroupSequence, SevWarn, "%d captured bytes before this packet were not read as MQTT (frames %s): the rest of a packet cut by lost bytes or a malformed length, up to where a packet starts again", ""}
	// %d entries, %s field, %d shown, %d notes dropped. A reader's ceiling,
	// not a fault of the packet.
	RuleRepeatsHidden = &Rule{"mqtt.repeats_hidden", GroupSequence, SevNote, "%d more %s entries not shown: only the first %d of a list are (all were read and checked; %d notes on the hidden ones omitted)", ""}
	// No verbs.
	RuleEvicted = &Rule{"mqtt.evicted", GroupSequence, SevWarn, "connection state dropped (too many connections open; the one idle longest goes first): packet shown as far as received", ""}
	// %d bytes present, %d bytes expected.
	RuleTruncated = &Rule{"mqtt.truncated", GroupSequence, SevWarn, "packet cut short: %d of %d bytes in the capture", ""}
)

// ReaderOnly reports whether r is about the reader's own limits or its view
// of the capture rather than the packet (bytes it skipped, entries it did
// not list, state it dropped): a Wireshark dissector makes no such note.
func (r *Rule) ReaderOnly() bool {
	return r == RuleSkipped || r == RuleRepeatsHidden || r == RuleEvicted
}

// Rules lists every rule, for documentation and generators.
var Rules = []*Rule{
	RuleEmptyTopic, RuleUnknownVersion, RuleUnknownAlias,
	RuleReservedFlags, RuleReservedValue, RuleUndefinedValue, RuleReservedBits, RuleLongVarInt,
	RuleBadUTF8, RuleNulInString, RuleZeroPacketID, RuleWildcardInTopic,
	RulePropertyNotAllowed, RulePropertyRepeated, RuleUnknownProperty, RuleTypeNotInVersion,
	RuleTrailingBytes, RuleMissingPayload, RuleUnknownLevel, RuleMalformed,
	RuleAssumedVersion, RuleGap, RuleGapUnknown, RuleTruncated, RuleSkipped,
	RuleRepeatsHidden, RuleEvicted,
}

// Reasons are the details of a RuleMalformed note: why a packet could not be
// read to its end. Both readers use these texts, so their notes match. The
// verbs are filled in the order documented on each.
var Reasons = struct {
	ShortPacket    string // no verbs
	LengthCut      string // no verbs: the capture ends inside the Remaining Length
	LengthNoEnd    string // no verbs
	LengthTooLarge string // %d Remaining Length
	NeedBytes      string // %s what, %d bytes needed, %d bytes left
	VarIntPastEnd  string // no verbs
	StringPastEnd  string // %d length, %d bytes left
	PropsLenCut    string // no verbs
	PropsPastEnd   string // %d property length, %d bytes left
	WhatLength     string // the "what" of NeedBytes for a two-byte length
	WhatPropertyID string // the "what" of NeedBytes for a property identifier
}{
	ShortPacket:    "a packet needs at least 2 bytes",
	LengthCut:      "remaining length is cut short",
	LengthNoEnd:    "remaining length has no end",
	LengthTooLarge: "remaining length %d is too large",
	NeedBytes:      "%s needs %d bytes, %d left in the packet",
	VarIntPastEnd:  "variable byte integer runs past the end",
	StringPastEnd:  "length %d runs past the end of the packet (%d bytes left)",
	PropsLenCut:    "property length runs past the end",
	PropsPastEnd:   "property length %d runs past the end of the packet (%d bytes left)",
	WhatLength:     "length",
	WhatPropertyID: "property identifier",
}

// MaxRemainingLength is the largest Remaining Length a reader accepts from a
// lenient (up to 10-byte) variable byte integer; the standard's own maximum
// is 268,435,455 (MQTT 5.0 §1.5.5). Larger values are malformed, which keeps
// lengths within 32-bit integer arithmetic in every reader.
const MaxRemainingLength = 1 << 31
