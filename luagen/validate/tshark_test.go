package validate

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
	"github.com/mqttdissect/mqttdissect/internal/testtool"
)

// tsharkTrees runs the real tshark with the Lua script on the capture and
// returns its trees of the script's protocol.
func tsharkTrees(t *testing.T, tshark, script, capture, proto string, args ...string) []*Tree {
	t.Helper()
	absScript, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir() // no personal preferences or plugins
	cmd := exec.Command(tshark, append([]string{"-n", "-X", "lua_script:" + absScript, "-r", capture, "-T", "pdml"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "Lua: Error") {
		t.Fatalf("tshark reports a Lua error:\n%s", stderr.String())
	}
	// Go's XML reader refuses ill-formed UTF-8, which PDML show texts
	// carry raw (see Reference.PDML).
	trees, err := readPDMLTrees(bytes.NewReader(bytes.ToValidUTF8(stdout.Bytes(), []byte("\uFFFD"))), proto)
	if err != nil {
		t.Fatal(err)
	}
	return trees
}

// compareWithTshark validates the script in the emulator against real
// tshark's reading of the same capture with the same script: every item's
// name, show text, label, position, length and nesting, and every expert
// info with its item.
func compareWithTshark(t *testing.T, tshark, script, capture string) *Result {
	t.Helper()
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	v := newValidator(t, script, src, Options{})
	if len(v.dissectors) != 1 {
		t.Fatalf("%s: want one protocol with a dissector, have %v", script, v.dissectors)
	}
	proto := v.dissectors[0]
	var args []string
	if v.DecodeAs() {
		// The script leaves its port to Wireshark's own dissector:
		// Decode As, in the emulator as in tshark.
		for _, p := range v.Ports() {
			args = append(args, "-d", "tcp.port=="+strconv.Itoa(int(p))+","+proto)
		}
	}
	want := tsharkTrees(t, tshark, script, capture, proto, args...)
	res := runFile(t, v, capture, &Reference{Trees: want, PDML: true})
	if !res.OK() {
		t.Errorf("the emulator's reading differs from tshark's:\n%s", report(res))
	}
	if res.PDUs != len(want) || res.PDUs == 0 {
		t.Errorf("%d PDUs compared, tshark has %d", res.PDUs, len(want))
	}
	return res
}

// TestGeneratedMatchesTshark runs the generated mqtt.lua through the
// emulator and through the real tshark on every testdata capture and
// requires identical trees.
func TestGeneratedMatchesTshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	generatedLua(t)
	for _, capture := range testCaptures(t) {
		t.Run(filepath.Base(capture), func(t *testing.T) {
			t.Parallel()
			res := compareWithTshark(t, tshark, generatedLuaPath, capture)
			t.Log(res.Line())
		})
	}
}

// TestSampleMatchesTshark does the same for the hand-written dissector of
// another protocol, on its capture.
func TestSampleMatchesTshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	res := compareWithTshark(t, tshark, "testdata/mcbin.lua", "testdata/mcbin.pcap")
	if res.Experts == 0 {
		t.Error("no expert infos compared")
	}
	t.Log(res.Line())
}

// mutateStream returns a copy of b with a few random edits: bytes
// changed, inserted or deleted, a piece repeated, or the end cut.
func mutateStream(r *rand.Rand, b []byte) []byte {
	out := append([]byte(nil), b...)
	for k := r.IntN(4); k >= 0 && len(out) > 0; k-- {
		i := r.IntN(len(out))
		switch r.IntN(6) {
		case 0, 1:
			out[i] = byte(r.IntN(256))
		case 2:
			out[i] ^= 1 << r.IntN(8)
		case 3:
			out = append(out[:i], append([]byte{byte(r.IntN(256))}, out[i:]...)...)
		case 4:
			j := min(len(out), i+1+r.IntN(8))
			out = append(out[:i], out[j:]...)
		case 5:
			j := min(len(out), i+1+r.IntN(32))
			out = append(out[:j], append(append([]byte(nil), out[i:j]...), out[j:]...)...)
		}
	}
	if len(out) > 4096 {
		out = out[:4096]
	}
	return out
}

// randomStreamsCapture builds one capture of n connections carrying
// mutated copies of the testdata streams (and a few unmutated ones), cut
// into random segments.
func randomStreamsCapture(t *testing.T, n int, seed uint64) []byte {
	seeds := captureStreams(t)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := pcapbuild.New(pcapbuild.Options{})
	for i := 0; i < n; i++ {
		s := seeds[r.IntN(len(seeds))]
		toServer, toClient := s[0], s[1]
		if i%8 != 0 {
			toServer, toClient = mutateStream(r, toServer), mutateStream(r, toClient)
		}
		cuts := make([]byte, r.IntN(64))
		for k := range cuts {
			cuts[k] = byte(r.IntN(256))
		}
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i/200)}), uint16(20000+i))
		addStreams(b, client, toServer, toClient, cuts)
	}
	var out bytes.Buffer
	if err := b.WritePcap(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestRandomStreamsMatchTshark runs the generated dissector over hundreds of
// mutated MQTT streams in random segments through the emulator and through
// the real tshark (identical trees required), and through the native
// decoder (identical trees required).
func TestRandomStreamsMatchTshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	src := generatedLua(t)
	capture := randomStreamsCapture(t, 300, randomSeed())
	path := filepath.Join(t.TempDir(), "random.pcap")
	if err := os.WriteFile(path, capture, 0o644); err != nil {
		t.Fatal(err)
	}
	script := writeTemp(t, "mqtt.lua", src)
	// The take_over preference gives port 1883 to the script, in the
	// emulator as in tshark.
	v := newValidator(t, "mqtt.lua", src, Options{MaxDiffPDUs: 20, Prefs: []string{"mqttlua.take_over=TRUE"}})
	if v.DecodeAs() {
		t.Error("the take_over preference registers no port in the emulator")
	}
	want := tsharkTrees(t, tshark, script, path, "mqttlua", "-o", "mqttlua.take_over:TRUE")
	res := runFile(t, v, path, &Reference{Trees: want, PDML: true})
	if !res.OK() || res.PDUs < 1000 {
		t.Errorf("the emulator's reading differs from tshark's:\n%s", report(res))
	}
	t.Log("tshark: ", res.Line())
	res = runFile(t, v, path, nil)
	if !res.OK() {
		t.Errorf("the generated dissector differs from the native decoder:\n%s", report(res))
	}
	t.Log("native: ", res.Line())
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// randomSeed is 1, or MQTTDISSECT_SEED to explore other streams.
func randomSeed() uint64 {
	if s, err := strconv.ParseUint(os.Getenv("MQTTDISSECT_SEED"), 10, 64); err == nil {
		return s
	}
	return 1
}

// TestTextLabelsMatchTshark compares the emulator's string labels and show
// texts with tshark's for every ASCII byte, C1 controls, other characters
// and ill-formed UTF-8 (truncated, overlong, surrogates, too large).
func TestTextLabelsMatchTshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	var data []byte
	record := func(b []byte) { data = append(append(data, byte(len(b))), b...) }
	for c := 1; c < 0x80; c++ {
		record([]byte{'a', byte(c), 'b'})
	}
	for _, h := range []string{"c280", "c29f", "c2a0", "e280a8", "efbbbf", "f09f9880", "c9ff", "e282", "eda0",
		"ffff", "5c5c", "e080", "c080", "c1bf", "c181", "eda080", "edbfbf", "e08080", "f4908080", "f8888080",
		"f888808080", "fc8480808080", "80bf", "fe41", "f580", "e282ac41", "3000e282ac"} {
		record(unhex(t, h))
	}
	capture := writeTemp(t, "labels.pcap", streamCapture(data, nil, nil))
	res := compareWithTshark(t, tshark, "testdata/textlabels.lua", capture)
	if res.Fields < 2*(127+27) {
		t.Errorf("only %d fields compared", res.Fields)
	}
	t.Log(res.Line())
}
