package validate

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// readPDMLTrees reads tshark's PDML and returns every <proto name=proto>
// of every packet as a Tree, in the form the emulator's trees take: items
// depth first with offsets from the PDU's first byte, labels from
// showname, and expert infos (_ws.expert) attached to their item. PDML does
// not say which items are generated.
func readPDMLTrees(r io.Reader, proto string) ([]*Tree, error) {
	dec := xml.NewDecoder(r)
	var (
		out      []*Tree
		frame    int
		index    int
		cur      *Tree
		rootPos  int
		depth    int   // nesting inside the current proto, 0 = the proto itself
		stack    []int // item index per open <field>, -1 for skipped ones
		skipping int   // >0 while inside a _ws.expert field
	)
	attrs := func(se xml.StartElement) map[string]string {
		m := make(map[string]string, len(se.Attr))
		for _, a := range se.Attr {
			m[a.Name.Local] = a.Value
		}
		return m
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "packet":
				frame, index = 0, 0
			case "proto":
				a := attrs(t)
				if cur == nil && a["name"] == proto {
					pos, _ := strconv.Atoi(a["pos"])
					size, _ := strconv.Atoi(a["size"])
					cur = &Tree{Frame: frame, Index: index, Proto: proto}
					index++
					rootPos = pos
					cur.Items = append(cur.Items, Item{Abbrev: proto, Label: a["showname"], Len: size})
					depth = 0
					stack = stack[:0]
					out = append(out, cur)
				} else if cur != nil {
					// A protocol nested in ours (not expected).
					stack = append(stack, -1)
				}
			case "field":
				a := attrs(t)
				if a["name"] == "num" && frame == 0 && cur == nil {
					frame, _ = strconv.Atoi(a["show"])
				}
				if cur == nil {
					continue
				}
				depth++
				if skipping > 0 {
					skipping++
					stack = append(stack, -1)
					continue
				}
				if a["name"] == "_ws.expert" {
					skipping = 1
					stack = append(stack, -1)
					parent := 0
					for i := len(stack) - 2; i >= 0; i-- {
						if stack[i] >= 0 {
							parent = stack[i]
							break
						}
					}
					sev, grp, msg, err := parseExpertShowname(a["showname"])
					if err != nil {
						return nil, fmt.Errorf("frame %d: %v", frame, err)
					}
					cur.Experts = append(cur.Experts, Expert{Severity: sev, Group: grp, Message: msg, Item: parent})
					continue
				}
				pos, _ := strconv.Atoi(a["pos"])
				size, _ := strconv.Atoi(a["size"])
				cur.Items = append(cur.Items, Item{
					Abbrev: a["name"], Show: a["show"], Label: a["showname"], Depth: depth,
					Offset: pos - rootPos, Len: size, Hidden: a["hide"] == "yes",
				})
				stack = append(stack, len(cur.Items)-1)
			}
		case xml.EndElement:
			if cur == nil {
				continue
			}
			switch t.Name.Local {
			case "field":
				depth--
				if skipping > 0 {
					skipping--
				}
				stack = stack[:len(stack)-1]
			case "proto":
				if len(stack) == 0 {
					cur = nil
				} else {
					stack = stack[:len(stack)-1]
				}
			}
		}
	}
}

// parseExpertShowname splits "Expert Info (Warning/Protocol): message".
func parseExpertShowname(s string) (sev, grp, msg string, err error) {
	rest, ok := strings.CutPrefix(s, "Expert Info (")
	head, msg, ok2 := strings.Cut(rest, "): ")
	sev, grp, ok3 := strings.Cut(head, "/")
	if !ok || !ok2 || !ok3 {
		return "", "", "", fmt.Errorf("unexpected expert showname %q", s)
	}
	return sev, grp, msg, nil
}
