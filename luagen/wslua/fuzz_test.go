package wslua

import (
	"strings"
	"testing"
)

// FuzzToySplit checks that however a stream is cut into segments, the
// emulated TCP reassembly yields the same PDUs as one big segment.
//
//	go test ./luagen/wslua -run '^$' -fuzz FuzzToySplit -fuzztime 30s
func FuzzToySplit(f *testing.F) {
	f.Add([]byte{3, 5, 1, 7}, false)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true)
	f.Add([]byte{200, 1}, false)
	src := mustRead(f, "testdata/toytlv.lua")
	srcPDUs := mustRead(f, "testdata/toytlv_pdus.lua")
	stream := hexb("01830002 6869 02000003 010203 03000000 01050005 68656c6c6f 0201 0006 0a0b0c0d0e0f 03000000 01000003 414243")
	summary := func(t *testing.T, useTCPPDUs bool, cuts []byte) string {
		s := New(Options{Profile: Profile40})
		defer s.Close()
		script := src
		if useTCPPDUs {
			script = srcPDUs
		}
		if err := s.Load("toy.lua", script); err != nil {
			t.Fatal(err)
		}
		c := s.NewConn()
		var out []string
		rest := stream
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if i < len(cuts) {
				n = 1 + int(cuts[i])%16
				if n > len(rest) {
					n = len(rest)
				}
			}
			fr := c.Segment(ToServer, rest[:n], frameInfo(i+1, ToServer))
			rest = rest[n:]
			for _, call := range fr.Calls {
				if call.Err != nil {
					t.Fatalf("frame %d: %v", fr.Number, call.Err)
				}
				for _, r := range call.Roots() {
					out = append(out, rootSummary(r))
				}
			}
		}
		return strings.Join(out, "\n")
	}
	f.Fuzz(func(t *testing.T, cuts []byte, useTCPPDUs bool) {
		whole := summary(t, useTCPPDUs, nil)
		if got := summary(t, useTCPPDUs, cuts); got != whole {
			t.Errorf("cuts %v:\n%s\nwant:\n%s", cuts, got, whole)
		}
	})
}
