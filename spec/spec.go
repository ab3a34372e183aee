// Package spec describes MQTT 3.1, 3.1.1 and 5.0 control packets as data.
//
// The table says what is on the wire; it does not read bytes. Two readers
// interpret it: the Go decoder in package dissect and the Lua emitter in
// package luagen. Anything either of them needs to know about MQTT belongs
// here, so a packet type or field added to the table appears in both.
//
// The vocabulary follows Wireshark's hf_register_info and the MQTT standard:
//   - Field: what a Wireshark ProtoField needs (filter abbreviation, label,
//     type, display base, bitmask, value strings).
//   - Element: one step of a packet layout: which Field it adds, how the bytes
//     are encoded (Wire), when it is present (Cond), whether it repeats to the
//     end of the packet, and the checks the standard asks for.
//   - Property: one MQTT 5 property, with the packets that may carry it.
//   - Packet: a control packet type with its fixed-header flag layouts and the
//     ordered elements of its variable header and payload.
//   - Rule: a violation of the standard that the decoder reports as a note.
package spec

import "strconv"

// Version is an MQTT protocol level as carried in CONNECT (MQTT 5.0 §3.1.2.2).
type Version uint8

// Protocol levels. VersionUnknown is used when no CONNECT was seen.
const (
	VersionUnknown Version = 0
	V31            Version = 3 // MQTT 3.1, protocol name "MQIsdp"
	V311           Version = 4 // MQTT 3.1.1
	V5             Version = 5 // MQTT 5.0
)

// String returns the version as users write it ("3.1.1"); it never panics.
func (v Version) String() string {
	switch v {
	case VersionUnknown:
		return "unknown"
	case V31:
		return "3.1"
	case V311:
		return "3.1.1"
	case V5:
		return "5.0"
	}
	return "level " + strconv.Itoa(int(v))
}

// Known reports whether the decoder has a layout for v.
func (v Version) Known() bool { return v == V31 || v == V311 || v == V5 }

// ParseVersion accepts "3.1", "31", "3", "3.1.1", "311", "4", "5", "5.0", "50".
func ParseVersion(s string) (Version, bool) {
	switch s {
	case "3.1", "31", "3":
		return V31, true
	case "3.1.1", "311", "4":
		return V311, true
	case "5", "5.0", "50":
		return V5, true
	}
	return VersionUnknown, false
}

// VersionSet is a set of versions; the zero value means "every version".
type VersionSet uint8

// Version sets. OnUnknown matters because Wireshark lays out some packets of
// a conversation whose CONNECT it has not seen in a way of its own.
const (
	OnUnknown VersionSet = 1 << iota
	On31
	On311
	On5
	On3x = On31 | On311
)

// Has reports whether v is in the set.
func (s VersionSet) Has(v Version) bool {
	if s == 0 {
		return true
	}
	switch v {
	case V31:
		return s&On31 != 0
	case V311:
		return s&On311 != 0
	case V5:
		return s&On5 != 0
	}
	return s&OnUnknown != 0
}

// FieldType mirrors the Wireshark ftenum of a field.
type FieldType uint8

// Field types used by MQTT.
const (
	FTNone       FieldType = iota // a subtree with no value of its own
	FTUint8                       // FT_UINT8
	FTUint16                      // FT_UINT16
	FTUint32                      // FT_UINT32
	FTUint64                      // FT_UINT64
	FTBool                        // FT_BOOLEAN
	FTString                      // FT_STRING
	FTUintString                  // FT_UINT_STRING: a string with its length prefix inside the item
	FTBytes                       // FT_BYTES
)

var fieldTypeNames = [...]string{"FT_NONE", "FT_UINT8", "FT_UINT16", "FT_UINT32", "FT_UINT64", "FT_BOOLEAN", "FT_STRING", "FT_UINT_STRING", "FT_BYTES"}

// String returns Wireshark's name of the type ("FT_UINT8").
func (t FieldType) String() string {
	if int(t) < len(fieldTypeNames) {
		return fieldTypeNames[t]
	}
	return "FT_UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

// IsInteger reports whether values of the type are unsigned integers.
func (t FieldType) IsInteger() bool { return t >= FTUint8 && t <= FTUint64 }

// IsText reports whether values of the type are strings.
func (t FieldType) IsText() bool { return t == FTString || t == FTUintString }

// Base is the display base of an integer field.
type Base uint8

// Display bases.
const (
	BaseNone Base = iota
	BaseDec
	BaseHex
)

// String returns Wireshark's name of the base ("BASE_HEX").
func (b Base) String() string {
	switch b {
	case BaseNone:
		return "BASE_NONE"
	case BaseDec:
		return "BASE_DEC"
	case BaseHex:
		return "BASE_HEX"
	}
	return "BASE_UNKNOWN(" + strconv.Itoa(int(b)) + ")"
}

// ValueName is one entry of a value-string table.
type ValueName struct {
	Value uint32
	Name  string
	// Reserved marks a value the standard reserves: seeing it on the wire is
	// a protocol violation (QoS 3, packet type 0, retain handling 3).
	Reserved bool
}

// ValueTable is a Wireshark value_string table.
type ValueTable struct {
	Name    string // identifier-friendly name ("qos"), used for generated code
	Entries []ValueName
}

// Lookup returns the name of v and whether the table has it.
func (t *ValueTable) Lookup(v uint64) (ValueName, bool) {
	if t == nil {
		return ValueName{}, false
	}
	for _, e := range t.Entries {
		if uint64(e.Value) == v {
			return e, true
		}
	}
	return ValueName{}, false
}

// BoolNames are the true/false strings of every MQTT boolean (Wireshark's
// tfs_set_notset).
var BoolNames = [2]string{"Not set", "Set"}

// Field is what Wireshark registers for one filterable item: a ProtoField.
type Field struct {
	Abbrev string // filter abbreviation ("mqtt.topic")
	Name   string // label shown in the tree ("Topic")
	Type   FieldType
	Base   Base
	// Mask selects the bits of a field shown inside a flags byte.
	Mask uint32
	// BoolBits is the bit width FT_BOOLEAN fields with a mask are shown in.
	BoolBits int
	Values   *ValueTable
	Blurb    string // Wireshark's description, "" when it has none
	// MustBeZero marks reserved bits the standard requires to be 0.
	MustBeZero bool
	// Ours is true for fields Wireshark's built-in dissector lacks.
	Ours bool

	index int // 1 + position in Fields; set by init
}

// Shift is the number of trailing zero bits of the mask.
func (f *Field) Shift() uint {
	if f.Mask == 0 {
		return 0
	}
	s := uint(0)
	for f.Mask>>s&1 == 0 {
		s++
	}
	return s
}

// Wire is how an element's bytes are encoded (MQTT 5.0 §1.5).
type Wire uint8

// Wire encodings. Each has exactly one decode function in each reader.
const (
	WireNone       Wire = iota // no bytes: a generated field
	WireU8                     // one byte (§1.5.1); may carry bit fields
	WireU16                    // two-byte big-endian integer (§1.5.2)
	WireU32                    // four-byte big-endian integer (§1.5.3)
	WireVarInt                 // variable byte integer (§1.5.5)
	WireUTF8                   // two-byte length + UTF-8 string (§1.5.4)
	WireBinary                 // two-byte length + binary data (§1.5.6)
	WirePair                   // UTF-8 string pair (§1.5.7): Elements holds key and value
	WireRest                   // every byte left in the packet
	WireProperties             // MQTT 5 property block (§2.2.2): length + properties
	WireGroup                  // a sequence of Elements with no node of its own
)

var wireNames = [...]string{"none", "byte", "two-byte integer", "four-byte integer", "variable byte integer", "UTF-8 string", "binary data", "string pair", "rest of packet", "properties", "group"}

// String names the encoding as the standard does; it never panics.
func (w Wire) String() string {
	if int(w) < len(wireNames) {
		return wireNames[w]
	}
	return "wire(" + strconv.Itoa(int(w)) + ")"
}

// FixedSize is the number of bytes of a fixed-size encoding, 0 otherwise.
func (w Wire) FixedSize() int {
	switch w {
	case WireU8:
		return 1
	case WireU16:
		return 2
	case WireU32:
		return 4
	}
	return 0
}

// Cond says when an element is present. All set parts must hold.
type Cond struct {
	// Versions the element exists in (zero: all).
	Versions VersionSet
	// Flag names an earlier field of the same packet that must be non-zero
	// (a CONNECT flag, or the PUBLISH QoS).
	Flag *Field
	// MinLeft is how many bytes must remain in the packet (Wireshark's
	// "remaining length > n" rules for optional v5 reason codes).
	MinLeft int
}

// Role marks an element whose value means something beyond its own node.
type Role uint8

// Roles.
const (
	RoleNone          Role = iota
	RoleVersion            // protocol level: sets the connection's version
	RolePacketID           // packet identifier
	RoleTopic              // PUBLISH topic name
	RoleTopicFilter        // SUBSCRIBE/UNSUBSCRIBE topic filter
	RoleTopicAlias         // v5 Topic Alias property value
	RoleAliasTopic         // generated: the topic a Topic Alias stands for
	RoleClientID           // CONNECT client identifier
	RoleUsername           // CONNECT user name
	RolePayload            // application message
	RoleReasonCode         // v5 reason code or 3.x CONNACK return code
	RoleKeepAlive          // CONNECT keep alive
	RoleSessionExpiry      // Session Expiry Interval property value
)

// Check is a set of rules an element's value must follow.
type Check uint8

// Checks.
const (
	CheckUTF8       Check = 1 << iota // well-formed UTF-8 without U+0000 (§1.5.4)
	CheckNonZero                      // must not be 0 (packet identifiers, §2.2.1)
	CheckNonEmpty                     // length must not be 0 (topics, §4.7.3)
	CheckNoWildcard                   // a topic name must not contain + or # (§4.7.1)
)

// InfoStyle says how an element contributes to the Info column.
type InfoStyle uint8

// Info styles, in Wireshark's wording.
const (
	InfoNone    InfoStyle = iota
	InfoID                // " (id=N)"
	InfoBracket           // " [text]"
)

// Element is one step of a packet layout.
type Element struct {
	Field *Field // node added; nil for WireGroup and WirePair
	Wire  Wire
	// Length is the node for the two-byte length of WireUTF8 and WireBinary,
	// or the property-length node of WireProperties; nil when the length is
	// shown inside the item (FT_UINT_STRING).
	Length *Field
	// Text replaces Field when the user asks to show payloads as text.
	Text *Field
	// Bits are the bit fields of a WireU8 flags byte, shown as children.
	Bits []*Field
	When Cond
	// Repeat repeats the element until the packet ends.
	Repeat bool
	// OmitEmpty leaves out the value node of a zero-length string (the
	// length node stays), as Wireshark does for a PUBLISH topic.
	OmitEmpty bool
	// Elements of a WireGroup or WirePair.
	Elements []Element
	// Context names the property table entry that applies to a
	// WireProperties block (a packet type, or Will).
	Context PropContext
	Role    Role
	Check   Check
	Info    InfoStyle
}

// PacketType is the 4-bit control packet type (MQTT 5.0 §2.1.2).
type PacketType uint8

// Control packet types.
const (
	Reserved PacketType = iota
	CONNECT
	CONNACK
	PUBLISH
	PUBACK
	PUBREC
	PUBREL
	PUBCOMP
	SUBSCRIBE
	SUBACK
	UNSUBSCRIBE
	UNSUBACK
	PINGREQ
	PINGRESP
	DISCONNECT
	AUTH
)

// String returns the standard's name of the type; it never panics.
func (t PacketType) String() string {
	if int(t) < len(Packets) && Packets[t].Name != "" {
		return Packets[t].Name
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// ParsePacketType accepts a standard name, case-insensitively, or a number.
func ParsePacketType(s string) (PacketType, bool) {
	for i := range Packets {
		if equalFold(Packets[i].Name, s) {
			return PacketType(i), true
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < len(Packets) {
		return PacketType(n), true
	}
	return 0, false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// FlagLayout is one reading of the low four bits of the fixed header.
type FlagLayout struct {
	When Cond
	Bits []*Field // shown under mqtt.hdrflags, high bits first
	// Required is the value the standard requires for the low four bits, or
	// -1 when they carry meaning (PUBLISH).
	Required int
}

// Packet describes one control packet type.
type Packet struct {
	Type PacketType
	Name string // the standard's name ("PUBLISH")
	// Versions the type exists in (AUTH only in 5.0); zero: all.
	Versions VersionSet
	// Flags lists the fixed-header flag layouts; the first whose condition
	// holds applies.
	Flags []FlagLayout
	// Body is the variable header and payload, in wire order.
	Body []Element
	// FromClient and FromServer say who may send the packet.
	FromClient, FromServer bool
}

// Info returns Wireshark's name of the packet type for the Info column.
func (p *Packet) Info() string {
	if v, ok := MsgTypes.Lookup(uint64(p.Type)); ok {
		return v.Name
	}
	return "Unknown (0x" + strconv.FormatUint(uint64(p.Type), 16) + ")"
}

// FlagLayoutFor returns the flag layout that applies in version v.
func (p *Packet) FlagLayoutFor(v Version) *FlagLayout {
	for i := range p.Flags {
		if p.Flags[i].When.Versions.Has(v) {
			return &p.Flags[i]
		}
	}
	return &p.Flags[len(p.Flags)-1]
}

// Protocol describes the protocol as Wireshark registers it.
type Protocol struct {
	Name      string // "MQ Telemetry Transport Protocol"
	ShortName string // "MQTT", the Protocol column
	Filter    string // "mqtt"
	Port      uint16 // IANA port, 1883
}

// MQTT is the protocol registration.
var MQTT = Protocol{Name: "MQ Telemetry Transport Protocol", ShortName: "MQTT", Filter: "mqtt", Port: 1883}

// MaxVarIntBytes is the longest variable byte integer the standard allows
// (MQTT 5.0 §1.5.5).
const MaxVarIntBytes = 4

// MaxVarIntBytesLenient is how many bytes Wireshark reads before giving up
// on a variable byte integer (FT_VARINT_MAX_LEN); longer ones are malformed.
const MaxVarIntBytesLenient = 10
