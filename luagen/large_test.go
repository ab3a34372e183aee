package luagen

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/internal/largecap"
	"github.com/mqttdissect/mqttdissect/spec"
)

// TestLargePublishInTshark loads the generated dissector into every real
// tshark on a capture with a 3 MB PUBLISH and exports the payload both
// ways scripts do (-T fields, -T pdml): the whole payload, byte for byte,
// and the packets after it. The 20 MB capture goes through the host's
// tshark and the newest one, -T fields only (its PDML would be some 120
// MB); lengths and hashes are compared, never the text.
func TestLargePublishInTshark(t *testing.T) {
	if os.Getenv("CI") != "true" {
		t.Skip("large captures in real tshark run in CI (CI=true)")
	}
	bins := tsharks(t)
	lua := writeLua(t, Options{})
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cap3 := write("publish-3MB.pcap", largecap.Publish(3*largecap.MB))
	sum3 := sha256.Sum256(largecap.Payload(3 * largecap.MB))
	for i, bin := range bins {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			out := tshark(t, bin, lua, cap3, "-d", decodeAsLua[1], "-T", "fields", "-e", "frame.number", "-e", "mqttlua.msg", "-Y", "mqttlua")
			checkFields(t, out, 3*largecap.MB, sum3)
			pdml := tshark(t, bin, lua, cap3, "-d", decodeAsLua[1], "-T", "pdml", "-Y", "mqttlua")
			checkPDML(t, pdml, 3*largecap.MB, sum3)
			if i == 0 {
				// Wireshark's built-in dissector reads the same.
				out = tshark(t, bin, "", cap3, "-T", "fields", "-e", "frame.number", "-e", "mqtt.msg", "-Y", "mqtt")
				checkFields(t, out, 3*largecap.MB, sum3)
			}
		})
		if i == 0 || i == len(bins)-1 {
			t.Run(filepath.Base(bin)+"/20MB", func(t *testing.T) {
				cap20 := filepath.Join(dir, "publish-20MB.pcap")
				if _, err := os.Stat(cap20); err != nil {
					write("publish-20MB.pcap", largecap.Publish(20*largecap.MB))
				}
				sum20 := sha256.Sum256(largecap.Payload(20 * largecap.MB))
				out := tshark(t, bin, lua, cap20, "-d", decodeAsLua[1], "-T", "fields", "-e", "frame.number", "-e", "mqttlua.msg", "-Y", "mqttlua")
				checkFields(t, out, 20*largecap.MB, sum20)
				if i == 0 {
					// PDML of 240 MB: streamed, never held.
					streamPDML(t, bin, lua, cap20, 20*largecap.MB, sum20)
				}
			})
		}
	}
}

// TestLargeValuesInTshark reads the captures whose strings and property
// blocks are as large as MQTT allows (1 MB of v5 user properties with a
// 65,535-byte topic, a 1 MB unknown property, a CONNECT with the longest
// will message and password) with the generated dissector in every real
// tshark: the native decoder's reading, field by field, and Wireshark's
// built-in reading where its PDML is there.
func TestLargeValuesInTshark(t *testing.T) {
	if os.Getenv("CI") != "true" {
		t.Skip("large captures in real tshark run in CI (CI=true)")
	}
	bins := tsharks(t)
	lua := writeLua(t, Options{})
	dir := t.TempDir()
	captures := map[string][]byte{
		"v5-user-properties.pcap":    largecap.V5Properties(largecap.MB),
		"v5-unknown-property.pcap":   largecap.V5UnknownProperty(largecap.MB),
		"connect-will-password.pcap": largecap.Will(),
	}
	for _, name := range []string{"v5-user-properties.pcap", "v5-unknown-property.pcap", "connect-will-password.pcap"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, captures[name], 0o644); err != nil {
			t.Fatal(err)
		}
		native := readNative(t, path, dissect.Options{})
		for bi, bin := range bins {
			t.Run(name+"/"+filepath.Base(bin), func(t *testing.T) {
				got := readWithLuaArgs(t, bin, lua, FallbackName, path, decodeAsLua)
				report(t, "Lua vs native", diffPDUs(asNative(got.PDUs), native.PDUs, "Lua", "native"))
				if len(got.PDUs) < 6 {
					t.Errorf("%d packets read", len(got.PDUs))
				}
				if bi != 0 && bi != len(bins)-1 {
					return // the built-in's reading: the host's release and the newest (CI time)
				}
				builtin, err := readPDML(bytes.NewReader(xmlSafe(tshark(t, bin, "", path, "-T", "pdml"))), spec.MQTT.Filter)
				if err != nil {
					t.Fatal(err)
				}
				luaFields := make([]pdu, len(got.PDUs))
				for i, p := range got.PDUs {
					luaFields[i] = pdu{Frame: p.Frame, Fields: p.Fields}
				}
				major, minor := tsharkVersion(t, bin)
				wsFields := make([]pdu, len(builtin.PDUs))
				for i, p := range builtin.PDUs {
					wsFields[i] = pdu{Frame: p.Frame, Fields: p.Fields}
					if major*100+minor < 402 && i < len(luaFields) {
						rawVarintLength(wsFields[i].Fields, luaFields[i].Fields)
					}
				}
				report(t, "Lua vs Wireshark", diffPDUs(luaFields, wsFields, "Lua", "Wireshark"))
			})
		}
	}
}

// rawVarintLength undoes a display bug of Wireshark 3.4 and 4.0 (fixed by
// 4.4): a property block length of more than one byte shows as its
// variable byte integer's bytes read as a big-endian number (1,000,001,
// bytes C1 84 3D, shows as 12,682,301). MQTT 5.0 §1.5.5 and §2.2.2.1 say
// the length is the integer those bytes encode, as the native decoder and
// the generated dissector show it; where Wireshark's value is exactly
// those bytes read raw, it is taken as the same reading.
func rawVarintLength(ws, lua []field) {
	for i := range ws {
		if ws[i].Name != "mqtt.property_len" || ws[i].Size < 2 {
			continue
		}
		for _, l := range lua {
			if l.Name != ws[i].Name || l.Depth != ws[i].Depth || l.Size != ws[i].Size {
				continue
			}
			v, err := strconv.Atoi(l.Show)
			if err != nil {
				continue
			}
			raw := 0
			for n := 0; n < l.Size; n++ {
				b := v % 128
				v /= 128
				if n < l.Size-1 {
					b |= 0x80
				}
				raw = raw<<8 | b
			}
			if strconv.Itoa(raw) == ws[i].Show {
				ws[i].Show = l.Show
			}
		}
	}
}

// decodeHex reads tshark's hex of a bytes field, with or without ':'.
func decodeHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil {
		t.Fatalf("bad hex %.40q...: %v", s, err)
	}
	return b
}

// checkFields wants, in -T fields output of frame.number and mqttlua.msg,
// the large payload whole and the packets after it (the PUBLISH "after/big"
// among them).
func checkFields(t *testing.T, out []byte, n int, sum [32]byte) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	big, after := false, false
	for _, line := range lines {
		_, msg, _ := strings.Cut(line, "\t")
		if len(msg) < 2*n {
			if msg == hex.EncodeToString([]byte("still read")) || strings.ReplaceAll(msg, ":", "") == hex.EncodeToString([]byte("still read")) {
				after = true
			}
			continue
		}
		b := decodeHex(t, msg)
		if len(b) != n || sha256.Sum256(b) != sum {
			t.Errorf("mqttlua.msg has %d bytes (want %d) or other bytes", len(b), n)
		}
		big = true
	}
	if !big || !after {
		t.Errorf("large payload exported: %v; the PUBLISH after it: %v (%d lines)", big, after, len(lines))
	}
}

// checkPDML wants the large payload's mqttlua.msg field in PDML with its
// size and value whole, and the packets after it.
func checkPDML(t *testing.T, pdml []byte, n int, sum [32]byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(xmlSafe(pdml)))
	big, packets := false, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local == "packet" {
			packets++
		}
		if se.Name.Local != "field" {
			continue
		}
		var name, size, value string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "name":
				name = a.Value
			case "size":
				size = a.Value
			case "value":
				value = a.Value
			}
		}
		if name != "mqttlua.msg" || len(value) < 2*n {
			continue
		}
		big = true
		if size != strconv.Itoa(n) {
			t.Errorf("mqttlua.msg size %s, want %d", size, n)
		}
		if b := decodeHex(t, value); sha256.Sum256(b) != sum {
			t.Errorf("mqttlua.msg value differs from the payload (%d bytes)", len(b))
		}
	}
	if !big || packets < 6 {
		t.Errorf("large payload in PDML: %v; %d packets with MQTT (want at least 6)", big, packets)
	}
}

// streamPDML runs tshark -T pdml and reads its output as it comes: the
// mqttlua.msg field of n bytes must carry the payload (hashed on the fly
// from the value attribute), and the packets after it must be there.
func streamPDML(t *testing.T, bin, luaPath, capture string, n int, sum [32]byte) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, "-n", "-r", capture, "-X", "lua_script:"+luaPath, "-d", decodeAsLua[1], "-T", "pdml", "-Y", "mqttlua")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReaderSize(stdout, 1<<16)
	packets, found := 0, false
	for {
		line, prefix, err := r.ReadLine()
		if err != nil {
			break
		}
		trimmed := bytes.TrimLeft(line, " ")
		if bytes.HasPrefix(trimmed, []byte("<packet>")) {
			packets++
		}
		if !bytes.HasPrefix(trimmed, []byte(`<field name="mqttlua.msg"`)) || !prefix {
			for prefix && err == nil { // the rest of a long line we do not want
				_, prefix, err = r.ReadLine()
			}
			continue
		}
		// Stream the rest of this line: find value=" and hash its hex.
		h := sha256.New()
		var state, got int // 0: looking for value=", 1: in it, 2: done
		var half byte
		odd := false
		const key = ` value="`
		match := 0
		feed := func(b []byte) {
			for _, c := range b {
				switch state {
				case 0:
					if c == key[match] {
						match++
						if match == len(key) {
							state = 1
						}
					} else {
						match = 0
						if c == key[0] {
							match = 1
						}
					}
				case 1:
					if c == '"' {
						state = 2
						continue
					}
					v := hexVal(c)
					if !odd {
						half, odd = v, true
						continue
					}
					h.Write([]byte{half<<4 | v})
					got++
					odd = false
				}
			}
		}
		feed(line)
		for prefix {
			line, prefix, err = r.ReadLine()
			if err != nil {
				break
			}
			feed(line)
		}
		if got == n {
			found = true
			if [32]byte(h.Sum(nil)) != sum {
				t.Errorf("PDML mqttlua.msg value differs from the payload")
			}
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tshark -T pdml: %v\n%s", err, stderr.String())
	}
	if luaErrorRE.Match(stderr.Bytes()) {
		t.Fatalf("tshark reports a Lua error:\n%s", stderr.String())
	}
	if !found || packets < 6 {
		t.Errorf("PDML: %d-byte mqttlua.msg found: %v; %d packets with MQTT", n, found, packets)
	}
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// decodeAsLua hands TCP 1883 to the generated dissector, which leaves it to
// Wireshark's own MQTT dissector by default (do no harm).
var decodeAsLua = []string{"-d", "tcp.port==1883," + FallbackName}
