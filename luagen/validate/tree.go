package validate

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/luagen/wslua"
	"github.com/mqttdissect/mqttdissect/spec"
)

// Tree is one PDU's reading, flattened depth first. Items[0] is the PDU's
// protocol item (depth 0); the fields under it have depth 1 and more.
type Tree struct {
	Frame int // the frame whose segment completed the PDU
	Index int // order among the PDUs completed by that frame
	// Proto is the protocol name of the Lua script's PDU ("mqttlua"), or
	// NativePrefix for the native decoder's packets.
	Proto   string
	Items   []Item
	Experts []Expert
	// Info describes the native packet as Wireshark's Info column does
	// ("Publish Message (id=7) [a/b]"); empty for Lua trees.
	Info string

	spansSegments bool // native: the packet began in an earlier segment
	// hiddenFrom is, for a native packet whose long lists the decoder cut
	// (dissect.DefaultMaxRepeat), the offset of the first entry it did not
	// make a node; -1 otherwise. Lua items from there on are not compared.
	hiddenFrom int
}

// Item is one tree item.
type Item struct {
	Abbrev string // field abbrev, protocol name for the PDU's root
	Show   string // the value as tshark's PDML "show" prints it (see dissect.EscapeControl)
	// Label is the text Wireshark shows (Lua and golden trees; the
	// native decoder's root holds the packet's Info text).
	Label     string
	Depth     int
	Offset    int // from the PDU's first byte
	Len       int
	Generated bool
	Hidden    bool
	// NoValue marks a native FT_NONE subtree: its show text is not compared.
	NoValue bool
}

// Expert is one expert info of a PDU.
type Expert struct {
	Severity string // "Warning", as in Wireshark's "Expert Info (Warning/Protocol)"
	Group    string // "Protocol"
	Message  string
	Item     int // index in Tree.Items of the item it is attached to
}

// String renders the expert as "Warning/Protocol: message".
func (e Expert) String() string { return e.Severity + "/" + e.Group + ": " + e.Message }

// Name describes the PDU: the native packet's Info, or the Lua root's label.
func (t *Tree) Name() string {
	if t.Info != "" || len(t.Items) == 0 {
		return t.Info
	}
	return t.Items[0].Label
}

func (t *Tree) summary() string {
	n := len(t.Items) - 1
	s := strconv.Quote(t.Name())
	if n == 1 {
		return s + " with 1 field"
	}
	return fmt.Sprintf("%s with %d fields", s, n)
}

// luaTree flattens a top-level item of a Lua call.
func luaTree(root *wslua.Item, frame, index int) *Tree {
	t := &Tree{Frame: frame, Index: index, Items: make([]Item, 0, countItems(root))}
	if root.Type == wslua.FTProtocol {
		t.Proto = root.Abbrev
	}
	appendItem(t, root, root, 0)
	return t
}

// countItems is the number of items of the subtree at it.
func countItems(it *wslua.Item) int {
	n := 1
	for _, c := range it.Children {
		n += countItems(c)
	}
	return n
}

// appendItem adds it and its descendants at depth.
func appendItem(t *Tree, it, root *wslua.Item, depth int) {
	t.Items = append(t.Items, Item{
		Abbrev: it.Abbrev, Show: dissect.EscapeControl(it.Show()), Label: it.Text, Depth: depth,
		Offset: it.Offset - root.Offset, Len: it.Len, Generated: it.Generated, Hidden: it.Hidden,
	})
	idx := len(t.Items) - 1
	for _, e := range it.Experts {
		sev, grp := expertNames(e)
		t.Experts = append(t.Experts, Expert{Severity: sev, Group: grp, Message: e.Text, Item: idx})
	}
	for _, c := range it.Children {
		appendItem(t, c, root, depth+1)
	}
}

// expertNames returns Wireshark's names of the expert's severity and group.
func expertNames(e wslua.Expert) (string, string) {
	s := strings.TrimPrefix(e.String(), "Expert Info (")
	head, _, _ := strings.Cut(s, "): ")
	sev, grp, _ := strings.Cut(head, "/")
	return sev, grp
}

// nativeTree flattens a packet of the native decoder.
func nativeTree(pdu *dissect.PDU) *Tree {
	p := pdu.Packet
	t := &Tree{Frame: pdu.Frame, Index: pdu.Index, Proto: NativePrefix, Info: p.Info(), hiddenFrom: -1}
	t.Items = make([]Item, 0, len(p.Nodes)+1)
	t.Items = append(t.Items, Item{Abbrev: NativePrefix, Label: spec.MQTT.Name + ", " + spec.Packets[p.Type].Info(), Len: len(p.Raw)})
	for i := range p.Nodes {
		n := &p.Nodes[i]
		t.Items = append(t.Items, Item{
			Abbrev: n.Field.Abbrev, Show: dissect.EscapeControl(n.Show()), Label: nativeLabel(p, i), Depth: n.Depth + 1, Offset: n.Offset, Len: n.Len,
			Generated: n.Generated, NoValue: n.Field.Type == spec.FTNone,
		})
	}
	for _, note := range p.Notes {
		if note.Rule == spec.RuleRepeatsHidden {
			// The reader's ceiling, not Wireshark's: compare up to it.
			if t.hiddenFrom < 0 || note.Offset < t.hiddenFrom {
				t.hiddenFrom = note.Offset
			}
		}
		if note.Rule.ReaderOnly() {
			continue // no Wireshark dissector makes these
		}
		e := Expert{Severity: severityName(note.Severity), Group: groupName(note.Rule.Group), Message: note.Message}
		if note.Field != "" {
			for i := range t.Items {
				if t.Items[i].Abbrev == note.Field && t.Items[i].Offset == note.Offset {
					e.Item = i
					break
				}
			}
		}
		t.Experts = append(t.Experts, e)
	}
	return t
}

// nativeLabel is the native decoder's label of node i as Wireshark shows
// it. dissect.Label deviates from Wireshark in four ways, undone here: it
// does not escape control characters in text (see labelText),
// it brackets generated items ("[Topic: a/b]", which PDML and the Lua API
// show without brackets), it renders an empty byte string as nothing where
// Wireshark shows "<MISSING>", and it renders long byte strings whole where
// Wireshark shows the first 36 bytes and "…".
func nativeLabel(p *dissect.Packet, i int) string {
	label := dissect.Label(p, i)
	// Wireshark's text output brackets generated items; the item's own
	// label, which the emulator records, has no brackets.
	if p.Nodes[i].Generated && len(label) >= 2 && label[0] == '[' && label[len(label)-1] == ']' {
		label = label[1 : len(label)-1]
	}
	return label
}

func severityName(s spec.Severity) string {
	switch s {
	case spec.SevChat:
		return "Chat"
	case spec.SevNote:
		return "Note"
	case spec.SevWarn:
		return "Warning"
	case spec.SevError:
		return "Error"
	}
	return s.String()
}

func groupName(g spec.Group) string {
	switch g {
	case spec.GroupProtocol:
		return "Protocol"
	case spec.GroupMalformed:
		return "Malformed"
	case spec.GroupSequence:
		return "Sequence"
	case spec.GroupAssumed:
		return "Assumption"
	}
	return g.String()
}

// mapper renames the Lua protocol's fields to the native ones.
type mapper struct{ from, to string }

func (m mapper) abbrev(a string) string {
	if m.from == "" || m.from == m.to {
		return a
	}
	if a == m.from {
		return m.to
	}
	if strings.HasPrefix(a, m.from) && len(a) > len(m.from) && a[len(m.from)] == '.' {
		return m.to + a[len(m.from):]
	}
	return a
}

// text maps field names mentioned in an expert message.
func (m mapper) text(s string) string {
	if m.from == "" || m.from == m.to || !strings.Contains(s, m.from+".") {
		return s
	}
	return strings.ReplaceAll(s, m.from+".", m.to+".")
}

// Diff is one difference between the Lua reading and the reference.
type Diff struct {
	Frame int
	PDU   int    // order within the frame
	Field string // the field's abbrev (the reference's naming); "expert" for expert infos
	Lua   string // the Lua side's value ("(none)" when absent)
	Ref   string // the reference's value
	// RefName names the reference: "native" or "golden".
	RefName string
	// Note explains the difference, when there is more to say.
	Note string
	// More, when > 0, says this PDU has this many more differences than
	// were reported (Field, Lua and Ref are then empty).
	More int
}

func (d Diff) String() string {
	if d.More > 0 {
		return fmt.Sprintf("frame %d pdu %d: ... and %d more differences", d.Frame, d.PDU, d.More)
	}
	s := fmt.Sprintf("frame %d pdu %d: %s: Lua %s, %s %s", d.Frame, d.PDU, d.Field, d.Lua, d.RefName, d.Ref)
	if d.Note != "" {
		s += " (" + d.Note + ")"
	}
	return s
}

// compareTrees returns the differences between a Lua tree and its
// reference, and the number of reference items compared.
func compareTrees(l, r *Tree, mode cmpMode) []Diff {
	golden := mode.golden
	refName := "native"
	m := mapper{from: l.Proto, to: NativePrefix}
	if golden {
		refName = "golden"
		m = mapper{}
	} else {
		l = uncut(l, r, m)
	}
	lua := l.Items
	if (m.from != "" && m.from != m.to) || mode.pdml {
		lua = make([]Item, len(l.Items))
		copy(lua, l.Items)
		for i := range lua {
			lua[i].Abbrev = m.abbrev(lua[i].Abbrev)
			if mode.pdml {
				lua[i].Show = pdmlShow(lua[i].Show)
			}
		}
	}
	if r.hiddenFrom > 0 {
		// Only what the native tree shows: its first entries of a list
		// cut at the ceiling on repeated entries.
		kept := make([]Item, 0, len(r.Items))
		for _, it := range lua {
			if it.Depth == 0 || it.Offset < r.hiddenFrom {
				kept = append(kept, it)
			}
		}
		lua = kept
	}
	ref := r.Items
	var diffs []Diff
	add := func(field, lv, rv, note string) {
		diffs = append(diffs, Diff{Frame: r.Frame, PDU: r.Index, Field: field, Lua: lv, Ref: rv, RefName: refName, Note: note})
	}
	same := len(lua) == len(ref)
	for i := 0; same && i < len(lua); i++ {
		same = itemsEqual(&lua[i], &ref[i], mode)
	}
	if !same {
		for _, op := range align(lua, ref, mode) {
			switch {
			case op.l >= 0 && op.r >= 0:
				lv, rv := describeChange(&lua[op.l], &ref[op.r], mode)
				add(ref[op.r].Abbrev, lv, rv, "")
			case op.l >= 0:
				add(lua[op.l].Abbrev, describe(&lua[op.l]), "(none)", "field the Lua dissector adds and the "+refName+" tree lacks")
			default:
				add(ref[op.r].Abbrev, "(none)", describe(&ref[op.r]), "field missing from the Lua tree")
			}
		}
	}
	// Expert infos, as multisets.
	le := make([]string, len(l.Experts))
	for i, e := range l.Experts {
		le[i] = expertKey(l, e, golden, m)
	}
	re := make([]string, len(r.Experts))
	for i, e := range r.Experts {
		if !golden && mode.noAssumption && e.Group == "Assumption" {
			e.Group = "Protocol"
		}
		re[i] = expertKey(r, e, golden, mapper{})
		if !golden {
			re[i] = luaWording(re[i])
		}
	}
	sort.Strings(le)
	sort.Strings(re)
	i, j := 0, 0
	for i < len(le) || j < len(re) {
		switch {
		case i < len(le) && j < len(re) && le[i] == re[j]:
			i++
			j++
		case j >= len(re) || (i < len(le) && le[i] < re[j]):
			add("expert", strconv.Quote(le[i]), "(none)", "")
			i++
		default:
			add("expert", "(none)", strconv.Quote(re[j]), "")
			j++
		}
	}
	return diffs
}

// nativeWording pairs phrases of native notes with the wording a Lua
// dissector uses for Wireshark: the note on an assumed MQTT version names
// the command-line option natively and the preference in Wireshark.
var nativeWording = [][2]string{
	{"as set by --mqtt-version", "as set by the default_version preference"},
}

func luaWording(s string) string {
	for _, w := range nativeWording {
		s = strings.Replace(s, w[0], w[1], 1)
	}
	return s
}

func expertKey(t *Tree, e Expert, golden bool, m mapper) string {
	s := m.text(e.String())
	if golden && e.Item >= 0 && e.Item < len(t.Items) {
		s = t.Items[e.Item].Abbrev + ": " + s
	}
	return s
}

// pdmlShow renders a show text as an XML reader reads it back from PDML
// (a carriage return as a newline), after the replacement of ill-formed
// UTF-8 such a reader needs (see Reference.PDML).
func pdmlShow(s string) string {
	s = strings.ReplaceAll(s, "\r", "\n")
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// cmpMode says how trees are compared.
type cmpMode struct {
	golden bool // the reference is a stored Lua reading: hidden flags and expert placement count
	// pdml: the reference is tshark's PDML (see Reference.PDML)
	pdml bool
	// noAssumption: a native note of group Assumption is expected as
	// PI_PROTOCOL (portable Lua cannot add PI_ASSUMPTION expert infos)
	noAssumption bool
	// label110: Lua labels are Wireshark 1.10's (see relabel110)
	label110 bool
}

func itemsEqual(a, b *Item, mode cmpMode) bool {
	golden := mode.golden
	if a.Abbrev != b.Abbrev || a.Depth != b.Depth || a.Offset != b.Offset || a.Len != b.Len ||
		(a.Generated != b.Generated && !mode.pdml) {
		return false
	}
	if !b.NoValue && a.Show != b.Show {
		return false
	}
	if (a.Label != b.Label && !(mode.label110 && a.Label == relabel110(b.Label))) || (golden && a.Hidden != b.Hidden) {
		return false
	}
	return true
}

const maxShow = 80

func quoteShow(s string) string {
	if len(s) > maxShow {
		cut := maxShow
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// describe renders an item that has no counterpart.
func describe(it *Item) string {
	s := fmt.Sprintf("%s = %s (depth %d, offset %d, length %d", it.Abbrev, quoteShow(it.Show), it.Depth, it.Offset, it.Len)
	if it.Generated {
		s += ", generated"
	}
	return s + ")"
}

// describeChange renders the attributes in which two aligned items differ.
func describeChange(a, b *Item, mode cmpMode) (string, string) {
	golden := mode.golden
	var l, r []string
	if a.Abbrev != b.Abbrev {
		l, r = append(l, "field "+a.Abbrev), append(r, "field "+b.Abbrev)
	}
	if !b.NoValue && a.Show != b.Show {
		l, r = append(l, quoteShow(a.Show)), append(r, quoteShow(b.Show))
	}
	if a.Label != b.Label {
		l, r = append(l, "label "+quoteShow(a.Label)), append(r, "label "+quoteShow(b.Label))
	}
	if a.Depth != b.Depth {
		l, r = append(l, fmt.Sprintf("depth %d", a.Depth)), append(r, fmt.Sprintf("depth %d", b.Depth))
	}
	if a.Offset != b.Offset {
		l, r = append(l, fmt.Sprintf("offset %d", a.Offset)), append(r, fmt.Sprintf("offset %d", b.Offset))
	}
	if a.Len != b.Len {
		l, r = append(l, fmt.Sprintf("length %d", a.Len)), append(r, fmt.Sprintf("length %d", b.Len))
	}
	if a.Generated != b.Generated && !mode.pdml {
		l, r = append(l, genWord(a.Generated)), append(r, genWord(b.Generated))
	}
	if golden && a.Hidden != b.Hidden {
		l, r = append(l, hiddenWord(a.Hidden)), append(r, hiddenWord(b.Hidden))
	}
	return strings.Join(l, ", "), strings.Join(r, ", ")
}

func genWord(g bool) string {
	if g {
		return "generated"
	}
	return "not generated"
}

func hiddenWord(h bool) string {
	if h {
		return "hidden"
	}
	return "not hidden"
}

// op is one step of an alignment: l and r index the Lua and reference
// items; -1 means the item has no counterpart. Equal pairs are left out.
type op struct{ l, r int }

// maxAlignCells bounds the alignment table; larger trees are compared
// position by position.
const maxAlignCells = 4 << 20

// align pairs the items of two trees: a longest common subsequence of
// equal items, with the unequal runs between them paired by abbrev so that
// a changed value is one difference and a missing field is one too.
func align(a, b []Item, mode cmpMode) []op {
	n, m := len(a), len(b)
	if n*m > maxAlignCells {
		var out []op
		for i := 0; i < max(n, m); i++ {
			switch {
			case i >= n:
				out = append(out, op{-1, i})
			case i >= m:
				out = append(out, op{i, -1})
			case !itemsEqual(&a[i], &b[i], mode):
				out = append(out, op{i, i})
			}
		}
		return out
	}
	// lcs[i][j] = LCS length of a[i:], b[j:]
	w := m + 1
	lcs := make([]int32, (n+1)*w)
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if itemsEqual(&a[i], &b[j], mode) {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	var out []op
	var dels, ins []int
	flush := func() {
		out = append(out, pairRun(a, b, dels, ins)...)
		dels, ins = dels[:0], ins[:0]
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && itemsEqual(&a[i], &b[j], mode):
			flush()
			i++
			j++
		case j >= m || (i < n && lcs[(i+1)*w+j] >= lcs[i*w+j+1]):
			dels = append(dels, i)
			i++
		default:
			ins = append(ins, j)
			j++
		}
	}
	flush()
	return out
}

// pairRun pairs the unmatched Lua items dels with the unmatched reference
// items ins of one run: same abbrev pairs up as a change.
func pairRun(a, b []Item, dels, ins []int) []op {
	var out []op
	i, j := 0, 0
	for i < len(dels) || j < len(ins) {
		switch {
		case i < len(dels) && j < len(ins) && a[dels[i]].Abbrev == b[ins[j]].Abbrev:
			out = append(out, op{dels[i], ins[j]})
			i++
			j++
		case i < len(dels) && j < len(ins) && len(dels)-i == len(ins)-j && !abbrevIn(a[dels[i]].Abbrev, b, ins[j:]):
			// As many on both sides and no better partner: a renamed field.
			out = append(out, op{dels[i], ins[j]})
			i++
			j++
		case j < len(ins) && (i >= len(dels) || abbrevIn(a[dels[i]].Abbrev, b, ins[j+1:])):
			out = append(out, op{-1, ins[j]})
			j++
		default:
			out = append(out, op{dels[i], -1})
			i++
		}
	}
	return out
}

func abbrevIn(abbrev string, items []Item, idx []int) bool {
	for _, k := range idx {
		if items[k].Abbrev == abbrev {
			return true
		}
	}
	return false
}
