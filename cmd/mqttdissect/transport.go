package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/spf13/pflag"
)

// transportFlags are the flags of the layers under MQTT: WebSocket and TLS
// ports, and the TLS key log.
type transportFlags struct {
	wsPorts  []uint
	tlsPorts []uint
	keyLog   string

	// resolved by resolve
	transport *dissect.TransportConfig
}

// addTransportFlags registers the flags on a command that reads captures.
func (t *transportFlags) addTransportFlags(f *pflag.FlagSet) {
	f.UintSliceVar(&t.wsPorts, "ws-port", nil, "also read MQTT over WebSocket on this TCP port (repeatable; 80, 8080, 8083 and 9001 always)")
	f.UintSliceVar(&t.tlsPorts, "tls-port", nil, "also read MQTT over TLS on this TCP port (repeatable; 8883 and 443 always)")
	f.StringVar(&t.keyLog, "tls-keylog", "", "TLS key log file (NSS format, as SSLKEYLOGFILE or node --tls-keylog write it) to decrypt TLS")
}

func (t *transportFlags) resolve() error {
	tc := &dissect.TransportConfig{}
	var err error
	if tc.WSPorts, err = portsPlus(dissect.DefaultWSPorts, t.wsPorts, "--ws-port"); err != nil {
		return err
	}
	if tc.TLSPorts, err = portsPlus(dissect.DefaultTLSPorts, t.tlsPorts, "--tls-port"); err != nil {
		return err
	}
	if t.keyLog != "" {
		f, err := os.Open(t.keyLog)
		if err != nil {
			return fmt.Errorf("--tls-keylog: %w", err)
		}
		defer f.Close()
		kl, err := dissect.ReadKeyLog(f)
		if err != nil {
			// The error names a line number, never the line: the key
			// log is secret.
			return fmt.Errorf("--tls-keylog %s: %w", t.keyLog, err)
		}
		tc.KeyLog = kl
	}
	t.transport = tc
	return nil
}

func portsPlus(base []uint16, extra []uint, flag string) ([]uint16, error) {
	out := append([]uint16(nil), base...)
	for _, p := range extra {
		if p == 0 || p > 65535 {
			return nil, fmt.Errorf("%s %d is not a TCP port", flag, p)
		}
		out = append(out, uint16(p))
	}
	return out, nil
}

// connNotePrinter prints what the transport layers say about connections
// on w (standard error), naming the file.
func connNotePrinter(w io.Writer, file string, count *int) func(dissect.ConnNote) {
	return func(n dissect.ConnNote) {
		*count++
		fmt.Fprintf(w, "mqttdissect: %s: %s\n", file, n)
	}
}
