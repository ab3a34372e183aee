package stats

import (
	"bufio"
	"context"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/spec"
)

func testdataCaptures(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"*.pcap", "*.pcapng", "*.pcap.gz"} {
		m, _ := filepath.Glob(filepath.Join("..", "..", "testdata", pattern))
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Fatal("no captures in testdata")
	}
	return out
}

func analyzeFile(t *testing.T, path string) *Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, err := Analyze(context.Background(), f, &dissect.RunConfig{}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pdmlTypeCounts counts the mqtt.msgtype fields of a PDML file (one per
// MQTT PDU), by type number.
func pdmlTypeCounts(t *testing.T, path string) map[int]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[int]int{}
	dec := xml.NewDecoder(bufio.NewReader(f))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return counts
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "field" {
			continue
		}
		var name, show string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "name":
				name = a.Value
			case "show":
				show = a.Value
			}
		}
		if name == "mqtt.msgtype" {
			n, err := strconv.Atoi(show)
			if err != nil {
				t.Fatalf("%s: mqtt.msgtype show=%q", path, show)
			}
			counts[n]++
		}
	}
}

// TestPacketCountsMatchWireshark compares the per-type totals with the
// mqtt.msgtype fields in tshark's PDML of each capture.
func TestPacketCountsMatchWireshark(t *testing.T) {
	for _, c := range testdataCaptures(t) {
		t.Run(filepath.Base(c), func(t *testing.T) {
			want := pdmlTypeCounts(t, c+".pdml")
			r := analyzeFile(t, c)
			got := map[int]int{}
			total := 0
			for _, tc := range r.Summary.PacketTypes {
				got[tc.Value] = tc.Total
				total += tc.Total
				if tc.Total != tc.ToServer+tc.ToClient {
					t.Errorf("%s: total %d != %d + %d", tc.Type, tc.Total, tc.ToServer, tc.ToClient)
				}
			}
			for typ := 0; typ < 16; typ++ {
				if got[typ] != want[typ] {
					t.Errorf("%v: %d packets, Wireshark has %d", spec.PacketType(typ), got[typ], want[typ])
				}
			}
			if total != r.Summary.Packets {
				t.Errorf("types sum to %d, %d packets", total, r.Summary.Packets)
			}
		})
	}
}

// infoFrames returns the frames of a capture's .info file (tshark's Info
// column) whose text contains all of the parts.
func infoFrames(t *testing.T, path string, parts ...string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
lines:
	for _, line := range strings.Split(string(data), "\n") {
		num, info, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(info, p) {
				continue lines
			}
		}
		n, _ := strconv.Atoi(num)
		out = append(out, n)
	}
	return out
}

// TestRealCaptures checks what a person would check by hand in Wireshark.
func TestRealCaptures(t *testing.T) {
	td := filepath.Join("..", "..", "testdata")
	for _, c := range testdataCaptures(t) {
		t.Run("flows complete/"+filepath.Base(c), func(t *testing.T) {
			r := analyzeFile(t, c)
			for _, f := range r.Delivery.Flows {
				if f.Completed+f.Rejected != f.Started || f.Unanswered+f.UnknownID+f.ReusedID+f.DupResends != 0 {
					t.Errorf("flow %+v does not complete", f)
				}
			}
			if len(r.Delivery.Flows) == 0 {
				t.Error("no flows")
			}
			connects := infoFrames(t, c+".info", "Connect Command")
			if len(r.Sessions.Rows) != len(connects) {
				t.Errorf("%d sessions, %d CONNECTs", len(r.Sessions.Rows), len(connects))
			}
			for i, s := range r.Sessions.Rows {
				if i < len(connects) && s.ConnectFrame != connects[i] {
					t.Errorf("session %d: CONNECT frame %d, Wireshark %d", s.Conn, s.ConnectFrame, connects[i])
				}
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		path := filepath.Join(td, "refused.pcap")
		r := analyzeFile(t, path)
		refusedFrames := map[int]bool{}
		n := 0
		for _, p := range r.Problems {
			if p.Kind == "connack.refused" {
				n += p.Count
				for _, f := range p.Frames {
					refusedFrames[f] = true
				}
			}
		}
		acks := infoFrames(t, path+".info", "Connect Ack")
		// Every CONNACK but the last (the accepted one) refuses.
		if n != len(acks)-1 || n != 8 {
			t.Errorf("%d refused, %d CONNACKs", n, len(acks))
		}
		for _, f := range acks[:len(acks)-1] {
			if !refusedFrames[f] {
				t.Errorf("CONNACK %d not reported as refused", f)
			}
		}
		if p := problemOf(r, "connack.missing"); p == nil || p.Count != 1 {
			t.Errorf("connection closed without CONNACK: %+v", p)
		}
		last := r.Sessions.Rows[len(r.Sessions.Rows)-1]
		if !last.Connack.Accepted || last.Ended.Kind != "disconnect" {
			t.Errorf("last session %+v", last)
		}
	})

	t.Run("will", func(t *testing.T) {
		path := filepath.Join(td, "will.pcapng")
		r := analyzeFile(t, path)
		for _, tc := range []struct{ id, topic string }{{"will-victim-311", "will/v311"}, {"will-victim-5", "will/v5"}} {
			var s *Session
			for i := range r.Sessions.Rows {
				if r.Sessions.Rows[i].ClientID == tc.id {
					s = &r.Sessions.Rows[i]
				}
			}
			if s == nil {
				t.Fatalf("no session %s", tc.id)
			}
			pubs := infoFrames(t, path+".info", "Publish Message", "["+tc.topic+"]")
			if s.Ended.Kind != "tcp_close" || len(pubs) == 0 || s.Ended.WillPublished != pubs[0] {
				t.Errorf("%s ended %+v, want will published at %v", tc.id, s.Ended, pubs)
			}
		}
	})

	t.Run("v5 reasons", func(t *testing.T) {
		r := analyzeFile(t, filepath.Join(td, "v5.pcapng"))
		if p := problemOf(r, "delivery.rejected"); p == nil || p.Message != "PUBREC: Not authorized (0x87)" {
			t.Errorf("rejected = %+v", p)
		}
		s := r.Sessions.Rows[0]
		if s.AssignedID == "" || s.Ended.ReasonCode != 4 || s.Will == nil {
			t.Errorf("v5-sub = %+v", s)
		}
		if s := r.Sessions.Rows[1]; s.ServerKeep != 60 || s.KeepAlive != 120 {
			t.Errorf("server keep alive: %+v", s)
		}
	})
}
