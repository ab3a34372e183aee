package validate

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/mqttdissect/mqttdissect/luagen/wslua"
)

// exportCutNote matches the note mqttdissect's generated dissector puts on
// an item it shortened because Wireshark 1.x cannot export the whole value
// (luagen/limits.go): "<field> has <n> bytes: Wireshark <release> can
// export only the first <k> of one field ...".
var exportCutNote = regexp.MustCompile(`^\S+ has \d+ bytes: Wireshark \S+ can export only the first \d+ of one field`)

// ExportCutNote reports whether an expert message is that note.
func ExportCutNote(msg string) bool { return exportCutNote.MatchString(msg) }

// uncut returns l with each item that carries the export-cut note compared
// as the reference's whole item, when the reference has that field at the
// same place and depth and the Lua item's value is a prefix of it: such an
// item is the whole value as far as that Wireshark can show it. The note
// is dropped with it. Anything else stays as it is, to be reported.
func uncut(l, r *Tree, m mapper) *Tree {
	var out *Tree
	drop := map[int]bool{}
	for ei, e := range l.Experts {
		if e.Item < 0 || e.Item >= len(l.Items) || !ExportCutNote(e.Message) {
			continue
		}
		li := l.Items[e.Item]
		for ri := range r.Items {
			ref := &r.Items[ri]
			if ref.Abbrev != m.abbrev(li.Abbrev) || ref.Depth != li.Depth || ref.Offset != li.Offset || ref.Len < li.Len {
				continue
			}
			if !strings.HasPrefix(ref.Show, li.Show) && !strings.HasPrefix(ref.Show, strings.TrimSuffix(li.Show, "\uFFFD")) {
				continue
			}
			if out == nil {
				c := *l
				c.Items = append([]Item(nil), l.Items...)
				c.Experts = append([]Expert(nil), l.Experts...)
				out = &c
			}
			it := &out.Items[e.Item]
			it.Len, it.Show, it.Label = ref.Len, ref.Show, ref.Label
			drop[ei] = true
			break
		}
	}
	if out == nil {
		return l
	}
	kept := out.Experts[:0]
	for i, e := range out.Experts {
		if !drop[i] {
			kept = append(kept, e)
		}
	}
	out.Experts = kept
	return out
}

// relabel110 turns a native label ("Topic: a\tü", escaped as Wireshark
// 4.0 does) into the label Wireshark 1.10 shows for the same value
// (wslua.FormatText110: "Topic: a\t\303\274").
func relabel110(label string) string {
	name, text, ok := strings.Cut(label, ": ")
	if !ok {
		return label
	}
	return name + ": " + wslua.FormatText110(unformatText(text))
}

// unformatText undoes dissect.FormatText's escapes: \a \b \f \n \r \t \v,
// three octal digits, \uXXXX and \UXXXXXXXX.
func unformatText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		n := s[i+1]
		if e := strings.IndexByte("abfnrtv", n); e >= 0 {
			b.WriteByte("\a\b\f\n\r\t\v"[e])
			i++
			continue
		}
		if i+3 < len(s) && isOctal(n) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((n-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		if width := map[byte]int{'u': 4, 'U': 8}[n]; width > 0 && i+1+width < len(s) {
			if v, err := strconv.ParseUint(s[i+2:i+2+width], 16, 32); err == nil {
				b.WriteRune(rune(v))
				i += 1 + width
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
