package luagen

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/mqttdissect/mqttdissect/spec"
)

// The table compiled: each packet type becomes one Lua function that reads
// its fixed header, variable header and payload element by element, with
// offsets, conditions, checks and roles written out as plain Lua, and each
// property a function that reads its value. What the runtime used to decide
// from descriptor tables for every field of every packet, the generator
// decides here, once. The statements follow the Go decoder (package
// dissect) step by step, so both make the same items and notes in the same
// order.

// fnWriter collects the statements of one generated function and the
// ProtoFields and value tables it uses, which become upvalues.
type fnWriter struct {
	g      *gen
	lines  []string
	pf     map[string]bool // pf_<key> locals used
	vs     map[string]bool // vs_<key> locals used
	flags  map[*spec.Field]bool
	memos  []string     // labels_<n> tables: a flags byte's label by value
	packet *spec.Packet // nil in a property's reader
	topic  bool         // the packet keeps its topic for a Topic Alias
}

func (g *gen) newFn(p *spec.Packet) *fnWriter {
	return &fnWriter{g: g, pf: map[string]bool{}, vs: map[string]bool{}, flags: map[*spec.Field]bool{}, packet: p}
}

func (w *fnWriter) line(indent int, format string, args ...any) {
	w.lines = append(w.lines, strings.Repeat("    ", indent)+fmt.Sprintf(format, args...))
}

// pfOf returns the local that holds f's ProtoField.
func (w *fnWriter) pfOf(f *spec.Field) string {
	key, ok := w.g.fieldKey[f]
	if !ok {
		w.g.fail("field %q is used by a layout but missing from spec.Fields", f.Abbrev)
		return "nil"
	}
	w.pf[key] = true
	return "pf_" + key
}

// abbrev is the Lua expression of f's filter name (its prefix is chosen
// when the script loads).
func (w *fnWriter) abbrev(f *spec.Field) string {
	return w.g.field(f) + ".abbrev"
}

func (w *fnWriter) vsOf(t *spec.ValueTable) string {
	key, ok := w.g.tableKey[t]
	if !ok {
		w.g.fail("value table %q is missing from spec.ValueTables", t.Name)
		return "nil"
	}
	w.vs[key] = true
	return "vs_" + key
}

func flagVar(g *gen, f *spec.Field) string { return "flag_" + g.fieldKey[f] }

// upvalues writes the locals the function's closure reads.
func (w *fnWriter) upvalues(indent int) {
	var names, values []string
	keys := make([]string, 0, len(w.pf))
	for k := range w.pf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		names = append(names, "pf_"+k)
		values = append(values, "F."+k+".pf")
	}
	keys = keys[:0]
	for k := range w.vs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		names = append(names, "vs_"+k)
		values = append(values, "VS."+k)
	}
	for _, m := range w.memos {
		names = append(names, m)
		values = append(values, "{}")
	}
	// A few per statement, so lines stay short.
	for i := 0; i < len(names); i += 4 {
		end := min(i+4, len(names))
		w.g.p("%slocal %s = %s", strings.Repeat("    ", indent), strings.Join(names[i:end], ", "), strings.Join(values[i:end], ", "))
	}
}

// add returns the statement part that adds f's item over rng to tree, as
// Wireshark wants each kind of field: integers with their value, bit
// fields, booleans and bytes read by Wireshark, text with its value.
func (w *fnWriter) add(tree string, f *spec.Field, rng, value, text string) string {
	pf := w.pfOf(f)
	switch {
	case f.Type.IsText():
		if text == "" {
			text = `""`
		}
		return fmt.Sprintf("tree_add(%s, %s, %s, %s)", tree, pf, rng, text)
	case f.Type.IsInteger() && f.Mask == 0:
		return fmt.Sprintf("tree_add(%s, %s, %s, %s)", tree, pf, rng, value)
	}
	return fmt.Sprintf("tree_add(%s, %s, %s)", tree, pf, rng)
}

// setFlag keeps the value of a field a later condition tests.
func (w *fnWriter) setFlag(indent int, f *spec.Field, value string) {
	if w.flags[f] {
		w.line(indent, "%s = %s", flagVar(w.g, f), value)
	}
}

// condition writes the Lua test of a Cond, "" when it always holds.
func (w *fnWriter) condition(c *spec.Cond) string {
	var terms []string
	if c.Versions != 0 {
		in := w.g.versionsIn(c.Versions)
		if len(in) == 0 {
			return "false"
		}
		if in != nil {
			terms = append(terms, w.g.versionTest(in))
		}
	}
	if c.Flag != nil {
		if !w.flags[c.Flag] {
			w.g.fail("condition on %s, which is not read before it in the same function", c.Flag.Abbrev)
		}
		terms = append(terms, flagVar(w.g, c.Flag)+" ~= 0")
	}
	if c.MinLeft > 0 {
		terms = append(terms, "limit - pos >= "+strconv.Itoa(c.MinLeft))
	}
	return strings.Join(terms, " and ")
}

// versionTest is true when the local version is one of in.
func (g *gen) versionTest(in []spec.Version) string {
	parts := make([]string, len(in))
	for i, v := range in {
		parts[i] = "version == " + g.versionName(v)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, " or ") + ")"
}

// checkValue notes a value the field's table lacks or reserves.
func (w *fnWriter) checkValue(indent int, f *spec.Field, v, item string) {
	if f.Values == nil || f.Values == spec.PropertyIDs {
		// The Go decoder does not check property identifiers against the
		// table: an unknown one ends the block.
		return
	}
	var reserved []string
	for _, e := range f.Values.Entries {
		if e.Reserved {
			reserved = append(reserved, fmt.Sprintf("%s == %d", v, e.Value))
		}
	}
	vs := w.vsOf(f.Values)
	res := strings.Join(reserved, " or ")
	if f.Type == spec.FTBool {
		if res != "" {
			w.line(indent, "if %s[%s] ~= nil and (%s) then", vs, v, res)
			w.line(indent+1, "note(%s, RULE.reserved_value, %s, %s)", item, w.abbrev(f), v)
			w.line(indent, "end")
		}
		return
	}
	w.line(indent, "if %s[%s] == nil then", vs, v)
	w.line(indent+1, "note(%s, RULE.undefined_value, %s, %s)", item, w.abbrev(f), v)
	if res != "" {
		w.line(indent, "elseif %s then", res)
		w.line(indent+1, "note(%s, RULE.reserved_value, %s, %s)", item, w.abbrev(f), v)
	}
	w.line(indent, "end")
}

// bits adds the bit fields of a flags byte (whole) under its item, and
// names the set ones in the item's text as Wireshark's bitmask items do.
func (w *fnWriter) bits(indent int, bits []*spec.Field, item, rng, whole string) {
	// The label depends on the byte alone: made once per value.
	w.g.labelMemos++
	memo := fmt.Sprintf("labels_%d", w.g.labelMemos)
	w.memos = append(w.memos, memo)
	var labelLines []string
	for _, f := range bits {
		if f.Type == spec.FTBool {
			labelLines = append(labelLines,
				fmt.Sprintf("if %s ~= 0 then", w.extract(f, whole)),
				fmt.Sprintf("    label = label .. %s", quote(", "+f.Name)),
				"end")
		} else if f.Values != nil {
			labelLines = append(labelLines,
				fmt.Sprintf("local %s = %s[%s]", "name_"+w.g.fieldKey[f], w.vsOf(f.Values), w.extract(f, whole)),
				fmt.Sprintf("if %s then", "name_"+w.g.fieldKey[f]),
				fmt.Sprintf("    label = label .. %s .. %s", quote(", "+f.Name+": "), "name_"+w.g.fieldKey[f]),
				"end")
		}
	}
	for _, f := range bits {
		w.line(indent, "do -- %s", f.Name)
		in := indent + 1
		w.line(in, "local b = %s", w.extract(f, whole))
		w.line(in, "local bit_item = %s", w.add(item, f, rng, "b", ""))
		w.setFlag(in, f, "b")
		if f == spec.MsgType && w.packet != nil {
			w.line(in, "type_item = bit_item")
		}
		if f.MustBeZero {
			w.line(in, "if b ~= 0 then")
			w.line(in+1, "note(bit_item, RULE.reserved_bits, %s)", w.abbrev(f))
			w.line(in, "end")
		}
		w.checkValue(in, f, "b", "bit_item")
		w.line(indent, "end")
	}
	w.line(indent, "local label = %s[%s]", memo, whole)
	w.line(indent, "if label == nil then")
	w.line(indent+1, "label = \"\"")
	for _, l := range labelLines {
		w.line(indent+1, "%s", l)
	}
	w.line(indent+1, "%s[%s] = label", memo, whole)
	w.line(indent, "end")
	w.line(indent, "if label ~= \"\" then")
	w.line(indent+1, "%s:append_text(label)", item)
	w.line(indent, "end")
}

// extract is the Lua expression of bit field f of whole.
func (w *fnWriter) extract(f *spec.Field, whole string) string {
	div := 1 << f.Shift()
	width := f.Mask >> f.Shift()
	if width&(width+1) != 0 { // not one run of bits
		return fmt.Sprintf("floor(band(%s, %d) / %d)", whole, f.Mask, div)
	}
	if div == 1 {
		return fmt.Sprintf("%s %% %d", whole, width+1)
	}
	return fmt.Sprintf("floor(%s / %d) %% %d", whole, div, width+1)
}

// role writes what an element's value means beyond its own item: v is
// the value (or the length of a string), raw the bytes of a string, item
// the element's item at off, or nil.
func (w *fnWriter) role(indent int, e *spec.Element, v, raw, item string) {
	switch e.Role {
	case spec.RoleVersion:
		if w.packet == nil {
			w.g.fail("%s sets the version inside a property", e.Field.Abbrev)
		}
		w.line(indent, "d.proto_level, version = %s, %s", v, v)
		w.line(indent, "if not KNOWN[%s] then", v)
		w.line(indent+1, "note(%s, RULE.unknown_level, %s)", item, v)
		w.line(indent+1, "version = V_UNKNOWN")
		w.line(indent, "end")
		w.line(indent, "d.version = version")
	case spec.RolePacketID:
		w.line(indent, "D.packet_id = %s", v)
	case spec.RoleTopic:
		if w.packet == nil {
			w.g.fail("%s is a topic inside a property", e.Field.Abbrev)
		}
		w.topic = true
		w.line(indent, "topic, topic_seen, topic_empty = %s, true, %s == 0", raw, v)
	case spec.RoleTopicAlias:
		w.line(indent, "D.alias = %s", v)
	}
	if e.Check&spec.CheckNonZero != 0 {
		w.line(indent, "if %s == 0 then", v)
		w.line(indent+1, "note(%s, RULE.zero_packet_id, %s)", item, w.abbrev(e.Field))
		w.line(indent, "end")
	}
	if e.Info == spec.InfoBracket {
		// Columns take UTF-8 text: shown as the item shows it.
		w.line(indent, "D.brackets = D.brackets .. \" [\" .. text_show(%s) .. \"]\"", raw)
	}
}

// elements writes the statements that read els.
func (w *fnWriter) elements(indent int, els []spec.Element, tree string) {
	for i := range els {
		e := &els[i]
		in := indent
		cond := w.condition(&e.When)
		if cond != "" {
			w.line(indent, "if %s then", cond)
			in++
		}
		if e.Repeat {
			if w.packet == nil {
				w.g.fail("%s repeats inside a property", e.Field.Abbrev)
			}
			w.line(in, "do -- to the end of the packet, at least once")
			w.line(in+1, "if pos >= limit then")
			w.line(in+2, "note(nil, RULE.missing_payload, %s)", quote(w.packet.Name))
			w.line(in+1, "end")
			w.line(in+1, "local last = -1")
			w.line(in+1, "while pos < limit and pos ~= last do")
			w.line(in+2, "last = pos")
			w.element(in+2, e, tree)
			w.line(in+1, "end")
			w.line(in, "end")
		} else {
			w.element(in, e, tree)
		}
		if cond != "" {
			w.line(indent, "end")
		}
	}
}

func (w *fnWriter) element(indent int, e *spec.Element, tree string) {
	switch e.Wire {
	case spec.WireU8, spec.WireU16, spec.WireU32, spec.WireVarInt:
		w.integer(indent, e, tree)
	case spec.WireUTF8, spec.WireBinary:
		w.either(indent, e, func(in int, f *spec.Field) { w.lengthPrefixed(in, e, f, tree) })
	case spec.WireRest:
		w.either(indent, e, func(in int, f *spec.Field) { w.rest(in, e, f, tree) })
	case spec.WireProperties:
		if e.Length != spec.PropertyBlock.Length {
			w.g.fail("property block %s has its length in %v, the reader knows %s", e.Field.Abbrev, e.Length, spec.PropertyBlock.Length.Abbrev)
		}
		w.line(indent, "pos = properties(%s, pos, limit, %s, %s, %s, %s) -- %s", tree, w.pfOf(e.Field), quote(e.Field.Name),
			w.pfOf(e.Length), quote(e.Context.String()), e.Field.Name)
	case spec.WireGroup, spec.WirePair:
		w.elements(indent, e.Elements, tree)
	case spec.WireNone:
		if e.Role == spec.RoleAliasTopic {
			w.aliasTopic(indent, e, tree)
		} else {
			w.line(indent, "-- %s: no bytes on the wire, nothing to show", e.Field.Name)
		}
	default:
		w.g.fail("element %s has wire type %v, which the Lua reader lacks", e.Field.Abbrev, e.Wire)
	}
}

// either writes an element that shows as text when the user asks for
// payloads as text (e.Text) and as its own field otherwise.
func (w *fnWriter) either(indent int, e *spec.Element, write func(int, *spec.Field)) {
	if e.Text == nil {
		write(indent, e.Field)
		return
	}
	w.line(indent, "if D.as_text then")
	write(indent+1, e.Text)
	w.line(indent, "else")
	write(indent+1, e.Field)
	w.line(indent, "end")
}

// integer reads a one-, two- or four-byte integer or a variable byte
// integer (MQTT 5.0 §1.5.2, §1.5.3, §1.5.5).
func (w *fnWriter) integer(indent int, e *spec.Element, tree string) {
	f := e.Field
	w.line(indent, "do -- %s", f.Name)
	in := indent + 1
	size := e.Wire.FixedSize()
	n := strconv.Itoa(size)
	if size > 0 {
		w.line(in, "if pos + %d > limit or pos + %d > AVAIL then", size, size)
		w.line(in+1, "need(pos, limit, %d, %s, %s)", size, w.abbrev(f), quote(f.Name))
		w.line(in, "end")
		w.line(in, "local v, r = u%d(pos), range(pos, %d)", size*8, size)
		w.line(in, "local item = %s", w.add(tree, f, "r", "v", ""))
	} else {
		n = "n"
		w.line(in, "local v, n = field_varint(pos, limit, %s)", w.abbrev(f))
		w.line(in, "local item = %s", w.add(tree, f, "range(pos, n)", "v", ""))
		w.line(in, "if n > MAX_VARINT then")
		w.line(in+1, "note(item, RULE.long_varint, n)")
		w.line(in, "end")
	}
	w.setFlag(in, f, "v")
	w.checkValue(in, f, "v", "item")
	if len(e.Bits) > 0 {
		w.bits(in, e.Bits, "item", "r", "v")
	}
	w.line(in, "pos = pos + %s", n)
	w.role(in, e, "v", `""`, "item")
	w.line(indent, "end")
}

// needsRaw reports whether the bytes of a string are read as a Lua string.
func needsRaw(e *spec.Element, f *spec.Field) bool {
	return f.Type.IsText() || e.Check != 0 || e.Role == spec.RoleTopic || e.Info == spec.InfoBracket
}

// maxPrefixed is the longest value a two-byte length can announce.
const maxPrefixed = 65535

// lengthPrefixed reads a two-byte length and that many bytes: a UTF-8
// string or binary data (MQTT 5.0 §1.5.4, §1.5.6). Without a length field
// the item covers the length too (FT_UINT_STRING).
func (w *fnWriter) lengthPrefixed(indent int, e *spec.Element, f *spec.Field, tree string) {
	// A two-byte length bounds the value, so it fits what Wireshark 1.x can
	// export of one field (limits.go) and needs no cut at run time; decided
	// here, once, for every such field.
	if fits := ExportBytesLimit(f.Abbrev); f.Type.IsText() {
		if ExportTextLimit(f.Abbrev) < maxPrefixed {
			w.g.fail("%s: a %d-byte string would not fit Wireshark 1.x's export ceiling", f.Abbrev, maxPrefixed)
		}
	} else if fits < maxPrefixed {
		w.g.fail("%s: %d bytes would not fit Wireshark 1.x's export ceiling", f.Abbrev, maxPrefixed)
	}
	w.line(indent, "do -- %s", f.Name)
	in := indent + 1
	lenField := e.Length
	if lenField == nil {
		lenField = f
	}
	w.line(in, "if pos + 2 > limit or pos + 2 > AVAIL then")
	w.line(in+1, "need(pos, limit, 2, %s, REASON.what_length)", w.abbrev(lenField))
	w.line(in, "end")
	w.line(in, "local start, n = pos, u16(pos)")
	if e.Length != nil {
		w.line(in, "%s", w.add(tree, e.Length, "range(pos, 2)", "n", ""))
		w.setFlag(in, e.Length, "n")
	}
	w.line(in, "pos = pos + 2")
	w.line(in, "if pos + n > limit then")
	w.line(in+1, "fail(start, %s, \"malformed\", gofmt(REASON.string_past_end, n, limit - start - 2))", w.abbrev(f))
	w.line(in, "end")
	w.line(in, "if pos + n > AVAIL then")
	w.line(in+1, "fail(pos, %s, \"truncated\", \"\")", w.abbrev(f))
	w.line(in, "end")
	raw := `""`
	if needsRaw(e, f) {
		raw = "raw"
		w.line(in, "local raw = bytes(pos, n)")
	}
	text := ""
	if f.Type.IsText() {
		text = ", text_show(raw)"
	}
	rng := "pos, n"
	if e.Length == nil {
		rng = "start, n + 2"
	}
	pf := w.pfOf(f)
	item := "nil"
	if e.Length != nil {
		item = "item"
	}
	switch {
	case e.OmitEmpty:
		w.line(in, "local item = nil")
		w.line(in, "if n ~= 0 then -- no item for an empty value, as Wireshark does")
		w.line(in+1, "item = add_wire(%s, %s, %s%s)", tree, pf, rng, text)
		w.line(in, "end")
	case e.Length == nil:
		// The item starts at the length, so notes at the value's offset
		// attach to the packet.
		w.line(in, "add_wire(%s, %s, %s%s)", tree, pf, rng, text)
	default:
		w.line(in, "local item = add_wire(%s, %s, %s%s)", tree, pf, rng, text)
	}
	w.setFlag(in, f, "0")
	if e.Check&spec.CheckUTF8 != 0 {
		w.line(in, "if not valid_utf8(raw) then")
		w.line(in+1, "note(%s, RULE.bad_utf8, %s)", item, w.abbrev(f))
		w.line(in, "elseif find(raw, \"\\0\", 1, true) then")
		w.line(in+1, "note(%s, RULE.nul_in_string, %s)", item, w.abbrev(f))
		w.line(in, "end")
	}
	if e.Check&spec.CheckNonEmpty != 0 {
		w.line(in, "if n == 0 then")
		w.line(in+1, "note(%s, RULE.illegal_topic_length)", item)
		w.line(in, "end")
	}
	if e.Check&spec.CheckNoWildcard != 0 {
		w.line(in, "if find(raw, \"+\", 1, true) or find(raw, \"#\", 1, true) then")
		w.line(in+1, "note(%s, RULE.wildcard_in_topic, %s)", item, w.abbrev(f))
		w.line(in, "end")
	}
	w.line(in, "pos = pos + n")
	w.role(in, e, "n", raw, item)
	w.line(indent, "end")
}

// rest reads every byte left in the packet (the application message).
func (w *fnWriter) rest(indent int, e *spec.Element, f *spec.Field, tree string) {
	w.line(indent, "do -- %s", f.Name)
	in := indent + 1
	// The only values whose length is not bounded by a 2-byte length:
	// add_cut keeps them under what Wireshark 1.x can export.
	raw := `""`
	if f.Type.IsText() {
		raw = "raw"
		w.line(in, "local raw = add_cut(%s, %s, %s, true, pos, limit - pos)", tree, w.pfOf(f), w.abbrev(f))
	} else {
		w.line(in, "add_cut(%s, %s, %s, false, pos, limit - pos)", tree, w.pfOf(f), w.abbrev(f))
	}
	w.setFlag(in, f, "0")
	w.role(in, e, "0", raw, "nil")
	w.line(in, "if limit > AVAIL then")
	w.line(in+1, "fail(AVAIL, %s, \"truncated\", \"\")", w.abbrev(f))
	w.line(in, "end")
	w.line(in, "pos = limit")
	w.line(indent, "end")
}

// aliasTopic shows the topic a v5 Topic Alias stands for (§3.3.2.3.4),
// and remembers the aliases a sender sets, per direction. The topic in use
// (from the name or the alias) then goes to the Info column.
func (w *fnWriter) aliasTopic(indent int, e *spec.Element, tree string) {
	if w.packet == nil {
		w.g.fail("%s: a Topic Alias inside a property", e.Field.Abbrev)
	}
	w.topic = true
	w.line(indent, "if topic_seen then -- [%s] from the Topic Alias", e.Field.Name)
	in := indent + 1
	w.line(in, "local alias = D.alias")
	w.line(in, "if alias >= 0 and not topic_empty then")
	w.line(in+1, "set_alias(alias, topic)")
	w.line(in, "elseif alias >= 0 then")
	w.line(in+1, "local aliased = lookup_alias(alias)")
	w.line(in+1, "if aliased == nil then")
	w.line(in+2, "note(nil, RULE.unknown_topic_alias)")
	w.line(in+1, "else")
	w.line(in+2, "local item = %s", w.add(tree, e.Field, "range(pos, 0)", "0", "text_show(aliased)"))
	w.line(in+2, "item:set_generated()")
	w.line(in+2, "topic = aliased")
	w.line(in+1, "end")
	w.line(in, "elseif topic_empty then")
	w.line(in+1, "note(nil, RULE.illegal_topic_length)")
	w.line(in, "end")
	w.role(in, e, "0", "topic", "nil")
	w.line(indent, "end")
}

// flagFields lists the fields conditions of els test.
func flagFields(els []spec.Element, into map[*spec.Field]bool) {
	for i := range els {
		if f := els[i].When.Flag; f != nil {
			into[f] = true
		}
		flagFields(els[i].Elements, into)
	}
}

// fixedHeader reads the items of the fixed header (MQTT 5.0 §2.1): the
// flags byte with the layout that applies in the version, and the
// Remaining Length the runtime has read.
func (w *fnWriter) fixedHeader(p *spec.Packet) {
	w.line(1, "-- Fixed header: the flags of the version's layout, the Remaining Length.")
	w.line(1, "local r = range(0, 1) -- one TvbRange for the byte and its bits")
	w.line(1, "local flags = %s", w.add("tree", spec.FixedHeader.Flags, "r", "first", ""))
	w.line(1, "local type_item, required = nil, -1")
	for i := range p.Flags {
		l := &p.Flags[i]
		in := 1
		if len(p.Flags) > 1 {
			in = 2
			if i == len(p.Flags)-1 {
				w.line(1, "else")
			} else {
				kw := "if"
				if i > 0 {
					kw = "elseif"
				}
				test := "true"
				if vs := w.g.versionsIn(l.When.Versions); l.When.Versions != 0 && vs != nil {
					test = w.g.versionTest(vs)
				}
				w.line(1, "%s %s then", kw, test)
			}
		}
		w.bits(in, l.Bits, "flags", "r", "first")
		w.line(in, "required = %d", l.Required)
	}
	if len(p.Flags) > 1 {
		w.line(1, "end")
	}
	w.line(1, "local length_item = %s", w.add("tree", spec.FixedHeader.Length, "range(1, d.length_size)", "d.remaining", ""))
	w.line(1, "if d.length_size > MAX_VARINT then")
	w.line(2, "note(length_item, RULE.long_varint, d.length_size)")
	w.line(1, "end")
	w.line(1, "if required >= 0 and first %% TYPE_DIV ~= required then")
	w.line(2, "note(flags, RULE.reserved_flags, %s, first %% TYPE_DIV, required)", quote(p.Name))
	w.line(1, "end")
	if in := w.g.versionsIn(p.Versions); p.Versions != 0 && in != nil {
		w.line(1, "if KNOWN[version] and not (%s) then", w.g.versionTest(in))
		w.line(2, "note(type_item, RULE.type_not_in_version, %s, VERSION_NAMES[version])", quote(p.Name))
		w.line(1, "end")
	}
	if !hasRole(p.Body, spec.RoleVersion) {
		w.line(1, "if d.seen.assumed then")
		w.line(2, "note(nil, RULE.assumed_version, VERSION_NAMES[version])")
		w.line(1, "elseif version == V_UNKNOWN and not d.seen.saw_connect then")
		w.line(2, "note(nil, RULE.unknown_version)")
		w.line(1, "end")
	}
}

func hasRole(els []spec.Element, r spec.Role) bool {
	for i := range els {
		if els[i].Role == r || hasRole(els[i].Elements, r) {
			return true
		}
	}
	return false
}

func who(p *spec.Packet) string {
	switch {
	case p.FromClient && p.FromServer:
		return "client and server"
	case p.FromClient:
		return "client to server"
	case p.FromServer:
		return "server to client"
	}
	return "no one"
}

func (g *gen) packets() {
	g.p("")
	g.p("-- ---------------------------------------------------------------------------")
	g.p("-- Control packets. Each dissect_<type> function reads one packet type:")
	g.p("-- the items of its fixed header, then its variable header and payload,")
	g.p("-- field by field (pos is the next byte, limit the end of the packet).")
	g.p("-- read_packet below has read the Remaining Length; d is the decoder state,")
	g.p("-- tree the packet's item. The ProtoFields (pf_*) and value strings (vs_*)")
	g.p("-- each function uses are its upvalues.")
	for i := range spec.Packets {
		p := &spec.Packets[i]
		fn := "dissect_" + identifier(p.Name)
		if len(p.Flags) == 0 {
			g.fail("packet type %d has no flag layout", i)
			continue
		}
		w := g.newFn(p)
		// Fields conditions test are kept in locals as they are read.
		flagFields(p.Body, w.flags)
		w.fixedHeader(p)
		w.elements(1, p.Body, "tree")
		w.line(1, "d.pos = pos")

		g.p("")
		versions := "every version"
		if in := g.versionsIn(p.Versions); p.Versions != 0 && in != nil {
			var vs []string
			for _, v := range in {
				vs = append(vs, v.String())
			}
			versions = "MQTT " + strings.Join(vs, ", ")
		}
		g.p("-- %s (type %d, %q): %s; %s.", p.Name, p.Type, p.Info(), who(p), versions)
		g.p("do")
		w.upvalues(1)
		g.p("    local function %s(d, tree)", fn)
		g.p("        local first, version, pos, limit = u8(0), d.version, d.pos, d.limit")
		var flagVars []string
		for _, f := range spec.Fields {
			if w.flags[f] {
				flagVars = append(flagVars, flagVar(g, f))
			}
		}
		if len(flagVars) > 0 {
			zeros := strings.TrimSuffix(strings.Repeat("0, ", len(flagVars)), ", ")
			g.p("        local %s = %s -- flags later fields depend on", strings.Join(flagVars, ", "), zeros)
		}
		if w.topic {
			g.p("        local topic, topic_seen, topic_empty = \"\", false, false")
		}
		for _, s := range w.lines {
			g.p("    %s", s)
		}
		g.p("    end")
		g.p("    PACKETS[%d] = {", i)
		g.p("        name = %s, info = %s, dissect = %s,", quote(p.Name), quote(p.Info()), fn)
		g.p("    }")
		g.p("end")
	}
	g.p("")
	g.p("-- The text of each packet's item, as Wireshark's own.")
	g.p("for _, packet in pairs(PACKETS) do")
	g.p("    packet.text = PROTOCOL_NAME .. \", \" .. packet.info")
	g.p("end")
	g.p("")
}

func (g *gen) properties() {
	g.p("-- ---------------------------------------------------------------------------")
	g.p("-- MQTT 5 properties: name, where each may appear, whether it may repeat,")
	g.p("-- and how its value is read: read(tree, pos, limit) returns the position")
	g.p("-- after the value.")
	g.p("")
	for _, pr := range spec.Properties {
		w := g.newFn(nil)
		w.elements(2, pr.Value, "tree")
		var allowed []string
		for c := spec.PropContext(0); c < 32; c++ {
			if pr.In.Has(c) {
				allowed = append(allowed, "["+quote(c.String())+"] = true")
			}
		}
		g.p("do")
		w.upvalues(1)
		g.p("PROPERTIES[0x%02X] = {", pr.ID)
		g.p("    name = %s, repeatable = %v,", quote(pr.Name), pr.Repeatable)
		g.p("    allowed = { %s },", strings.Join(allowed, ", "))
		g.p("    read = function(tree, pos, limit)")
		if strings.Contains(strings.Join(w.lines, "\n"), "version") {
			g.p("        local version = D.version")
		}
		for _, s := range w.lines {
			g.p("%s", s)
		}
		g.p("        return pos")
		g.p("    end,")
		g.p("}")
		g.p("end")
	}
	g.p("")
}
