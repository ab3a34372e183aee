package dissect

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// pdmlField is one field of Wireshark's PDML reading, flattened.
type pdmlField struct {
	Name  string
	Show  string
	Depth int
	Pos   int
	Size  int
}

// pdmlPDU is one <proto name="mqtt"> element of a frame.
type pdmlPDU struct {
	Frame  int
	Fields []pdmlField // mqtt.* fields in document order
	Expert []string    // expert info names (mqtt.unknown_version, ...)
	// Malformed is set when Wireshark flagged the PDU as malformed.
	Malformed bool
}

// readPDML streams a PDML file and returns its MQTT PDUs in order.
func readPDML(path string, proto string) ([]pdmlPDU, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	var (
		out     []pdmlPDU
		frame   int
		inProto bool
		depth   int // field nesting inside the current mqtt proto
		cur     *pdmlPDU
		protoLv int // element depth of <proto> we are in
		level   int
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
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
			switch t.Name.Local {
			case "packet":
				frame = 0
			case "proto":
				if attr("name") == proto && !inProto {
					inProto, protoLv, depth = true, level, 0
					out = append(out, pdmlPDU{Frame: frame})
					cur = &out[len(out)-1]
				}
			case "field":
				name := attr("name")
				if name == "num" && frame == 0 && !inProto {
					frame, _ = strconv.Atoi(attr("show"))
				}
				if !inProto {
					continue
				}
				switch {
				case name == "_ws.malformed":
					cur.Malformed = true
				case strings.HasPrefix(name, proto+".") && isExpertName(name):
					cur.Expert = append(cur.Expert, name)
				case strings.HasPrefix(name, proto+"."):
					pos, _ := strconv.Atoi(attr("pos"))
					size, _ := strconv.Atoi(attr("size"))
					cur.Fields = append(cur.Fields, pdmlField{Name: name, Show: attr("show"), Depth: depth, Pos: pos, Size: size})
				}
				depth++
			}
		case xml.EndElement:
			if inProto && t.Name.Local == "field" {
				depth--
			}
			if inProto && t.Name.Local == "proto" && level == protoLv {
				inProto, cur = false, nil
			}
			level--
		}
	}
}

// isExpertName reports whether an abbreviation is one of Wireshark's MQTT
// expert infos rather than a field.
func isExpertName(name string) bool {
	switch strings.TrimPrefix(name[strings.IndexByte(name, '.'):], ".") {
	case "illegal_topic_length", "unknown_version", "unknown_topic_alias":
		return true
	}
	return false
}
