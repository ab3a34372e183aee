package luagen

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// field is one field of a packet, as PDML or the native decoder has it.
type field struct {
	Name  string // with the mqtt. prefix, whatever the protocol was called
	Show  string
	Depth int
	Size  int
}

// pdu is one MQTT packet: from a <proto> element of tshark's PDML, or from
// the native decoder.
type pdu struct {
	Frame  int
	Fields []field
	// Notes are expert info messages (PDML) or note messages (native),
	// with the mqtt. prefix.
	Notes []string
	// Experts are Wireshark's own expert info names (built-in dissector).
	Experts []string
}

// pdmlReading is tshark's reading of a capture.
type pdmlReading struct {
	PDUs []pdu
	// LuaErrors are texts of "Lua Error" items found anywhere.
	LuaErrors []string
}

// readPDML reads tshark's PDML and returns the packets of the protocol
// proto (its fields renamed from proto.X to mqtt.X).
func readPDML(r io.Reader, proto string) (*pdmlReading, error) {
	dec := xml.NewDecoder(r)
	out := &pdmlReading{}
	var (
		frame   int
		inProto bool
		protoLv int
		level   int
		depth   int
		cur     *pdu
		// expert info: the <field name="_ws.expert"> element nesting level
		expertLv int
	)
	rename := func(name string) string {
		return "mqtt." + strings.TrimPrefix(name, proto+".")
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("pdml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			level++
			attr := func(name string) string {
				for _, a := range t.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			name := attr("name")
			if strings.Contains(attr("showname"), "Lua Error") || strings.HasPrefix(name, "_ws.lua.error") {
				out.LuaErrors = append(out.LuaErrors, attr("showname")+attr("show"))
			}
			switch t.Name.Local {
			case "packet":
				frame = 0
			case "proto":
				if name == proto && !inProto {
					inProto, protoLv, depth = true, level, 0
					out.PDUs = append(out.PDUs, pdu{Frame: frame})
					cur = &out.PDUs[len(out.PDUs)-1]
				}
			case "field":
				if name == "num" && frame == 0 && !inProto {
					frame, _ = strconv.Atoi(attr("show"))
				}
				if !inProto {
					continue
				}
				switch {
				case name == "_ws.expert":
					expertLv = level
				case strings.HasPrefix(name, proto+".") && isBuiltinExpert(name):
					cur.Experts = append(cur.Experts, name)
				case name == "_ws.expert.message" && expertLv > 0:
					cur.Notes = append(cur.Notes, strings.ReplaceAll(attr("show"), proto+".", "mqtt."))
				case expertLv > 0:
				case strings.HasPrefix(name, proto+"."):
					size, _ := strconv.Atoi(attr("size"))
					cur.Fields = append(cur.Fields, field{Name: rename(name), Show: attr("show"), Depth: depth, Size: size})
				}
				depth++
			}
		case xml.EndElement:
			if inProto && t.Name.Local == "field" {
				depth--
				if level == expertLv {
					expertLv = 0
				}
			}
			if inProto && t.Name.Local == "proto" && level == protoLv {
				inProto, cur = false, nil
			}
			level--
		}
	}
}

// isBuiltinExpert reports whether an abbreviation is one of the built-in
// dissector's expert infos rather than a field.
func isBuiltinExpert(name string) bool {
	switch name[strings.IndexByte(name, '.')+1:] {
	case "illegal_topic_length", "unknown_version", "unknown_topic_alias":
		return true
	}
	return false
}
