package validate

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"sync"
	"testing"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

// maxFuzzStream bounds each direction's bytes per fuzz input.
const maxFuzzStream = 32 << 10

// streamCapture builds a capture of one MQTT connection carrying the two
// byte streams, cut into segments by cuts (see addStreams).
func streamCapture(toServer, toClient, cuts []byte) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	addStreams(b, netipMust("192.0.2.10:40000"), toServer, toClient, cuts)
	var out bytes.Buffer
	if err := b.WritePcap(&out); err != nil {
		panic(err)
	}
	return out.Bytes()
}

// addStreams adds a connection from client to port 1883 carrying the two
// byte streams: segment i goes to the client when cuts[i] is odd, and
// carries 1 + cuts[i]/2 bytes; once cuts run out each direction's rest is
// sent whole.
func addStreams(b *pcapbuild.Builder, client netip.AddrPort, toServer, toClient, cuts []byte) {
	c := b.Conn(client, netipMust("192.0.2.1:1883"))
	c.Handshake()
	rest := [2][]byte{toServer, toClient}
	dirs := [2]pcapbuild.Dir{pcapbuild.ToServer, pcapbuild.ToClient}
	for _, cut := range cuts {
		d := int(cut & 1)
		if len(rest[d]) == 0 {
			d = 1 - d
		}
		if len(rest[d]) == 0 {
			break
		}
		n := min(1+int(cut>>1), len(rest[d]))
		c.Send(dirs[d], rest[d][:n])
		rest[d] = rest[d][n:]
	}
	for d := range rest {
		if len(rest[d]) > 0 {
			c.Send(dirs[d], rest[d])
		}
	}
	c.Close()
}

// streamCollector keeps the bytes of both directions of each connection.
type streamCollector struct{ dirs [2][]byte }

func (s *streamCollector) Data(dir dissect.Direction, data []byte, f *dissect.Frame) {
	if len(s.dirs[dir&1]) < maxFuzzStream {
		s.dirs[dir&1] = append(s.dirs[dir&1], data...)
	}
}
func (s *streamCollector) Gap(dissect.Direction, int, *dissect.Frame) {}
func (s *streamCollector) Close(*dissect.Frame, bool)                 {}

// captureStreams returns the streams of every connection of the
// repository's testdata captures: the fuzz seeds.
func captureStreams(t testing.TB) [][2][]byte {
	var out [][2][]byte
	for _, path := range testCaptures(t) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		cr, err := dissect.OpenCapture(f, []uint16{1883})
		if err != nil {
			t.Fatal(err)
		}
		var conns []*streamCollector
		asm := dissect.NewAssembler([]uint16{1883}, func(dissect.ConnKey, *dissect.Frame) dissect.StreamHandler {
			c := &streamCollector{}
			conns = append(conns, c)
			return c
		})
		for {
			fr, err := cr.Next()
			if err != nil {
				break
			}
			asm.Add(fr)
		}
		asm.Flush()
		f.Close()
		for _, c := range conns {
			out = append(out, c.dirs)
		}
	}
	return out
}

var fuzzValidator struct {
	once sync.Once
	v    *Validator
	err  error
}

// FuzzValidateMQTT feeds random and mutated MQTT streams, cut into
// segments, to the native decoder and to the generated mqtt.lua in the
// emulator: the trees must be identical, with no Lua error and no panic.
//
//	go test ./luagen/validate -run '^$' -fuzz FuzzValidateMQTT -fuzztime 60s
func FuzzValidateMQTT(f *testing.F) {
	src := generatedLua(f)
	for i, s := range captureStreams(f) {
		f.Add(s[0], s[1], []byte{byte(i), 7, 200, 3, 1, 64, 9})
	}
	f.Add(unhex(f, "10 0c 0004 4d515454 04 02 003c 0000 30 c8 01"), unhex(f, "20 02 00 00"), []byte{0, 2, 4, 255, 1})
	f.Add(unhex(f, "30 04 0009 6162 c0 00"), []byte(nil), []byte{2})
	f.Add(unhex(f, "32 26 0003 612f62 0001 19 03 000a 746578742f706c61696e 26 0002 6b31 0002 7631 23 0003 68656c6c6f"), []byte(nil), []byte{10, 10})
	f.Add(unhex(f, "10 10 0004 4d515454 05 02 003c 03 21 0014 0000 30 0a 0003 612f62 03 2300 01 6869 30 07 0000 03 230001 6869"), []byte(nil), []byte{0, 0, 0, 0})
	f.Add(unhex(f, "c0 80 80 80 80 00 30 ff ff ff 7f 00 01 61 e0 02 8e 00"), unhex(f, "90 03 0001 80 b0 02 0001"), []byte{1, 3, 5})
	// Text with control characters, U+FEFF, a C1 control and ill-formed UTF-8.
	f.Add(unhex(f, "30 0c 000a 6101097f62efbbbfc280 30 08 0006 30e28241ffff"), unhex(f, "20 02 30 30"), []byte{4, 9})
	f.Fuzz(func(t *testing.T, toServer, toClient, cuts []byte) {
		if len(toServer) > maxFuzzStream || len(toClient) > maxFuzzStream || len(cuts) > 4096 {
			return
		}
		fuzzValidator.once.Do(func() {
			fuzzValidator.v, fuzzValidator.err = New("mqtt.lua", src, Options{ReuseState: true})
		})
		if fuzzValidator.err != nil {
			t.Fatal(fuzzValidator.err)
		}
		capture := streamCapture(toServer, toClient, cuts)
		res, err := fuzzValidator.v.Run(context.Background(), "fuzz.pcap", bytes.NewReader(capture), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK() {
			t.Fatalf("streams %x / %x cut %v:\n%s", toServer, toClient, cuts, report(res))
		}
	})
}
