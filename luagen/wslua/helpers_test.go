package wslua

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

var (
	clientAP = netip.MustParseAddrPort("10.0.0.1:50000")
	serverAP = netip.MustParseAddrPort("10.0.0.2:7777")
)

// seg is one test segment: direction and payload.
type seg struct {
	dir  Direction
	data []byte
}

func frameInfo(n int, dir Direction) FrameInfo {
	fi := FrameInfo{Number: n, Time: time.Unix(1700000000+int64(n), 0), Src: clientAP, Dst: serverAP}
	if dir == ToClient {
		fi.Src, fi.Dst = serverAP, clientAP
	}
	return fi
}

// feed runs the segments through a new Conn and returns the frame results.
func feed(t testing.TB, s *State, segs []seg) []*FrameResult {
	t.Helper()
	c := s.NewConn()
	var out []*FrameResult
	for i, sg := range segs {
		out = append(out, c.Segment(sg.dir, sg.data, frameInfo(i+1, sg.dir)))
	}
	return out
}

func loadFile(t testing.TB, p Profile, path string) *State {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Profile: p})
	t.Cleanup(s.Close)
	if err := s.Load(path, src); err != nil {
		t.Fatalf("load %s under %s: %v", path, p, err)
	}
	return s
}

func loadSrc(t testing.TB, p Profile, src string) (*State, error) {
	t.Helper()
	s := New(Options{Profile: p})
	t.Cleanup(s.Close)
	return s, s.Load("test.lua", []byte(src))
}

func hexb(s string) []byte {
	s = strings.ReplaceAll(s, " ", "")
	b := make([]byte, len(s)/2)
	for i := range b {
		var v byte
		for _, c := range s[2*i : 2*i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			case c >= 'a' && c <= 'f':
				v |= byte(c-'a') + 10
			case c >= 'A' && c <= 'F':
				v |= byte(c-'A') + 10
			}
		}
		b[i] = v
	}
	return b
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
