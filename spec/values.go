package spec

// Value-string tables, with Wireshark's wording (as registered by tshark
// 4.0.17; `tshark -G values` prints them).

// MsgTypes names the control packet types (mqtt_msgtype_vals). Type 0 is
// reserved in every version (MQTT 3.1.1 §2.2.1, 5.0 §2.1.2).
var MsgTypes = &ValueTable{Name: "msgtype", Entries: []ValueName{
	{0, "Reserved", true},
	{1, "Connect Command", false},
	{2, "Connect Ack", false},
	{3, "Publish Message", false},
	{4, "Publish Ack", false},
	{5, "Publish Received", false},
	{6, "Publish Release", false},
	{7, "Publish Complete", false},
	{8, "Subscribe Request", false},
	{9, "Subscribe Ack", false},
	{10, "Unsubscribe Request", false},
	{11, "Unsubscribe Ack", false},
	{12, "Ping Request", false},
	{13, "Ping Response", false},
	{14, "Disconnect Req", false},
	{15, "Authentication Exchange", false},
}}

// QoS names the QoS levels; 3 is reserved (MQTT 5.0 §3.3.1.2).
var QoS = &ValueTable{Name: "qos", Entries: []ValueName{
	{0, "At most once delivery (Fire and Forget)", false},
	{1, "At least once delivery (Acknowledged deliver)", false},
	{2, "Exactly once delivery (Assured Delivery)", false},
	{3, "Reserved", true},
}}

// GrantedQoS names SUBACK return codes of 3.x (MQTT 3.1.1 §3.9.3).
var GrantedQoS = &ValueTable{Name: "subqos", Entries: []ValueName{
	{0, "At most once delivery (Fire and Forget)", false},
	{1, "At least once delivery (Acknowledged deliver)", false},
	{2, "Exactly once delivery (Assured Delivery)", false},
	{3, "Reserved", true},
	{128, "Failure", false},
}}

// ConnackCodes names the 3.x CONNACK return codes (MQTT 3.1.1 §3.2.2.3).
var ConnackCodes = &ValueTable{Name: "conack", Entries: []ValueName{
	{0, "Connection Accepted", false},
	{1, "Connection Refused: unacceptable protocol version", false},
	{2, "Connection Refused: identifier rejected", false},
	{3, "Connection Refused: server unavailable", false},
	{4, "Connection Refused: bad user name or password", false},
	{5, "Connection Refused: not authorized", false},
}}

// ProtocolVersions names the protocol levels of CONNECT.
var ProtocolVersions = &ValueTable{Name: "version", Entries: []ValueName{
	{3, "MQTT v3.1", false},
	{4, "MQTT v3.1.1", false},
	{5, "MQTT v5.0", false},
}}

// RetainHandling names the v5 subscription option (MQTT 5.0 §3.8.3.1).
var RetainHandling = &ValueTable{Name: "retain_handling", Entries: []ValueName{
	{0, "Send msgs at subscription time", false},
	{1, "Send msgs if subscription does not exist", false},
	{2, "Do not send msgs at subscription time", false},
	{3, "Reserved", true},
}}

// Reason codes of MQTT 5.0 (§2.4), one table per packet type as Wireshark
// has them.
var (
	ConnackReasons = &ValueTable{Name: "rc_connack", Entries: []ValueName{
		{0x00, "Success", false}, {0x80, "Unspecified error", false}, {0x81, "Malformed Packet", false},
		{0x82, "Protocol Error", false}, {0x83, "Implementation specific error", false},
		{0x84, "Unsupported Protocol Version", false}, {0x85, "Client Identifier not valid", false},
		{0x86, "Bad User Name or Password", false}, {0x87, "Not authorized", false},
		{0x88, "Server unavailable", false}, {0x89, "Server busy", false}, {0x8A, "Banned", false},
		{0x8C, "Bad authentication method", false}, {0x90, "Topic Name invalid", false},
		{0x95, "Packet too large", false}, {0x97, "Quota exceeded", false},
		{0x9A, "Retain not supported", false}, {0x9B, "QoS not supported", false},
		{0x9C, "Use another server", false}, {0x9D, "Server moved", false},
		{0x9F, "Connection rate exceeded", false},
	}}
	PubackReasons = &ValueTable{Name: "rc_puback", Entries: []ValueName{
		{0x00, "Success", false}, {0x10, "No matching subscribers", false}, {0x80, "Unspecified error", false},
		{0x83, "Implementation specific error", false}, {0x87, "Not authorized", false},
		{0x90, "Topic Name invalid", false}, {0x91, "Packet Identifier in use", false},
		{0x97, "Quota exceeded", false}, {0x99, "Payload format invalid", false},
	}}
	PubrelReasons = &ValueTable{Name: "rc_pubrel", Entries: []ValueName{
		{0x00, "Success", false}, {0x92, "Packet Identifier not found", false},
	}}
	SubackReasons = &ValueTable{Name: "rc_suback", Entries: []ValueName{
		{0x00, "Granted QoS 0", false}, {0x01, "Granted QoS 1", false}, {0x02, "Granted QoS 2", false},
		{0x80, "Unspecified error", false}, {0x83, "Implementation specific error", false},
		{0x87, "Not authorized", false}, {0x8F, "Topic Filter invalid", false},
		{0x91, "Packet Identifier in use", false}, {0x97, "Quota exceeded", false},
		{0x9E, "Shared Subscription not supported", false},
		{0xA1, "Subscription Identifiers not supported", false},
		{0xA2, "Wildcard Subscription not supported", false},
	}}
	UnsubackReasons = &ValueTable{Name: "rc_unsuback", Entries: []ValueName{
		{0x00, "Success", false}, {0x11, "No subscription existed", false},
		{0x83, "Implementation specific error", false}, {0x87, "Not authorized", false},
		{0x8F, "Topic Filter invalid", false}, {0x91, "Packet Identifier in use", false},
	}}
	DisconnectReasons = &ValueTable{Name: "rc_disconnect", Entries: []ValueName{
		{0x00, "Normal disconnection", false}, {0x04, "Disconnect with Will Message", false},
		{0x80, "Unspecified error", false}, {0x81, "Malformed Packet", false}, {0x82, "Protocol Error", false},
		{0x83, "Implementation specific error", false}, {0x87, "Not authorized", false},
		{0x89, "Server busy", false}, {0x8B, "Server shutting down", false},
		{0x8C, "Bad authentication method", false}, {0x8D, "Keep Alive timeout", false},
		{0x8E, "Session taken over", false}, {0x8F, "Topic Filter invalid", false},
		{0x90, "Topic Name invalid", false}, {0x93, "Receive Maximum exceeded", false},
		{0x94, "Topic Alias invalid", false}, {0x95, "Packet too large", false},
		{0x96, "Message rate too high", false}, {0x97, "Quota exceeded", false},
		{0x98, "Administrative action", false}, {0x99, "Payload format invalid", false},
		{0x9A, "Retain not supported", false}, {0x9B, "QoS not supported", false},
		{0x9C, "Use another server", false}, {0x9D, "Server moved", false},
		{0x9E, "Shared Subscription not supported", false}, {0x9F, "Connection rate exceeded", false},
		{0xA0, "Maximum connect time", false}, {0xA1, "Subscription Identifiers not supported", false},
		{0xA2, "Wildcard Subscription not supported", false},
	}}
	AuthReasons = &ValueTable{Name: "rc_auth", Entries: []ValueName{
		{0x00, "Success", false}, {0x18, "Continue authentication", false}, {0x19, "Re-authenticate", false},
	}}
)

// ReasonDisconnectWithWill is the DISCONNECT reason code by which a client
// asks the server to publish its will (MQTT 5.0 §3.14.2.1).
const ReasonDisconnectWithWill = 0x04

// PropertyIDs names the MQTT 5 property identifiers (§2.2.2.2), built from
// the property table so the two cannot disagree.
var PropertyIDs = func() *ValueTable {
	t := &ValueTable{Name: "property_id"}
	for _, p := range Properties {
		t.Entries = append(t.Entries, ValueName{Value: uint32(p.ID), Name: p.Name})
	}
	return t
}()

// ValueTables lists every table in a fixed order, for generators.
var ValueTables = []*ValueTable{
	MsgTypes, QoS, GrantedQoS, ConnackCodes, ProtocolVersions, RetainHandling,
	ConnackReasons, PubackReasons, PubrelReasons, SubackReasons, UnsubackReasons,
	DisconnectReasons, AuthReasons, PropertyIDs,
}
