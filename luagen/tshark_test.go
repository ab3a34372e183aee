package luagen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/internal/testtool"
	"github.com/mqttdissect/mqttdissect/spec"
)

// writeLua generates the dissector into a temporary directory.
func writeLua(t *testing.T, opts Options) string {
	t.Helper()
	src, err := Bytes(opts)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var tcpRemarkRE = regexp.MustCompile(`^(\[TCP [^\]]*\] )+| \[TCP segment of a reassembled PDU\]$`)

// luaErrorRE matches what Wireshark prints when a Lua script fails.
var luaErrorRE = regexp.MustCompile(`Lua: Error|Lua Error`)

// otherTsharks are wrappers around other Wireshark releases, installed by
// .ci/wireshark-versions.sh (they run TShark in a chroot as an unprivileged
// user); the tests use the ones that work here.
var otherTsharks = func() []string {
	var names []string
	for _, r := range Verified {
		if r.Wireshark != HostRelease {
			names = append(names, "tshark-"+r.Wireshark)
		}
	}
	return names
}()

// tsharks returns the tshark programs to test with: the machine's own and
// each wrapper of another release. Without CI a missing wrapper is skipped
// with a message; in CI (CI=true, where .ci/run installs them) every one is
// required.
func tsharks(t *testing.T) []string {
	t.Helper()
	bins := []string{testtool.Need(t, "tshark")}
	inCI := os.Getenv("CI") == "true"
	for _, name := range otherTsharks {
		path, err := exec.LookPath(name)
		if err == nil {
			err = exec.Command(path, "-v").Run()
		}
		if err != nil {
			if inCI {
				t.Fatalf("%s is required in CI (bash .ci/wireshark-versions.sh installs it): %v", name, err)
			}
			t.Logf("%s not available (%v): that release is not checked; run bash .ci/wireshark-versions.sh as root to add it", name, err)
			continue
		}
		bins = append(bins, path)
	}
	return bins
}

// tshark runs a tshark program with the Lua dissector loaded, in an empty
// home directory so no personal plugin or preference interferes.
func tshark(t *testing.T, bin, luaPath, capture string, args ...string) []byte {
	t.Helper()
	home := t.TempDir()
	all := []string{"-n", "-r", capture}
	if luaPath != "" {
		all = append(all, "-X", "lua_script:"+luaPath)
	}
	all = append(all, args...)
	cmd := exec.Command(bin, all...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(all, " "), err, stderr.String())
	}
	if luaErrorRE.Match(stderr.Bytes()) {
		t.Fatalf("tshark reports a Lua error:\n%s", stderr.String())
	}
	return stdout.Bytes()
}

// luaReading is tshark's reading of a capture with the Lua dissector: the
// packets from PDML and the Info column of each frame.
type luaReading struct {
	PDUs []pdu
	Info map[int]string
}

func readWithLua(t *testing.T, bin, luaPath, proto, capture string, prefs ...string) *luaReading {
	t.Helper()
	return readWithLuaArgs(t, bin, luaPath, proto, capture, prefOpts(prefs))
}

// readWithLuaArgs is readWithLua with tshark options (-o, -d) as given.
func readWithLuaArgs(t *testing.T, bin, luaPath, proto, capture string, opts []string) *luaReading {
	t.Helper()
	pdml := tshark(t, bin, luaPath, capture, append(opts, "-T", "pdml")...)
	r, err := readPDML(bytes.NewReader(xmlSafe(pdml)), proto)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.LuaErrors) > 0 {
		t.Fatalf("Lua errors in the tree: %q", r.LuaErrors)
	}
	fields := tshark(t, bin, luaPath, capture, append(opts, "-Y", proto, "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info")...)
	info := map[int]string{}
	for _, line := range strings.Split(strings.TrimRight(string(fields), "\n"), "\n") {
		num, text, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(num)
		// TCP's own remarks ("[TCP Out-Of-Order] ") are not MQTT's.
		info[n] = tcpRemarkRE.ReplaceAllString(text, "")
	}
	return &luaReading{PDUs: r.PDUs, Info: info}
}

// fieldsByAbbrev finds a spec field by its mqtt.* name.
var fieldsByAbbrev = func() map[string]*spec.Field {
	m := map[string]*spec.Field{}
	for _, f := range spec.Fields {
		if _, ok := m[f.Abbrev]; !ok {
			m[f.Abbrev] = f
		}
	}
	return m
}()

// asNative rewrites the shown values of a tshark release in the form of
// tshark 4.0, which the native decoder follows: booleans as 1 and 0 (4.2
// and later print True and False) and hexadecimal integers as wide as
// their type (3.4 prints 0x00000010 for an 8-bit field).
func asNative(pdus []pdu) []pdu {
	out := make([]pdu, len(pdus))
	for i, p := range pdus {
		q := p
		q.Fields = make([]field, len(p.Fields))
		for j, f := range p.Fields {
			if sf := fieldsByAbbrev[f.Name]; sf != nil {
				switch {
				case sf.Type == spec.FTBool && f.Show == "True":
					f.Show = "1"
				case sf.Type == spec.FTBool && f.Show == "False":
					f.Show = "0"
				case sf.Type.IsInteger() && sf.Base == spec.BaseHex && strings.HasPrefix(f.Show, "0x"):
					if v, err := strconv.ParseUint(f.Show[2:], 16, 64); err == nil {
						digits := map[spec.FieldType]int{spec.FTUint8: 2, spec.FTUint16: 4, spec.FTUint32: 8}[sf.Type]
						f.Show = fmt.Sprintf("0x%0*x", digits, v)
					}
				}
			}
			q.Fields[j] = f
		}
		out[i] = q
	}
	return out
}

// nativeReading is the native decoder's reading of a capture.
type nativeReading struct {
	PDUs []pdu
	Info map[int]string // joined as Wireshark joins a frame's packets
}

func readNative(t *testing.T, capture string, opts dissect.Options, ports ...uint16) *nativeReading {
	t.Helper()
	cfg := &dissect.RunConfig{Ports: ports}
	cfg.Options = opts
	return readNativeWith(t, capture, cfg)
}

// readNativeWith is readNative with a whole configuration (a key log, ...).
func readNativeWith(t *testing.T, capture string, cfg *dissect.RunConfig) *nativeReading {
	t.Helper()
	f, err := os.Open(capture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := &nativeReading{Info: map[int]string{}}
	cfg.OnPDU = func(p *dissect.PDU) {
		d := pdu{Frame: p.Frame}
		for i := range p.Packet.Nodes {
			n := &p.Packet.Nodes[i]
			d.Fields = append(d.Fields, field{Name: n.Field.Abbrev, Show: pdmlText(shown(n)), Depth: n.Depth, Size: capturedSize(p.Packet, n)})
		}
		for _, note := range p.Packet.Notes {
			if !note.Rule.ReaderOnly() {
				d.Notes = append(d.Notes, note.Message)
			}
		}
		out.PDUs = append(out.PDUs, d)
		info := infoText(p.Packet.Info())
		if prev, ok := out.Info[p.Frame]; ok {
			out.Info[p.Frame] = prev + ", " + info
		} else {
			out.Info[p.Frame] = info
		}
	}
	if _, err := dissect.Run(context.Background(), f, cfg); err != nil {
		t.Fatalf("%s: %v", capture, err)
	}
	return out
}

// capturedSize is the size Wireshark can give a node: items end where the
// capture does (a known difference: for a packet cut short by the snap
// length the native decoder gives the sizes the packet declares).
func capturedSize(p *dissect.Packet, n *dissect.Node) int {
	if end := n.Offset + n.Len; end > len(p.Raw) {
		return max(0, len(p.Raw)-n.Offset)
	}
	return n.Len
}

// shown is a node's value as Wireshark shows it. The native decoder prints
// the raw value of a boolean (2 for the 7-bit mask of the CONNACK reserved
// flags); Wireshark prints 1 for any value but 0, so does the Lua dissector.
//
// Text follows Wireshark's rule too: the native decoder replaces each run
// of bytes that are not UTF-8 with one U+FFFD, Wireshark (3.4 to 4.6) each
// maximal ill-formed piece, as the Lua dissector does.
func shown(n *dissect.Node) string {
	switch {
	case n.Field.Type == spec.FTBool && n.Uint > 1:
		return "1"
	case n.Field.Type.IsText():
		return wsText(n.Raw)
	}
	return n.Show()
}

// wsText is how Wireshark shows UTF-8 text: up to the first NUL, with
// U+FFFD for each maximal piece that is not well-formed UTF-8.
func wsText(b []byte) string { return dissect.TextShow(b) }

// infoText is a native Info text as Wireshark's column has it: each
// bracket ends at a U+0000, and text that is not UTF-8 is replaced.
func infoText(info string) string {
	for {
		i := strings.IndexByte(info, 0)
		if i < 0 {
			break
		}
		j := strings.IndexByte(info[i:], ']')
		if j < 0 {
			info = info[:i]
			break
		}
		info = info[:i] + info[i+j:]
	}
	return wsText([]byte(info))
}

// pdmlText escapes control characters as tshark 4.0's PDML "show"
// attribute does (\x1 for U+0001; tab, newline and carriage return stay,
// and XML reads a carriage return as a newline).
// The native decoder shows them as they are: a known difference of the
// native decoder from Wireshark, which the Lua dissector does not share.
func pdmlText(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' {
			c = '\n'
		}
		if (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f {
			fmt.Fprintf(&sb, `\x%x`, c)
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// columnText escapes control characters as the Info column of tshark
// major.minor does: up to 4.0 \b \t \n \f \r and other bytes as they are;
// from 4.2 on also \a, \v and \xNN for the others, and tshark -T fields
// doubles every backslash.
func columnText(major, minor int, s string) string {
	if major < 4 || major == 4 && minor < 2 {
		r := strings.NewReplacer("\b", `\b`, "\t", `\t`, "\n", `\n`, "\f", `\f`, "\r", `\r`)
		return r.Replace(s)
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 7 && c <= 13:
			sb.WriteByte('\\')
			sb.WriteByte("abtnvfr"[c-7])
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&sb, `\x%02X`, c)
		default:
			sb.WriteByte(c)
		}
	}
	// -T fields then escapes every backslash.
	return strings.ReplaceAll(sb.String(), `\`, `\\`)
}

var versionRE = regexp.MustCompile(`TShark(?: \(Wireshark\))? (\d+)\.(\d+)`)

// tsharkVersion returns the major and minor version of a tshark program.
func tsharkVersion(t *testing.T, bin string) (int, int) {
	t.Helper()
	out, err := exec.Command(bin, "-v").Output()
	if err != nil {
		t.Fatalf("%s -v: %v", bin, err)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("%s -v: no version in %q", bin, out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	return major, minor
}

// xmlSafe escapes the control characters tshark 3.4 writes into PDML as
// they are (XML forbids most of them) the way 4.0 does (\x1, \x7f).
func xmlSafe(pdml []byte) []byte {
	var out []byte
	for i, c := range pdml {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			if out == nil {
				out = append([]byte(nil), pdml[:i]...)
			}
			out = fmt.Appendf(out, `\x%x`, c)
			continue
		}
		if out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return pdml
	}
	return out
}

// luaNote maps a note of the Lua dissector to the native decoder's text.
func luaNote(msg string) string {
	if m := ruleMessage(spec.RuleAssumedVersion); m != spec.RuleAssumedVersion.Message {
		i := strings.Index(m, "%s")
		prefix, suffix := m[:i], m[i+2:]
		if strings.HasPrefix(msg, prefix) && strings.HasSuffix(msg, suffix) {
			return fmt.Sprintf(spec.RuleAssumedVersion.Message, strings.TrimSuffix(strings.TrimPrefix(msg, prefix), suffix))
		}
	}
	return msg
}

// diffPDUs compares two readings packet by packet: frame, every field
// (name, shown value, depth, size, in tree order) and the notes (as a set:
// the tree orders them by item, the decoder by discovery).
func diffPDUs(got, want []pdu, gotName, wantName string) []string {
	var diffs []string
	if len(got) != len(want) {
		diffs = append(diffs, fmt.Sprintf("%s has %d MQTT packets, %s %d", gotName, len(got), wantName, len(want)))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		g, w := got[i], want[i]
		where := fmt.Sprintf("packet %d (frame %d)", i, w.Frame)
		if g.Frame != w.Frame {
			diffs = append(diffs, fmt.Sprintf("%s: %s has it in frame %d", where, gotName, g.Frame))
		}
		n := max(len(g.Fields), len(w.Fields))
		bad := 0
		for j := 0; j < n; j++ {
			var a, b field
			if j < len(g.Fields) {
				a = g.Fields[j]
			}
			if j < len(w.Fields) {
				b = w.Fields[j]
			}
			if a == b {
				continue
			}
			if bad++; bad <= 3 {
				diffs = append(diffs, fmt.Sprintf("%s field #%d: %s %s=%q depth %d size %d; %s %s=%q depth %d size %d",
					where, j, gotName, a.Name, trunc(a.Show), a.Depth, a.Size, wantName, b.Name, trunc(b.Show), b.Depth, b.Size))
			}
		}
		if g.Notes != nil || w.Notes != nil {
			gn, wn := sortedNotes(g.Notes), sortedNotes(w.Notes)
			if strings.Join(gn, "\n") != strings.Join(wn, "\n") {
				diffs = append(diffs, fmt.Sprintf("%s notes: %s %q; %s %q", where, gotName, gn, wantName, wn))
			}
		}
	}
	return diffs
}

func sortedNotes(notes []string) []string {
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = luaNote(n)
	}
	sort.Strings(out)
	return out
}

func trunc(s string) string {
	if len(s) > 50 {
		return s[:50] + "..."
	}
	return s
}

// diffInfo compares the Info column of every frame with MQTT packets, the
// native text escaped as the column of tshark major.minor escapes it.
func diffInfo(lua, native map[int]string, major, minor int) []string {
	var diffs []string
	var frames []int
	for f := range native {
		frames = append(frames, f)
	}
	sort.Ints(frames)
	for _, f := range frames {
		if want := columnText(major, minor, native[f]); lua[f] != want {
			diffs = append(diffs, fmt.Sprintf("frame %d Info: Lua %q; native %q", f, lua[f], want))
		}
	}
	for f, text := range lua {
		if _, ok := native[f]; !ok {
			diffs = append(diffs, fmt.Sprintf("frame %d Info: Lua %q; native has no packet", f, text))
		}
	}
	return diffs
}

func report(t *testing.T, what string, diffs []string) {
	t.Helper()
	for i, d := range diffs {
		if i == 12 {
			t.Errorf("%s: ... %d more differences", what, len(diffs)-i)
			break
		}
		t.Errorf("%s: %s", what, d)
	}
}

// TestCapturesAgree runs the generated dissector in the real tshark on every
// capture in testdata and requires, field by field, the native decoder's
// reading (fields, notes, Info column) and Wireshark's built-in reading
// (fields, and its expert infos among our notes), kept as CAPTURE.pdml.
//
// With the wrappers of other releases (see tsharks) the Lua reading must
// match the native one in the same way, and that release's own built-in
// reading, made live, field by field as it shows them.
func TestCapturesAgree(t *testing.T) {
	for i, bin := range tsharks(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) { capturesAgree(t, bin, i == 0) })
	}
}

func capturesAgree(t *testing.T, bin string, host bool) {
	major, minor := tsharkVersion(t, bin)
	luaPath := writeLua(t, Options{})
	pdmls, _ := filepath.Glob("../testdata/*.pdml")
	if len(pdmls) == 0 {
		t.Fatal("no captures with PDML in ../testdata")
	}
	for _, pdmlPath := range pdmls {
		capture := strings.TrimSuffix(pdmlPath, ".pdml")
		t.Run(filepath.Base(capture), func(t *testing.T) {
			// Wireshark keeps port 1883 for its own dissector: Decode As
			// hands it to the Lua one, as a user would.
			lua := readWithLuaArgs(t, bin, luaPath, FallbackName, capture, []string{"-d", "tcp.port==1883," + FallbackName})
			native := readNative(t, capture, dissect.Options{})
			report(t, "Lua vs native", diffPDUs(asNative(lua.PDUs), native.PDUs, "Lua", "native"))
			report(t, "Lua vs native", diffInfo(lua.Info, native.Info, major, minor))

			var wsPDML io.Reader
			if host {
				f, err := os.Open(pdmlPath)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				wsPDML = f
			} else {
				wsPDML = bytes.NewReader(xmlSafe(tshark(t, bin, "", capture, "-T", "pdml")))
			}
			builtin, err := readPDML(wsPDML, spec.MQTT.Filter)
			if err != nil {
				t.Fatal(err)
			}
			// The built-in's notes are expert names; compare fields here and
			// names below.
			luaFields := make([]pdu, len(lua.PDUs))
			for i, p := range lua.PDUs {
				luaFields[i] = pdu{Frame: p.Frame, Fields: p.Fields}
			}
			wsFields := make([]pdu, len(builtin.PDUs))
			for i, p := range builtin.PDUs {
				wsFields[i] = pdu{Frame: p.Frame, Fields: p.Fields}
			}
			report(t, "Lua vs Wireshark", diffPDUs(luaFields, wsFields, "Lua", "Wireshark"))
			for i := 0; i < len(lua.PDUs) && i < len(builtin.PDUs); i++ {
				for _, e := range builtin.PDUs[i].Experts {
					if !containsNote(lua.PDUs[i].Notes, e) {
						t.Errorf("frame %d: Wireshark notes %s, the Lua dissector does not (%q)", builtin.PDUs[i].Frame, e, lua.PDUs[i].Notes)
					}
				}
			}
			fields, notes := 0, 0
			for _, p := range lua.PDUs {
				fields, notes = fields+len(p.Fields), notes+len(p.Notes)
			}
			t.Logf("%d packets, %d fields, %d notes compared", len(lua.PDUs), fields, notes)
		})
	}
}

// containsNote reports whether notes hold the message of the rule Wireshark
// calls name.
func containsNote(notes []string, name string) bool {
	for _, r := range spec.Rules {
		if r.Name != name {
			continue
		}
		for _, n := range notes {
			if n == r.Message {
				return true
			}
		}
	}
	return false
}

// TestDoNoHarm checks, in every real tshark, that loading the generated
// file changes nothing Wireshark's own MQTT dissector shows: -Y mqtt and a
// topic filter match the same frames as without the file, and the Lua
// dissector reads nothing until asked. Asking works three ways: Decode As,
// the take_over preference, and a file generated with TakeOver, which the
// preference turns off again.
func TestDoNoHarm(t *testing.T) {
	const capture = "../testdata/v5.pcapng"
	const topic = `mqtt.topic == "v5/sensors/kitchen/temp"`
	frames := func(t *testing.T, bin, luaPath, filter string, args ...string) string {
		t.Helper()
		out := tshark(t, bin, luaPath, capture, append(args, "-Y", filter, "-T", "fields", "-e", "frame.number")...)
		return strings.Join(strings.Fields(string(out)), " ")
	}
	plain := writeLua(t, Options{})
	takeOver := writeLua(t, Options{TakeOver: true})
	lua := FallbackName
	for _, bin := range tsharks(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			builtin, builtinTopic := frames(t, bin, "", "mqtt"), frames(t, bin, "", topic)
			if builtin == "" || builtinTopic == "" {
				t.Fatalf("the built-in dissector finds no MQTT in %s", capture)
			}
			byLua := strings.ReplaceAll(topic, "mqtt.", lua+".")
			for _, tc := range []struct {
				name    string
				luaPath string
				args    []string
				lua, ws bool // whether the Lua / the built-in reads the frames
			}{
				{"installed", plain, nil, false, true},
				{"decode as", plain, []string{"-d", "tcp.port==1883," + lua}, true, false},
				{"preference", plain, []string{"-o", lua + ".take_over:TRUE"}, true, false},
				{"take-over file", takeOver, nil, true, false},
				{"take-over file, preference off", takeOver, []string{"-o", lua + ".take_over:FALSE"}, false, true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					want := func(on bool, all string) string {
						if on {
							return all
						}
						return ""
					}
					if got := frames(t, bin, tc.luaPath, "mqtt", tc.args...); got != want(tc.ws, builtin) {
						t.Errorf("-Y mqtt: frames %q, want %q", got, want(tc.ws, builtin))
					}
					if got := frames(t, bin, tc.luaPath, topic, tc.args...); got != want(tc.ws, builtinTopic) {
						t.Errorf("-Y '%s': frames %q, want %q", topic, got, want(tc.ws, builtinTopic))
					}
					if got := frames(t, bin, tc.luaPath, lua, tc.args...); got != want(tc.lua, builtin) {
						t.Errorf("-Y %s: frames %q, want %q", lua, got, want(tc.lua, builtin))
					}
					if got := frames(t, bin, tc.luaPath, byLua, tc.args...); got != want(tc.lua, builtinTopic) {
						t.Errorf("-Y '%s': frames %q, want %q", byLua, got, want(tc.lua, builtinTopic))
					}
				})
			}
		})
	}
}
