package validate

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

var update = flag.Bool("update", false, "rewrite testdata/mcbin.pcap and the golden trees under testdata/golden")

// generatedLuaPath is the checked-in copy of the generated dissector
// (luagen's TestGolden keeps it equal to `mqttdissect lua` output).
const generatedLuaPath = "../testdata/mqtt.lua"

// generatedLua returns the generated dissector, skipping the test when the
// file is absent (and failing it in CI).
//
// MQTTDISSECT_MQTT_LUA names another file to test instead (a fresh
// `mqttdissect lua -o FILE`).
func generatedLua(t testing.TB) []byte {
	t.Helper()
	path := generatedLuaPath
	if p := os.Getenv("MQTTDISSECT_MQTT_LUA"); p != "" {
		path = p
	}
	src, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the generated dissector %s is required in CI: %v", path, err)
		}
		t.Skipf("the generated dissector %s is absent (run `go run ./cmd/mqttdissect lua -o luagen/testdata/mqtt.lua`): %v", path, err)
	}
	return src
}

// testCaptures returns the real captures of the repository's testdata.
func testCaptures(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.pcap.gz"} {
		m, err := filepath.Glob(filepath.Join("..", "..", "testdata", pat))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Fatal("no captures in testdata")
	}
	return out
}

func newValidator(t testing.TB, name string, src []byte, opts Options) *Validator {
	t.Helper()
	v, err := New(name, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func runFile(t testing.TB, v *Validator, path string, ref *Reference) *Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := v.Run(context.Background(), path, f, ref)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func runBytes(t testing.TB, v *Validator, name string, capture []byte, ref *Reference) *Result {
	t.Helper()
	res, err := v.Run(context.Background(), name, bytes.NewReader(capture), ref)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func report(res *Result) string {
	var b strings.Builder
	res.WriteReport(&b)
	return b.String()
}

// ---------------------------------------------------------------------------
// The memcached binary capture for the mcbin.lua sample dissector.

var (
	mcClient = netip.MustParseAddrPort("10.0.0.1:50000")
	mcServer = netip.MustParseAddrPort("10.0.0.2:11211")
)

// mcPacket builds a memcached binary packet.
func mcPacket(magic, opcode byte, status uint16, opaque uint32, cas uint64, extras []byte, key, value string) []byte {
	h := make([]byte, 24)
	h[0], h[1] = magic, opcode
	binary.BigEndian.PutUint16(h[2:], uint16(len(key)))
	h[4] = byte(len(extras))
	binary.BigEndian.PutUint16(h[6:], status)
	binary.BigEndian.PutUint32(h[8:], uint32(len(extras)+len(key)+len(value)))
	binary.BigEndian.PutUint32(h[12:], opaque)
	binary.BigEndian.PutUint64(h[16:], cas)
	h = append(h, extras...)
	h = append(h, key...)
	return append(h, value...)
}

// mcbinCapture is the sample capture: one packet per segment, two packets
// in one segment, a response split in three segments (the first shorter
// than the header), an unknown opcode, lengths that do not fit, and a
// segment that ends in bytes that are no memcached packet.
func mcbinCapture() []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(mcClient, mcServer)
	c.Handshake()
	setExtras := []byte{0xde, 0xad, 0xbe, 0xef, 0, 0, 0x0e, 0x10}
	c.Send(pcapbuild.ToServer, mcPacket(0x80, 0x01, 0, 1, 0, setExtras, "user:1", "hello"))
	c.Send(pcapbuild.ToClient, mcPacket(0x81, 0x01, 0, 1, 7, nil, "", ""))
	two := append(mcPacket(0x80, 0x00, 0, 2, 0, nil, "user:1", ""), mcPacket(0x80, 0x0c, 0, 3, 0, nil, "user:2", "")...)
	c.Send(pcapbuild.ToServer, two)
	resp := mcPacket(0x81, 0x00, 0, 2, 7, []byte{0xde, 0xad, 0xbe, 0xef}, "", "hello, a longer value that spans segments")
	c.SendSplit(pcapbuild.ToClient, resp, 10, 40)
	c.Send(pcapbuild.ToClient, mcPacket(0x81, 0x0c, 1, 3, 0, nil, "user:2", "Not found"))
	c.Send(pcapbuild.ToServer, mcPacket(0x80, 0x42, 0, 4, 0, nil, "odd", ""))
	bad := mcPacket(0x80, 0x04, 0, 5, 0, nil, "", "")
	bad[2] = 0x40 // key length 64 in a 0-byte body
	c.Send(pcapbuild.ToServer, bad)
	c.Send(pcapbuild.ToServer, append(mcPacket(0x80, 0x0a, 0, 6, 0, nil, "", ""), 0x99, 0x01, 0x02))
	c.Send(pcapbuild.ToClient, mcPacket(0x81, 0x0a, 0, 6, 0, nil, "", ""))
	c.Close()
	var out bytes.Buffer
	if err := b.WritePcap(&out); err != nil {
		panic(err)
	}
	return out.Bytes()
}

func netipMust(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// unhex decodes hex with spaces.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publish is a QoS 0 PUBLISH to "a/b" of size bytes in all (size >= 130).
func publish(t testing.TB, size int) []byte {
	t.Helper()
	remaining := size - 3 // fixed header with a two-byte Remaining Length
	p := []byte{0x30, byte(remaining%128) | 0x80, byte(remaining / 128), 0, 3, 'a', '/', 'b'}
	return append(p, bytes.Repeat([]byte("x"), size-len(p))...)
}
