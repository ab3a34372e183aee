package wslua

import (
	"fmt"
	"strings"
)

// FieldType is a Wireshark ftenum value (numbering of Wireshark 4.0, which
// is what the ftypes.* table shows on profiles >= 2.6).
type FieldType int

// Field types (Wireshark's FT_*).
const (
	FTNone FieldType = iota
	FTProtocol
	FTBoolean
	FTChar
	FTUint8
	FTUint16
	FTUint24
	FTUint32
	FTUint40
	FTUint48
	FTUint56
	FTUint64
	FTInt8
	FTInt16
	FTInt24
	FTInt32
	FTInt40
	FTInt48
	FTInt56
	FTInt64
	FTIEEE11073SFloat
	FTIEEE11073Float
	FTFloat
	FTDouble
	FTAbsoluteTime
	FTRelativeTime
	FTString
	FTStringz
	FTUintString
	FTEther
	FTBytes
	FTUintBytes
	FTIPv4
	FTIPv6
	FTIPXNet
	FTFramenum
	FTGUID
	FTOID
	FTEUI64
	FTAX25
	FTVines
	FTRelOID
	FTSystemID
	FTStringzPad
	FTFCWWN
	FTStringzTrunc
	ftCount
)

var ftNames = [...]string{
	"NONE", "PROTOCOL", "BOOLEAN", "CHAR", "UINT8", "UINT16", "UINT24", "UINT32", "UINT40", "UINT48", "UINT56", "UINT64",
	"INT8", "INT16", "INT24", "INT32", "INT40", "INT48", "INT56", "INT64", "IEEE_11073_SFLOAT", "IEEE_11073_FLOAT",
	"FLOAT", "DOUBLE", "ABSOLUTE_TIME", "RELATIVE_TIME", "STRING", "STRINGZ", "UINT_STRING", "ETHER", "BYTES",
	"UINT_BYTES", "IPv4", "IPv6", "IPXNET", "FRAMENUM", "GUID", "OID", "EUI64", "AX25", "VINES", "REL_OID",
	"SYSTEM_ID", "STRINGZPAD", "FCWWN", "STRINGZTRUNC",
}

// String returns the Wireshark name, e.g. "FT_UINT8".
func (t FieldType) String() string {
	if t >= 0 && int(t) < len(ftNames) {
		return "FT_" + ftNames[t]
	}
	return fmt.Sprintf("FT_%d", int(t))
}

func (t FieldType) isUnsigned() bool {
	return t >= FTUint8 && t <= FTUint64 || t == FTChar || t == FTFramenum
}

func (t FieldType) isSigned() bool { return t >= FTInt8 && t <= FTInt64 }

func (t FieldType) isInteger() bool { return t.isUnsigned() || t.isSigned() }

// bitWidth is the container width in bits of an integer type.
func (t FieldType) bitWidth() int {
	switch t {
	case FTUint8, FTInt8, FTChar:
		return 8
	case FTUint16, FTInt16:
		return 16
	case FTUint24, FTInt24:
		return 24
	case FTUint32, FTInt32, FTFramenum:
		return 32
	case FTUint40, FTInt40:
		return 40
	case FTUint48, FTInt48:
		return 48
	case FTUint56, FTInt56:
		return 56
	case FTUint64, FTInt64:
		return 64
	}
	return 0
}

// Display bases (base.*).
const (
	BaseNone     = 0
	BaseDec      = 1
	BaseHex      = 2
	BaseOct      = 3
	BaseDecHex   = 4
	BaseHexDec   = 5
	BaseCustom   = 6
	BaseRangeStr = 0x100
	BaseUnitStr  = 0x1000
)

// Expert info groups and severities (PI_*), as in Wireshark 4.0.
const (
	PIChecksum     = 0x01000000
	PISequence     = 0x02000000
	PIResponseCode = 0x03000000
	PIRequestCode  = 0x04000000
	PIUndecoded    = 0x05000000
	PIReassemble   = 0x06000000
	PIMalformed    = 0x07000000
	PIDebug        = 0x08000000
	PIProtocol     = 0x09000000
	PISecurity     = 0x0a000000
	PICommentsGrp  = 0x0b000000
	PIDecryption   = 0x0c000000
	PIAssumption   = 0x0d000000
	PIDeprecated   = 0x0e000000

	PIComment = 0x00100000
	PIChat    = 0x00200000
	PINote    = 0x00400000
	PIWarn    = 0x00600000
	PIError   = 0x00800000
)

// DesegmentOneMoreSegment is DESEGMENT_ONE_MORE_SEGMENT.
const DesegmentOneMoreSegment = 0x0FFFFFFF

// Expert is one expert info attached to an item.
type Expert struct {
	Group    int    // PI_* group, e.g. PIMalformed
	Severity int    // PI_* severity, e.g. PIError
	Text     string // message
	Abbrev   string // ProtoExpert abbrev ("" for add_expert_info)
}

// String renders the expert like Wireshark's "Expert Info (Error/Malformed): text".
func (e Expert) String() string {
	return fmt.Sprintf("Expert Info (%s/%s): %s", severityName(e.Severity), groupName(e.Group), e.Text)
}

func severityName(s int) string {
	switch s {
	case PIComment:
		return "Comment"
	case PIChat:
		return "Chat"
	case PINote:
		return "Note"
	case PIWarn:
		return "Warning"
	case PIError:
		return "Error"
	}
	return fmt.Sprintf("0x%x", s)
}

func groupName(g int) string {
	switch g {
	case PIChecksum:
		return "Checksum"
	case PISequence:
		return "Sequence"
	case PIResponseCode:
		return "Response"
	case PIRequestCode:
		return "Request"
	case PIUndecoded:
		return "Undecoded"
	case PIReassemble:
		return "Reassemble"
	case PIMalformed:
		return "Malformed"
	case PIDebug:
		return "Debug"
	case PIProtocol:
		return "Protocol"
	case PISecurity:
		return "Security"
	case PICommentsGrp:
		return "Comment"
	case PIDecryption:
		return "Decryption"
	case PIAssumption:
		return "Assumption"
	case PIDeprecated:
		return "Deprecated"
	}
	return fmt.Sprintf("0x%x", g)
}

// Abbrevs of items that are not backed by a script's ProtoField.
const (
	AbbrevText      = "_ws.lua.text"  // tree:add(range, "text") on profiles >= 2.6 (1.10/1.12: "")
	AbbrevLuaError  = "_ws.lua.error" // "Lua Error: ..." item added when the dissector raised
	AbbrevMalformed = "_ws.malformed"
)

// Item is one tree item the script added.
//
// Offset and Len locate the item in the data source of its Call (Call.Data):
// the frame's TCP payload for a call on a single segment, or the reassembled
// bytes when Call.Reassembled — the same convention as the pos/size
// attributes of tshark's PDML (minus the frame's header length).
type Item struct {
	Abbrev    string    // field abbrev; proto filter name for protocol items; AbbrevText for text items
	Type      FieldType // FTProtocol for protocol items, FTNone for text items
	Field     *Field    // the ProtoField, nil for protocol and text items
	Value     any       // uint64, int64, bool, string, []byte, float64 or nil
	Offset    int
	Len       int
	Text      string // rendered label as Wireshark shows it
	Generated bool
	Hidden    bool
	Children  []*Item
	Experts   []Expert

	bits uint64 // masked, shifted integer behind a boolean value
	// explicit: the script gave the value (TreeItem:add(field, range, value))
	explicit bool
}

// Show returns the value as tshark's PDML "show" attribute prints it
// (uint: decimal, BASE_HEX: "0x82", bool: "1"/"0", bytes "68:65:6c").
func (it *Item) Show() string {
	switch v := it.Value.(type) {
	case nil:
		return ""
	case bool:
		if v {
			return "1"
		}
		return "0"
	case []byte:
		var b strings.Builder
		for i, c := range v {
			if i > 0 {
				b.WriteByte(':')
			}
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
		return b.String()
	case string:
		return v
	case uint64:
		if it.Field != nil {
			switch it.Field.Base &^ (BaseRangeStr | BaseUnitStr) {
			case BaseHex, BaseHexDec:
				return fmt.Sprintf("0x%0*x", hexDigitsForType(it.Field.Type), v)
			}
		}
		return fmt.Sprint(v)
	case int64:
		return fmt.Sprint(v)
	case float64:
		return fmt.Sprint(v)
	}
	return fmt.Sprint(it.Value)
}

// Walk calls fn for it and every descendant, depth first.
func (it *Item) Walk(fn func(*Item)) {
	fn(it)
	for _, c := range it.Children {
		c.Walk(fn)
	}
}

// Find returns the first item (it or a descendant) with the abbrev, or nil.
func (it *Item) Find(abbrev string) *Item {
	var found *Item
	it.Walk(func(x *Item) {
		if found == nil && x.Abbrev == abbrev {
			found = x
		}
	})
	return found
}

// Dump renders the subtree as indented text, one item per line.
func (it *Item) Dump() string {
	var b strings.Builder
	it.dump(&b, 0)
	return b.String()
}

func (it *Item) dump(b *strings.Builder, depth int) {
	fmt.Fprintf(b, "%s%s [%s] @%d+%d", strings.Repeat("  ", depth), it.Text, it.Abbrev, it.Offset, it.Len)
	if it.Generated {
		b.WriteString(" (generated)")
	}
	b.WriteByte('\n')
	for _, e := range it.Experts {
		fmt.Fprintf(b, "%s  ! %s\n", strings.Repeat("  ", depth), e)
	}
	for _, c := range it.Children {
		c.dump(b, depth+1)
	}
}

// LuaError is a Lua error raised while loading or running a dissector.
type LuaError struct {
	Frame     int    // frame number of the call (0 while loading)
	Message   string // error message (what Wireshark shows after "Lua Error: ")
	Traceback string // Lua stack traceback
	// Where is the script's position ("file.lua:123") the error was
	// raised at, when known.
	Where string
	// Limit is set when the script ran into its instruction budget or
	// memory limit.
	Limit Limit
	// Caught is set for a runtime error the script caught itself (pcall),
	// recorded because it hides a bug.
	Caught bool
}

func (e *LuaError) Error() string {
	if e.Frame > 0 {
		return fmt.Sprintf("frame %d: Lua Error: %s", e.Frame, e.Message)
	}
	return "Lua: Error during loading: " + e.Message
}

// Call records one invocation of a dissector by the TCP driver.
type Call struct {
	Frame       int    // pinfo.number: the frame whose segment completed the data
	FirstFrame  int    // first frame contributing bytes (== Frame unless Reassembled)
	Proto       string // filter name of the Lua protocol called
	Data        []byte // the data source: segment payload, or reassembled bytes
	Reassembled bool   // Data was reassembled from several segments
	TvbOffset   int    // where the tvb handed to the dissector starts in Data
	TvbLen      int    // its length
	Items       []*Item
	// Returned is what the dissector returned (nil return: TvbLen), Rejected
	// when it returned 0 ("not my protocol").
	Returned        int
	Rejected        bool
	DesegmentOffset int // pinfo.desegment_offset after the call
	DesegmentLen    int // pinfo.desegment_len after the call
	Err             *LuaError
	// Steps is the work the call did: Lua instructions plus the work of
	// library functions, as counted against Options.CallSteps.
	Steps int64
	// Caught are runtime errors the script caught itself during the call
	// (pcall): the bug is hidden from Wireshark's view but not fixed.
	Caught []*LuaError
}

// Roots returns the call's top-level protocol items (one per PDU that the
// script rooted with tree:add(proto, ...)).
func (c *Call) Roots() []*Item {
	var out []*Item
	for _, it := range c.Items {
		if it.Type == FTProtocol {
			out = append(out, it)
		}
	}
	return out
}

// FrameResult is what one fed segment produced.
type FrameResult struct {
	Number   int
	Calls    []*Call // dissector calls made while handling this frame (0..n)
	Protocol string  // Protocol column after dissection
	Info     string  // Info column after dissection
}

// Items returns the top-level items of all calls, in order.
func (f *FrameResult) Items() []*Item {
	var out []*Item
	for _, c := range f.Calls {
		out = append(out, c.Items...)
	}
	return out
}

// Errors returns the Lua errors raised in this frame.
func (f *FrameResult) Errors() []*LuaError {
	var out []*LuaError
	for _, c := range f.Calls {
		if c.Err != nil {
			out = append(out, c.Err)
		}
	}
	return out
}
