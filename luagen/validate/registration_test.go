package validate

import (
	"bytes"
	"slices"
	"testing"

	"github.com/mqttdissect/mqttdissect/luagen/wslua"
)

// TestGeneratedRegistration checks the ports the generated dissector takes
// in each emulated release: 1883 where Wireshark has no MQTT dissector
// (1.10), none where it has one unless the take_over preference or the
// file's TAKE_OVER says so; with none, validate reads 1883 through Decode
// As.
func TestGeneratedRegistration(t *testing.T) {
	src := generatedLua(t)
	takeOver := bytes.Replace(src, []byte("local TAKE_OVER = false"), []byte("local TAKE_OVER = true"), 1)
	if bytes.Equal(takeOver, src) {
		t.Fatal("the generated file has no TAKE_OVER constant")
	}
	for _, tc := range []struct {
		name     string
		src      []byte
		profile  wslua.Profile
		prefs    []string
		decodeAs bool
	}{
		{"1.10", src, wslua.Profile110, nil, false},
		{"1.12", src, wslua.Profile112, nil, true},
		{"4.0", src, wslua.Profile40, nil, true},
		{"4.0, preference on", src, wslua.Profile40, []string{"mqttlua.take_over=TRUE"}, false},
		{"4.4, take-over file", takeOver, wslua.Profile44, nil, false},
		{"4.4, take-over file, preference off", takeOver, wslua.Profile44, []string{"mqttlua.take_over=FALSE"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newValidator(t, "mqtt.lua", tc.src, Options{Profile: tc.profile, Prefs: tc.prefs})
			if v.DecodeAs() != tc.decodeAs || !slices.Equal(v.Ports(), []uint16{1883}) {
				t.Errorf("ports %v, Decode As %v; want 1883, Decode As %v", v.Ports(), v.DecodeAs(), tc.decodeAs)
			}
			res := runFile(t, v, "../../testdata/v311.pcap", nil)
			if !res.OK() || res.PDUs == 0 {
				t.Errorf("%s", report(res))
			}
		})
	}
}
