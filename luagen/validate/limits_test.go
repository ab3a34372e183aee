package validate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/largecap"
	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

// denseCapture has conns MQTT 3.1.1 connections whose client sends
// segments of perSegment small packets each (PUBLISH QoS 0 and 1, PINGREQ,
// a few split across segments), the way a busy broker link captured with
// TSO/GRO looks, until packets MQTT packets in all were sent; the server
// answers each segment with the PUBACKs.
func denseCapture(packets, perSegment, conns int) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	server := netipMust("192.0.2.1:1883")
	cs := make([]*pcapbuild.Conn, conns)
	for i := range cs {
		cs[i] = b.Conn(netipMust(fmt.Sprintf("192.0.2.10:%d", 40000+i)), server)
		cs[i].Handshake()
		cs[i].Send(pcapbuild.ToServer, []byte{0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 4, 'd', 'e', 'n', 's'})
		cs[i].Send(pcapbuild.ToClient, []byte{0x20, 2, 0, 0})
	}
	sent := 2 * conns
	var seg, acks, carry []byte
	id := 0
	for k := 0; sent < packets; k++ {
		c := cs[k%conns]
		seg = append(seg[:0], carry...)
		carry = carry[:0]
		acks = acks[:0]
		n := 0
		for ; n < perSegment && sent+n < packets; n++ {
			var p []byte
			switch n % 8 {
			case 7:
				p = []byte{0xc0, 0}
			case 3, 5:
				id = id%65535 + 1
				topic := fmt.Sprintf("s/%d", n%97)
				p = []byte{0x32, byte(2 + len(topic) + 2 + 6), 0, byte(len(topic))}
				p = append(p, topic...)
				p = append(p, byte(id>>8), byte(id))
				p = append(p, fmt.Sprintf("%06d", n)...)
				acks = append(acks, 0x40, 2, byte(id>>8), byte(id))
			default:
				topic := fmt.Sprintf("t/%d", n%13)
				p = []byte{0x30, byte(2 + len(topic) + 8), 0, byte(len(topic))}
				p = append(p, topic...)
				p = append(p, fmt.Sprintf("v=%06d", n%1000000)...)
			}
			seg = append(seg, p...)
		}
		sent += n
		// Every fifth segment ends inside a packet: the rest starts the
		// next segment of that connection (reassembly across segments).
		if k%5 == 4 && len(seg) > 10 && sent < packets {
			cut := len(seg) - 5
			carry = append(carry, seg[cut:]...)
			seg = seg[:cut]
			c.Send(pcapbuild.ToServer, seg)
			c.Send(pcapbuild.ToServer, carry)
			carry = carry[:0]
		} else {
			c.Send(pcapbuild.ToServer, seg)
		}
		if len(acks) > 0 {
			c.Send(pcapbuild.ToClient, acks)
		}
	}
	for _, c := range cs {
		c.Send(pcapbuild.ToServer, []byte{0xe0, 0})
		c.Close()
	}
	var out bytes.Buffer
	if err := b.WritePcap(&out); err != nil {
		panic(err)
	}
	return out.Bytes()
}

// TestBudgetIsWorkNotTime: the instruction count of the generated
// mqtt.lua is the same on every run (it measures work, so a loaded machine
// cannot turn a pass into a failure), the default budget leaves a wide
// margin over the heaviest call of a capture with 2,000 packets to a
// segment, and a budget of exactly that call's count passes while one
// instruction less fails at that frame, whatever the machine's load.
func TestBudgetIsWorkNotTime(t *testing.T) {
	src := generatedLua(t)
	capture := denseCapture(8_000, 2000, 2)
	run := func(opts Options) *Result {
		v := newValidator(t, "mqtt.lua", src, opts)
		res, err := v.Run(context.Background(), "dense.pcap", bytes.NewReader(capture), nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run(Options{})
	if !res.OK() || res.PDUs < 8_000 {
		t.Fatalf("default budget: %s", report(res))
	}
	again := run(Options{})
	if again.MaxSteps != res.MaxSteps || again.MaxStepsFrame != res.MaxStepsFrame {
		t.Errorf("instruction count not deterministic: %d in frame %d, then %d in frame %d",
			res.MaxSteps, res.MaxStepsFrame, again.MaxSteps, again.MaxStepsFrame)
	}
	t.Logf("heaviest call: %d instructions (frame %d); default budget %d", res.MaxSteps, res.MaxStepsFrame, int64(100_000_000))
	if res.MaxSteps*10 > 100_000_000 {
		t.Errorf("the heaviest call needs %d instructions: less than 10x margin under the default budget", res.MaxSteps)
	}
	if r := run(Options{Steps: res.MaxSteps}); !r.OK() {
		t.Errorf("budget of the heaviest call fails: %s", report(r))
	}
	r := run(Options{Steps: res.MaxSteps - 1})
	if r.OK() || r.ErrorCount != 1 || r.Errors[0].Frame != res.MaxStepsFrame || r.Errors[0].Limit != "instructions" ||
		!strings.Contains(r.Stopped, fmt.Sprintf("stopped at frame %d", res.MaxStepsFrame)) {
		t.Errorf("budget just under the heaviest call: %s", report(r))
	}
}

// TestLoopingScriptFailsFast: a dissector that loops on every frame stops
// the capture at its first frame instead of waiting out its budget 64,000
// times; the error names the frame, the script's line and the limit.
func TestLoopingScriptFailsFast(t *testing.T) {
	script := "local p = Proto(\"spin\", \"Spin\")\n" +
		"local function helper() while true do end end\n" +
		"function p.dissector(tvb, pinfo, tree)\n" +
		"  local ok, err = pcall(helper)\n" +
		"  if not ok then error(err) end\n" + // a wrapper that re-raises: the line must still be 2
		"end\n" +
		"DissectorTable.get(\"tcp.port\"):add(1883, p)\n"
	capture := denseCapture(64_000, 1, 1) // 64,000 one-packet segments: ~64,000 frames
	v := newValidator(t, "spin.lua", []byte(script), Options{})
	res, err := v.Run(context.Background(), "loop.pcap", bytes.NewReader(capture), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK() || res.ErrorCount != 1 || res.Errors[0].Where != "spin.lua:2" || res.Errors[0].Limit != "instructions" ||
		!strings.Contains(res.Errors[0].Message, "in frame 4 at spin.lua:2") || res.Frames != 4 {
		t.Errorf("frames read %d: %s", res.Frames, report(res))
	}
	keep := newValidator(t, "spin.lua", []byte(script), Options{KeepGoing: true, Steps: 10_000})
	res, err = keep.Run(context.Background(), "loop.pcap", bytes.NewReader(capture[:len(capture)/100]), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ErrorCount < 100 || res.Stopped != "" {
		t.Errorf("--keep-going: %d errors, stopped %q", res.ErrorCount, res.Stopped)
	}
}

// TestCaughtErrorsFirst: a runtime error the script hides in a pcall is a
// Lua error of the summary, reported before the differences it causes,
// with file, line and traceback, however few differences are shown.
func TestCaughtErrorsFirst(t *testing.T) {
	src := generatedLua(t)
	// Break the reading of PUBLISH packets: an indexed nil inside the
	// generated decoder's own pcall.
	broken := bytes.Replace(src, []byte("local function read_packet(d, root)\n"), []byte("local function read_packet(d, root)\n    local none = nil; local _ = none.field\n"), 1)
	if bytes.Equal(broken, src) {
		t.Fatal("read_packet not found in the generated Lua")
	}
	v := newValidator(t, "mqtt.lua", broken, Options{MaxDiffs: 1, MaxDiffPDUs: 1})
	res := runFile(t, v, "../../testdata/v311.pcap", nil)
	if res.OK() || res.ErrorCount == 0 || res.CaughtErrors != res.ErrorCount {
		t.Fatalf("errors %d, caught %d", res.ErrorCount, res.CaughtErrors)
	}
	e := res.Errors[0]
	if !e.Caught || !strings.HasPrefix(e.Where, "mqtt.lua:") || !strings.Contains(e.Message, "attempt to index") || e.Traceback == "" {
		t.Errorf("first error: %+v", e)
	}
	var out bytes.Buffer
	res.WriteReport(&out)
	text := out.String()
	if i, j := strings.Index(text, "Lua error caught by the script"), strings.Index(text, " pdu 0: "); i < 0 || j < i {
		t.Errorf("errors not first:\n%s", text)
	}
	if !strings.Contains(text, "the same error in frames 6, 8,") || strings.Count(text, "stack traceback") != 1 {
		t.Errorf("repeated errors not folded:\n%s", text)
	}
	if !strings.Contains(res.Line(), fmt.Sprintf("%d Lua errors (%d caught by the script)", res.ErrorCount, res.CaughtErrors)) {
		t.Errorf("line: %s", res.Line())
	}
}

// TestNothingComparedFails: a capture without traffic on the script's
// ports proves nothing: it fails, naming the ports that carried traffic.
func TestNothingComparedFails(t *testing.T) {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(netipMust("192.0.2.10:40000"), netipMust("192.0.2.1:8883"))
	c.Handshake()
	c.Send(pcapbuild.ToServer, []byte{0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 4, 'a', 'b', 'c', 'd'})
	c.Close()
	v := newValidator(t, "mqtt.lua", generatedLua(t), Options{})
	res, err := v.Run(context.Background(), "other.pcap", bytes.NewReader(b.Pcap()), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res.WriteReport(&out)
	if res.OK() || !res.NothingCompared || !strings.Contains(out.String(), "TCP ports read 1883 (the script registers none: read through Decode As);") ||
		!strings.Contains(out.String(), "ports 8883 (") {
		t.Errorf("%s", out.String())
	}
}

// TestMemoryFlat: the heap after validating a capture 10x longer is about
// the same: nothing per packet is kept once its frame is compared.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	// The generated script as it ships: it keeps what each packet saw for
	// Wireshark's later passes, by frame and only where it changes, so its
	// memory too is flat in the number of packets.
	src := generatedLua(t)
	heapAfter := func(packets int) uint64 {
		capture := denseCapture(packets, 200, 4)
		v := newValidator(t, "mqtt.lua", src, Options{})
		var peak uint64
		testFrameHook = func(frame int) {
			if frame%20 == 0 {
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
		defer func() { testFrameHook = nil }()
		res, err := v.Run(context.Background(), "flat.pcap", bytes.NewReader(capture), nil)
		if err != nil || !res.OK() {
			t.Fatalf("%v %s", err, report(res))
		}
		return peak
	}
	small, large := heapAfter(5_000), heapAfter(50_000)
	t.Logf("live heap after 5,000 packets: %d KiB, after 50,000: %d KiB", small>>10, large>>10)
	if large > small+small/2+(4<<20) {
		t.Errorf("heap grows with the capture: %d KiB after 5,000 packets, %d KiB after 50,000", small>>10, large>>10)
	}
}

// TestLongCapture validates the generated mqtt.lua over 100,000 MQTT
// packets in segments of 2,000 at default settings. Set
// MQTTDISSECT_LONG_PACKETS to change the size (1650000 for the README's
// memory figure, with MQTTDISSECT_LONG_CAPTURE to write the capture
// instead of validating it); skipped with -short.
func TestLongCapture(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	n := 100_000
	if s := os.Getenv("MQTTDISSECT_LONG_PACKETS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	capture := denseCapture(n, 2000, 4)
	if path := os.Getenv("MQTTDISSECT_LONG_CAPTURE"); path != "" {
		// Only write it, to time the binary on it:
		//	MQTTDISSECT_LONG_PACKETS=1650000 MQTTDISSECT_LONG_CAPTURE=/tmp/long.pcap go test ./luagen/validate -run TestLongCapture
		//	/usr/bin/time -f "%e s %M KB" mqttdissect validate --lua mqtt.lua /tmp/long.pcap
		if err := os.WriteFile(path, capture, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	v := newValidator(t, "mqtt.lua", generatedLua(t), Options{})
	res, err := v.Run(context.Background(), "long.pcap", bytes.NewReader(capture), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.PDUs < n {
		t.Errorf("%s", report(res))
	}
	t.Logf("%d frames, %d PDUs; heaviest call %d instructions", res.Frames, res.PDUs, res.MaxSteps)
}

// TestPayloadAsTextPref: the script's payload-as-text preference turns the
// native reading to text too, so a text payload that is not UTF-8 (shown
// with U+FFFD) compares alike instead of as bytes against text; the last
// setting of the preference wins.
func TestPayloadAsTextPref(t *testing.T) {
	capture := largecap.PublishPayload([]byte("caf\xc3 \xff latte"))
	for _, tt := range []struct {
		prefs []string
		text  bool
	}{
		{nil, false},
		{[]string{"mqttlua.show_msg_as_text=TRUE"}, true},
		{[]string{"mqttlua.show_msg_as_text:TRUE", "mqttlua.show_msg_as_text=FALSE"}, false},
	} {
		if got := payloadAsText(tt.prefs); got != tt.text {
			t.Errorf("%q: payloadAsText %v", tt.prefs, got)
		}
		v := newValidator(t, "mqtt.lua", generatedLua(t), Options{Prefs: tt.prefs})
		res := runBytes(t, v, "text.pcap", capture, nil)
		if !res.OK() {
			t.Errorf("%q: %s", tt.prefs, report(res))
		}
	}
}
