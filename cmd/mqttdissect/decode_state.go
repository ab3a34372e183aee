package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/spec"
	"github.com/spf13/cobra"
)

// maxTracked bounds the tables keyed by what the capture says (packet
// identifiers, connections): when one is full an arbitrary entry is
// dropped, so memory stays flat on hostile captures.
const maxTracked = 100000

// ackTracker remembers the packet identifiers of kept PUBLISH, SUBSCRIBE
// and UNSUBSCRIBE packets so that --with-acks keeps their answers
// (MQTT 5.0 §4.3: PUBACK, PUBREC/PUBREL/PUBCOMP; §3.9, §3.11: SUBACK,
// UNSUBACK).
type ackTracker struct {
	open map[ackKey]bool
}

type ackKey struct {
	conn dissect.ConnKey
	dir  dissect.Direction // of the request
	id   int
}

func newAckTracker() *ackTracker { return &ackTracker{open: map[ackKey]bool{}} }

func (a *ackTracker) request(pdu *dissect.PDU) {
	p := pdu.Packet
	switch p.Type {
	case spec.PUBLISH, spec.SUBSCRIBE, spec.UNSUBSCRIBE:
	default:
		return
	}
	if p.PacketID < 0 {
		return // QoS 0: nothing answers it
	}
	if len(a.open) >= maxTracked {
		for k := range a.open {
			delete(a.open, k)
			break
		}
	}
	a.open[ackKey{pdu.Conn, pdu.Dir, p.PacketID}] = true
}

// answers reports whether pdu answers a kept request, forgetting the
// request when its flow is complete.
func (a *ackTracker) answers(pdu *dissect.PDU) bool {
	p := pdu.Packet
	if p.PacketID < 0 {
		return false
	}
	other := pdu.Dir ^ 1
	k := ackKey{pdu.Conn, other, p.PacketID}
	switch p.Type {
	case spec.PUBACK, spec.PUBCOMP, spec.SUBACK, spec.UNSUBACK:
		if a.open[k] {
			delete(a.open, k)
			return true
		}
	case spec.PUBREC:
		return a.open[k]
	case spec.PUBREL:
		// Sent by the publisher, in the PUBLISH's own direction.
		return a.open[ackKey{pdu.Conn, pdu.Dir, p.PacketID}]
	}
	return false
}

// assignedIDs remembers the client identifier a v5 server assigned to each
// connection (CONNACK's Assigned Client Identifier, MQTT 5.0 §3.2.2.3.7).
type assignedIDs map[dissect.ConnKey]string

// assignedProp is the Assigned Client Identifier property's identifier.
var assignedProp = uint64(spec.PropIDAssignedClientID)

func (a assignedIDs) note(pdu *dissect.PDU) {
	p := pdu.Packet
	if p.Type != spec.CONNACK {
		return
	}
	for i := range p.Nodes {
		n := &p.Nodes[i]
		if n.Field != spec.PropertyID || n.Uint != assignedProp {
			continue
		}
		for j := i + 1; j < len(p.Nodes) && p.Nodes[j].Depth >= n.Depth; j++ {
			if p.Nodes[j].Field == spec.PropString {
				if len(a) >= maxTracked {
					for k := range a {
						delete(a, k)
						break
					}
				}
				a[pdu.Conn] = dissect.TextShow(p.Nodes[j].Raw)
				return
			}
		}
	}
}

// portCount is the TCP traffic seen on one server port.
type portCount struct {
	port     uint16
	frames   int
	bytes    int64
	connects int // streams whose first client bytes are a plausible CONNECT
	connacks int // ... answered by a CONNACK
}

// scanPorts reads a capture once, looking at every TCP segment: the bytes
// per server port, and the streams that start with an MQTT CONNECT (read
// with the table, as the decoder reads it).
func scanPorts(r io.Reader) ([]portCount, int, error) {
	cr, err := dissect.OpenCapture(r, allPorts())
	if err != nil {
		return nil, 0, err
	}
	counts := map[uint16]*portCount{}
	type conn struct {
		server    netip.AddrPort
		sawClient bool
		sawServer bool
		connect   bool
	}
	type pair struct{ a, b netip.AddrPort }
	conns := map[pair]*conn{}
	var pkt dissect.Packet
	for {
		f, err := cr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return sortCounts(counts), cr.Stats().Frames, err
		}
		k := pair{f.Src, f.Dst}
		if f.Src.Compare(f.Dst) > 0 {
			k = pair{f.Dst, f.Src}
		}
		c := conns[k]
		if c == nil {
			// The first segment seen comes from the client, unless it is a
			// SYN-ACK or, mid-stream, comes from the lower port.
			c = &conn{server: f.Dst}
			syn, ack := f.Flags&dissect.TCPSyn != 0, f.Flags&dissect.TCPAck != 0
			if syn && ack || !syn && f.Src.Port() < f.Dst.Port() {
				c.server = f.Src
			}
			if len(conns) < maxTracked {
				conns[k] = c
			}
		}
		pc := counts[c.server.Port()]
		if pc == nil {
			if len(counts) >= maxTracked {
				continue
			}
			pc = &portCount{port: c.server.Port()}
			counts[c.server.Port()] = pc
		}
		pc.frames++
		pc.bytes += int64(len(f.Payload))
		if len(f.Payload) == 0 {
			continue
		}
		toServer := f.Dst == c.server
		st := dissect.NewConnState(nil)
		if toServer && !c.sawClient {
			c.sawClient = true
			err := dissect.Decode(&pkt, f.Payload, st, dissect.ToServer, nil)
			if pkt.Type == spec.CONNECT && !pkt.Malformed && (err == nil || pkt.Truncated()) && spec.Version(pkt.ProtoLevel).Known() {
				c.connect = true
				pc.connects++
			}
		} else if !toServer && !c.sawServer && c.sawClient {
			c.sawServer = true
			err := dissect.Decode(&pkt, f.Payload, st, dissect.ToClient, nil)
			if c.connect && pkt.Type == spec.CONNACK && !pkt.Malformed && err == nil {
				pc.connacks++
			}
		}
	}
}

func sortCounts(m map[uint16]*portCount) []portCount {
	out := make([]portCount, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].bytes != out[j].bytes {
			return out[i].bytes > out[j].bytes
		}
		return out[i].port < out[j].port
	})
	return out
}

// mqttPorts returns the ports where streams began with a CONNECT.
func mqttPorts(counts []portCount) []portCount {
	var out []portCount
	for _, c := range counts {
		if c.connects > 0 {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].port < out[j].port })
	return out
}

// explainNoMQTT tells, on stderr, why a capture gave no MQTT packet and
// what to try.
func explainNoMQTT(w io.Writer, label string, frames int, ports []uint16, counts []portCount, scanned bool, connNotes int) {
	watched := "1883"
	if len(ports) > 0 {
		var ps []string
		for _, p := range ports {
			ps = append(ps, fmt.Sprint(p))
		}
		watched = strings.Join(ps, ", ")
	}
	fmt.Fprintf(w, "mqttdissect: %s: no MQTT packets on TCP port %s in %s\n", label, watched, plural(frames, "frame", "frames"))
	if connNotes > 0 {
		// TLS without keys, a WebSocket upgrade refused...: the lines above
		// say what was missing, and another --port would not help.
		fmt.Fprintf(w, "mqttdissect: %s: MQTT may be inside the TLS or WebSocket connections reported above: see what each line says is missing\n", label)
		return
	}
	if !scanned {
		fmt.Fprintln(w, "mqttdissect: if MQTT runs on another port, try --port N (or save the capture to a file and try --port any)")
		return
	}
	if len(counts) == 0 {
		fmt.Fprintln(w, "mqttdissect: the capture holds no TCP traffic")
		return
	}
	var parts []string
	for i, c := range counts {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("%d more", len(counts)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%d (%s, %s)", c.port, plural(c.frames, "frame", "frames"), plural(int(c.bytes), "byte", "bytes")))
	}
	fmt.Fprintf(w, "mqttdissect: TCP traffic by server port: %s\n", strings.Join(parts, "; "))
	if found := mqttPorts(counts); len(found) > 0 {
		var ps []string
		for _, c := range found {
			ps = append(ps, fmt.Sprint(c.port))
		}
		fmt.Fprintf(w, "mqttdissect: MQTT CONNECT packets were seen on port %s: try --port %s (or --port any)\n", strings.Join(ps, ", "), ps[0])
		return
	}
	fmt.Fprintf(w, "mqttdissect: no stream starts with an MQTT CONNECT; if MQTT is there, try --port %d\n", counts[0].port)
}

// scanFile runs scanPorts on a file, or returns scanned=false for standard
// input and the embedded sample, which cannot be read twice.
func scanFile(name string) ([]portCount, bool) {
	if name == "" || name == "-" {
		return nil, false
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	counts, _, err := scanPorts(f)
	return counts, err == nil || counts != nil
}

// inputGroups decides how several inputs are read: each alone (separate,
// or a single input), or all as one capture (see groupInput).
func inputGroups(files []string, separate bool) [][]string {
	if separate || len(files) < 2 {
		out := make([][]string, len(files))
		for i, f := range files {
			out[i] = []string{f}
		}
		return out
	}
	return [][]string{files}
}

func allPorts() []uint16 {
	all := make([]uint16, 0, 65535)
	for p := 1; p <= 65535; p++ {
		all = append(all, uint16(p))
	}
	return all
}

func groupName(group []string) string {
	if len(group) == 1 {
		return displayName(group[0])
	}
	return strings.Join(group, ", ")
}

// scanFiles runs scanPorts over files and adds up the counts per port.
func scanFiles(names []string) ([]portCount, bool) {
	byPort := map[uint16]*portCount{}
	for _, name := range names {
		counts, ok := scanFile(name)
		if !ok {
			return nil, false
		}
		for _, c := range counts {
			pc := byPort[c.port]
			if pc == nil {
				pc = &portCount{port: c.port}
				byPort[c.port] = pc
			}
			pc.frames += c.frames
			pc.bytes += c.bytes
			pc.connects += c.connects
			pc.connacks += c.connacks
		}
	}
	return sortCounts(byPort), true
}

// groupInput is the inputs read as one capture.
type groupInput struct {
	names   []string
	ins     []io.Reader
	closers []func()
	total   int64 // bytes, -1 when unknown
	// merge: several files, merged in time order as mergecap does;
	// otherwise the inputs are read one after the other (standard input
	// cannot be read twice, as a merge needs).
	merge bool
}

// openGroup prepares a group of inputs; problems name the files that
// cannot be opened.
func openGroup(cmd *cobra.Command, group []string) (*groupInput, []string) {
	g := &groupInput{merge: len(group) > 1}
	for _, name := range group {
		if name == "" || name == "-" {
			g.merge = false
		}
	}
	var problems []string
	for _, name := range group {
		if g.merge {
			fi, err := os.Stat(name)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", displayName(name), userError(err)))
				continue
			}
			g.names = append(g.names, name)
			g.total += fi.Size()
			continue
		}
		in, size, closeFn, err := openInput(cmd, name)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", displayName(name), userError(err)))
			continue
		}
		g.ins, g.names, g.closers = append(g.ins, in), append(g.names, name), append(g.closers, closeFn)
		if size < 0 || g.total < 0 {
			g.total = -1
		} else {
			g.total += size
		}
	}
	return g, problems
}

func (g *groupInput) run(ctx context.Context, cfg *dissect.RunConfig) (dissect.RunStats, []error) {
	if !g.merge {
		return dissect.RunAll(ctx, g.ins, cfg)
	}
	openers := make([]dissect.Opener, len(g.names))
	for i, name := range g.names {
		openers[i] = func() (io.ReadCloser, error) { return os.Open(name) }
	}
	return dissect.RunMerged(ctx, openers, cfg)
}

func (g *groupInput) close() {
	for _, c := range g.closers {
		c()
	}
}
