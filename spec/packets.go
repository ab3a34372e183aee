package spec

// Fixed-header flag layouts (MQTT 3.1.1 §2.2.2, 5.0 §2.1.3).
var (
	publishFlags = FlagLayout{Bits: []*Field{MsgType, DupFlag, QoSLevel, Retain}, Required: -1}
	// MQTT 3.1 gave PUBREL, SUBSCRIBE and UNSUBSCRIBE a meaningful QoS and
	// DUP flag (3.1 §3.6, §3.8, §3.10); Wireshark shows them as such.
	v31AckFlags = FlagLayout{When: Cond{Versions: On31}, Bits: []*Field{MsgType, DupFlag, QoSLevel, RetainReserved}, Required: -1}
)

func otherFlags(required int) FlagLayout {
	return FlagLayout{Bits: []*Field{MsgType, HdrReserved}, Required: required}
}

// Layout building blocks shared by several packets.

func packetID() Element {
	return Element{Field: MsgID, Wire: WireU16, Role: RolePacketID, Check: CheckNonZero, Info: InfoID}
}

func properties(t PacketType, when Cond) Element {
	when.Versions = On5
	return Element{Field: PropertiesField, Length: PropertyLen, Wire: WireProperties, Context: ContextOf(t), When: when}
}

// ackBody is the layout of PUBACK, PUBREC, PUBREL and PUBCOMP: the reason
// code and properties may be left out in 5.0 (§3.4.2.1: "The Reason Code and
// Property Length can be omitted if the Reason Code is 0x00 and there are no
// Properties"), which Wireshark reads as "remaining length > 2" and "> 3".
func ackBody(t PacketType, reason *Field) []Element {
	return []Element{
		packetID(),
		{Field: reason, Wire: WireU8, Role: RoleReasonCode, When: Cond{Versions: On5, MinLeft: 1}},
		properties(t, Cond{MinLeft: 1}),
	}
}

// shortReasonBody is the layout of DISCONNECT and AUTH in 5.0 (§3.14.2.1,
// §3.15.2.1): reason code and properties are optional.
func shortReasonBody(t PacketType, reason *Field) []Element {
	return []Element{
		{Field: reason, Wire: WireU8, Role: RoleReasonCode, When: Cond{Versions: On5, MinLeft: 1}},
		properties(t, Cond{MinLeft: 1}),
	}
}

// Packets is the table of control packet types, indexed by type number.
var Packets = [16]Packet{
	{Type: Reserved, Name: "Reserved", Flags: []FlagLayout{otherFlags(0)}},
	{Type: CONNECT, Name: "CONNECT", FromClient: true, Flags: []FlagLayout{otherFlags(0)}, Body: []Element{
		// MQTT 5.0 §3.1.2.1: "MQTT"; 3.1 used "MQIsdp".
		{Field: ProtoName, Length: ProtoLen, Wire: WireUTF8, Check: CheckUTF8},
		{Field: ProtoVer, Wire: WireU8, Role: RoleVersion},
		{Field: ConFlags, Wire: WireU8, Bits: []*Field{ConFlagUname, ConFlagPasswd, ConFlagRetain, ConFlagQoS, ConFlagWill, ConFlagClean, ConFlagReserved}},
		{Field: KeepAlive, Wire: WireU16, Role: RoleKeepAlive},
		properties(CONNECT, Cond{}),
		{Field: ClientID, Length: ClientIDLen, Wire: WireUTF8, Check: CheckUTF8, Role: RoleClientID},
		{Wire: WireGroup, When: Cond{Flag: ConFlagWill}, Elements: []Element{
			{Field: WillPropertiesField, Length: PropertyLen, Wire: WireProperties, Context: WillContext, When: Cond{Versions: On5}},
			{Field: WillTopic, Length: WillTopicL, Wire: WireUTF8, Check: CheckUTF8 | CheckNonEmpty | CheckNoWildcard},
			{Field: WillMsg, Text: WillMsgTxt, Length: WillMsgLen, Wire: WireBinary, Role: RolePayload},
		}},
		// Wireshark reads the user name and password only while bytes remain.
		{Field: UserName, Length: UserLen, Wire: WireUTF8, Check: CheckUTF8, Role: RoleUsername, When: Cond{Flag: ConFlagUname, MinLeft: 1}},
		{Field: Passwd, Length: PasswdLen, Wire: WireBinary, When: Cond{Flag: ConFlagPasswd, MinLeft: 1}},
	}},
	{Type: CONNACK, Name: "CONNACK", FromServer: true, Flags: []FlagLayout{otherFlags(0)}, Body: []Element{
		// MQTT 3.1 §3.2: the first byte is reserved and unused.
		{Field: ConackReserved31, Wire: WireU8, When: Cond{Versions: On31}},
		{Field: ConackFlags, Wire: WireU8, Bits: []*Field{ConackFlagReserve, ConackFlagSP}, When: Cond{Versions: On311 | On5 | OnUnknown}},
		{Field: ConackVal, Wire: WireU8, Role: RoleReasonCode, When: Cond{Versions: On3x}},
		// Without a CONNECT, Wireshark reads the code with the v5 table.
		{Field: ConnackReason, Wire: WireU8, Role: RoleReasonCode, When: Cond{Versions: On5 | OnUnknown}},
		properties(CONNACK, Cond{}),
	}},
	{Type: PUBLISH, Name: "PUBLISH", FromClient: true, FromServer: true, Flags: []FlagLayout{publishFlags}, Body: []Element{
		// A topic name has no wildcards (§4.7.1); in 5.0 it may be empty
		// when a Topic Alias stands for it (§3.3.2.3.4).
		{Field: Topic, Length: TopicLen, Wire: WireUTF8, Check: CheckUTF8 | CheckNoWildcard, Role: RoleTopic, OmitEmpty: true},
		// The packet identifier is present only when QoS > 0 (§3.3.2.2).
		{Field: MsgID, Wire: WireU16, Role: RolePacketID, Check: CheckNonZero, Info: InfoID, When: Cond{Flag: QoSLevel}},
		properties(PUBLISH, Cond{}),
		// The topic a Topic Alias stands for, as a generated node; the Info
		// column shows the topic in use, from the name or the alias.
		{Field: Topic, Wire: WireNone, Role: RoleAliasTopic, Info: InfoBracket},
		{Field: Msg, Text: MsgText, Wire: WireRest, Role: RolePayload},
	}},
	{Type: PUBACK, Name: "PUBACK", FromClient: true, FromServer: true, Flags: []FlagLayout{otherFlags(0)}, Body: ackBody(PUBACK, PubackReason)},
	{Type: PUBREC, Name: "PUBREC", FromClient: true, FromServer: true, Flags: []FlagLayout{otherFlags(0)}, Body: ackBody(PUBREC, PubrecReason)},
	{Type: PUBREL, Name: "PUBREL", FromClient: true, FromServer: true, Flags: []FlagLayout{v31AckFlags, otherFlags(2)}, Body: ackBody(PUBREL, PubrelReason)},
	{Type: PUBCOMP, Name: "PUBCOMP", FromClient: true, FromServer: true, Flags: []FlagLayout{otherFlags(0)}, Body: ackBody(PUBCOMP, PubcompReason)},
	{Type: SUBSCRIBE, Name: "SUBSCRIBE", FromClient: true, Flags: []FlagLayout{v31AckFlags, otherFlags(2)}, Body: []Element{
		packetID(),
		properties(SUBSCRIBE, Cond{}),
		// At least one topic filter follows (§3.8.3).
		{Wire: WireGroup, Repeat: true, Elements: []Element{
			{Field: Topic, Length: TopicLen, Wire: WireUTF8, Check: CheckUTF8 | CheckNonEmpty, Role: RoleTopicFilter, Info: InfoBracket},
			{Field: SubOptions, Wire: WireU8, Bits: []*Field{SubOptionsReserved, SubOptionsRetain, SubOptionsRAP, SubOptionsNL, SubOptionsQoS}, When: Cond{Versions: On5}},
			{Field: SubQoS, Wire: WireU8, When: Cond{Versions: On3x | OnUnknown}},
		}},
	}},
	{Type: SUBACK, Name: "SUBACK", FromServer: true, Flags: []FlagLayout{otherFlags(0)}, Body: []Element{
		packetID(),
		properties(SUBACK, Cond{}),
		{Field: SubackQoS, Wire: WireU8, Repeat: true, Role: RoleReasonCode, When: Cond{Versions: On3x}},
		{Field: SubackReason, Wire: WireU8, Repeat: true, Role: RoleReasonCode, When: Cond{Versions: On5 | OnUnknown}},
	}},
	{Type: UNSUBSCRIBE, Name: "UNSUBSCRIBE", FromClient: true, Flags: []FlagLayout{v31AckFlags, otherFlags(2)}, Body: []Element{
		packetID(),
		properties(UNSUBSCRIBE, Cond{}),
		{Field: Topic, Length: TopicLen, Wire: WireUTF8, Repeat: true, Check: CheckUTF8 | CheckNonEmpty, Role: RoleTopicFilter},
	}},
	{Type: UNSUBACK, Name: "UNSUBACK", FromServer: true, Flags: []FlagLayout{otherFlags(0)}, Body: []Element{
		packetID(),
		properties(UNSUBACK, Cond{}),
		{Field: UnsubackReason, Wire: WireU8, Repeat: true, Role: RoleReasonCode, When: Cond{Versions: On5}},
	}},
	{Type: PINGREQ, Name: "PINGREQ", FromClient: true, Flags: []FlagLayout{otherFlags(0)}},
	{Type: PINGRESP, Name: "PINGRESP", FromServer: true, Flags: []FlagLayout{otherFlags(0)}},
	{Type: DISCONNECT, Name: "DISCONNECT", FromClient: true, FromServer: true, Flags: []FlagLayout{otherFlags(0)}, Body: shortReasonBody(DISCONNECT, DisconnectReason)},
	{Type: AUTH, Name: "AUTH", Versions: On5, FromClient: true, FromServer: true, Flags: []FlagLayout{otherFlags(0)}, Body: shortReasonBody(AUTH, AuthReason)},
}

// FixedHeader names the two nodes every packet starts with.
var FixedHeader = struct {
	Flags, Length *Field
}{HdrFlags, MsgLen}

// PlausibleFirstByte reports whether b may start a packet: its type is not
// a reserved value and one of the type's flag layouts accepts its flags
// (the required value, or bits that carry no reserved value). Readers use it
// only to find a packet boundary again after bytes they could not frame.
func PlausibleFirstByte(b uint8) bool {
	typ := b >> MsgType.Shift()
	if v, ok := MsgTypes.Lookup(uint64(typ)); !ok || v.Reserved {
		return false
	}
	low := int(b) & ((1 << MsgType.Shift()) - 1)
	for _, l := range Packets[typ].Flags {
		if l.Required >= 0 {
			if low == l.Required {
				return true
			}
			continue
		}
		ok := true
		for _, f := range l.Bits {
			if f.Values == nil {
				continue
			}
			v := (uint64(b) & uint64(f.Mask)) >> f.Shift()
			if e, found := f.Values.Lookup(v); found && e.Reserved {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}
