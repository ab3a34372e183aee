package main

import (
	"fmt"

	"github.com/mqttdissect/mqttdissect/spec"
)

// readingFlags are the flags every command that reads captures shares.
type readingFlags struct {
	ports       []uint
	mqttVersion string
	transportFlags

	// resolved by resolve
	portList []uint16
	version  spec.Version
}

// resolve checks the flags and fills in portList and version.
func (r *readingFlags) resolve() error {
	if r.mqttVersion != "" {
		v, ok := spec.ParseVersion(r.mqttVersion)
		if !ok {
			return fmt.Errorf("unknown --mqtt-version %q (want 3.1, 3.1.1 or 5)", r.mqttVersion)
		}
		r.version = v
	}
	r.portList = r.portList[:0]
	for _, p := range r.ports {
		if p == 0 || p > 65535 {
			return fmt.Errorf("--port %d is not a TCP port", p)
		}
		r.portList = append(r.portList, uint16(p))
	}
	return r.transportFlags.resolve()
}

// checkProgress checks the --progress flag of decode and stats.
func checkProgress(mode string) error {
	switch mode {
	case "auto", "always", "never":
		return nil
	}
	return fmt.Errorf("unknown --progress %q (want auto, always or never)", mode)
}
