package main

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
	"github.com/mqttdissect/mqttdissect/internal/testtool"
)

// tsharkFilters are display filters that must select the same frames, and
// print the same -T fields rows, in decode and in tshark 4.0. Together they
// use every operator, literal kind and function the filter language has.
// Filters that could hold on frames without MQTT (not, tcp.*, frame.*) say
// "mqtt &&": decode only ever shows frames that carry MQTT.
var tsharkFilters = []string{
	`mqtt.qos >= 1 && mqtt.topic matches "^sensors/"`,
	`mqtt.qos == 1`,
	`mqtt.qos != 0`,
	`mqtt.qos ~= 0`,
	`mqtt.qos > 0`,
	`mqtt.qos < 2 && mqtt.msgtype == 3`,
	`mqtt.len <= 10`,
	`mqtt.len ge 100`,
	`mqtt.msgtype eq 8 or mqtt.msgtype eq 10`,
	`mqtt.msgtype ne 3`,
	`mqtt.msgtype gt 8`,
	`mqtt.msgtype lt 3`,
	`mqtt.msgid le 2`,
	`mqtt.msgtype === 10`,
	`mqtt.msgtype !== 10`,
	`mqtt.topic contains "home"`,
	`mqtt.topic matches "TEMP$"`,
	`mqtt.topic matches "^[a-z0-9]+/(home|sensors)/"`,
	`mqtt.msgtype in {3, 8}`,
	`mqtt.msgtype in {4..7, 14}`,
	`mqtt.topic in {"v5/plain", "any/a", "sensors/kitchen/temp"}`,
	`mqtt && !(mqtt.msgtype == 3)`,
	`mqtt && not mqtt.topic contains "/"`,
	`mqtt.willmsg`,
	`mqtt.username and mqtt.passwd`,
	`mqtt.conflag.cleansess == 1 && mqtt.kalive >= 30`,
	`mqtt.retain == True`,
	`mqtt.retain == 0 && mqtt.dupflag == False`,
	`mqtt.msgtype == "Publish Message"`,
	`mqtt.msgtype == "connect ack"`,
	`mqtt.conack.val == 5 || mqtt.connack.reason_code >= 0x80`,
	`mqtt.conack.val != 0`,
	`mqtt.msg contains 6f:6e`,
	`mqtt.msg contains "big payload"`,
	`mqtt.msg[0:1] == 7b`,
	`mqtt.topic[0:2] == "v5"`,
	`len(mqtt.topic) > 10`,
	`count(mqtt.topic) >= 2`,
	`lower(mqtt.clientid) contains "v5"`,
	`upper(mqtt.topic) == "ANY/A"`,
	`(mqtt.msgtype == 3 || mqtt.msgtype == 8) && mqtt.qos == 0`,
	`mqtt.msgtype == 3 && mqtt.topic == "v5/plain" || mqtt.msgtype == 8`,
	`mqtt && tcp.srcport == 1883 && mqtt.msgtype == 9`,
	`mqtt && ip.src == 127.0.0.1 && mqtt.msgtype == 1`,
	`mqtt && ip.addr == 127.0.0.0/8 && mqtt.msgtype == 14`,
	`mqtt && frame.number <= 20`,
	`mqtt && tcp.stream == 1`,
	`mqtt.ver == 5`,
	`mqtt.ver == "MQTT v3.1"`,
	`mqtt.property_id == 0x26`,
	`mqtt.prop_key == "k"`,
	`mqtt.hdrflags == 0x82`,
	`mqtt.topic == "v5/tmp"`,
	`mqtt.topic != "v5/tmp"`,
	`mqtt.topic > "v5/p"`,
	`mqtt.suback.qos == 128 || mqtt.sub.qos == 2`,
	`mqtt.subscription_options_qos == 1`,
	`mqtt.topic == r"any/a"`,
	`mqtt.clientid == "\x76\x35-sub"`,
	`mqtt.topic[0] == 'v'`,
	`mqtt.msgid == 0x1 and mqtt.msgtype in {"Publish Ack", 5}`,
	`mqtt.msgid != mqtt.qos`,
	`mqtt.msgid > mqtt.qos && tcp.srcport != tcp.dstport`,
}

// TestFilterFieldsMatchTshark compares decode -Y ... -T fields with the
// same tshark command, on every capture of testdata.
func TestFilterFieldsMatchTshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	if len(tsharkFilters) < 30 {
		t.Fatalf("only %d filters", len(tsharkFilters))
	}
	fields := []string{"-T", "fields", "-e", "frame.number", "-e", "mqtt.topic", "-e", "mqtt.msg"}
	type job struct{ capture, filter string }
	var jobs []job
	for _, c := range captures(t) {
		for _, f := range tsharkFilters {
			jobs = append(jobs, job{c, f})
		}
	}
	rows := 0
	var mu sync.Mutex
	sem := make(chan struct{}, 2) // two tshark at a time
	t.Cleanup(func() {
		if rows == 0 {
			t.Error("no filter selected anything")
		}
	})
	for _, j := range jobs {
		t.Run(filepath.Base(j.capture)+"/"+j.filter, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			want := tsharkFields(t, tshark, append([]string{"-r", j.capture, "-Y", j.filter}, fields...)...)
			got, stderr, code := runBinary(t, nil, append([]string{"decode", "-Y", j.filter, j.capture}, fields...)...)
			if code != 0 && code != 1 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if got != want {
				t.Errorf("decode and tshark differ:\n%s", firstDiff(got, want))
			}
			mu.Lock()
			rows += strings.Count(want, "\n")
			mu.Unlock()
		})
	}
}

// TestFieldsOutputMatchesTshark prints many fields of every kind (integers
// in both bases, booleans, text, bytes, subtrees, frame and TCP
// pseudo-fields) with tshark's -E options, on every capture.
func TestFieldsOutputMatchesTshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	many := []string{"-e", "frame.number", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst",
		"-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.stream", "-e", "mqtt.msgtype", "-e", "mqtt.hdrflags",
		"-e", "mqtt.qos", "-e", "mqtt.retain", "-e", "mqtt.dupflag", "-e", "mqtt.len", "-e", "mqtt.msgid",
		"-e", "mqtt.topic", "-e", "mqtt.msg", "-e", "mqtt.clientid", "-e", "mqtt.username", "-e", "mqtt.passwd",
		"-e", "mqtt.willmsg", "-e", "mqtt.conflags", "-e", "mqtt.conflag.cleansess", "-e", "mqtt.kalive",
		"-e", "mqtt.conack.val", "-e", "mqtt.property_id", "-e", "mqtt.prop_number", "-e", "mqtt.prop_string",
		"-e", "mqtt.properties", "-e", "mqtt.sub.qos", "-e", "mqtt.suback.qos", "-e", "mqtt.subscription_options",
		"-e", "mqtt.ver", "-e", "mqtt.protoname", "-e", "mqtt"}
	for _, tc := range []struct {
		name string
		opts []string
	}{
		{"defaults", nil},
		{"csv", []string{"-E", "separator=,", "-E", "header=y", "-E", "quote=d"}},
		{"first", []string{"-E", "occurrence=f", "-E", "separator=/s"}},
		{"last", []string{"-E", "occurrence=l", "-E", "quote=s"}},
		{"aggregator", []string{"-E", "aggregator=|", "-E", "header=y"}},
	} {
		for _, c := range captures(t) {
			t.Run(tc.name+"/"+filepath.Base(c), func(t *testing.T) {
				args := append(append([]string{"-Y", "mqtt", "-T", "fields"}, many...), tc.opts...)
				want := tsharkFields(t, tshark, append([]string{"-r", c}, args...)...)
				got, stderr, code := runBinary(t, nil, append(append([]string{"decode"}, args...), c)...)
				if code != 0 && code != 1 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				if got != want {
					t.Errorf("decode and tshark differ:\n%s", firstDiff(got, want))
				}
			})
		}
	}
}

func tsharkFields(t *testing.T, tshark string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tshark, append([]string{"-n"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	return string(out)
}

// TestInfoColumnMatchesTshark: _ws.col.Info joins a frame's packets as
// Wireshark's Info column does. Wireshark's media dissectors append
// " (text/plain)" after a PUBLISH with a Content Type; that text is not
// MQTT's and is not produced.
func TestInfoColumnMatchesTshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	media := regexp.MustCompile(` \((text|application)/[^)]*\)`)
	for _, c := range captures(t) {
		t.Run(filepath.Base(c), func(t *testing.T) {
			args := []string{"-Y", "mqtt", "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info", "-e", "_ws.col.Protocol"}
			want := media.ReplaceAllString(tsharkFields(t, tshark, append([]string{"-r", c}, args...)...), "")
			got, _, _ := runBinary(t, nil, append(append([]string{"decode"}, args...), c)...)
			if got != want {
				t.Errorf("differs:\n%s", firstDiff(got, want))
			}
		})
	}
}

// TestPayloadTextFieldsMatchTshark: --payload-as-text is Wireshark's
// mqtt.show_msg_as_text preference, in -T fields too.
func TestPayloadTextFieldsMatchTshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	args := []string{"-T", "fields", "-e", "frame.number", "-e", "mqtt.msg_text", "-e", "mqtt.willmsg_text", "-e", "mqtt.msg"}
	for _, c := range captures(t) {
		t.Run(filepath.Base(c), func(t *testing.T) {
			want := tsharkFields(t, tshark, append([]string{"-r", c, "-o", "mqtt.show_msg_as_text:TRUE", "-Y", "mqtt"}, args...)...)
			got, _, _ := runBinary(t, nil, append(append([]string{"decode", "--payload-as-text"}, args...), c)...)
			if got != want {
				t.Errorf("differs:\n%s", firstDiff(got, want))
			}
		})
	}
}

// TestFieldsTextEscapesMatchTshark: text with control characters, quotes,
// backslashes, U+0000 and ill-formed UTF-8, in topics, client identifiers,
// user properties and payloads, prints as tshark 4.0 prints it in
// -T fields (\b \f \n \r \t escaped so a row stays one line, the rest as
// it is), and -Y compares the same values.
func TestFieldsTextEscapesMatchTshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("192.0.2.1:1883"))
	c.Handshake()
	text := "a\\b\"c\td\ne\rf\x01g\x7fh\xc3\xa9i\xffj\x07k\x08l\x0bm\x0cn\x1bo"
	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	packet := func(first byte, body []byte) []byte {
		return append([]byte{first, byte(len(body))}, body...)
	}
	connect := append(append([]byte{}, str("MQTT")...), 5, 0x02, 0, 60, 0) // v5, clean start, no properties
	connect = append(connect, str("id"+text[:12])...)
	c.Send(pcapbuild.ToServer, packet(0x10, connect))
	// PUBLISH QoS 0 with a user property (0x26) and a payload.
	props := append(append([]byte{0x26}, str("k\tey")...), str("v\nal")...)
	publish := append(append(str("t/"+text[:20]), byte(len(props))), props...)
	publish = append(publish, text+"\x00tail"...)
	c.Send(pcapbuild.ToServer, packet(0x30, publish))
	path := filepath.Join(t.TempDir(), "escapes.pcap")
	if err := os.WriteFile(path, b.Pcap(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, filter string }{
		{"all", "mqtt"},
		{"contains", `mqtt.topic contains "\t"`},
		{"equal", `mqtt.prop_value == "v\nal"`},
		{"matches", `mqtt.clientid matches "^ida.b"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, asText := range []bool{false, true} {
				args := []string{"-Y", tc.filter, "-T", "fields", "-e", "frame.number", "-e", "mqtt.topic", "-e", "mqtt.clientid",
					"-e", "mqtt.prop_key", "-e", "mqtt.prop_value", "-e", "mqtt.msg", "-e", "mqtt.msg_text"}
				targs := append([]string{"-r", path}, args...)
				dargs := append([]string{"decode"}, args...)
				if asText {
					targs = append([]string{"-o", "mqtt.show_msg_as_text:TRUE"}, targs...)
					dargs = append(dargs, "--payload-as-text")
				}
				want := tsharkFields(t, tshark, targs...)
				got, stderr, _ := runBinary(t, nil, append(dargs, path)...)
				if got != want || want == "" {
					t.Errorf("as text %v: decode and tshark differ (stderr %q):\n%s", asText, stderr, firstDiff(got, want))
				}
			}
		})
	}
}
