package validate

import (
	"testing"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/internal/hostile"
)

// TestRepeatCeilingCompared (issue 11, case 3): the native decoder shows the
// first dissect.DefaultMaxRepeat filters of a long SUBSCRIBE; the Lua tree
// is compared up to there, not reported as adding the rest.
func TestRepeatCeilingCompared(t *testing.T) {
	v := newValidator(t, "mqtt.lua", generatedLua(t), Options{})
	res := runBytes(t, v, "subscribe.pcap", hostile.BigSubscribe(dissect.DefaultMaxRepeat+500), nil)
	if !res.OK() || res.Fields < 3*dissect.DefaultMaxRepeat {
		t.Errorf("%s", report(res))
	}
}
