package filter

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/spec"
)

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		col  int
		msg  string
	}{
		{``, 1, "empty"},
		{`mqtt.qos == 1 &&`, 17, "ends too early"},
		{`mqtt.foo == 1`, 1, `"mqtt.foo" is neither a field`},
		{`mqtt.qos = 1`, 10, `"=" is not an operator`},
		{`mqtt.qos == 1 & mqtt.retain`, 15, `use "&&"`},
		{`mqtt.msgtype in {3 8}`, 20, "separated by commas"},
		{`mqtt.msgtype in {}`, 18, "set is empty"},
		{`mqtt.msgtype == "Bogus"`, 17, "value names of mqtt.msgtype"},
		{`mqtt.msgtype == Publish`, 17, "value names"},
		{`mqtt.qos == 300`, 13, "too large for mqtt.qos"},
		{`mqtt.retain == maybe`, 16, "not a boolean"},
		{`mqtt.topic matches "(("`, 20, "regular expression"},
		{`mqtt.qos contains 1`, 10, `"contains" applies to text and byte strings`},
		{`mqtt.properties > 1`, 17, "only be tested for presence"},
		{`(mqtt.qos == 1`, 1, "not closed"},
		{`mqtt.qos == 1)`, 14, `")" was unexpected`},
		{`mqtt.topic == "abc`, 15, "no closing quote"},
		{`mqtt.msg == zz:11`, 13, "not a byte string"},
		{`ip.src == 300.1.1.1`, 11, "not an IP address"},
		{`frob(mqtt.topic) == 1`, 1, "unknown function frob()"},
		{`mqtt.topic[x] == "a"`, 12, "not a slice"},
		{`mqtt.qos[0:1] == 1`, 1, "cannot be sliced"},
		{`1 == 2`, 1, "neither a field"},
		{`mqtt.qos == mqtt.topic`, 13, "cannot be compared"},
		{`mqtt.topic == "a\q"`, 17, "unknown escape"},
		{strings.Repeat("(", 300) + "mqtt" + strings.Repeat(")", 300), 201, "nests deeper"},
		{strings.Repeat("!", 300) + "mqtt", 201, "nests deeper"},
		{strings.Repeat("len(", 300) + "mqtt" + strings.Repeat(")", 300) + " == 1", 797, "nests deeper"},
		{"mqtt.msg" + strings.Repeat("[0:1]", 20) + " == 00", 49, "too many slices"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := Compile(tc.expr)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if fe.Col != tc.col || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("got column %d %q, want column %d and %q", fe.Col, fe.Msg, tc.col, tc.msg)
			}
			if !strings.Contains(fe.Caret(), "^") {
				t.Errorf("caret %q", fe.Caret())
			}
		})
	}
}

// frames decodes a testdata capture and returns its MQTT packets grouped
// by frame.
func frames(t testing.TB, name string) []*FrameBuffer {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*FrameBuffer
	cfg := &dissect.RunConfig{}
	cfg.OnPDU = func(p *dissect.PDU) {
		if len(out) == 0 || out[len(out)-1].Frame() != p.Frame {
			out = append(out, &FrameBuffer{})
		}
		out[len(out)-1].Add(p)
	}
	if _, err := dissect.Run(context.Background(), f, cfg); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSemantics checks Wireshark 4.0's readings (frames tshark 4.0.17
// selects in v5.pcapng): any-occurrence comparisons, != as all_ne and ~=
// as any_ne, and the precedence of "and" over "or".
func TestSemantics(t *testing.T) {
	fs := frames(t, "v5.pcapng")
	for _, tc := range []struct {
		expr string
		want []int
	}{
		{`mqtt.topic != "v5/tmp"`, []int{22, 23, 24, 26, 38, 39, 54, 57, 73, 86, 99, 103}},
		{`mqtt.topic ~= "v5/tmp"`, []int{8, 10, 22, 23, 24, 26, 38, 39, 54, 57, 73, 86, 99, 103}},
		{`mqtt.topic == "v5/tmp"`, []int{8, 10}},
		{`mqtt.retain == True`, []int{38, 103}},
		{`mqtt.retain == "Set"`, []int{38, 103}},
		{`mqtt.msgtype == "publish message"`, []int{22, 23, 24, 26, 38, 39, 54, 57, 73, 86, 103}},
		{`mqtt.msgtype in {3..8}`, []int{8, 22, 23, 24, 26, 38, 39, 41, 43, 54, 55, 56, 57, 58, 59, 60, 65, 73, 74, 86, 87, 99, 103, 105}},
		{`mqtt.topic matches "^V5/S"`, []int{8, 22, 23, 24, 26}},
		{`mqtt.qos == 1 and mqtt.retain == 1`, []int{38, 103}},
		{`mqtt.qos == -1`, nil},
		{`mqtt.qos > -1 && mqtt.msgtype == 3 && mqtt.retain == 1`, []int{38, 103}},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := Compile(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, fb := range fs {
				if f.Match(fb.PDUs()) {
					got = append(got, fb.Frame())
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("frames %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]string{"aa:bb": "\xaa\xbb", "aa-bb-0c": "\xaa\xbb\x0c", "aabb": "\xaa\xbb", "a:b": "\x0a\x0b", "7b": "\x7b"} {
		got, ok := parseBytes(in)
		if !ok || string(got) != want {
			t.Errorf("parseBytes(%q) = %x, %v", in, got, ok)
		}
	}
	for _, in := range []string{"zz", "aa:bb-cc", "aab", ":"} {
		if _, ok := parseBytes(in); ok {
			t.Errorf("parseBytes(%q) accepted", in)
		}
	}
}

// FuzzCompile: no expression makes Compile or Match panic.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{`mqtt.qos >= 1 && mqtt.topic matches "^s/"`, `mqtt.msgtype in {3, 8..9}`, `len(mqtt.msg[1:2]) == 1`, `!(mqtt)`, `mqtt.topic[-2:] == "ab"`, `ip.addr == ::1`} {
		f.Add(s)
	}
	fs := frames(f, "v5.pcapng")
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Compile(expr)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Col < 1 || fe.Col > len(expr)+1 {
				t.Fatalf("error %v has no column inside the expression", err)
			}
			return
		}
		for _, fb := range fs {
			flt.Match(fb.PDUs())
		}
	})
}

// FuzzMatchPacket: any bytes, decoded as an MQTT packet of any version,
// go through filters of every kind and through every field column without
// a panic.
func FuzzMatchPacket(f *testing.F) {
	for _, fb := range frames(f, "v5.pcapng") {
		for _, p := range fb.PDUs() {
			f.Add(p.Packet.Raw, uint8(5))
		}
	}
	f.Add([]byte{0x30, 0x02, 0x00, 0x00}, uint8(4))
	var filters []*Filter
	for _, s := range []string{`mqtt.topic matches "a" || mqtt.msg contains 00`, `mqtt.msgtype in {1..15} && mqtt.len > 3`,
		`len(mqtt.msg[1:]) >= 1`, `count(mqtt.prop_key) == 2`, `mqtt.topic != "x"`, `upper(mqtt.clientid) == "A"`, `mqtt.willmsg`, `_ws.col.Info contains "("`} {
		flt, err := Compile(s)
		if err != nil {
			f.Fatal(err)
		}
		filters = append(filters, flt)
	}
	var cols []*Column
	for _, n := range Names() {
		if c, err := NewColumn(n); err == nil {
			cols = append(cols, c)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte, version uint8) {
		var p dissect.Packet
		st := &dissect.ConnState{Version: spec.Version(version % 6)}
		dissect.Decode(&p, raw, st, dissect.ToServer, nil)
		pdu := &dissect.PDU{Packet: &p, State: st, ConnSeq: 1}
		var fb FrameBuffer
		fb.Add(pdu)
		fb.Add(pdu)
		for _, flt := range filters {
			flt.MatchPDU(pdu)
			flt.Match(fb.PDUs())
		}
		for _, c := range cols {
			c.Each(fb.PDUs(), func([]byte) {})
		}
	})
}
