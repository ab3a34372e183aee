package validate

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/largecap"
	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
	"github.com/mqttdissect/mqttdissect/luagen/wslua"
)

// largeCaptures are the captures whose values reach Wireshark 1.10's
// per-packet memory ceiling (2,621,440 bytes per allocation), or come as
// close as MQTT lets them.
func largeCaptures() []struct {
	name string
	data []byte
	cut  bool // 1.x shows a value of it cut to what it can export
} {
	return []struct {
		name string
		data []byte
		cut  bool
	}{
		{"publish-3MB", largecap.Publish(3 * largecap.MB), true},
		{"v5-1MB-user-properties-64KiB-topic", largecap.V5Properties(largecap.MB), false},
		{"v5-1MB-unknown-property", largecap.V5UnknownProperty(largecap.MB), true},
		{"connect-64KiB-will-and-password", largecap.Will(), false},
	}
}

// TestLargeValuesEveryProfile reads the large captures with the generated
// dissector under every profile: the native decoder's reading, no Lua
// error, nothing that would abort 1.10 (the emulator fails such a call),
// and on 1.x the note on each value it had to cut.
func TestLargeValuesEveryProfile(t *testing.T) {
	src := generatedLua(t)
	for _, c := range largeCaptures() {
		for _, p := range wslua.Profiles() {
			t.Run(c.name+"/"+p.String(), func(t *testing.T) {
				v := newValidator(t, "mqtt.lua", src, Options{Profile: p, KeepTrees: true, Steps: largeSteps})
				res := runBytes(t, v, c.name+".pcap", c.data, nil)
				if !res.OK() {
					t.Fatalf("%s", report(res))
				}
				if res.PDUs != res.RefPDUs || res.PDUs != res.LuaPDUs || res.PDUs < 6 {
					t.Fatalf("not every packet compared: %s", res.Line())
				}
				notes := 0
				for _, tr := range res.Trees {
					for _, e := range tr.Experts {
						if ExportCutNote(e.Message) {
							notes++
						}
					}
				}
				limited := strings.HasPrefix(p.Wireshark(), "1.")
				if want := limited && c.cut; (notes > 0) != want {
					t.Errorf("%d export-cut notes, want them: %v", notes, want)
				}
			})
		}
	}
}

// naiveBig is a dissector that adds what it is given whole: the bytes of
// each segment as one FT_BYTES item, or their text via TvbRange:string().
const naiveBig = `
local p = Proto("naive", "Naive")
local f = ProtoField.bytes("naive.data", "Data")
local s = ProtoField.string("naive.text", "Text")
p.fields = { f, s }
function p.dissector(tvb, pinfo, tree)
    local need = %d
    if tvb:len() < need then
        pinfo.desegment_offset = 0
        pinfo.desegment_len = need - tvb:len()
        return tvb:len()
    end
    local t = tree:add(p, tvb())
    %s
    return tvb:len()
end
DissectorTable.get("tcp.port"):add(1883, p)
`

// TestCeilingFailsNaiveDissector: a dissector that would abort Wireshark
// 1.10 fails validate under the 1.10 profiles, naming frame, field or call,
// size and the outcome; later profiles have no such ceiling.
func TestCeilingFailsNaiveDissector(t *testing.T) {
	capture := largecap.Publish(3 * largecap.MB)
	pdu := 3*largecap.MB + 2 + 11 + 2 + 1 + 4 // payload, topic, id, first byte, 4-byte length
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"bytes item", "t:add(f, tvb())", []string{"field naive.data", fmt.Sprintf("%d-byte value", pdu), "tshark aborts"}},
		{"string()", "t:add(s, tvb(), tvb():string())", []string{"TvbRange:string()", fmt.Sprintf("of %d bytes", pdu), "tshark aborts"}},
		{"tostring", "t:append_text(tostring(tvb()))", []string{"tostring(TvbRange)", "tshark aborts"}},
	} {
		for _, p := range wslua.Profiles() {
			t.Run(tc.name+"/"+p.String(), func(t *testing.T) {
				src := fmt.Sprintf(naiveBig, pdu, tc.body)
				v := newValidator(t, "naive.lua", []byte(src), Options{Profile: p})
				res := runBytes(t, v, "publish-3MB.pcap", capture, nil)
				var msgs []string
				for _, e := range res.Errors {
					msgs = append(msgs, e.String())
				}
				all := strings.Join(msgs, "\n")
				if p.EphemeralCeiling() == 0 {
					if strings.Contains(all, "tshark aborts") {
						t.Fatalf("Wireshark %s has no ceiling, yet: %s", p, all)
					}
					return
				}
				if res.ErrorCount == 0 {
					t.Fatalf("Wireshark %s would abort, yet validate passes: %s", p, res.Line())
				}
				for _, w := range tc.want {
					if !strings.Contains(all, w) {
						t.Errorf("error does not say %q: %s", w, all)
					}
				}
				if !strings.Contains(all, "frame ") {
					t.Errorf("error names no frame: %s", all)
				}
			})
		}
	}
}

// largeSteps bounds one dissector call on these captures: the default,
// which the generated script must meet on megabyte values too (it counts
// instructions, so a busy machine does not change the verdict).
const largeSteps = wslua.DefaultCallSteps

// TestPublish20MB is the largest PUBLISH the suite reads: under 1.10 (cut to
// what 1.10 can export, with its note) and under 4.4 (whole).
func TestPublish20MB(t *testing.T) {
	if testing.Short() {
		t.Skip("20 MB capture")
	}
	src := generatedLua(t)
	capture := largecap.Publish(20 * largecap.MB)
	for _, p := range []wslua.Profile{wslua.Profile110, wslua.Profile44} {
		t.Run(p.String(), func(t *testing.T) {
			v := newValidator(t, "mqtt.lua", src, Options{Profile: p, KeepTrees: true, Steps: largeSteps})
			res := runBytes(t, v, "publish-20MB.pcap", capture, nil)
			if !res.OK() || res.PDUs != 8 || res.RefPDUs != 8 {
				t.Fatalf("%s", report(res))
			}
			var msg *Item
			for _, tr := range res.Trees {
				for i := range tr.Items {
					if strings.HasSuffix(tr.Items[i].Abbrev, ".msg") && tr.Items[i].Len > 100000 {
						msg = &tr.Items[i]
					}
				}
			}
			want := 20 * largecap.MB
			if p.EphemeralCeiling() > 0 {
				want = (wslua.EphemeralCeiling - len("mqtt.msg") - 5) / 3 // luagen.ExportBytesLimit
			}
			if msg == nil || msg.Len != want {
				t.Errorf("message item %+v, want %d bytes", msg, want)
			}
		})
	}
}

// TestLabels110 reads text with non-ASCII and control bytes under the 1.10
// profile: the labels are 1.10's (octal escapes, as its format_text
// writes them), and validate compares them with the native labels as such.
func TestLabels110(t *testing.T) {
	src := generatedLua(t)
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(mcClient, netip.MustParseAddrPort("10.0.0.2:1883"))
	c.Handshake()
	c.Send(pcapbuild.ToServer, []byte("\x10\x10\x00\x04MQTT\x04\x02\x00\x3c\x00\x04abcd"))
	topic := "t/\xc3\xbc\x01\t"
	pub := append([]byte{0x30, byte(2 + len(topic) + 2), 0, byte(len(topic))}, topic...)
	c.Send(pcapbuild.ToServer, append(pub, "hi"...))
	for _, p := range []wslua.Profile{wslua.Profile110, wslua.Profile40} {
		v := newValidator(t, "mqtt.lua", src, Options{Profile: p, KeepTrees: true})
		res := runBytes(t, v, "labels.pcap", b.Pcap(), nil)
		if !res.OK() {
			t.Fatalf("%s: %s", p, report(res))
		}
		want := `Topic: t/ü\001\t`
		if p == wslua.Profile110 {
			want = `Topic: t/\303\274\001\t`
		}
		found := false
		for _, tr := range res.Trees {
			for _, it := range tr.Items {
				if strings.HasSuffix(it.Abbrev, ".topic") {
					found = true
					if it.Label != want {
						t.Errorf("%s: label %q, want %q", p, it.Label, want)
					}
				}
			}
		}
		if !found {
			t.Errorf("%s: no topic item", p)
		}
	}
}

// TestCeilingBoundary: payloads of exactly the most bytes 1.10 can export
// as mqtt.msg, and one more: the first whole, the second cut with a note,
// and neither crosses the emulated ceiling.
func TestCeilingBoundary(t *testing.T) {
	src := generatedLua(t)
	limit := (wslua.EphemeralCeiling - len("mqtt.msg") - 5) / 3 // luagen.ExportBytesLimit("mqtt.msg")
	for _, n := range []int{limit, limit + 1} {
		v := newValidator(t, "mqtt.lua", src, Options{Profile: wslua.Profile110, KeepTrees: true, Steps: largeSteps})
		res := runBytes(t, v, "boundary.pcap", largecap.Publish(n), nil)
		if !res.OK() {
			t.Fatalf("%d bytes: %s", n, report(res))
		}
		notes, msgLen := 0, 0
		for _, tr := range res.Trees {
			for _, e := range tr.Experts {
				if ExportCutNote(e.Message) {
					notes++
				}
			}
			for _, it := range tr.Items {
				if it.Abbrev == "mqtt.msg" && it.Len > msgLen {
					msgLen = it.Len
				}
			}
		}
		if want := n - limit; notes != want || msgLen != limit {
			t.Errorf("%d bytes: %d notes (want %d), message item of %d bytes (want %d)", n, notes, want, msgLen, limit)
		}
	}
}
