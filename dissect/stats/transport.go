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

// attachTransport makes what the TLS and WebSocket layers say about whole
// connections (keys missing, record errors, framing) problems of the
// report, so a report read without the terminal's stderr still says them.
func (a *Analyzer) attachTransport(rc *dissect.RunConfig) {
	onNote := rc.OnConnNote
	rc.OnConnNote = func(n dissect.ConnNote) {
		kind := n.Kind.String()
		a.problem("transport", kind, "warning", kind, n.Message, n.Frame)
		if onNote != nil {
			onNote(n)
		}
	}
}
