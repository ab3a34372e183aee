package validate

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// Golden files hold a script's reading of a capture, one line per tree
// item, so that a change shows as a readable diff:
//
//	frame 4 pdu 0: mcbin = "" @0+24 "Memcache Binary Protocol, Get Request"
//	frame 4 pdu 0:   mcbin.magic = "0x80" @0+1 "Magic: Request (0x80)"
//	frame 4 pdu 0:   ! Warning/Protocol: unknown opcode
//	frame 9: Lua error: "mcbin.lua:40: attempt to index a nil value"
//
// Two spaces per level indent an item; a line starting with "!" is an
// expert info of the item above it. Show texts, labels and error messages
// are Go-quoted. Lines starting with "#" are comments.

// GoldenName returns the golden file name of a capture: its base name
// with ".tree.txt" appended.
func GoldenName(capture string) string { return filepath.Base(capture) + ".tree.txt" }

// WriteGolden writes the result's Lua trees (it needs Options.KeepTrees)
// and Lua errors.
func WriteGolden(w io.Writer, script string, res *Result) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# mqttdissect validate: the tree %s builds for %s in Wireshark %s (emulated)\n",
		filepath.Base(script), filepath.Base(res.Capture), res.Profile)
	fmt.Fprintf(bw, "# frame F pdu K: <indent>abbrev = \"show\" @offset+length \"label\" [generated] [hidden]\n")
	errs := res.Errors
	for _, t := range res.Trees {
		for len(errs) > 0 && errs[0].Frame < t.Frame {
			writeGoldenError(bw, errs[0])
			errs = errs[1:]
		}
		prefix := fmt.Sprintf("frame %d pdu %d: ", t.Frame, t.Index)
		for i := range t.Items {
			it := &t.Items[i]
			indent := strings.Repeat("  ", it.Depth)
			fmt.Fprintf(bw, "%s%s%s = %s @%d+%d %s", prefix, indent, it.Abbrev, strconv.Quote(it.Show), it.Offset, it.Len, strconv.Quote(it.Label))
			if it.Generated {
				bw.WriteString(" generated")
			}
			if it.Hidden {
				bw.WriteString(" hidden")
			}
			bw.WriteByte('\n')
			for _, e := range t.Experts {
				if e.Item == i {
					fmt.Fprintf(bw, "%s%s! %s/%s: %s\n", prefix, indent, e.Severity, e.Group, strconv.Quote(e.Message))
				}
			}
		}
	}
	for _, e := range errs {
		writeGoldenError(bw, e)
	}
	return bw.Flush()
}

func writeGoldenError(w *bufio.Writer, e LuaError) {
	fmt.Fprintf(w, "frame %d: Lua error: %s\n", e.Frame, strconv.Quote(e.Message))
}

// ReadGolden parses a golden file.
func ReadGolden(r io.Reader) (*Reference, error) {
	ref := &Reference{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var cur *Tree
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(why string) error { return fmt.Errorf("golden line %d: %s: %q", lineNo, why, line) }
		rest, ok := strings.CutPrefix(line, "frame ")
		if !ok {
			return nil, bad("want \"frame N ...\"")
		}
		num, rest, ok := strings.Cut(rest, " ")
		frame, err := strconv.Atoi(strings.TrimSuffix(num, ":"))
		if !ok || err != nil {
			return nil, bad("bad frame number")
		}
		if strings.HasSuffix(num, ":") {
			msg, ok := strings.CutPrefix(rest, "Lua error: ")
			if !ok {
				return nil, bad("want \"Lua error: \"")
			}
			m, err := strconv.Unquote(msg)
			if err != nil {
				return nil, bad("bad quoting")
			}
			ref.Errors = append(ref.Errors, LuaError{Frame: frame, Message: m})
			continue
		}
		rest, ok = strings.CutPrefix(rest, "pdu ")
		if !ok {
			return nil, bad("want \"pdu K:\"")
		}
		num, rest, ok = strings.Cut(rest, ": ")
		index, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, bad("bad pdu number")
		}
		body := strings.TrimLeft(rest, " ")
		depth := (len(rest) - len(body)) / 2
		if cur == nil || cur.Frame != frame || cur.Index != index {
			cur = &Tree{Frame: frame, Index: index}
			ref.Trees = append(ref.Trees, cur)
		}
		if e, ok := strings.CutPrefix(body, "! "); ok {
			head, msg, ok := strings.Cut(e, ": ")
			sev, grp, ok2 := strings.Cut(head, "/")
			m, err := strconv.Unquote(msg)
			if !ok || !ok2 || err != nil || len(cur.Items) == 0 {
				return nil, bad("bad expert info")
			}
			cur.Experts = append(cur.Experts, Expert{Severity: sev, Group: grp, Message: m, Item: len(cur.Items) - 1})
			continue
		}
		it, err := parseGoldenItem(body)
		if err != nil {
			return nil, bad(err.Error())
		}
		it.Depth = depth
		if len(cur.Items) == 0 {
			cur.Proto = it.Abbrev
		}
		cur.Items = append(cur.Items, it)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return ref, nil
}

// parseGoldenItem parses `abbrev = "show" @off+len "label" [generated] [hidden]`.
func parseGoldenItem(s string) (Item, error) {
	var it Item
	abbrev, rest, ok := strings.Cut(s, " = ")
	if !ok {
		return it, fmt.Errorf("want \"abbrev = ...\"")
	}
	it.Abbrev = abbrev
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return it, fmt.Errorf("bad show text")
	}
	it.Show, _ = strconv.Unquote(q)
	rest = strings.TrimPrefix(rest[len(q):], " ")
	pos, rest, ok := strings.Cut(rest, " ")
	if !ok || !strings.HasPrefix(pos, "@") {
		return it, fmt.Errorf("want @offset+length")
	}
	o, l, ok := strings.Cut(pos[1:], "+")
	var err1, err2 error
	it.Offset, err1 = strconv.Atoi(o)
	it.Len, err2 = strconv.Atoi(l)
	if !ok || err1 != nil || err2 != nil {
		return it, fmt.Errorf("bad @offset+length")
	}
	q, err = strconv.QuotedPrefix(rest)
	if err != nil {
		return it, fmt.Errorf("bad label")
	}
	it.Label, _ = strconv.Unquote(q)
	for _, w := range strings.Fields(rest[len(q):]) {
		switch w {
		case "generated":
			it.Generated = true
		case "hidden":
			it.Hidden = true
		default:
			return it, fmt.Errorf("unknown flag %q", w)
		}
	}
	return it, nil
}
