package luagen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/spec"
)

// TestTLSDoNoHarm loads the generated dissector into every real tshark
// with the key log of the real TLS captures: Wireshark's own MQTT still
// reads every decrypted packet exactly as without the script, and the
// script takes none of them (releases with a built-in MQTT already read
// 8883; the script registers there only where there is none).
func TestTLSDoNoHarm(t *testing.T) {
	lua := writeLua(t, Options{})
	for _, bin := range tsharks(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			for _, name := range []string{"tls12", "tls13"} {
				dir := filepath.Join("..", "testdata", "transport")
				capture, _ := filepath.Abs(filepath.Join(dir, name+".pcap"))
				keys, _ := filepath.Abs(filepath.Join(dir, name+".keys"))
				args := []string{"-o", "tls.keylog_file:" + keys, "-Y", "mqtt", "-T", "fields", "-e", "frame.number", "-e", "mqtt.msgtype"}
				without := tshark(t, bin, "", capture, args...)
				with := tshark(t, bin, lua, capture, args...)
				if len(bytes.TrimSpace(without)) == 0 {
					t.Errorf("%s: Wireshark decrypts no MQTT", name)
				}
				if !bytes.Equal(with, without) {
					t.Errorf("%s: the script changes Wireshark's MQTT over TLS:\nwith:\n%s\nwithout:\n%s", name, with, without)
				}
				if taken := tshark(t, bin, lua, capture, "-o", "tls.keylog_file:"+keys, "-Y", FallbackName); len(bytes.TrimSpace(taken)) > 0 {
					t.Errorf("%s: the script reads packets Wireshark reads:\n%s", name, taken)
				}
			}
		})
	}
}

// TestTLSDecodeAs: where Wireshark has its own MQTT, one Decode As hands the
// decrypted data of the real TLS captures to the generated dissector
// (tshark -o tls.keylog_file:KEYS -d tls.port==8883,mqttlua), which then
// reads every MQTT packet as the native decoder does with the same key log,
// and field for field as Wireshark's own dissector.
func TestTLSDecodeAs(t *testing.T) {
	lua := writeLua(t, Options{})
	for _, bin := range tsharks(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			for _, name := range []string{"tls12", "tls13"} {
				dir := filepath.Join("..", "testdata", "transport")
				capture, _ := filepath.Abs(filepath.Join(dir, name+".pcap"))
				keys, _ := filepath.Abs(filepath.Join(dir, name+".keys"))
				opts := []string{"-o", "tls.keylog_file:" + keys}
				got := readWithLuaArgs(t, bin, lua, FallbackName, capture, append(opts, "-d", "tls.port==8883,"+FallbackName))
				if len(got.PDUs) == 0 {
					t.Fatalf("%s: the Lua dissector read nothing through Decode As", name)
				}
				f, err := os.Open(keys)
				if err != nil {
					t.Fatal(err)
				}
				kl, err := dissect.ReadKeyLog(f)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				cfg := &dissect.RunConfig{}
				cfg.Transport = &dissect.TransportConfig{KeyLog: kl}
				native := readNativeWith(t, capture, cfg)
				report(t, name+": Lua vs native", diffPDUs(asNative(got.PDUs), native.PDUs, "Lua", "native"))

				builtin, err := readPDML(bytes.NewReader(xmlSafe(tshark(t, bin, "", capture, append(opts, "-T", "pdml")...))), spec.MQTT.Filter)
				if err != nil {
					t.Fatal(err)
				}
				luaFields := make([]pdu, len(got.PDUs))
				for i, p := range got.PDUs {
					luaFields[i] = pdu{Frame: p.Frame, Fields: p.Fields}
				}
				wsFields := make([]pdu, len(builtin.PDUs))
				for i, p := range builtin.PDUs {
					wsFields[i] = pdu{Frame: p.Frame, Fields: p.Fields}
				}
				report(t, name+": Lua vs Wireshark", diffPDUs(luaFields, wsFields, "Lua", "Wireshark"))
			}
		})
	}
}
