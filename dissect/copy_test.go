package dissect

import (
	"reflect"
	"testing"
)

// TestCopyTo: a copy survives the reuse of the decoder's buffers and reads
// as the original did.
func TestCopyTo(t *testing.T) {
	raw := unhex(t, "32 26 0003 612f62 0001 19 03 000a 746578742f706c61696e 26 0002 6b31 0002 7631 23 0003 68656c6c6f")
	st := &ConnState{Version: 5}
	var p, c Packet
	Decode(&p, raw, st, ToServer, nil)
	info, tree := p.Info(), string(AppendTree(nil, &PDU{Packet: &p}))
	buf := p.CopyTo(&c, nil)
	for i := range raw {
		raw[i] = 0xff
	}
	Decode(&p, unhex(t, "c0 00"), st, ToServer, nil)
	if c.Info() != info || string(AppendTree(nil, &PDU{Packet: &c})) != tree {
		t.Errorf("copy changed: %q", c.Info())
	}
	// Copying again reuses the buffer.
	var d Packet
	buf2 := c.CopyTo(&d, buf)
	if &buf2[0] != &buf[0] || !reflect.DeepEqual(d.Nodes, c.Nodes) {
		t.Error("buffer not reused or nodes differ")
	}
}
