package luagen

import (
	"bytes"
	"path/filepath"
	"testing"
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
