// Package luagen writes mqtt.lua, a Wireshark Lua dissector for MQTT 3.1,
// 3.1.1 and 5.0, from the protocol table in package spec.
//
// The generated file is the table compiled into Lua: one ProtoField per
// spec.Field (same abbreviation suffix, label, base, mask and value
// strings), one value-string table per spec.ValueTable, one named local
// function per packet type that reads the packet field by field with its
// offsets, conditions, checks and roles written out (compile.go), and one
// reader per spec.Property. A small hand-written runtime
// (runtime_decoder.lua, runtime_dissector.lua) supplies what is independent
// of the layout: reading primitives, notes, TCP reassembly, connection
// state, preferences and registration. It follows
// the Go decoder in package dissect step by step, so for any capture the
// Lua dissector and `mqttdissect decode` show the same fields in the same
// order with the same notes.
//
// The output uses only what Wireshark 1.10 and later offer to Lua 5.1
// through 5.4 (see Generate), is deterministic, and depends on nothing but
// the table and Options.
package luagen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/mqttdissect/mqttdissect/spec"
)

// DefaultName is the protocol name, and field prefix, the dissector takes
// where Wireshark has no MQTT dissector of its own (before 1.12): the same
// as the built-in's, so display filters carry over.
const DefaultName = "mqtt"

// FallbackName is used where Wireshark's built-in dissector already holds
// DefaultName (1.12 and later).
const FallbackName = "mqttlua"

// FileName is the name the dissector is installed under.
const FileName = "mqtt.lua"

// Targets is what the generated file is written for, as its header says.
const Targets = "Wireshark 1.10 or later, built with Lua 5.1, 5.2, 5.3 or 5.4"

// Release is a real Wireshark build the generated file is verified on.
type Release struct {
	Wireshark, Lua string
}

// Verified lists the real Wireshark releases CI loads the generated file
// into, on every capture of testdata (Debian's packages: 4.0 on the CI
// machine, the others in chroots made by .ci/wireshark-versions.sh). The
// tests run each release's tshark-X.Y wrapper; the header names them.
var Verified = []Release{{"3.4", "5.2"}, {"4.0", "5.2"}, {"4.4", "5.4"}, {"4.6", "5.4"}}

// HostRelease is the Verified release CI's own tshark is (Debian 12's).
const HostRelease = "4.0"

// Options change the generated dissector.
type Options struct {
	// Name forces the protocol name and field prefix ("" picks DefaultName
	// where it is free and FallbackName where it is not). A forced name
	// that is taken makes the script stop with a clear load error.
	Name string
	// Ports are the TCP ports the dissector registers on; empty means
	// spec.MQTT.Port (1883). Users add more with the "Extra TCP ports"
	// preference.
	Ports []uint16
	// TakeOver makes the dissector take its ports from Wireshark's own MQTT
	// dissector by default (the take_over preference on). Without it the
	// built-in keeps them where there is one, and the script reads them
	// only through Decode As or the preference; where there is none (1.10)
	// the script takes them either way.
	TakeOver bool
	// Version, when set, is written in the header as the mqttdissect
	// release that generated the script (left empty by the golden test, so
	// the golden file does not change with every commit).
	Version string
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate reports a name or port Wireshark would refuse.
func (o *Options) Validate() error {
	if o.Name != "" {
		if !nameRE.MatchString(o.Name) || len(o.Name) > 40 {
			return fmt.Errorf("luagen: protocol name %q: use lower-case letters, digits and '_', starting with a letter", o.Name)
		}
	}
	for _, p := range o.Ports {
		if p == 0 {
			return errors.New("luagen: port 0 is not a TCP port")
		}
	}
	return nil
}

// ports returns the registered ports: sorted, without duplicates.
func (o *Options) ports() []uint16 {
	if len(o.Ports) == 0 {
		return []uint16{spec.MQTT.Port}
	}
	ps := append([]uint16(nil), o.Ports...)
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p != ps[i-1] {
			out = append(out, p)
		}
	}
	return out
}

// Command returns the mqttdissect command line that regenerates the file
// with these options (without the output file).
func (o *Options) Command() string {
	var sb strings.Builder
	sb.WriteString("mqttdissect lua")
	if o.Name != "" {
		sb.WriteString(" --name ")
		sb.WriteString(o.Name)
	}
	if len(o.Ports) > 0 {
		for _, p := range o.ports() {
			sb.WriteString(" --port ")
			sb.WriteString(strconv.Itoa(int(p)))
		}
	}
	if o.TakeOver {
		sb.WriteString(" --take-over")
	}
	return sb.String()
}

// Generate writes the dissector to w.
//
// Portability: the file uses the Proto(...) call form, ProtoField.uint8,
// uint16, uint32, bool, string and bytes with explicit bases and masks,
// manual TCP reassembly through pinfo.desegment_offset and desegment_len,
// TreeItem:add_expert_info, and integer arithmetic instead of bit operators
// (no goto, bit, bit32, unpack, dissect_tcp_pdus or ProtoExpert). Features
// of later releases (pinfo.can_desegment, proto.prefs_changed, Tvb:raw) are
// used only behind pcall. Three field types are mapped: FT_UINT64 becomes
// ProtoField.uint32 (values stay below 2^32), FT_UINT_STRING becomes a
// string item that covers its length prefix, and FT_NONE subtrees become
// string items with an empty value and the label as text, which reads the
// same in the tree and in PDML.
func Generate(w io.Writer, opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	g, err := newGen(&opts)
	if err != nil {
		return err
	}
	g.file()
	if g.err != nil {
		return g.err
	}
	_, err = w.Write(g.buf.Bytes())
	return err
}

// Bytes returns the dissector as Generate writes it.
func Bytes(opts Options) ([]byte, error) {
	var b bytes.Buffer
	if err := Generate(&b, opts); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
