package dissect

import (
	"bytes"
	"fmt"
	"testing"
)

// wsSink records what the WebSocket layer hands to the MQTT layer.
type wsSink struct {
	data [2][]byte
	gaps int
}

func (s *wsSink) Data(dir Direction, data []byte, _ *Frame) {
	s.data[dir&1] = append(s.data[dir&1], data...)
}
func (s *wsSink) Gap(Direction, int, *Frame) { s.gaps++ }
func (s *wsSink) Close(*Frame, bool)         {}

// feedWS runs the WebSocket layer over an upgrade followed by client bytes
// b and server bytes b reversed, cut into pieces of at most step bytes.
func feedWS(b []byte, step int) (*wsSink, []string) {
	var notes []string
	ts := newTransportShared(&TransportConfig{}, func(n ConnNote) { notes = append(notes, n.Message) })
	sink := &wsSink{}
	w := newWSLayer(ts, ConnKey{}, sink, &Via{})
	f := &Frame{Number: 1}
	server := bytes.Clone(b)
	for i, j := 0, len(server)-1; i < j; i, j = i+1, j-1 {
		server[i], server[j] = server[j], server[i]
	}
	streams := [2][]byte{append([]byte(wsUpgrade), b...), append([]byte(wsAccept), server...)}
	for dir, s := range streams {
		for len(s) > 0 {
			n := min(step, len(s))
			// A scribbled copy: the layer must not keep the caller's buffer.
			chunk := bytes.Clone(s[:n])
			w.Data(Direction(dir), chunk, f)
			for i := range chunk {
				chunk[i] = 0xee
			}
			s = s[n:]
			f.Number++
		}
	}
	w.Close(nil, true)
	return sink, notes
}

// FuzzWebSocket checks the WebSocket framer on arbitrary frames: it never
// panics, hands up no more bytes than it was given, and reads the same
// payload and says the same notes however the bytes are segmented.
func FuzzWebSocket(f *testing.F) {
	f.Add(wsFrameBytes(0, true, wsBinary, []byte{0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0}), 3)
	f.Add(append(wsFrameBytes(0, false, wsBinary, []byte("ab")), wsFrameBytes(0, true, wsPing, []byte("p"))...), 1)
	f.Add(wsFrameBytes(1, true, wsClose, []byte{3, 0xe8, 'x'}), 2)
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, 5)
	f.Add([]byte{0x82, 0x7e, 0xff, 0xff, 1, 2, 3, 4, 5}, 7)
	f.Fuzz(func(t *testing.T, b []byte, step int) {
		if step <= 0 || step > 64 {
			step = 1 + (step&63+64)%64
		}
		whole, wholeNotes := feedWS(b, len(b)+len(wsAccept)+len(wsUpgrade))
		cut, cutNotes := feedWS(b, step)
		if whole.gaps > 0 || cut.gaps > 0 {
			// After lost framing the layer resumes at a segment that
			// starts with a plausible header: that depends on segmentation.
			return
		}
		for dir := range 2 {
			if len(whole.data[dir]) > len(b) {
				t.Fatalf("handed up %d bytes from %d", len(whole.data[dir]), len(b))
			}
			if !bytes.Equal(whole.data[dir], cut.data[dir]) {
				t.Fatalf("dir %d: payload depends on segmentation:\n%x\n%x", dir, whole.data[dir], cut.data[dir])
			}
		}
		if fmt.Sprint(wholeNotes) != fmt.Sprint(cutNotes) {
			t.Fatalf("notes depend on segmentation:\n%q\n%q", wholeNotes, cutNotes)
		}
	})
}
