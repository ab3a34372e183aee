// Package validate proves a Lua dissector right without Wireshark: it runs
// the script in the wslua emulator over the TCP streams of captures, fed
// segment by segment as Wireshark's TCP dissector feeds it, records the tree
// the script builds for every PDU, and compares that tree with the native
// MQTT decoder's reading of the same bytes (package dissect), or with stored
// golden trees for dissectors of other protocols.
//
// # Use
//
//	v, err := validate.New("mqtt.lua", src, validate.Options{})
//	res, err := v.Run(ctx, "capture.pcap", file, nil) // nil: compare with the native decoder
//	if !res.OK() { res.WriteReport(os.Stdout) }
//
// # Comparison rules
//
// A Lua PDU is a top-level protocol item the script added (tree:add(proto,
// ...)); other top-level items the script added in the same dissector call
// (text, "[Malformed Packet]") are kept as depth-0 items of the PDU before
// them, or form a PDU of their own when none precedes them. The "Lua
// Error:" item of a call that raised is not part of any tree: it is
// reported as a Lua error with the frame and the traceback.
//
// Lua PDUs and native MQTT packets are matched by frame number (the frame
// whose segment completed the PDU) and by their order within that frame.
// Both are flattened depth first into items: abbrev, show text, label,
// depth, offset from the PDU's first byte, length, and whether the item is
// generated. The script's protocol name is mapped to the native one
// ("mqttlua" and "mqttlua.*" become "mqtt" and "mqtt.*"). Items are aligned
// (a missing or extra field is one difference, not a shift of everything
// after it) and the first MaxDiffs differences of each PDU are reported with
// the frame, the field, the Lua value and the native value.
//
// The native labels are dissect.Label's, rendered as Wireshark 4.0 shows
// them where dissect.Label does not (see nativeLabel): control characters
// in text escaped, "<MISSING>" for empty bytes, long byte strings cut
// after 36 bytes with "…", generated items without brackets.
//
// Known representational differences that are allowed:
//
//   - Native FT_NONE subtrees (mqtt.properties, mqtt.will_properties) have
//     no value, while a portable Lua dissector must declare them with a
//     type that has one: the generated mqtt.lua uses ProtoField.string with
//     an empty value and sets the label to the field name. For a native
//     FT_NONE item the show text is not compared; its abbrev, label,
//     position, length and children are.
//   - Expert infos are compared as multisets of "Severity/Group: message"
//     per PDU, with the prefix mapping applied inside messages. A native
//     note of group Assumption may be PI_PROTOCOL in Lua (portable Lua
//     cannot add PI_ASSUMPTION expert infos before Wireshark 4.0), and the
//     note on an assumed MQTT version names the preference in Lua where the
//     native decoder names the command-line option (nativeWording).
//   - Native packets that only exist because a stream ended or lost bytes
//     inside them (the native decoder shows such truncated packets;
//     Wireshark never dissects bytes still waiting for reassembly) are
//     counted as not comparable, not as differences.
//
// With golden trees (Reference) the reference is a stored reading of the
// same script instead: the same matching and alignment, with hidden flags
// and the item each expert info is attached to compared too. A reading by
// the real tshark (Reference.PDML) is compared the same way.
package validate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/luagen/wslua"
	"github.com/mqttdissect/mqttdissect/spec"
)

// NativePrefix is the protocol name of the native decoder's fields.
const NativePrefix = "mqtt"

// Defaults.
const (
	DefaultMaxDiffs    = 5
	DefaultMaxDiffPDUs = 50
	// maxStoredErrors bounds the Lua errors a Result keeps of a badly
	// broken dissector on a large capture; the count stays exact.
	maxStoredErrors = 200
)

// Options configure a Validator.
type Options struct {
	// Profile is the imitated Wireshark release; zero means 4.0.
	Profile wslua.Profile
	// Steps bounds the work of one dissector call (and of loading, init and
	// prefs_changed) in Lua instructions; 0 means wslua.DefaultCallSteps.
	// It counts work, not time: the verdict does not depend on the machine.
	Steps int64
	// MemoryLimit bounds the memory the script holds, in bytes; 0 means
	// wslua.DefaultMemoryLimit.
	MemoryLimit int64
	// KeepGoing goes on with a capture after the script ran into its
	// instruction budget or memory limit (by default the capture stops
	// there: a script that loops would wait out its budget on every frame).
	KeepGoing bool
	// Ports are the TCP ports whose connections are read. Empty means the
	// ports the script registers in the "tcp.port" table, or MQTT's port
	// 1883 through Decode As when it registers none. A connection on a
	// port the script did not register is handed to the script's only
	// protocol with a dissector, as Wireshark's "Decode As" would.
	Ports []uint16
	// MaxDiffs is how many differences are reported per PDU; 0 means
	// DefaultMaxDiffs.
	MaxDiffs int
	// MaxDiffPDUs is how many PDUs with differences are reported per
	// capture (the counts stay exact); 0 means DefaultMaxDiffPDUs.
	MaxDiffPDUs int
	// MQTTVersion is the version of connections whose CONNECT is not in the
	// capture, for the native decoder and (as the script's default_version
	// preference, when it has one) for the script.
	MQTTVersion spec.Version
	// Prefs are preferences for the script, "proto.name=value" as tshark's
	// -o "proto.name:value" (a ':' is accepted in place of '=').
	Prefs []string
	// KeepTrees keeps every Lua tree in Result.Trees (to write golden files).
	KeepTrees bool
	// KeepPDUs keeps one PDUResult per compared PDU in Result.PDUList (for
	// JUnit reports).
	KeepPDUs bool
	// Stdout receives the script's print output; nil discards it.
	Stdout io.Writer
	// ReuseState runs every capture in one emulator state, calling the
	// protocols' init functions before each capture after the first, as
	// Wireshark does when it opens another file (tshark, one process per
	// file, loads the script afresh: the default). It saves loading the
	// script per capture; such a Validator must not run captures
	// concurrently, and Close releases its state.
	ReuseState bool
}

// Validator runs one Lua script over captures.
type Validator struct {
	name  string
	src   []byte
	opts  Options
	ports []uint16
	// decodeAs: the script registers no port; ports is MQTT's, Decode As
	decodeAs bool
	// registered are the ports the script adds to "tcp.port"
	registered []uint16
	// protos with a dissector, from the trial load
	dissectors []string
	protoNames []string
	// the state kept with Options.ReuseState
	st     *wslua.State
	stUsed bool
}

// LoadError is a script that cannot be loaded under the profile: a syntax
// error, a Lua 5.1 construct the dialect lacks, an API point the Wireshark
// release lacks, or an error raised while the script ran its top level.
type LoadError struct {
	Script  string
	Profile wslua.Profile
	Err     *wslua.LuaError
}

func (e *LoadError) Error() string {
	msg := e.Err.Message
	if e.Err.Traceback != "" {
		msg += "\n" + e.Err.Traceback
	}
	return fmt.Sprintf("%s does not load in Wireshark %s (Lua %s): %s", e.Script, e.Profile, e.Profile.Lua(), msg)
}

// New loads the script once under the profile (to report load errors and
// learn its ports) and returns a Validator for it. A script that does not
// load returns a *LoadError; bad options return other errors.
func New(name string, src []byte, opts Options) (*Validator, error) {
	if opts.Profile.IsZero() {
		opts.Profile = wslua.Profile40
	}
	if opts.MaxDiffs <= 0 {
		opts.MaxDiffs = DefaultMaxDiffs
	}
	if opts.MaxDiffPDUs <= 0 {
		opts.MaxDiffPDUs = DefaultMaxDiffPDUs
	}
	v := &Validator{name: name, src: src, opts: opts}
	st, err := v.newState()
	if err != nil {
		return nil, err
	}
	if opts.ReuseState {
		v.st = st
	} else {
		defer st.Close()
	}
	for _, p := range st.Protos() {
		v.protoNames = append(v.protoNames, p.Name)
		if p.HasDissector {
			v.dissectors = append(v.dissectors, p.Name)
		}
	}
	if len(v.dissectors) == 0 {
		return nil, &LoadError{Script: name, Profile: opts.Profile, Err: &wslua.LuaError{Message: "the script creates no protocol with a dissector function"}}
	}
	for _, p := range st.TCPPorts() {
		if p > 0 && p < 65536 {
			v.registered = append(v.registered, uint16(p))
		}
	}
	v.ports = append(v.ports, opts.Ports...)
	if len(v.ports) == 0 {
		v.ports = append(v.ports, v.registered...)
	}
	if len(v.ports) == 0 && len(v.dissectors) == 1 {
		// The generated mqtt.lua leaves port 1883 to Wireshark's own MQTT
		// dissector where there is one (the emulated 1.12 and later): read
		// it as a user would, through Decode As.
		v.ports, v.decodeAs = []uint16{spec.MQTT.Port}, true
	}
	if len(v.ports) == 0 {
		return nil, fmt.Errorf("%s registers no TCP port (DissectorTable \"tcp.port\"): give the ports to read", name)
	}
	return v, nil
}

// Close releases the state kept with Options.ReuseState.
func (v *Validator) Close() {
	if v.st != nil {
		v.st.Close()
		v.st = nil
	}
}

// Ports returns the TCP ports whose connections are read.
func (v *Validator) Ports() []uint16 { return append([]uint16(nil), v.ports...) }

// DecodeAs reports whether the ports are read through Decode As because the
// script registers none and none were given (Options.Ports).
func (v *Validator) DecodeAs() bool { return v.decodeAs }

// Protocols returns the filter names of the protocols the script creates.
func (v *Validator) Protocols() []string { return append([]string(nil), v.protoNames...) }

// Profile returns the profile the script runs under.
func (v *Validator) Profile() wslua.Profile { return v.opts.Profile }

// newState creates an emulator state with the script loaded and the
// preferences set.
func (v *Validator) newState() (*wslua.State, error) {
	st := wslua.New(wslua.Options{Profile: v.opts.Profile, CallSteps: v.opts.Steps, LoadSteps: v.opts.Steps,
		MemoryLimit: v.opts.MemoryLimit, Stdout: v.opts.Stdout})
	if err := st.Load(v.name, v.src); err != nil {
		st.Close()
		var le *wslua.LuaError
		if errors.As(err, &le) {
			return nil, &LoadError{Script: v.name, Profile: v.opts.Profile, Err: le}
		}
		return nil, err
	}
	prefs := append([]string(nil), v.opts.Prefs...)
	if v.opts.MQTTVersion != spec.VersionUnknown {
		for _, p := range st.Prefs() {
			if p.Name == "default_version" {
				prefs = append([]string{fmt.Sprintf("%s.default_version=%d", p.Proto, v.opts.MQTTVersion)}, prefs...)
				break
			}
		}
	}
	for _, p := range prefs {
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			name, value, ok = strings.Cut(p, ":")
		}
		if !ok {
			st.Close()
			return nil, fmt.Errorf("preference %q: want proto.name=value", p)
		}
		if err := st.SetPref(strings.TrimSpace(name), value); err != nil {
			st.Close()
			var le *wslua.LuaError
			if errors.As(err, &le) {
				return nil, &LoadError{Script: v.name, Profile: v.opts.Profile, Err: le}
			}
			return nil, err
		}
	}
	return st, nil
}

// Reference is what Lua trees are compared with: nil for the native
// decoder, or golden trees (see ReadGolden).
type Reference struct {
	Trees []*Tree
	// Errors are the Lua errors the golden file recorded (informational:
	// a Lua error always fails validation).
	Errors []LuaError
	// PDML says the reference is tshark's PDML reading of the same script
	// (tshark -X lua_script:FILE -T pdml), read after replacing ill-formed
	// UTF-8 (Go's XML reader refuses it; PDML show texts carry it raw): PDML
	// does not say which items are generated, so that is not compared, and
	// the Lua side's show texts are read as such a reader reads them back
	// (a carriage return as a newline, ill-formed UTF-8 replaced).
	PDML bool
	// Record only records the Lua trees (to write golden files): nothing is
	// compared, Lua errors are still counted.
	Record bool
}

// Run validates the script on one capture read from r. ref nil compares
// with the native decoder. The error is for input that cannot be read at
// all; a capture damaged part way is reported in Result.ReadErr after
// everything before the damage was compared.
func (v *Validator) Run(ctx context.Context, name string, r io.Reader, ref *Reference) (*Result, error) {
	res := &Result{Capture: name, Profile: v.opts.Profile, Golden: ref != nil}
	if ref != nil && ref.Record && !v.opts.KeepTrees {
		return nil, errors.New("validate: recording golden trees needs Options.KeepTrees")
	}
	st := v.st
	switch {
	case st == nil:
		var err error
		if st, err = v.newState(); err != nil {
			return nil, err
		}
		defer st.Close()
	case v.stUsed:
		// Another capture: the protocols start over, as in Wireshark.
		if err := st.Init(); err != nil {
			le := &wslua.LuaError{Message: err.Error()}
			errors.As(err, &le)
			res.addError(LuaError{Message: "init: " + le.Message, Traceback: le.Traceback, Where: le.Where, Limit: string(le.Limit)})
		}
	}
	v.stUsed = v.st != nil
	ru := &run{v: v, st: st, res: res, golden: ref != nil, lastFrame: -1}
	if ref != nil {
		ru.mode = cmpMode{golden: true, pdml: ref.PDML}
	} else {
		ru.mode.noAssumption = true
		ru.mode.label110 = v.opts.Profile.Wireshark() == "1.10"
	}
	cr, err := dissect.OpenCapture(r, v.ports)
	if err != nil {
		return nil, err
	}
	var newConn func(dissect.ConnKey, *dissect.Frame) dissect.StreamHandler
	if ref == nil {
		sc := &dissect.StreamConfig{Options: dissect.Options{DefaultVersion: v.opts.MQTTVersion, PayloadAsText: payloadAsText(v.opts.Prefs)}, OnPDU: ru.onNative}
		newConn = dissect.Streams(sc)
	}
	asm := dissect.NewAssembler(v.ports, func(key dissect.ConnKey, f *dissect.Frame) dissect.StreamHandler {
		t := &tee{r: ru}
		if newConn != nil {
			t.native = newConn(key, f)
		}
		t.lua = ru.luaConn(key)
		if t.lua != nil {
			t.lua.OnFrame = ru.onLua
		}
		return t
	})
	for i := 0; ; i++ {
		if i&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		f, err := cr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				res.ReadErr = err
			}
			break
		}
		res.Frames = f.Number
		asm.Add(f)
		ru.settle()
		if testFrameHook != nil {
			testFrameHook(f.Number)
		}
		if res.Stopped != "" {
			break
		}
	}
	if res.Stopped == "" {
		asm.Flush()
		ru.settle()
	}
	if ref == nil && res.PDUs == 0 && res.LuaPDUs == 0 && res.RefPDUs == 0 && res.Stopped == "" {
		res.NothingCompared = true
		res.TrafficPorts = cr.BusiestPorts(5)
		res.ReadPorts = v.Ports()
		res.ScriptPorts = append([]uint16(nil), v.registered...)
	}
	switch {
	case ref != nil && ref.Record:
		res.Recorded = true
		res.LuaPDUs = len(ru.all)
	case ref != nil:
		ru.compare(ru.all, ref.Trees)
	}
	return res, nil
}

// testFrameHook, set by tests, is called after every frame.
var testFrameHook func(frame int)

// run is the state of one capture's validation.
type run struct {
	v      *Validator
	st     *wslua.State
	res    *Result
	golden bool
	mode   cmpMode
	// trees waiting to be matched (those completed by the latest frame)
	luaBatch, natBatch []*Tree
	all                []*Tree // golden mode: every Lua tree
	// frame-local order of Lua PDUs, as the native side counts it
	lastFrame, frameIdx int
	// uncomparable is set while the native decoder is told about lost
	// bytes or the end of a stream: packets it shows then are cut short
	// where Wireshark would still be waiting for reassembly.
	uncomparable bool
	// cur and curDir are the connection and direction being delivered
	cur    *tee
	curDir dissect.Direction
}

// luaConn returns the emulator's driver for a new connection.
func (ru *run) luaConn(key dissect.ConnKey) *wslua.Conn {
	port := uint32(key.Server.Port())
	if ru.st.DissectorFor(port) != "" || ru.st.DissectorFor(uint32(key.Client.Port())) != "" {
		return ru.st.NewConn()
	}
	if len(ru.v.dissectors) == 1 {
		c, err := ru.st.NewConnFor(ru.v.dissectors[0])
		if err == nil {
			return c
		}
	}
	return nil
}

// tee hands each connection's bytes to the native decoder and to the
// emulated Lua dissector.
type tee struct {
	r      *run
	native dissect.StreamHandler
	lua    *wslua.Conn
	// per direction: stream bytes delivered before the current segment,
	// and stream bytes the native packets so far covered (to tell packets
	// that began in an earlier segment)
	pos, used [2]int
}

func (t *tee) Data(dir dissect.Direction, data []byte, f *dissect.Frame) {
	if t.native != nil {
		t.r.cur, t.r.curDir = t, dir
		t.native.Data(dir, data, f)
		t.r.cur = nil
	}
	t.pos[dir&1] += len(data)
	if t.lua != nil {
		t.lua.Data(dir, data, f)
	}
}

func (t *tee) Gap(dir dissect.Direction, lost int, f *dissect.Frame) {
	if t.native != nil {
		t.r.uncomparable = true
		t.native.Gap(dir, lost, f)
		t.r.uncomparable = false
	}
	t.used[dir&1] = t.pos[dir&1]
	if t.lua != nil {
		t.lua.Gap(dir, lost, f)
	}
}

func (t *tee) Close(end *dissect.Frame, atEOF bool) {
	if t.native != nil {
		t.r.uncomparable = true
		t.native.Close(end, atEOF)
		t.r.uncomparable = false
	}
	if t.lua != nil {
		t.lua.Close(atEOF)
	}
}

func (ru *run) onNative(pdu *dissect.PDU) {
	if ru.uncomparable {
		ru.res.NotComparable++
		return
	}
	t := nativeTree(pdu)
	if c := ru.cur; c != nil {
		d := ru.curDir & 1
		start := c.used[d]
		c.used[d] += max(pdu.Packet.Len, len(pdu.Packet.Raw))
		t.spansSegments = start < c.pos[d]
	}
	ru.natBatch = append(ru.natBatch, t)
}

func (ru *run) onLua(fr *wslua.FrameResult) {
	if fr.Number != ru.lastFrame {
		ru.lastFrame, ru.frameIdx = fr.Number, 0
	}
	for _, c := range fr.Calls {
		if c.Steps > ru.res.MaxSteps {
			ru.res.MaxSteps, ru.res.MaxStepsFrame = c.Steps, c.Frame
		}
		for _, e := range c.Caught {
			ru.res.CaughtErrors++
			ru.res.addError(LuaError{Frame: e.Frame, Message: e.Message, Traceback: e.Traceback, Where: e.Where, Caught: true})
		}
		if c.Err != nil {
			ru.res.addError(LuaError{Frame: c.Err.Frame, Message: c.Err.Message, Traceback: c.Err.Traceback, Where: c.Err.Where, Limit: string(c.Err.Limit)})
			if c.Err.Limit != "" && !ru.v.opts.KeepGoing && ru.res.Stopped == "" {
				ru.res.Stopped = fmt.Sprintf("stopped at frame %d: the script ran into its %s limit (--keep-going goes on)", c.Err.Frame, c.Err.Limit)
			}
		}
		var cur *Tree
		var curRoot *wslua.Item
		for _, it := range c.Items {
			if it.Abbrev == wslua.AbbrevLuaError {
				continue
			}
			if it.Type == wslua.FTProtocol || cur == nil {
				cur, curRoot = luaTree(it, c.Frame, ru.frameIdx), it
				ru.frameIdx++
				ru.luaBatch = append(ru.luaBatch, cur)
				if ru.v.opts.KeepTrees {
					ru.res.Trees = append(ru.res.Trees, cur)
				}
				continue
			}
			// A top-level item that is not a protocol: part of the PDU
			// before it.
			appendItem(cur, it, curRoot, 0)
		}
	}
}

// settle compares what the latest frame completed on both sides.
func (ru *run) settle() {
	if ru.golden {
		ru.all = append(ru.all, ru.luaBatch...)
		ru.luaBatch = ru.luaBatch[:0]
		return
	}
	if len(ru.luaBatch) == 0 && len(ru.natBatch) == 0 {
		return
	}
	ru.compare(ru.luaBatch, ru.natBatch)
	ru.luaBatch = ru.luaBatch[:0]
	ru.natBatch = ru.natBatch[:0]
}

type pduKey struct{ frame, index int }

// compare matches Lua trees with reference trees by frame and order within
// the frame, and records the outcome.
func (ru *run) compare(lua, ref []*Tree) {
	res := ru.res
	res.LuaPDUs += len(lua)
	res.RefPDUs += len(ref)
	byKey := make(map[pduKey]*Tree, len(ref))
	for _, t := range ref {
		byKey[pduKey{t.Frame, t.Index}] = t
	}
	used := make(map[pduKey]bool, len(lua))
	var out []PDUResult
	for _, l := range lua {
		k := pduKey{l.Frame, l.Index}
		r := byKey[k]
		if r == nil {
			field := l.Items[0].Abbrev
			if !ru.golden {
				field = mapper{from: l.Proto, to: NativePrefix}.abbrev(field)
			}
			out = append(out, PDUResult{Frame: l.Frame, Index: l.Index, Name: l.Name(), Diffs: []Diff{{
				Frame: l.Frame, PDU: l.Index, Field: field, Lua: l.summary(), Ref: "(none)",
				RefName: ru.refName(), Note: ru.missingNote(true, l),
			}}, Extra: true})
			continue
		}
		used[k] = true
		out = append(out, ru.comparePair(l, r))
		if r.spansSegments && l.Items[0].Len != r.Items[0].Len {
			// The Lua PDU in its place is not the packet: bytes of another.
			ru.spanningMissing(r.Frame)
		}
	}
	for _, r := range ref {
		k := pduKey{r.Frame, r.Index}
		if used[k] {
			continue
		}
		out = append(out, PDUResult{Frame: r.Frame, Index: r.Index, Name: r.Name(), Diffs: []Diff{{
			Frame: r.Frame, PDU: r.Index, Field: r.Items[0].Abbrev, Lua: "(none)", Ref: r.summary(),
			RefName: ru.refName(), Note: ru.missingNote(false, r),
		}}, Missing: true})
		if r.spansSegments {
			ru.spanningMissing(r.Frame)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Frame != out[j].Frame {
			return out[i].Frame < out[j].Frame
		}
		return out[i].Index < out[j].Index
	})
	for i := range out {
		res.add(&out[i], ru.v.opts.MaxDiffs, ru.v.opts.MaxDiffPDUs, ru.v.opts.KeepPDUs)
	}
}

func (ru *run) spanningMissing(frame int) {
	if ru.res.SpanningMissing == 0 {
		ru.res.FirstSpanningMissing = frame
	}
	ru.res.SpanningMissing++
}

func (ru *run) missingNote(luaOnly bool, t *Tree) string {
	ref := "the native decoder"
	if ru.golden {
		ref = "the golden tree"
	}
	if luaOnly {
		return "PDU the Lua dissector shows and " + ref + " does not"
	}
	note := "PDU " + ref + " has and the Lua dissector does not show"
	if t.spansSegments {
		note += "; it spans several TCP segments: does the dissector ask for more data " +
			"(pinfo.desegment_offset and pinfo.desegment_len) when a PDU is not complete?"
	}
	return note
}

func (ru *run) comparePair(l, r *Tree) PDUResult {
	return PDUResult{Frame: r.Frame, Index: r.Index, Name: r.Name(), Fields: len(r.Items) - 1,
		Experts: len(r.Experts), Diffs: compareTrees(l, r, ru.mode)}
}

func (ru *run) refName() string {
	if ru.golden {
		return "golden"
	}
	return "native"
}

// payloadAsText reports whether the preferences given to the script turn
// on the payload-as-text preference (Wireshark's mqtt.show_msg_as_text,
// which the generated script keeps under the same name): the native
// reading then shows payloads as text too, so the two are compared alike.
// The last setting wins.
func payloadAsText(prefs []string) bool {
	on := false
	for _, p := range prefs {
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			name, value, ok = strings.Cut(p, ":")
		}
		if !ok {
			continue
		}
		if _, pref, _ := strings.Cut(strings.TrimSpace(name), "."); pref == "show_msg_as_text" {
			switch strings.ToLower(strings.TrimSpace(value)) {
			case "true", "1", "yes":
				on = true
			default:
				on = false
			}
		}
	}
	return on
}
