package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/dissect/filter"
	"github.com/mqttdissect/mqttdissect/spec"
)

// fieldsWriter prints -T fields rows as tshark does: one row per frame,
// the occurrences of each field joined by the aggregator.
type fieldsWriter struct {
	cols       []*filter.Column
	separator  string
	aggregator string
	quote      byte // 0, '"' or '\''
	occurrence byte // 'a', 'f' or 'l'
	header     bool
	buf        []byte
}

func newFieldsWriter(fields, opts []string) (*fieldsWriter, error) {
	w := &fieldsWriter{separator: "\t", aggregator: ",", occurrence: 'a'}
	for _, name := range fields {
		c, err := filter.NewColumn(name)
		if err != nil {
			return nil, fmt.Errorf("-e %s: %s", name, err.(*filter.Error).Msg)
		}
		w.cols = append(w.cols, c)
	}
	for _, o := range opts {
		key, value, ok := strings.Cut(o, "=")
		if !ok {
			return nil, fmt.Errorf("-E %q: want key=value (separator, header, quote, occurrence or aggregator)", o)
		}
		switch strings.ToLower(key) {
		case "separator", "aggregator":
			s, err := separatorValue(value)
			if err != nil {
				return nil, fmt.Errorf("-E %s: %v", o, err)
			}
			if strings.ToLower(key) == "separator" {
				w.separator = s
			} else {
				w.aggregator = s
			}
		case "header":
			switch strings.ToLower(value) {
			case "y":
				w.header = true
			case "n":
				w.header = false
			default:
				return nil, fmt.Errorf("-E %s: want header=y or header=n", o)
			}
		case "quote":
			switch strings.ToLower(value) {
			case "d":
				w.quote = '"'
			case "s":
				w.quote = '\''
			case "n":
				w.quote = 0
			default:
				return nil, fmt.Errorf("-E %s: want quote=d, quote=s or quote=n", o)
			}
		case "occurrence":
			switch strings.ToLower(value) {
			case "f", "l", "a":
				w.occurrence = strings.ToLower(value)[0]
			default:
				return nil, fmt.Errorf("-E %s: want occurrence=f (first), l (last) or a (all)", o)
			}
		default:
			return nil, fmt.Errorf("-E %s: unknown option %q (separator, header, quote, occurrence or aggregator)", o, key)
		}
	}
	return w, nil
}

// separatorValue reads tshark's separator syntax: /t is a tab, /s a space,
// anything else its first character.
func separatorValue(v string) (string, error) {
	switch v {
	case "/t":
		return "\t", nil
	case "/s":
		return " ", nil
	case "":
		return "", fmt.Errorf("empty separator")
	}
	r := []rune(v)
	return string(r[0]), nil
}

func (w *fieldsWriter) headerLine() []byte {
	var b []byte
	for i, c := range w.cols {
		if i > 0 {
			b = append(b, w.separator...)
		}
		b = append(b, c.Name()...)
	}
	return append(b, '\n')
}

// row formats one frame. A field without occurrences is an empty column,
// not quoted, as in tshark.
func (w *fieldsWriter) row(pdus []*dissect.PDU) []byte {
	b := w.buf[:0]
	for i, c := range w.cols {
		if i > 0 {
			b = append(b, w.separator...)
		}
		n := 0
		colStart, lastStart := len(b), -1
		c.Each(pdus, func(text []byte) {
			if w.occurrence == 'f' && n > 0 {
				return
			}
			if w.occurrence == 'l' && n > 0 {
				b = b[:lastStart]
			} else if n > 0 {
				b = append(b, w.aggregator...)
			}
			lastStart = len(b)
			b = append(b, text...)
			n++
		})
		if n > 0 && w.quote != 0 {
			b = append(b, 0)
			copy(b[colStart+1:], b[colStart:])
			b[colStart] = w.quote
			b = append(b, w.quote)
		}
	}
	b = append(b, '\n')
	w.buf = b
	return b
}

// listFields prints the names -Y and -e accept, with their types, as
// tshark -G fields lists them.
func listFields(out io.Writer) error {
	tw := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tTYPE\tDESCRIPTION")
	seen := map[string]bool{}
	for _, f := range spec.Fields {
		if seen[f.Abbrev] {
			continue
		}
		seen[f.Abbrev] = true
		desc := f.Name
		if f.Blurb != "" {
			desc += " (" + f.Blurb + ")"
		}
		if f.Values != nil {
			desc += "; value names: " + valueNames(f.Values)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Abbrev, f.Type, desc)
	}
	var rest []string
	for _, n := range filter.Names() {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	for _, n := range rest {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n, "-", "protocol or frame pseudo-field")
	}
	return tw.Flush()
}

func valueNames(t *spec.ValueTable) string {
	var names []string
	for _, e := range t.Entries {
		names = append(names, fmt.Sprintf("%q", e.Name))
		if len(names) == 4 && len(t.Entries) > 5 {
			names = append(names, "...")
			break
		}
	}
	return strings.Join(names, ", ")
}
