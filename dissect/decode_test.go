package dissect

import (
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mqttdissect/mqttdissect/spec"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// fieldList renders nodes as "abbrev=show" lines in tree order, the form
// Wireshark's PDML gives them.
func fieldList(p *Packet) string {
	var sb strings.Builder
	for i := range p.Nodes {
		n := &p.Nodes[i]
		sb.WriteString(strings.Repeat(" ", n.Depth))
		sb.WriteString(n.Field.Abbrev)
		sb.WriteByte('=')
		sb.WriteString(n.Show())
		sb.WriteByte('\n')
	}
	return sb.String()
}

func ruleNames(p *Packet) string {
	var names []string
	for _, n := range p.Notes {
		names = append(names, n.Rule.Name)
	}
	return strings.Join(names, ",")
}

func TestDecodePackets(t *testing.T) {
	tests := []struct {
		name    string
		version spec.Version
		hex     string
		info    string
		fields  string // expected fieldList, "" to skip
		notes   string // expected rule names, comma-separated
	}{
		{
			// Wireshark 4.0.17 reads this SUBSCRIBE (v5, from mosquitto_sub) as below.
			name: "v5 subscribe with user property", version: spec.V5,
			hex:  "82 10 0001 07 26 0001 6b 0001 76 0003 612f23 02",
			info: "Subscribe Request (id=1) [a/#]",
			fields: `mqtt.hdrflags=0x82
 mqtt.msgtype=8
 mqtt.hdr_reserved=2
mqtt.len=16
mqtt.msgid=1
mqtt.properties=
 mqtt.property_len=7
 mqtt.property_id=0x26
 mqtt.prop_key_len=1
 mqtt.prop_key=k
 mqtt.prop_value_len=1
 mqtt.prop_value=v
mqtt.topic_len=3
mqtt.topic=a/#
mqtt.subscription_options=0x02
 mqtt.subscription_options_reserved=0x00
 mqtt.subscription_options_retain=0
 mqtt.subscription_options_rap=0
 mqtt.subscription_options_nl=0
 mqtt.subscription_options_qos=2
`,
		},
		{
			name: "v5 publish qos1 with content type, user property, alias", version: spec.V5,
			hex:  "32 26 0003 612f62 0001 19 03 000a 746578742f706c61696e 26 0002 6b31 0002 7631 23 0003 68656c6c6f",
			info: "Publish Message (id=1) [a/b]",
			fields: `mqtt.hdrflags=0x32
 mqtt.msgtype=3
 mqtt.dupflag=0
 mqtt.qos=1
 mqtt.retain=0
mqtt.len=38
mqtt.topic_len=3
mqtt.topic=a/b
mqtt.msgid=1
mqtt.properties=
 mqtt.property_len=25
 mqtt.property_id=0x03
 mqtt.property.content_type=text/plain
 mqtt.property_id=0x26
 mqtt.prop_key_len=2
 mqtt.prop_key=k1
 mqtt.prop_value_len=2
 mqtt.prop_value=v1
 mqtt.property_id=0x23
 mqtt.property.topic_alias=3
mqtt.msg=68:65:6c:6c:6f
`,
		},
		{
			name: "3.1.1 connect with user name and password", version: spec.VersionUnknown,
			hex:  "10 17 0004 4d515454 04 c2 003c 0002 6331 0003 626f62 0002 7077",
			info: "Connect Command",
			fields: `mqtt.hdrflags=0x10
 mqtt.msgtype=1
 mqtt.hdr_reserved=0
mqtt.len=23
mqtt.proto_len=4
mqtt.protoname=MQTT
mqtt.ver=4
mqtt.conflags=0xc2
 mqtt.conflag.uname=1
 mqtt.conflag.passwd=1
 mqtt.conflag.retain=0
 mqtt.conflag.qos=0
 mqtt.conflag.willflag=0
 mqtt.conflag.cleansess=1
 mqtt.conflag.reserved=0
mqtt.kalive=60
mqtt.clientid_len=2
mqtt.clientid=c1
mqtt.username_len=3
mqtt.username=bob
mqtt.passwd_len=2
mqtt.passwd=pw
`,
		},
		{
			name: "3.1 connack has a reserved byte", version: spec.V31,
			hex: "20 02 00 05", info: "Connect Ack",
			fields: "mqtt.hdrflags=0x20\n mqtt.msgtype=2\n mqtt.hdr_reserved=0\nmqtt.len=2\nmqtt.conack.flags.reserved=0\nmqtt.conack.val=5\n",
		},
		{
			name: "connack without connect uses the v5 table", version: spec.VersionUnknown,
			hex: "20 02 00 00", info: "Connect Ack", notes: "mqtt.unknown_version",
			fields: "mqtt.hdrflags=0x20\n mqtt.msgtype=2\n mqtt.hdr_reserved=0\nmqtt.len=2\nmqtt.conack.flags=0x00\n mqtt.conack.flags.reserved=0\n mqtt.conack.flags.sp=0\nmqtt.connack.reason_code=0\n",
		},
		{
			name: "3.1 subscribe header shows qos", version: spec.V31,
			hex: "82 06 0002 0001 61 01", info: "Subscribe Request (id=2) [a]",
			fields: "mqtt.hdrflags=0x82\n mqtt.msgtype=8\n mqtt.dupflag=0\n mqtt.qos=1\n mqtt.retain_reserved=0\nmqtt.len=6\nmqtt.msgid=2\nmqtt.topic_len=1\nmqtt.topic=a\nmqtt.sub.qos=1\n",
		},
		{name: "v5 puback short form", version: spec.V5, hex: "40 02 0007", info: "Publish Ack (id=7)",
			fields: "mqtt.hdrflags=0x40\n mqtt.msgtype=4\n mqtt.hdr_reserved=0\nmqtt.len=2\nmqtt.msgid=7\n"},
		{name: "v5 puback with reason only", version: spec.V5, hex: "40 03 0007 10", info: "Publish Ack (id=7)",
			fields: "mqtt.hdrflags=0x40\n mqtt.msgtype=4\n mqtt.hdr_reserved=0\nmqtt.len=3\nmqtt.msgid=7\nmqtt.puback.reason_code=16\n"},
		{name: "v5 disconnect short form", version: spec.V5, hex: "e0 00", info: "Disconnect Req",
			fields: "mqtt.hdrflags=0xe0\n mqtt.msgtype=14\n mqtt.hdr_reserved=0\nmqtt.len=0\n"},
		{name: "v5 disconnect session taken over", version: spec.V5, hex: "e0 02 8e 00", info: "Disconnect Req",
			fields: "mqtt.hdrflags=0xe0\n mqtt.msgtype=14\n mqtt.hdr_reserved=0\nmqtt.len=2\nmqtt.disconnect.reason_code=142\nmqtt.properties=\n mqtt.property_len=0\n"},
		{name: "3.1.1 suback", version: spec.V311, hex: "90 04 0001 01 80", info: "Subscribe Ack (id=1)",
			fields: "mqtt.hdrflags=0x90\n mqtt.msgtype=9\n mqtt.hdr_reserved=0\nmqtt.len=4\nmqtt.msgid=1\nmqtt.suback.qos=1\nmqtt.suback.qos=128\n"},
		{name: "v5 unsuback", version: spec.V5, hex: "b0 05 0003 00 00 11", info: "Unsubscribe Ack (id=3)",
			fields: "mqtt.hdrflags=0xb0\n mqtt.msgtype=11\n mqtt.hdr_reserved=0\nmqtt.len=5\nmqtt.msgid=3\nmqtt.properties=\n mqtt.property_len=0\nmqtt.unsuback.reason_code=0\nmqtt.unsuback.reason_code=17\n"},
		{name: "pingreq", version: spec.V311, hex: "c0 00", info: "Ping Request"},
		{name: "v5 auth", version: spec.V5, hex: "f0 05 18 03 15 0000", info: "Authentication Exchange",
			fields: "mqtt.hdrflags=0xf0\n mqtt.msgtype=15\n mqtt.hdr_reserved=0\nmqtt.len=5\nmqtt.auth.reason_code=24\nmqtt.properties=\n mqtt.property_len=3\n mqtt.property_id=0x15\n mqtt.prop_string_len=0\n mqtt.prop_string=\n"},

		// Violations Wireshark 4.0 lets pass silently.
		{name: "connect with reserved header flags", version: spec.VersionUnknown, hex: "12 0c 0004 4d515454 04 02 003c 0000",
			info: "Connect Command", notes: "mqtt.reserved_flags"},
		{name: "publish qos 3", version: spec.V311, hex: "36 06 0001 61 0005 78", info: "Publish Message (id=5) [a]", notes: "mqtt.reserved_value"},
		{name: "pingreq with 5-byte remaining length", version: spec.V311, hex: "c0 80 80 80 80 00", info: "Ping Request", notes: "mqtt.long_varint"},
		{name: "topic with invalid utf-8", version: spec.V311, hex: "30 04 0002 fffe", info: "Publish Message [\uFFFD\uFFFD]", notes: "mqtt.bad_utf8"},
		{name: "topic with U+0000", version: spec.V311, hex: "30 05 0003 610062", info: "Publish Message [a]", notes: "mqtt.nul_in_string"},
		{name: "packet type 0", version: spec.V311, hex: "00 00", info: "Reserved", notes: "mqtt.reserved_value"},
		{name: "packet id 0", version: spec.V311, hex: "32 05 0001 61 0000", info: "Publish Message (id=0) [a]", notes: "mqtt.zero_packet_id"},
		{name: "property not allowed in publish", version: spec.V5, hex: "30 09 0001 61 05 11 00000001", info: "Publish Message [a]", notes: "mqtt.property_not_allowed"},
		{name: "property repeated", version: spec.V5, hex: "30 08 0001 61 04 01 00 01 01", info: "Publish Message [a]", notes: "mqtt.property_repeated"},
		{name: "unknown property", version: spec.V5, hex: "30 06 0001 61 02 7f 00", info: "Publish Message [a]", notes: "mqtt.unknown_property"},
		{name: "wildcard in topic name", version: spec.V311, hex: "30 05 0003 612f23", info: "Publish Message [a/#]", notes: "mqtt.wildcard_in_topic"},
		{name: "auth in 3.1.1", version: spec.V311, hex: "f0 00", info: "Authentication Exchange", notes: "mqtt.type_not_in_version"},
		{name: "empty topic without alias", version: spec.V5, hex: "30 03 0000 00", info: "Publish Message []", notes: "mqtt.illegal_topic_length"},
		{name: "unknown alias", version: spec.V5, hex: "30 06 0000 03 23 0009", info: "Publish Message []", notes: "mqtt.unknown_topic_alias"},
		{name: "subscribe without filters", version: spec.V311, hex: "82 02 0001", info: "Subscribe Request (id=1)", notes: "mqtt.missing_payload"},
		{name: "reserved connect flag", version: spec.VersionUnknown, hex: "10 0c 0004 4d515454 04 03 003c 0000", info: "Connect Command", notes: "mqtt.reserved_bits"},
		{name: "trailing bytes", version: spec.V311, hex: "c0 01 00", info: "Ping Request", notes: "mqtt.trailing_bytes"},
		{name: "undefined return code", version: spec.V311, hex: "20 02 00 09", info: "Connect Ack", notes: "mqtt.undefined_value"},

		// Malformed: the next packet still decodes (see TestStream*).
		{name: "string length past the end", version: spec.V311, hex: "30 04 0009 6162", info: "Publish Message", notes: "mqtt.malformed"},
		{name: "subscribe missing its options byte", version: spec.V311, hex: "82 05 0001 0001 61", info: "Subscribe Request (id=1) [a]", notes: "mqtt.malformed"},
		{name: "property length past the end", version: spec.V5, hex: "30 05 0001 61 09", info: "Publish Message", notes: "mqtt.malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &ConnState{Version: tt.version}
			var p Packet
			err := Decode(&p, unhex(t, tt.hex), st, ToServer, nil)
			if got := p.Info(); got != tt.info {
				t.Errorf("info = %q, want %q", got, tt.info)
			}
			if tt.fields != "" {
				if got := fieldList(&p); got != tt.fields {
					t.Errorf("fields:\n%s\nwant:\n%s", got, tt.fields)
				}
			}
			if got := ruleNames(&p); got != tt.notes {
				t.Errorf("notes = %q, want %q (%v)", got, tt.notes, p.Notes)
			}
			malformed := strings.Contains(tt.notes, "mqtt.malformed")
			if malformed != p.Malformed || malformed != (err != nil) {
				t.Errorf("malformed = %v, err = %v, want malformed %v", p.Malformed, err, malformed)
			}
			if err != nil {
				var de *DecodeError
				if !errors.As(err, &de) || !errors.Is(err, ErrMalformed) {
					t.Errorf("error %v is not a malformed DecodeError", err)
				}
			}
		})
	}
}

func TestDecodeTruncatedIsNotMalformed(t *testing.T) {
	full := unhex(t, "30 0a 0003 612f62 68656c6c6f")
	for cut := 0; cut < len(full); cut++ {
		var p Packet
		err := Decode(&p, full[:cut], &ConnState{Version: spec.V311}, ToServer, nil)
		if !errors.Is(err, ErrTruncated) || errors.Is(err, ErrMalformed) {
			t.Fatalf("cut %d: err = %v, want truncated", cut, err)
		}
		if p.Malformed {
			t.Fatalf("cut %d: marked malformed", cut)
		}
	}
}

func TestTopicAliasPerDirection(t *testing.T) {
	st := &ConnState{Version: spec.V5}
	var p Packet
	// Client sets alias 1 = a/b, then uses it.
	Decode(&p, unhex(t, "30 09 0003 612f62 03 23 0001"), st, ToServer, nil)
	Decode(&p, unhex(t, "30 06 0000 03 23 0001"), st, ToServer, nil)
	if got := string(p.Topic); got != "a/b" || ruleNames(&p) != "" {
		t.Fatalf("resolved topic = %q, notes %q", got, ruleNames(&p))
	}
	last := p.Nodes[len(p.Nodes)-2]
	if last.Field != spec.Topic || !last.Generated {
		t.Fatalf("generated topic node missing: %+v", last)
	}
	// The server's aliases are its own.
	Decode(&p, unhex(t, "30 06 0000 03 23 0001"), st, ToClient, nil)
	if ruleNames(&p) != "mqtt.unknown_topic_alias" {
		t.Fatalf("alias leaked across directions: %q", ruleNames(&p))
	}
}

func TestConnectSetsVersionForBothDirections(t *testing.T) {
	st := NewConnState(&Options{DefaultVersion: spec.V311})
	var p Packet
	Decode(&p, unhex(t, "c0 00"), st, ToServer, nil)
	if ruleNames(&p) != "mqtt.assumed_version" {
		t.Fatalf("notes = %q", ruleNames(&p))
	}
	Decode(&p, unhex(t, "10 0d 0004 4d515454 05 02 003c 00 0000"), st, ToServer, nil)
	if st.Version != spec.V5 || st.Assumed {
		t.Fatalf("state = %+v", st)
	}
	Decode(&p, unhex(t, "20 03 00 00 00"), st, ToClient, nil)
	if got := fieldList(&p); !strings.Contains(got, "mqtt.connack.reason_code=0\nmqtt.properties=") {
		t.Fatalf("connack not read as v5:\n%s", got)
	}
}

func TestHostileLengthsAllocateNothingExtra(t *testing.T) {
	// Remaining length 268435455 with 3 bytes present.
	b := unhex(t, "30 ff ff ff 7f 00 01 61")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 100; i++ {
		var p Packet
		Decode(&p, b, &ConnState{Version: spec.V311}, ToServer, nil)
	}
	runtime.ReadMemStats(&after)
	if perRun := (after.TotalAlloc - before.TotalAlloc) / 100; perRun > 8<<10 {
		t.Fatalf("%d bytes allocated per decode of a hostile length", perRun)
	}
}

func TestShowEscapesControlCharacters(t *testing.T) {
	var p Packet
	Decode(&p, unhex(t, "30 07 0005 61 01 09 7f 62"), &ConnState{Version: spec.V311}, ToServer, nil)
	for _, n := range p.Nodes {
		if n.Field == spec.Topic {
			if got, want := n.Show(), "a\\x1\t\\x7fb"; got != want {
				t.Errorf("Show() = %q, want %q (as tshark's PDML)", got, want)
			}
			return
		}
	}
	t.Fatal("no topic node")
}

func TestAppendSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0.000000", 2339 * time.Microsecond: "0.002339", 1500 * time.Nanosecond: "0.000002",
		90*time.Second + 7*time.Millisecond: "90.007000", -time.Millisecond: "-0.001000",
	} {
		if got := string(appendSeconds(nil, d)); got != want {
			t.Errorf("appendSeconds(%v) = %q, want %q", d, got, want)
		}
	}
}
