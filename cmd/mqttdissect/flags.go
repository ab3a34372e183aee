package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

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

// parsePortArgs reads --port values of decode and stats: port numbers
// (repeatable, or comma-separated), or "any".
func parsePortArgs(args []string) (ports []uint, any bool, err error) {
	for _, arg := range args {
		for _, p := range strings.Split(arg, ",") {
			p = strings.TrimSpace(p)
			if strings.EqualFold(p, "any") {
				any = true
				continue
			}
			n, err := strconv.ParseUint(p, 10, 32)
			if err != nil {
				return nil, false, fmt.Errorf("--port %q: want a TCP port number or any", p)
			}
			ports = append(ports, uint(n))
		}
	}
	if any && len(ports) > 0 {
		return nil, false, errors.New("--port any finds the ports itself: give it alone")
	}
	return ports, any, nil
}

// findPorts is --port any: it reads the files once for the TCP ports whose
// streams start with an MQTT CONNECT, and says on w what it found. No port
// found is not an error (it is said); input that cannot be read twice is.
func findPorts(w io.Writer, label string, names []string) ([]uint16, error) {
	counts, scanned := scanFiles(names)
	if !scanned {
		return nil, usageError{fmt.Errorf("--port any reads the capture twice, so it needs a file: save %s to a file, or name the port with --port N", label)}
	}
	var ports []uint16
	var desc []string
	for _, c := range mqttPorts(counts) {
		ports = append(ports, c.port)
		desc = append(desc, fmt.Sprintf("%d (%s, %d answered by CONNACK)", c.port, plural(c.connects, "connection", "connections"), c.connacks))
	}
	if len(ports) == 0 {
		fmt.Fprintf(w, "mqttdissect: %s: --port any found no TCP stream starting with an MQTT CONNECT\n", label)
		return nil, nil
	}
	fmt.Fprintf(w, "mqttdissect: %s: MQTT found on TCP port %s\n", label, strings.Join(desc, ", "))
	return ports, nil
}
