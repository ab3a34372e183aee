package wslua

import (
	"fmt"
	"strings"
	"testing"
)

// toySegments exercises the TCP driver: a whole PDU, two PDUs in one
// segment, a PDU split in two, a PDU split across three segments (the
// first shorter than the header) interleaved with the other direction,
// and a segment that completes one PDU and carries another.
var toySegments = []seg{
	{ToServer, hexb("01830002 6869")},            // 1: Hello "hi"
	{ToServer, hexb("02000003 010203 03000000")}, // 2: Data + Bye
	{ToServer, hexb("01050005 6865")},            // 3: Hello "he..." (incomplete)
	{ToServer, hexb("6c6c6f")},                   // 4: "...llo" completes frame 3's PDU
	{ToServer, hexb("0201")},                     // 5: 2 bytes: not even a header
	{ToClient, hexb("01000001 41")},              // 6: other direction: Hello "A"
	{ToServer, hexb("0006 0a0b")},                // 7: header complete, value still short
	{ToServer, hexb("0c0d0e0f 03000000")},        // 8: completes the Data PDU, then Bye
}

type wantCall struct {
	frame, first int
	reassembled  bool
	tvbOffset    int
	roots        []string // "label|index"
}

type wantFrame struct {
	proto, info string
	calls       []wantCall
}

var toyWant = []wantFrame{
	{"TOYTLV", "Hello ", []wantCall{{1, 1, false, 0, []string{"Toy TLV Protocol, Hello|Text: hi|1"}}}},
	{"TOYTLV", "Data Bye ", []wantCall{{2, 2, false, 0, []string{"Toy TLV Protocol, Data|Value: 010203|2", "Toy TLV Protocol, Bye||3"}}}},
	{"TCP", "[TCP segment of a reassembled PDU]", []wantCall{{3, 3, false, 0, nil}}},
	{"TOYTLV", "Hello ", []wantCall{{4, 3, true, 0, []string{"Toy TLV Protocol, Hello|Text: hello|4"}}}},
	{"TCP", "[TCP segment of a reassembled PDU]", []wantCall{{5, 5, false, 0, nil}}},
	{"TOYTLV", "Hello ", []wantCall{{6, 6, false, 0, []string{"Toy TLV Protocol, Hello|Text: A|5"}}}},
	{"TCP", "[TCP segment of a reassembled PDU]", []wantCall{{7, 5, true, 0, nil}}},
	{"TOYTLV", "Data Bye ", []wantCall{
		{8, 5, true, 0, []string{"Toy TLV Protocol, Data|Value: 0a0b0c0d0e0f|6"}},
		{8, 8, false, 4, []string{"Toy TLV Protocol, Bye||7"}},
	}},
	{"TCP", "[TCP segment of a reassembled PDU]", []wantCall{{9, 9, false, 0, nil}}},
	{"TOYTLV", "Hello  [TCP segment of a reassembled PDU]", []wantCall{
		{10, 9, true, 0, []string{"Toy TLV Protocol, Hello|Text: ABC|8"}},
		{10, 10, false, 2, nil},
	}},
	{"TOYTLV", "Data ", []wantCall{{11, 10, true, 0, []string{"Toy TLV Protocol, Data|Value: ff|9"}}}},
}

func rootSummary(it *Item) string {
	payload := ""
	for _, c := range it.Children {
		if c.Abbrev == "toytlv.text" || c.Abbrev == "toytlv.value" {
			payload = c.Text
		}
	}
	idx := it.Find("toytlv.index")
	if idx == nil {
		return it.Text + "|" + payload + "|?"
	}
	return fmt.Sprintf("%s|%s|%v", it.Text, payload, idx.Value)
}

func checkToy(t *testing.T, frs []*FrameResult, checkCols bool) {
	t.Helper()
	for i, fr := range frs {
		w := toyWant[i]
		if fr.Number != i+1 {
			t.Errorf("frame %d: number %d", i+1, fr.Number)
		}
		if checkCols && (fr.Protocol != w.proto || fr.Info != w.info) {
			t.Errorf("frame %d: columns %q %q, want %q %q", i+1, fr.Protocol, fr.Info, w.proto, w.info)
		}
		if len(fr.Calls) != len(w.calls) {
			t.Errorf("frame %d: %d calls, want %d", i+1, len(fr.Calls), len(w.calls))
			continue
		}
		for j, c := range fr.Calls {
			wc := w.calls[j]
			if c.Frame != wc.frame || c.FirstFrame != wc.first || c.Reassembled != wc.reassembled || c.TvbOffset != wc.tvbOffset {
				t.Errorf("frame %d call %d: frame=%d first=%d reassembled=%v tvbOffset=%d, want %+v", i+1, j, c.Frame, c.FirstFrame, c.Reassembled, c.TvbOffset, wc)
			}
			if c.Err != nil {
				t.Errorf("frame %d: %v", i+1, c.Err)
			}
			var got []string
			for _, r := range c.Roots() {
				got = append(got, rootSummary(r))
			}
			if strings.Join(got, "\n") != strings.Join(wc.roots, "\n") {
				t.Errorf("frame %d call %d roots:\n%s\nwant:\n%s", i+1, j, strings.Join(got, "\n"), strings.Join(wc.roots, "\n"))
			}
		}
	}
}

func TestToyOldStyleReassembly(t *testing.T) {
	for _, p := range []Profile{Profile110, Profile110Lua52, Profile112, Profile26, Profile40, Profile44} {
		t.Run(p.String(), func(t *testing.T) {
			s := loadFile(t, p, "testdata/toytlv.lua")
			frs := feed(t, s, toySegments)
			checkToy(t, frs, true)
			// Item positions: frame 8's Data PDU spans the 10 reassembled
			// bytes; its value starts at offset 4 of the reassembled data.
			root := frs[7].Calls[0].Roots()[0]
			if root.Offset != 0 || root.Len != 10 {
				t.Errorf("reassembled root at %d+%d", root.Offset, root.Len)
			}
			if v := root.Find("toytlv.value"); v.Offset != 4 || v.Len != 6 || v.Show() != "0a:0b:0c:0d:0e:0f" {
				t.Errorf("value item %+v", v)
			}
			// Bye after it: tvb starts at offset 4 of frame 8's payload.
			bye := frs[7].Calls[1].Roots()[0]
			if bye.Offset != 4 || bye.Len != 4 {
				t.Errorf("Bye root at %d+%d", bye.Offset, bye.Len)
			}
			urgent := frs[0].Calls[0].Roots()[0].Find("toytlv.flags.urgent")
			if urgent.Text != "1... .... = Urgent: Yes" || urgent.Value != true {
				t.Errorf("urgent: %q %v", urgent.Text, urgent.Value)
			}
		})
	}
}

func TestToyDissectTCPPDUs(t *testing.T) {
	for _, p := range []Profile{Profile26, Profile36, Profile40, Profile44} {
		t.Run(p.String(), func(t *testing.T) {
			s := loadFile(t, p, "testdata/toytlv_pdus.lua")
			checkToy(t, feed(t, s, toySegments), true)
		})
	}
	s := New(Options{Profile: Profile112})
	defer s.Close()
	src := mustRead(t, "testdata/toytlv_pdus.lua")
	if err := s.Load("toytlv_pdus.lua", src); err != nil {
		t.Fatal(err)
	}
	fr := s.NewConn().Segment(ToServer, hexb("01830002 6869"), frameInfo(1, ToServer))
	if errs := fr.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Message, "wslua: dissect_tcp_pdus is not available in Wireshark 1.12 (first in 2.0)") {
		t.Errorf("1.12 errors: %+v", errs)
	}
}

func TestRegistryAndPrefs(t *testing.T) {
	s := loadFile(t, Profile40, "testdata/toytlv.lua")
	ps := s.Protos()
	if len(ps) != 1 || ps[0].Name != "toytlv" || ps[0].ShortName != "TOYTLV" || ps[0].Description != "Toy TLV Protocol" || !ps[0].HasDissector || !ps[0].HasInit {
		t.Fatalf("protos: %+v", ps)
	}
	if len(ps[0].Fields) != 8 || ps[0].Fields[0].Abbrev != "toytlv.type" || ps[0].Fields[0].Values[1] != "Hello" {
		t.Errorf("fields: %+v", ps[0].Fields)
	}
	f := s.Field("toytlv.flags.urgent")
	if f == nil || f.Type != FTBoolean || f.Base != 8 || f.Mask != 0x80 || f.TrueFalse == nil || f.TrueFalse[0] != "Yes" {
		t.Errorf("urgent field: %+v", f)
	}
	if ports := s.Ports(); len(ports) != 1 || ports[0] != (PortBinding{"tcp.port", 7777, "toytlv"}) {
		t.Errorf("ports: %+v", ports)
	}
	if len(s.Prefs()) != 1 || s.Prefs()[0].Name != "port" || s.Prefs()[0].Value != uint64(7777) {
		t.Errorf("prefs: %+v", s.Prefs())
	}
	if err := s.SetPref("toytlv.port", "8888"); err != nil || s.Prefs()[0].Value != uint64(8888) {
		t.Errorf("SetPref: %v %+v", err, s.Prefs()[0])
	}
	if err := s.SetPref("toytlv.port", "x"); err == nil {
		t.Error("SetPref accepted junk")
	}
	if err := s.SetPref("toytlv.nope", "1"); err == nil {
		t.Error("SetPref accepted unknown pref")
	}

	// prefs_changed runs after SetPref and sees the new value.
	s2, err := loadSrc(t, Profile40, `
		local p = Proto("pc", "PC")
		p.prefs.mode = Pref.enum("Mode", 1, "mode", {{1, "one", 1}, {2, "two", 2}})
		p.prefs.on = Pref.bool("On", false, "")
		p.prefs.ports = Pref.range("Ports", "1883", "", 65535)
		function p.prefs_changed() seen = p.prefs.mode .. tostring(p.prefs.on) .. p.prefs.ports end`)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"pc.mode": "two", "pc.on": "TRUE", "pc.ports": "1883,8883-8884"} {
		if err := s2.SetPref(name, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := s2.L.GetGlobal("seen").String(); got != "2true1883,8883-8884" {
		t.Errorf("prefs_changed saw %q", got)
	}
}

func TestGapAndRejection(t *testing.T) {
	s := loadFile(t, Profile40, "testdata/toytlv.lua")
	c := s.NewConn()
	c.Segment(ToServer, hexb("01050005 6865"), frameInfo(1, ToServer))
	if c.Pending(ToServer) != 6 {
		t.Fatalf("pending %d", c.Pending(ToServer))
	}
	c.Gap(ToServer, -1, nil)
	fr := c.Segment(ToServer, hexb("01830002 6869"), frameInfo(2, ToServer))
	if len(fr.Calls) != 1 || fr.Calls[0].Reassembled || len(fr.Calls[0].Roots()) != 1 {
		t.Errorf("after gap: %+v", fr.Calls)
	}

	s2, err := loadSrc(t, Profile40, `
		local p = Proto("rej", "Rejecting")
		function p.dissector(tvb, pinfo, tree)
		  pinfo.desegment_len = 5
		  if tvb(0,1):uint() == 0 then return 0 end
		  return -3
		end
		DissectorTable.get("tcp.port"):add(7777, p)`)
	if err != nil {
		t.Fatal(err)
	}
	c2 := s2.NewConn()
	fr = c2.Segment(ToServer, []byte{0}, frameInfo(1, ToServer))
	if !fr.Calls[0].Rejected || c2.Pending(ToServer) != 0 {
		t.Errorf("return 0 not a rejection: %+v", fr.Calls[0])
	}
	fr = c2.Segment(ToServer, []byte{1}, frameInfo(2, ToServer))
	if fr.Calls[0].Rejected || fr.Calls[0].Returned != -3 || c2.Pending(ToServer) != 1 {
		t.Errorf("negative return: %+v pending %d", fr.Calls[0], c2.Pending(ToServer))
	}
}

func TestNegativeReturn(t *testing.T) {
	src := `
		local p = Proto("neg", "Negative")
		local f = ProtoField.bytes("neg.b", "B")
		p.fields = {f}
		function p.dissector(tvb, pinfo, tree)
		  if tvb:len() < 4 then return -(4 - tvb:len()) end
		  tree:add(f, tvb(0,4))
		  return 4
		end
		DissectorTable.get("tcp.port"):add(7777, p)`
	// Wireshark's TCP ignores the sign: no reassembly.
	s, err := loadSrc(t, Profile40, src)
	if err != nil {
		t.Fatal(err)
	}
	frs := feed(t, s, []seg{{ToServer, hexb("0102")}, {ToServer, hexb("0304")}})
	if len(frs[1].Items()) != 0 || frs[1].Calls[0].Reassembled {
		t.Errorf("reassembled on negative return by default")
	}
	// Optional: treat it as desegment_len.
	s2 := New(Options{Profile: Profile40, NegativeReturnDesegments: true})
	defer s2.Close()
	if err := s2.Load("neg.lua", []byte(src)); err != nil {
		t.Fatal(err)
	}
	frs = feed(t, s2, []seg{{ToServer, hexb("0102")}, {ToServer, hexb("0304")}})
	if it := frs[1].Items(); len(it) != 1 || it[0].Show() != "01:02:03:04" || frs[1].Calls[0].FirstFrame != 1 {
		t.Errorf("NegativeReturnDesegments: %+v", frs[1].Calls[0])
	}
}

func TestBudget(t *testing.T) {
	s := New(Options{Profile: Profile40, CallSteps: 1_000_000})
	defer s.Close()
	err := s.Load("loop.lua", []byte(`
		local p = Proto("loop", "Loop")
		function p.dissector(tvb, pinfo, tree)
		  if tvb(0,1):uint() == 1 then while true do end end
		  pinfo.cols.info = "fine"
		end
		DissectorTable.get("tcp.port"):add(7777, p)`))
	if err != nil {
		t.Fatal(err)
	}
	frs := feed(t, s, []seg{{ToServer, []byte{0}}, {ToServer, []byte{1}}, {ToServer, []byte{0}}})
	errs := frs[1].Errors()
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "budget of 1000000 Lua instructions in frame 2 at loop.lua:4") || !strings.Contains(errs[0].Message, "frame 2") {
		t.Fatalf("errors: %+v", errs)
	}
	if frs[2].Info != "fine" || len(frs[2].Errors()) != 0 {
		t.Errorf("state not usable after budget: %+v", frs[2])
	}
	// Loading is bounded too.
	s2 := New(Options{Profile: Profile40, LoadSteps: 1_000_000})
	defer s2.Close()
	if err := s2.Load("l.lua", []byte("while true do end")); err == nil || !strings.Contains(err.Error(), "while loading") {
		t.Errorf("load loop: %v", err)
	}
}

func TestBudgetInCoroutine(t *testing.T) {
	s := New(Options{Profile: Profile40, CallSteps: 1_000_000})
	defer s.Close()
	err := s.Load("co.lua", []byte(`
		local p = Proto("co", "Co")
		function p.dissector(tvb, pinfo, tree)
		  local co = coroutine.create(function(n) if n == 1 then while true do end end return n end)
		  local ok, v = coroutine.resume(co, tvb(0,1):uint())
		  if not ok then error(v) end
		  pinfo.cols.info = "v=" .. v
		end
		DissectorTable.get("tcp.port"):add(7777, p)`))
	if err != nil {
		t.Fatal(err)
	}
	frs := feed(t, s, []seg{{ToServer, []byte{0}}, {ToServer, []byte{1}}, {ToServer, []byte{2}}})
	if frs[0].Info != "v=0" || frs[2].Info != "v=2" {
		t.Errorf("infos %q %q", frs[0].Info, frs[2].Info)
	}
	if errs := frs[1].Errors(); len(errs) != 1 {
		t.Errorf("frame 2 errors: %+v", errs)
	}
}

func TestProtoExpert(t *testing.T) {
	s, err := loadSrc(t, Profile40, `
		local p = Proto("pe", "PE")
		local f = ProtoField.uint8("pe.b", "B")
		local e = ProtoExpert.new("pe.bad", "Bad byte", expert.group.MALFORMED, expert.severity.WARN)
		p.fields = {f}
		p.experts = {e}
		function p.dissector(tvb, pinfo, tree)
		  local i = tree:add(f, tvb(0,1))
		  i:add_proto_expert_info(e)
		  i:add_proto_expert_info(e, "custom")
		  tree:add_tvb_expert_info(e, tvb(0,1))
		end
		DissectorTable.get("tcp.port"):add(7777, p)`)
	if err != nil {
		t.Fatal(err)
	}
	fr := feed(t, s, []seg{{ToServer, []byte{9}}})[0]
	items := fr.Items()
	if len(items) != 2 || len(items[0].Experts) != 2 || items[0].Experts[0].Text != "Bad byte" || items[0].Experts[1].Text != "custom" ||
		items[0].Experts[0].Abbrev != "pe.bad" || items[0].Experts[0].Severity != PIWarn || items[1].Abbrev != "pe.bad" {
		t.Errorf("experts: %s %s", items[0].Dump(), items[1].Dump())
	}
	if ex := s.Protos()[0].Experts; len(ex) != 1 || ex[0].Abbrev != "pe.bad" {
		t.Errorf("registry experts: %+v", ex)
	}
}
