package spec

// PropContext names where a property block stands: a packet type, or the
// will properties of CONNECT (MQTT 5.0 §3.1.3.2).
type PropContext uint8

// WillContext is the context of CONNECT's will properties; the other
// contexts are packet types.
const WillContext PropContext = 16

// ContextOf returns the context of a packet type's own property block.
func ContextOf(t PacketType) PropContext { return PropContext(t) }

// String names the context; it never panics.
func (c PropContext) String() string {
	if c == WillContext {
		return "Will Properties"
	}
	return PacketType(c).String()
}

// ContextSet is a set of property contexts.
type ContextSet uint32

// Has reports whether c is in the set.
func (s ContextSet) Has(c PropContext) bool { return c < 32 && s&(1<<c) != 0 }

func contexts(cs ...PropContext) ContextSet {
	var s ContextSet
	for _, c := range cs {
		s |= 1 << c
	}
	return s
}

// Property describes one MQTT 5 property (§2.2.2.2).
type Property struct {
	ID   uint8
	Name string // Wireshark's name
	// Value lists the elements that follow the identifier byte.
	Value []Element
	// In is where the property may appear.
	In ContextSet
	// Repeatable properties may appear more than once (User Property;
	// Subscription Identifier in a PUBLISH sent to a client, §3.3.2.3.8).
	Repeatable bool
}

// Wire returns the encoding of the property's value.
func (p *Property) Wire() Wire {
	if len(p.Value) == 1 {
		return p.Value[0].Wire
	}
	return WirePair
}

func numberProp(w Wire) []Element { return []Element{{Field: PropNumber, Wire: w}} }

func stringProp() []Element {
	return []Element{{Field: PropString, Length: PropStringLen, Wire: WireUTF8, Check: CheckUTF8}}
}

// binaryProp: Wireshark 4.0 shows binary properties with the string field.
func binaryProp() []Element {
	return []Element{{Field: PropString, Length: PropStringLen, Wire: WireBinary}}
}

var (
	cConnect     = ContextOf(CONNECT)
	cConnack     = ContextOf(CONNACK)
	cPublish     = ContextOf(PUBLISH)
	cPuback      = ContextOf(PUBACK)
	cPubrec      = ContextOf(PUBREC)
	cPubrel      = ContextOf(PUBREL)
	cPubcomp     = ContextOf(PUBCOMP)
	cSubscribe   = ContextOf(SUBSCRIBE)
	cSuback      = ContextOf(SUBACK)
	cUnsubscribe = ContextOf(UNSUBSCRIBE)
	cUnsuback    = ContextOf(UNSUBACK)
	cDisconnect  = ContextOf(DISCONNECT)
	cAuth        = ContextOf(AUTH)
)

// Identifiers of the properties the readers act on beyond showing them:
// the client identifier a server assigns (MQTT 5.0 §3.2.2.3.7) and the keep
// alive it imposes (§3.2.2.3.14).
const (
	PropIDAssignedClientID uint8 = 0x12
	PropIDServerKeepAlive  uint8 = 0x13
)

// Properties lists the 27 MQTT 5 properties in identifier order, with the
// packets each may appear in (MQTT 5.0 §2.2.2.2, Table 2-4).
var Properties = []*Property{
	{ID: 0x01, Name: "Payload Format Indicator", Value: numberProp(WireU8), In: contexts(cPublish, WillContext)},
	// The standard calls 0x02 "Message Expiry Interval"; Wireshark's name is kept.
	{ID: 0x02, Name: "Publication Expiry Interval", Value: numberProp(WireU32), In: contexts(cPublish, WillContext)},
	{ID: 0x03, Name: "Content Type", Value: []Element{{Field: PropContentType, Wire: WireUTF8, Check: CheckUTF8}}, In: contexts(cPublish, WillContext)},
	{ID: 0x08, Name: "Response Topic", Value: stringProp(), In: contexts(cPublish, WillContext)},
	{ID: 0x09, Name: "Correlation Data", Value: binaryProp(), In: contexts(cPublish, WillContext)},
	{ID: 0x0B, Name: "Subscription Identifier", Value: numberProp(WireVarInt), In: contexts(cPublish, cSubscribe), Repeatable: true},
	{ID: 0x11, Name: "Session Expiry Interval", Value: []Element{{Field: PropNumber, Wire: WireU32, Role: RoleSessionExpiry}}, In: contexts(cConnect, cConnack, cDisconnect)},
	{ID: PropIDAssignedClientID, Name: "Assigned Client Identifier", Value: stringProp(), In: contexts(cConnack)},
	{ID: PropIDServerKeepAlive, Name: "Server Keep Alive", Value: numberProp(WireU16), In: contexts(cConnack)},
	{ID: 0x15, Name: "Authentication Method", Value: stringProp(), In: contexts(cConnect, cConnack, cAuth)},
	{ID: 0x16, Name: "Authentication Data", Value: binaryProp(), In: contexts(cConnect, cConnack, cAuth)},
	{ID: 0x17, Name: "Request Problem Information", Value: numberProp(WireU8), In: contexts(cConnect)},
	{ID: 0x18, Name: "Will Delay Interval", Value: numberProp(WireU32), In: contexts(WillContext)},
	{ID: 0x19, Name: "Request Response Information", Value: numberProp(WireU8), In: contexts(cConnect)},
	{ID: 0x1A, Name: "Response Information", Value: stringProp(), In: contexts(cConnack)},
	{ID: 0x1C, Name: "Server Reference", Value: stringProp(), In: contexts(cConnack, cDisconnect)},
	{ID: 0x1F, Name: "Reason String", Value: stringProp(), In: contexts(cConnack, cPuback, cPubrec, cPubrel, cPubcomp, cSuback, cUnsuback, cDisconnect, cAuth)},
	{ID: 0x21, Name: "Receive Maximum", Value: numberProp(WireU16), In: contexts(cConnect, cConnack)},
	{ID: 0x22, Name: "Topic Alias Maximum", Value: numberProp(WireU16), In: contexts(cConnect, cConnack)},
	{ID: 0x23, Name: "Topic Alias", Value: []Element{{Field: PropTopicAlias, Wire: WireU16, Role: RoleTopicAlias}}, In: contexts(cPublish)},
	{ID: 0x24, Name: "Maximum QoS", Value: []Element{{Field: PropMaxQoS, Wire: WireU8}}, In: contexts(cConnack)},
	{ID: 0x25, Name: "Retain Available", Value: numberProp(WireU8), In: contexts(cConnack)},
	{ID: 0x26, Name: "User Property", Value: []Element{
		{Field: PropKey, Length: PropKeyLen, Wire: WireUTF8, Check: CheckUTF8},
		{Field: PropValue, Length: PropValueLen, Wire: WireUTF8, Check: CheckUTF8},
	}, In: contexts(cConnect, cConnack, cPublish, WillContext, cPuback, cPubrec, cPubrel, cPubcomp, cSubscribe, cSuback, cUnsubscribe, cUnsuback, cDisconnect, cAuth), Repeatable: true},
	{ID: 0x27, Name: "Maximum Packet Size", Value: numberProp(WireU32), In: contexts(cConnect, cConnack)},
	{ID: 0x28, Name: "Wildcard Subscription Available", Value: numberProp(WireU8), In: contexts(cConnack)},
	{ID: 0x29, Name: "Subscription Identifier Available", Value: numberProp(WireU8), In: contexts(cConnack)},
	{ID: 0x2A, Name: "Shared Subscription Available", Value: numberProp(WireU8), In: contexts(cConnack)},
}

// PropertyByID returns the property with the identifier, or nil.
func PropertyByID(id uint8) *Property { return propertyByID[id] }

var propertyByID = func() (t [256]*Property) {
	for _, p := range Properties {
		t[p.ID] = p
	}
	return t
}()

// PropertyBlock is the shape every property block shares: the length node,
// the identifier node, and the node that swallows the rest of a block after
// an unknown identifier (as Wireshark does).
var PropertyBlock = struct {
	Length, ID, Unknown *Field
}{PropertyLen, PropertyID, PropUnknown}
