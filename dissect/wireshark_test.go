package dissect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// decodedPDU is our reading of one MQTT packet, in the shape of pdmlPDU.
type decodedPDU struct {
	Info      string
	Frame     int
	Fields    []pdmlField
	Rules     []string
	Malformed bool
}

// decodeFile runs the decoder over a capture and flattens every packet.
func decodeFile(t testing.TB, path string, cfg RunConfig) []decodedPDU {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []decodedPDU
	cfg.OnPDU = func(pdu *PDU) {
		d := decodedPDU{Frame: pdu.Frame, Malformed: pdu.Packet.Malformed, Info: pdu.Packet.Info()}
		for i := range pdu.Packet.Nodes {
			n := &pdu.Packet.Nodes[i]
			d.Fields = append(d.Fields, pdmlField{Name: n.Field.Abbrev, Show: n.Show(), Depth: n.Depth, Size: n.Len})
		}
		for _, note := range pdu.Packet.Notes {
			d.Rules = append(d.Rules, note.Rule.Name)
		}
		out = append(out, d)
	}
	if _, err := Run(context.Background(), f, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// TestAgreesWithWireshark compares the decoder with Wireshark's own reading
// (tshark 4.0 -T pdml, kept beside each capture) on every field of every MQTT
// packet: name, shown value, nesting and size, in tree order; and checks that
// Wireshark's expert infos are among our notes.
func TestAgreesWithWireshark(t *testing.T) {
	pdmls, _ := filepath.Glob("../testdata/*.pdml")
	if len(pdmls) == 0 {
		t.Fatal("no PDML files in testdata")
	}
	for _, pdmlPath := range pdmls {
		capture := strings.TrimSuffix(pdmlPath, ".pdml")
		t.Run(filepath.Base(capture), func(t *testing.T) {
			want, err := readPDML(pdmlPath, "mqtt")
			if err != nil {
				t.Fatal(err)
			}
			got := decodeFile(t, capture, RunConfig{})
			if len(got) != len(want) {
				t.Errorf("%d MQTT packets, Wireshark has %d", len(got), len(want))
			}
			fields, diffs := 0, 0
			for i := 0; i < len(got) && i < len(want); i++ {
				g, w := got[i], want[i]
				if g.Frame != w.Frame {
					t.Errorf("packet %d: frame %d, Wireshark %d", i, g.Frame, w.Frame)
				}
				if d := compareFields(g.Fields, w.Fields); d != "" {
					diffs++
					if diffs <= 5 {
						t.Errorf("frame %d packet %d differs from Wireshark:\n%s", g.Frame, i, d)
					}
				}
				fields += len(w.Fields)
				for _, e := range w.Expert {
					if !contains(g.Rules, e) {
						t.Errorf("frame %d: Wireshark notes %s, we do not (notes %v)", g.Frame, e, g.Rules)
					}
				}
			}
			t.Logf("%d packets, %d fields compared, %d packets differ", len(want), fields, diffs)
			compareInfo(t, capture+".info", got)
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// compareFields returns a readable difference, or "".
func compareFields(got, want []pdmlField) string {
	var sb strings.Builder
	n := max(len(got), len(want))
	bad := 0
	for i := 0; i < n; i++ {
		var g, w pdmlField
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g.Name == w.Name && g.Show == w.Show && g.Depth == w.Depth && g.Size == w.Size {
			continue
		}
		bad++
		if bad <= 4 {
			fmt.Fprintf(&sb, "  #%d ours %s=%q (depth %d, %d bytes); Wireshark %s=%q (depth %d, %d bytes)\n",
				i, g.Name, trunc(g.Show), g.Depth, g.Size, w.Name, trunc(w.Show), w.Depth, w.Size)
		}
	}
	return sb.String()
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// compareInfo checks the Info column of every frame against tshark's
// (`-T fields -e frame.number -e _ws.col.Info`, kept as CAPTURE.info).
// Wireshark's media dissector appends " (type)" after a v5 PUBLISH with a
// Content Type it knows; that text is not MQTT's and is not compared.
func compareInfo(t *testing.T, path string, got []decodedPDU) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ours := map[int]string{}
	for _, g := range got {
		if s, ok := ours[g.Frame]; ok {
			ours[g.Frame] = s + ", " + g.Info
		} else {
			ours[g.Frame] = g.Info
		}
	}
	media := regexp.MustCompile(` \((text|application)/[^)]*\)`)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		num, info, _ := strings.Cut(line, "\t")
		frame, _ := strconv.Atoi(num)
		want := media.ReplaceAllString(info, "")
		if ours[frame] != want {
			t.Errorf("frame %d: Info %q, Wireshark %q", frame, ours[frame], info)
		}
	}
}
