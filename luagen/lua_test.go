package luagen

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/mqttdissect/mqttdissect/internal/testtool"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
	"github.com/mqttdissect/mqttdissect/spec"
)

// TestLuacParses checks the generated file with the strict compilers of
// the oldest and newest Lua it targets.
func TestLuacParses(t *testing.T) {
	for _, luac := range []string{"luac5.1", "luac5.4"} {
		t.Run(luac, func(t *testing.T) {
			bin := testtool.Need(t, luac)
			for _, opts := range []Options{{}, {Name: "mymqtt", Ports: []uint16{1883, 8884}}} {
				path := writeLua(t, opts)
				out, err := exec.Command(bin, "-p", path).CombinedOutput()
				if err != nil {
					t.Errorf("%s -p (%s): %v\n%s", luac, opts.Command(), err, out)
				}
			}
		})
	}
}

// luaInterpreters are the plain Lua interpreters the harness runs under;
// 5.1 and 5.4 are required in CI, 5.2 and 5.3 are used when present.
var luaInterpreters = []struct {
	bin      string
	required bool
}{{"lua5.1", true}, {"lua5.2", false}, {"lua5.3", false}, {"lua5.4", true}}

// TestPlainLua runs the generated dissector under plain Lua 5.1 to 5.4
// with testdata/wsmock.lua standing in for Wireshark (as 1.10, without
// TvbRange:raw and pinfo.can_desegment, and as 4.0), on every synthetic
// case: both passes must show exactly the native decoder's packets, notes
// (in order) and Info column. tshark covers Lua 5.2; this covers what
// differs in 5.1 and 5.4 (integer/float numbers, library functions).
func TestPlainLua(t *testing.T) {
	mock, err := filepath.Abs("testdata/wsmock.lua")
	if err != nil {
		t.Fatal(err)
	}
	for _, li := range luaInterpreters {
		t.Run(li.bin, func(t *testing.T) {
			bin, err := exec.LookPath(li.bin)
			if err != nil {
				if li.required && os.Getenv("CI") == "true" {
					t.Fatalf("%s is required in CI", li.bin)
				}
				t.Skipf("%s not installed", li.bin)
			}
			for _, tc := range synthCases {
				if tc.tsharkOnly {
					continue
				}
				t.Run(tc.name, func(t *testing.T) {
					b := pcapbuild.New(pcapbuild.Options{Snaplen: tc.snaplen})
					tc.build(t, b)
					capture := b.Pcap()
					want := nativeLines(t, capture, tc.native, tc.ports)
					segs := writeSegments(t, capture, tc.ports)
					luaPath := writeLua(t, tc.opts)
					for _, mode := range []string{"1.10", "4.0"} {
						args := append([]string{mock, luaPath, segs, mode}, mockPrefs(t, tc.prefs)...)
						cmd := exec.Command(bin, args...)
						var stderr bytes.Buffer
						cmd.Stderr = &stderr
						got, err := cmd.Output()
						if err != nil {
							t.Fatalf("%s %s: %v\n%s", li.bin, mode, err, stderr.String())
						}
						if d := firstDiff(string(got), want); d != "" {
							t.Errorf("%s as Wireshark %s differs from the native decoder:\n%s", li.bin, mode, d)
						}
						if strings.Contains(string(got), "could not read") {
							t.Errorf("%s as Wireshark %s: the dissector caught a Lua error:\n%s", li.bin, mode, got)
						}
					}
				})
			}
		})
	}
}

// nativeLines renders the native decoder's reading in wsmock.lua's output
// format, for both passes.
func nativeLines(t *testing.T, capture []byte, opts dissect.Options, ports []uint16) string {
	t.Helper()
	var sb strings.Builder
	infos := map[int]string{}
	var frames []int
	cfg := &dissect.RunConfig{Ports: ports}
	cfg.Options = opts
	cfg.OnPDU = func(p *dissect.PDU) {
		fmt.Fprintf(&sb, "pdu %d\n", p.Frame)
		for i := range p.Packet.Nodes {
			n := &p.Packet.Nodes[i]
			fmt.Fprintf(&sb, "f %d %s %d %s\n", n.Depth, n.Field.Abbrev, capturedSize(p.Packet, n), shown(n))
		}
		for _, note := range p.Packet.Notes {
			if !note.Rule.ReaderOnly() {
				fmt.Fprintf(&sb, "n %s\n", ruleText(note))
			}
		}
		info := infoText(p.Packet.Info())
		if prev, ok := infos[p.Frame]; ok {
			infos[p.Frame] = prev + ", " + info
		} else {
			infos[p.Frame] = info
			frames = append(frames, p.Frame)
		}
	}
	if _, err := dissect.Run(context.Background(), bytes.NewReader(capture), cfg); err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		fmt.Fprintf(&sb, "info %d %s\n", f, infos[f])
	}
	pass := sb.String()
	return "pass 1\n" + pass + "pass 2\n" + pass
}

// ruleText is a native note as the Lua dissector words it.
func ruleText(n dissect.Note) string {
	if n.Rule == spec.RuleAssumedVersion {
		v := strings.TrimSuffix(strings.TrimPrefix(n.Message, "no CONNECT seen on this connection: read as MQTT "), " as set by --mqtt-version")
		return fmt.Sprintf(ruleMessage(n.Rule), v)
	}
	return n.Message
}

// writeSegments writes the TCP payloads of a capture as a Lua file for
// wsmock.lua.
func writeSegments(t *testing.T, capture []byte, ports []uint16) string {
	t.Helper()
	cr, err := dissect.OpenCapture(bytes.NewReader(capture), ports)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString("return {\n")
	for {
		f, err := cr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Payload) == 0 && f.PayloadLen <= 0 {
			continue
		}
		lost := max(f.PayloadLen-len(f.Payload), 0)
		fmt.Fprintf(&sb, "{ frame = %d, src = %q, sport = %d, dst = %q, dport = %d, hex = %q, lost = %d },\n",
			f.Number, f.Src.Addr().String(), f.Src.Port(), f.Dst.Addr().String(), f.Dst.Port(), hex.EncodeToString(f.Payload), lost)
	}
	sb.WriteString("}\n")
	path := filepath.Join(t.TempDir(), "segments.lua")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// mockPrefs turns tshark -o preferences ("PROTO.key:value") into
// wsmock.lua's key=value arguments.
func mockPrefs(t *testing.T, prefs []string) []string {
	var out []string
	for _, p := range prefs {
		if !strings.HasPrefix(p, "PROTO.") {
			continue // a preference of another protocol
		}
		kv := strings.TrimPrefix(p, "PROTO.")
		k, v, _ := strings.Cut(kv, ":")
		switch {
		case v == "TRUE":
			v = "true"
		case k == "default_version":
			found := false
			for _, e := range spec.ProtocolVersions.Entries {
				if e.Name == v {
					v, found = strconv.Itoa(int(e.Value)), true
					break
				}
			}
			if !found {
				t.Fatalf("unknown version choice %q", v)
			}
		}
		out = append(out, k+"="+v)
	}
	return out
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n  Lua:    %q\n  native: %q", i+1, a, b)
		}
	}
	return ""
}
