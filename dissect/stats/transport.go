package stats

import "github.com/mqttdissect/mqttdissect/dissect"

// setTransport records the layers a session's MQTT travelled in.
func setTransport(s *Session, v *dissect.Via) {
	if v == nil || v.Transport == dissect.TransportTCP {
		return
	}
	s.Transport = v.Transport.String()
	if v.TLS != nil {
		s.TLSVersion = dissect.TLSVersionName(v.TLS.Version)
		s.TLSCipherSuite = dissect.CipherSuiteName(v.TLS.Suite)
	}
}

// transports prints each session's transport when any session did not
// travel over plain TCP (captures of plain MQTT keep their report as it
// was).
func transports(d *doc, rows []Session) {
	any := false
	for i := range rows {
		any = any || rows[i].Transport != ""
	}
	if !any {
		return
	}
	t := newTable(">#", "Transport", "TLS version", "Cipher suite")
	for _, s := range rows {
		tr, ver, suite := s.Transport, s.TLSVersion, s.TLSCipherSuite
		if tr == "" {
			tr = "tcp"
		}
		if ver == "" {
			ver, suite = "-", "-"
		}
		t.add(itoa(s.Conn), tr, ver, suite)
	}
	d.table(t)
}
