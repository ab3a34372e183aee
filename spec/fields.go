package spec

// The fields, with Wireshark's filter abbreviations, labels, types, bases,
// masks and descriptions as registered by its built-in MQTT dissector
// (`tshark -G fields`, 4.0.17).

func uintField(abbrev, name string, t FieldType, base Base, mask uint32, vals *ValueTable) *Field {
	return &Field{Abbrev: abbrev, Name: name, Type: t, Base: base, Mask: mask, Values: vals}
}

func boolField(abbrev, name string, mask uint32) *Field {
	bits := 0
	if mask != 0 {
		bits = 8
	}
	return &Field{Abbrev: abbrev, Name: name, Type: FTBool, Mask: mask, BoolBits: bits}
}

func textField(abbrev, name string) *Field {
	return &Field{Abbrev: abbrev, Name: name, Type: FTString}
}

func withBlurb(f *Field, blurb string) *Field { f.Blurb = blurb; return f }

func mustBeZero(f *Field) *Field { f.MustBeZero = true; return f }

// Fixed header (MQTT 5.0 §2.1).
var (
	MsgLen   = uintField("mqtt.len", "Msg Len", FTUint64, BaseDec, 0, nil)
	HdrFlags = uintField("mqtt.hdrflags", "Header Flags", FTUint8, BaseHex, 0, nil)
	MsgType  = uintField("mqtt.msgtype", "Message Type", FTUint8, BaseDec, 0xF0, MsgTypes)
	// HdrReserved is checked against FlagLayout.Required, not MustBeZero:
	// PUBREL, SUBSCRIBE and UNSUBSCRIBE require 0010.
	HdrReserved    = withBlurb(uintField("mqtt.hdr_reserved", "Reserved", FTUint8, BaseDec, 0x0F, nil), "Fixed Header Reserved Field")
	RetainReserved = withBlurb(uintField("mqtt.retain_reserved", "Reserved", FTUint8, BaseDec, 0x01, nil), "Fixed Header Reserved Field")
	DupFlag        = boolField("mqtt.dupflag", "DUP Flag", 0x08)
	QoSLevel       = uintField("mqtt.qos", "QoS Level", FTUint8, BaseDec, 0x06, QoS)
	Retain         = boolField("mqtt.retain", "Retain", 0x01)
)

// CONNACK (MQTT 3.1 §3.2, 3.1.1 §3.2.2.1, 5.0 §3.2.2.1).
var (
	// ConackReserved31 is the whole reserved byte of a v3.1 CONNACK.
	ConackReserved31  = boolField("mqtt.conack.flags.reserved", "Reserved", 0)
	ConackFlags       = uintField("mqtt.conack.flags", "Acknowledge Flags", FTUint8, BaseHex, 0, nil)
	ConackFlagReserve = mustBeZero(boolField("mqtt.conack.flags.reserved", "Reserved", 0xFE))
	ConackFlagSP      = withBlurb(boolField("mqtt.conack.flags.sp", "Session Present", 0x01), "Session Present (version 3.1.1)")
	ConackVal         = uintField("mqtt.conack.val", "Return Code", FTUint8, BaseDec, 0, ConnackCodes)
)

// Packet identifiers, topics, payloads.
var (
	MsgID      = uintField("mqtt.msgid", "Message Identifier", FTUint16, BaseDec, 0, nil)
	SubQoS     = uintField("mqtt.sub.qos", "Requested QoS", FTUint8, BaseDec, 0, QoS)
	SubackQoS  = uintField("mqtt.suback.qos", "Granted QoS", FTUint8, BaseDec, 0, GrantedQoS)
	TopicLen   = uintField("mqtt.topic_len", "Topic Length", FTUint16, BaseDec, 0, nil)
	Topic      = textField("mqtt.topic", "Topic")
	WillTopicL = uintField("mqtt.willtopic_len", "Will Topic Length", FTUint16, BaseDec, 0, nil)
	WillTopic  = textField("mqtt.willtopic", "Will Topic")
	WillMsg    = &Field{Abbrev: "mqtt.willmsg", Name: "Will Message", Type: FTBytes}
	WillMsgTxt = textField("mqtt.willmsg_text", "Will Message")
	WillMsgLen = uintField("mqtt.willmsg_len", "Will Message Length", FTUint16, BaseDec, 0, nil)
	UserLen    = uintField("mqtt.username_len", "User Name Length", FTUint16, BaseDec, 0, nil)
	UserName   = textField("mqtt.username", "User Name")
	PasswdLen  = uintField("mqtt.passwd_len", "Password Length", FTUint16, BaseDec, 0, nil)
	// Passwd is binary data in the standard (MQTT 5.0 §3.1.3.6) but
	// Wireshark shows it as a string.
	Passwd  = textField("mqtt.passwd", "Password")
	Msg     = &Field{Abbrev: "mqtt.msg", Name: "Message", Type: FTBytes}
	MsgText = textField("mqtt.msg_text", "Message")
)

// CONNECT (MQTT 5.0 §3.1.2).
var (
	ProtoLen        = uintField("mqtt.proto_len", "Protocol Name Length", FTUint16, BaseDec, 0, nil)
	ProtoName       = textField("mqtt.protoname", "Protocol Name")
	ClientIDLen     = uintField("mqtt.clientid_len", "Client ID Length", FTUint16, BaseDec, 0, nil)
	ClientID        = textField("mqtt.clientid", "Client ID")
	ProtoVer        = withBlurb(uintField("mqtt.ver", "Version", FTUint8, BaseDec, 0, ProtocolVersions), "MQTT version")
	ConFlags        = uintField("mqtt.conflags", "Connect Flags", FTUint8, BaseHex, 0, nil)
	ConFlagUname    = boolField("mqtt.conflag.uname", "User Name Flag", 0x80)
	ConFlagPasswd   = boolField("mqtt.conflag.passwd", "Password Flag", 0x40)
	ConFlagRetain   = boolField("mqtt.conflag.retain", "Will Retain", 0x20)
	ConFlagQoS      = uintField("mqtt.conflag.qos", "QoS Level", FTUint8, BaseDec, 0x18, QoS)
	ConFlagWill     = boolField("mqtt.conflag.willflag", "Will Flag", 0x04)
	ConFlagClean    = boolField("mqtt.conflag.cleansess", "Clean Session Flag", 0x02)
	ConFlagReserved = mustBeZero(boolField("mqtt.conflag.reserved", "(Reserved)", 0x01))
	KeepAlive       = uintField("mqtt.kalive", "Keep Alive", FTUint16, BaseDec, 0, nil)
)

// SUBSCRIBE v5 subscription options (MQTT 5.0 §3.8.3.1).
var (
	SubOptions         = uintField("mqtt.subscription_options", "Subscription Options", FTUint8, BaseHex, 0, nil)
	SubOptionsQoS      = uintField("mqtt.subscription_options_qos", "QoS", FTUint8, BaseDec, 0x03, QoS)
	SubOptionsNL       = boolField("mqtt.subscription_options_nl", "No Local", 0x04)
	SubOptionsRAP      = boolField("mqtt.subscription_options_rap", "Retain As Published", 0x08)
	SubOptionsRetain   = uintField("mqtt.subscription_options_retain", "Retain Handling", FTUint8, BaseDec, 0x30, RetainHandling)
	SubOptionsReserved = mustBeZero(uintField("mqtt.subscription_options_reserved", "Reserved", FTUint8, BaseHex, 0xC0, nil))
)

func reasonField(abbrev string, vals *ValueTable) *Field {
	return withBlurb(uintField(abbrev, "Reason Code", FTUint8, BaseDec, 0, vals), "MQTT Reason Code")
}

// MQTT 5 reason codes (§2.4).
var (
	ConnackReason    = reasonField("mqtt.connack.reason_code", ConnackReasons)
	PubackReason     = reasonField("mqtt.puback.reason_code", PubackReasons)
	PubrecReason     = reasonField("mqtt.pubrec.reason_code", PubackReasons)
	PubrelReason     = reasonField("mqtt.pubrel.reason_code", PubrelReasons)
	PubcompReason    = reasonField("mqtt.pubcomp.reason_code", PubrelReasons)
	SubackReason     = reasonField("mqtt.suback.reason_code", SubackReasons)
	UnsubackReason   = reasonField("mqtt.unsuback.reason_code", UnsubackReasons)
	DisconnectReason = reasonField("mqtt.disconnect.reason_code", DisconnectReasons)
	AuthReason       = reasonField("mqtt.auth.reason_code", AuthReasons)
)

// MQTT 5 properties (§2.2.2).
var (
	PropertiesField     = &Field{Abbrev: "mqtt.properties", Name: "Properties", Type: FTNone}
	WillPropertiesField = &Field{Abbrev: "mqtt.will_properties", Name: "Will Properties", Type: FTNone}
	PropertyLen         = uintField("mqtt.property_len", "Total Length", FTUint64, BaseDec, 0, nil)
	PropertyID          = withBlurb(uintField("mqtt.property_id", "ID", FTUint8, BaseHex, 0, PropertyIDs), "Property Id")
	PropNumber          = uintField("mqtt.prop_number", "Value", FTUint32, BaseDec, 0, nil)
	PropContentType     = &Field{Abbrev: "mqtt.property.content_type", Name: "Content Type", Type: FTUintString}
	PropMaxQoS          = uintField("mqtt.property.max_qos", "QoS", FTUint8, BaseDec, 0, QoS)
	PropTopicAlias      = uintField("mqtt.property.topic_alias", "Topic Alias", FTUint16, BaseDec, 0, nil)
	PropUnknown         = textField("mqtt.prop_unknown", "Unknown Property")
	PropStringLen       = uintField("mqtt.prop_string_len", "Length", FTUint32, BaseDec, 0, nil)
	PropString          = textField("mqtt.prop_string", "Value")
	PropKeyLen          = uintField("mqtt.prop_key_len", "Key Length", FTUint32, BaseDec, 0, nil)
	PropKey             = textField("mqtt.prop_key", "Key")
	PropValueLen        = uintField("mqtt.prop_value_len", "Value Length", FTUint32, BaseDec, 0, nil)
	PropValue           = textField("mqtt.prop_value", "Value")
)

// Fields lists every field once, in registration order. Two fields may share
// an abbreviation (the v3.1 and v3.1.1 CONNACK reserved bits, as in
// Wireshark); both are listed.
var Fields = []*Field{
	MsgLen, HdrFlags, MsgType, HdrReserved, RetainReserved, DupFlag, QoSLevel, Retain,
	ConackReserved31, ConackFlags, ConackFlagReserve, ConackFlagSP, ConackVal,
	MsgID, SubQoS, SubackQoS, TopicLen, Topic, WillTopicL, WillTopic, WillMsg, WillMsgTxt, WillMsgLen,
	UserLen, UserName, PasswdLen, Passwd, Msg, MsgText,
	ProtoLen, ProtoName, ClientIDLen, ClientID, ProtoVer,
	ConFlags, ConFlagUname, ConFlagPasswd, ConFlagRetain, ConFlagQoS, ConFlagWill, ConFlagClean, ConFlagReserved,
	KeepAlive,
	SubOptions, SubOptionsQoS, SubOptionsNL, SubOptionsRAP, SubOptionsRetain, SubOptionsReserved,
	ConnackReason, PubackReason, PubrecReason, PubrelReason, PubcompReason, SubackReason, UnsubackReason,
	DisconnectReason, AuthReason,
	PropertiesField, WillPropertiesField, PropertyLen, PropertyID, PropNumber, PropContentType, PropMaxQoS,
	PropTopicAlias, PropUnknown, PropStringLen, PropString, PropKeyLen, PropKey, PropValueLen, PropValue,
}

// Index returns the position of f in Fields, or -1 for a field that is not
// in the table. Readers use it to keep per-field state in arrays.
func (f *Field) Index() int { return f.index - 1 }

func init() {
	for i, f := range Fields {
		f.index = i + 1
	}
}
