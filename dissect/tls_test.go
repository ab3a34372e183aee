package dissect

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttdissect/mqttdissect/internal/pcapbuild"
)

var (
	tlsClient = netip.MustParseAddrPort("192.0.2.10:40002")
	tlsServer = netip.MustParseAddrPort("192.0.2.1:8883")
)

// tlsChunk is one write on a recorded TLS connection.
type tlsChunk struct {
	dir  pcapbuild.Dir
	data []byte
}

// recConn records what is written on a net.Pipe end.
type recConn struct {
	net.Conn
	dir    pcapbuild.Dir
	mu     *sync.Mutex
	chunks *[]tlsChunk
}

func (c *recConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	*c.chunks = append(*c.chunks, tlsChunk{c.dir, bytes.Clone(b)})
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func testCert(t testing.TB) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"broker"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsSession runs a real crypto/tls session over a pipe in which the client
// sends toServer and the server answers toClient after reading it, and
// returns what went over the wire and the client's key log.
func tlsSession(t testing.TB, version uint16, suite uint16, toServer, toClient [][]byte) ([]tlsChunk, []byte) {
	t.Helper()
	var mu sync.Mutex
	var chunks []tlsChunk
	var keylog bytes.Buffer
	a, b := net.Pipe()
	cc := &recConn{Conn: a, dir: pcapbuild.ToServer, mu: &mu, chunks: &chunks}
	sc := &recConn{Conn: b, dir: pcapbuild.ToClient, mu: &mu, chunks: &chunks}
	cfg := &tls.Config{Certificates: []tls.Certificate{testCert(t)}, MinVersion: version, MaxVersion: version}
	if suite != 0 {
		cfg.CipherSuites = []uint16{suite}
	}
	server := tls.Server(sc, cfg)
	client := tls.Client(cc, &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version, KeyLogWriter: &keylog, CipherSuites: cfg.CipherSuites})
	done := make(chan error, 1)
	go func() {
		for i, m := range toServer {
			if _, err := io.ReadFull(server, make([]byte, len(m))); err != nil {
				done <- err
				return
			}
			if i < len(toClient) {
				if _, err := server.Write(toClient[i]); err != nil {
					done <- err
					return
				}
			}
		}
		done <- server.Close()
	}()
	for i, m := range toServer {
		if _, err := client.Write(m); err != nil {
			t.Fatal(err)
		}
		if i < len(toClient) {
			if _, err := io.ReadFull(client, make([]byte, len(toClient[i]))); err != nil {
				t.Fatal(err)
			}
		}
	}
	io.Copy(io.Discard, client) // until the server's close_notify
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	client.Close()
	mu.Lock()
	defer mu.Unlock()
	return chunks, keylog.Bytes()
}

func tlsCapture(chunks []tlsChunk) []byte {
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(tlsClient, tlsServer)
	c.Handshake()
	for _, ch := range chunks {
		c.Send(ch.dir, ch.data)
	}
	c.Close()
	return b.Pcap()
}

func TestTLS(t *testing.T) {
	big := append(unhex(t, "30 ec a2 04 0003 612f62"), bytes.Repeat([]byte("y"), 69991)...)
	toServer := [][]byte{unhex(t, connect311), append(publish200(t), big...)}
	toClient := [][]byte{unhex(t, "20 02 00 00")}
	want := "Connect Command:tls\nConnect Ack:tls\nPublish Message [a/b]:tls\nPublish Message [a/b]:tls"
	tests := []struct {
		name    string
		version uint16
		suite   uint16
	}{
		{"TLS 1.3", tls.VersionTLS13, 0},
		{"TLS 1.2 ECDHE AES-128-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"TLS 1.2 ECDHE AES-256-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{"TLS 1.2 ECDHE ChaCha20-Poly1305", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, keylog := tlsSession(t, tt.version, tt.suite, toServer, toClient)
			capture := tlsCapture(chunks)
			kl, err := ReadKeyLog(bytes.NewReader(keylog))
			if err != nil {
				t.Fatal(err)
			}
			pkts, notes := runTransport(t, capture, &TransportConfig{KeyLog: kl})
			if got := stripFrames(pkts); got != want {
				t.Errorf("packets:\n%s\nwant:\n%s", got, want)
			}
			if len(notes) > 0 {
				t.Errorf("notes: %q", notes)
			}
			// Without the key log: one note, no packets.
			pkts, notes = runTransport(t, capture, nil)
			if len(pkts) > 0 || len(notes) != 1 || !strings.Contains(notes[0], "keys not in the key log") {
				t.Errorf("without the key log: packets %q, notes %q", pkts, notes)
			}
			// Another session's key log: one note naming the client random.
			other, _ := tlsSession(t, tt.version, tt.suite, toServer[:1], toClient)
			_ = other
			pkts, notes = runTransport(t, tlsCapture(other), &TransportConfig{KeyLog: kl})
			if len(pkts) > 0 || len(notes) != 1 || !strings.Contains(notes[0], "keys not in the key log (client random") {
				t.Errorf("with another session's keys: packets %q, notes %q", pkts, notes)
			}
		})
	}
}

// stripFrames drops the frame numbers of runTransport's lines.
func stripFrames(pkts []string) string {
	out := make([]string, len(pkts))
	for i, p := range pkts {
		_, out[i], _ = strings.Cut(p, ":")
	}
	return strings.Join(out, "\n")
}

// tls13Writer protects records as a TLS 1.3 peer would (RFC 8446 §5.2).
type tls13Writer struct {
	l      *tlsLayer // for the key schedule of the suite
	h      tlsHalf
	secret []byte
}

func (w *tls13Writer) use(secret []byte) {
	w.secret = secret
	w.l.install(&w.h, secret)
}

func (w *tls13Writer) seal(typ byte, plain []byte) []byte {
	var nonce [12]byte
	copy(nonce[:], w.h.iv)
	xorSeq(&nonce, w.h.seq)
	w.h.seq++
	inner := append(bytes.Clone(plain), typ, 0, 0) // two bytes of padding
	n := len(inner) + w.h.aead.Overhead()
	hdr := []byte{recApplicationData, 3, 3, byte(n >> 8), byte(n)}
	return w.h.aead.Seal(hdr, nonce[:], inner, hdr)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func handshakeRecord(typ byte, body []byte) []byte {
	msg := append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{recHandshake, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// TestTLS13SuitesAndKeyUpdate builds TLS 1.3 sessions record by record for
// the suites crypto/tls cannot be made to choose, with KeyUpdate in both
// directions.
func TestTLS13SuitesAndKeyUpdate(t *testing.T) {
	for _, suite := range []uint16{0x1301, 0x1302, 0x1303} {
		t.Run(CipherSuiteName(suite), func(t *testing.T) {
			si := suites[suite]
			hl := 32
			if si.sha384 {
				hl = 48
			}
			cr, sr := randBytes(32), randBytes(32)
			secrets := map[string][]byte{}
			var keylog strings.Builder
			for _, label := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} {
				secrets[label] = randBytes(hl)
				keylog.WriteString(label + " " + hexString(cr) + " " + hexString(secrets[label]) + "\n")
			}
			kl, err := ReadKeyLog(strings.NewReader("# a comment\n\nEXPORTER_SECRET " + hexString(cr) + " 00\n" + keylog.String()))
			if err != nil {
				t.Fatal(err)
			}
			layer := &tlsLayer{suite: si}
			cw, sw := &tls13Writer{l: layer}, &tls13Writer{l: layer}
			cw.use(secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"])
			sw.use(secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"])

			b := pcapbuild.New(pcapbuild.Options{})
			c := b.Conn(tlsClient, tlsServer)
			c.Handshake()
			// The ClientHello offers early data (extension 42): 0-RTT
			// records under a key not in the key log are skipped.
			hello := append(append([]byte{3, 3}, cr...), 0, 0, 2, byte(suite>>8), byte(suite), 1, 0, 0, 4, 0, 42, 0, 0)
			early := &tls13Writer{l: layer}
			early.use(randBytes(hl))
			c.Send(pcapbuild.ToServer, append(handshakeRecord(hsClientHello, hello), early.seal(recApplicationData, unhex(t, connect311))...))
			sh := append(append([]byte{3, 3}, sr...), 0, byte(suite>>8), byte(suite), 0, 0, 6, 0, 43, 0, 2, 3, 4)
			finished := append([]byte{hsFinished, 0, 0, byte(hl)}, make([]byte, hl)...)
			flight := append(handshakeRecord(hsServerHello, sh), recChangeCipherSpec, 3, 3, 0, 1, 1)
			// Encrypted extensions and a certificate too long to keep
			// (skipped, not stored), then Finished.
			cert := append([]byte{11, 1, 0, 0}, make([]byte, 1<<16)...)
			for len(cert) > 0 {
				n := min(len(cert), 1<<14)
				flight = append(flight, sw.seal(recHandshake, cert[:n])...)
				cert = cert[n:]
			}
			flight = append(flight, sw.seal(recHandshake, finished)...)
			var cuts []int
			for i := 1400; i < len(flight); i += 1400 {
				cuts = append(cuts, i)
			}
			c.SendSplit(pcapbuild.ToClient, flight, cuts...)
			sw.use(secrets["SERVER_TRAFFIC_SECRET_0"])
			// EndOfEarlyData (RFC 8446 §4.5), still under the early key.
			c.Send(pcapbuild.ToServer, early.seal(recHandshake, []byte{5, 0, 0, 0}))
			c.Send(pcapbuild.ToServer, append([]byte{recChangeCipherSpec, 3, 3, 0, 1, 1}, cw.seal(recHandshake, finished)...))
			cw.use(secrets["CLIENT_TRAFFIC_SECRET_0"])
			c.Send(pcapbuild.ToServer, cw.seal(recApplicationData, unhex(t, connect311)))
			c.Send(pcapbuild.ToClient, sw.seal(recApplicationData, unhex(t, "20 02 00 00")))
			// KeyUpdate (RFC 8446 §4.6.3) from each side, then data under
			// the next generation of keys.
			c.Send(pcapbuild.ToServer, cw.seal(recHandshake, []byte{hsKeyUpdate, 0, 0, 1, 1}))
			cw.use(layer.expandLabel(cw.secret, "traffic upd", hl))
			p := publish200(t)
			c.Send(pcapbuild.ToServer, append(cw.seal(recApplicationData, p[:50]), cw.seal(recApplicationData, p[50:])...))
			c.Send(pcapbuild.ToClient, sw.seal(recHandshake, []byte{hsKeyUpdate, 0, 0, 1, 0}))
			sw.use(layer.expandLabel(sw.secret, "traffic upd", hl))
			c.Send(pcapbuild.ToClient, sw.seal(recApplicationData, unhex(t, "d0 00")))
			c.Close()

			pkts, notes := runTransport(t, b.Pcap(), &TransportConfig{KeyLog: kl})
			want := "Connect Command:tls\nConnect Ack:tls\nPublish Message [a/b]:tls\nPing Response:tls"
			if got := stripFrames(pkts); got != want {
				t.Errorf("packets:\n%s\nwant:\n%s", got, want)
			}
			if len(notes) > 0 {
				t.Errorf("notes: %q", notes)
			}
		})
	}
}

func hexString(b []byte) string { return string(hexBytes(b)) }

func TestTLSRecordErrors(t *testing.T) {
	toServer := [][]byte{unhex(t, connect311), unhex(t, pingreq)}
	toClient := [][]byte{unhex(t, "20 02 00 00"), unhex(t, "d0 00")}
	chunks, keylog := tlsSession(t, tls.VersionTLS13, 0, toServer, toClient)
	kl, err := ReadKeyLog(bytes.NewReader(keylog))
	if err != nil {
		t.Fatal(err)
	}
	// Flip a bit in the client's record with the PINGREQ (the last is its
	// close_notify): a bad record MAC is a note on that direction; the
	// server's side still decodes.
	var app []int
	for i, ch := range chunks {
		if ch.dir == pcapbuild.ToServer && ch.data[0] == recApplicationData {
			app = append(app, i)
		}
	}
	last := app[len(app)-2]
	bad := append([]tlsChunk(nil), chunks...)
	bad[last].data = bytes.Clone(bad[last].data)
	bad[last].data[len(bad[last].data)-1] ^= 1
	pkts, notes := runTransport(t, tlsCapture(bad), &TransportConfig{KeyLog: kl})
	if got, want := stripFrames(pkts), "Connect Command:tls\nConnect Ack:tls\nPing Response:tls"; got != want {
		t.Errorf("packets:\n%s\nwant:\n%s", got, want)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "could not be decrypted") {
		t.Errorf("notes: %q", notes)
	}

	// A hostile record length and an unknown record type stop their
	// direction with a note.
	for name, rec := range map[string][]byte{
		"oversized record": {recApplicationData, 3, 3, 0xff, 0xff, 1, 2, 3},
		"unknown type":     {99, 3, 3, 0, 1, 0},
	} {
		t.Run(name, func(t *testing.T) {
			b := pcapbuild.New(pcapbuild.Options{})
			c := b.Conn(tlsClient, tlsServer)
			c.Handshake()
			c.Send(pcapbuild.ToServer, handshakeRecord(hsClientHello, append([]byte{3, 3}, make([]byte, 38)...)))
			c.Send(pcapbuild.ToServer, rec)
			c.Close()
			_, notes := runTransport(t, b.Pcap(), &TransportConfig{KeyLog: kl})
			if len(notes) == 0 || !strings.Contains(notes[0], "the rest of this direction is not read") {
				t.Errorf("notes: %q", notes)
			}
		})
	}
}

func TestReadKeyLog(t *testing.T) {
	cr := strings.Repeat("ab", 32)
	tests := []struct {
		name, in, err string
		entries       int
	}{
		{"empty", "", "", 0},
		{"all labels", "CLIENT_RANDOM " + cr + " " + strings.Repeat("01", 48) + "\nCLIENT_TRAFFIC_SECRET_0 " + cr + " " + strings.Repeat("02", 32) + "\nRSA 0011223344556677 " + strings.Repeat("03", 48) + "\n", "", 2},
		{"two fields", "CLIENT_RANDOM " + cr + "\n", "line 1: not an NSS key log (want LABEL CLIENT_RANDOM SECRET)", 0},
		{"bad random", "CLIENT_RANDOM zz" + cr[2:] + " 00\n", "line 1: not an NSS key log (the client random is not hex)", 0},
		{"secret too long", "\n# x\nCLIENT_RANDOM " + cr + " " + strings.Repeat("00", 65) + "\n", "line 3: not an NSS key log (the secret is not hex of at most 64 bytes)", 0},
		{"line too long", strings.Repeat("x", 5000), "line 1: not an NSS key log (a line over 4096 bytes)", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kl, err := ReadKeyLog(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), cr[:8]) {
					t.Error("the error shows key log content")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kl.Entries != tt.entries {
				t.Errorf("%d entries, want %d", kl.Entries, tt.entries)
			}
		})
	}
}

// FuzzTLS feeds arbitrary records after a real TLS 1.3 handshake whose
// keys are known: the layer never panics and hands up no more bytes than
// it was given.
func FuzzTLS(f *testing.F) {
	chunks, keylog := tlsSession(f, tls.VersionTLS13, 0, [][]byte{{0xc0, 0}}, [][]byte{{0xd0, 0}})
	kl, err := ReadKeyLog(bytes.NewReader(keylog))
	if err != nil {
		f.Fatal(err)
	}
	for _, ch := range chunks {
		f.Add(ch.data, uint8(ch.dir), 7)
	}
	f.Add([]byte{recHandshake, 3, 3, 0, 4, hsServerHello, 0, 0, 0}, uint8(1), 1)
	f.Fuzz(func(t *testing.T, extra []byte, dir uint8, step int) {
		ts := newTransportShared(&TransportConfig{KeyLog: kl}, func(ConnNote) {})
		sink := &wsSink{}
		l := newTLSLayer(ts, ConnKey{}, sink, &Via{})
		fr := &Frame{Number: 1}
		in := 0
		feed := func(d Direction, b []byte) {
			step := max(1, step&1023)
			for len(b) > 0 {
				n := min(step, len(b))
				l.Data(d, bytes.Clone(b[:n]), fr)
				in += n
				b = b[n:]
			}
		}
		for _, ch := range chunks {
			feed(Direction(ch.dir), ch.data)
		}
		feed(Direction(dir&1), extra)
		l.Close(nil, true)
		if out := len(sink.data[0]) + len(sink.data[1]); out > in {
			t.Fatalf("handed up %d bytes from %d", out, in)
		}
	})
}

// TestTLSOn443SaysOnce: port 443 is mostly HTTPS; undecrypted connections
// there are reported once, not one note each.
func TestTLSOn443SaysOnce(t *testing.T) {
	chunks, _ := tlsSession(t, tls.VersionTLS13, 0, [][]byte{unhex(t, pingreq)}, [][]byte{unhex(t, "d0 00")})
	b := pcapbuild.New(pcapbuild.Options{})
	for i := range 3 {
		c := b.Conn(netip.AddrPortFrom(tlsClient.Addr(), uint16(41000+i)), netip.MustParseAddrPort("192.0.2.1:443"))
		c.Handshake()
		for _, ch := range chunks {
			c.Send(ch.dir, ch.data)
		}
		c.Close()
	}
	_, notes := runTransport(t, b.Pcap(), nil)
	if len(notes) != 1 || !strings.Contains(notes[0], "later TLS connections to port 443 without keys are not reported") {
		t.Errorf("notes: %q", notes)
	}
}

// TestTLSOn443IsNotMQTTWithoutUpgrade: decrypted traffic on 443 is HTTPS
// unless it upgrades to WebSocket; it is never read as MQTT.
func TestTLSOn443IsNotMQTTWithoutUpgrade(t *testing.T) {
	chunks, keylog := tlsSession(t, tls.VersionTLS13, 0, [][]byte{unhex(t, connect311), []byte("GET / HTTP/1.1\r\n\r\n")}, [][]byte{unhex(t, "20 02 00 00")})
	kl, err := ReadKeyLog(bytes.NewReader(keylog))
	if err != nil {
		t.Fatal(err)
	}
	b := pcapbuild.New(pcapbuild.Options{})
	c := b.Conn(tlsClient, netip.MustParseAddrPort("192.0.2.1:443"))
	c.Handshake()
	for _, ch := range chunks {
		c.Send(ch.dir, ch.data)
	}
	c.Close()
	pkts, notes := runTransport(t, b.Pcap(), &TransportConfig{KeyLog: kl})
	if len(pkts) > 0 || len(notes) != 1 || !strings.Contains(notes[0], "no WebSocket upgrade") {
		t.Errorf("packets %q, notes %q", pkts, notes)
	}
}

// FuzzReadKeyLog: any file is read or refused without a panic, and an
// error never quotes the file.
func FuzzReadKeyLog(f *testing.F) {
	cr := strings.Repeat("ab", 32)
	f.Add([]byte("CLIENT_RANDOM " + cr + " " + strings.Repeat("5a", 48) + "\n"))
	f.Add([]byte("# comment\n\nSERVER_TRAFFIC_SECRET_0 " + cr + " " + strings.Repeat("5a", 32)))
	f.Add([]byte("CLIENT_RANDOM " + cr + " 5a5\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kl, err := ReadKeyLog(bytes.NewReader(b))
		if err != nil {
			msg := err.Error()
			for _, w := range strings.Fields(string(b)) {
				if len(w) >= 8 && strings.Contains(msg, w) && !strings.Contains(ErrKeyLog.Error()+" (want LABEL CLIENT_RANDOM SECRET) (the client random is not 32 bytes of hex) (the client random is not hex) (the secret is not hex of at most 64 bytes) (the secret is not hex) (a line over 4096 bytes)", w) {
					t.Fatalf("error %q quotes the key log (%q)", msg, w)
				}
			}
			return
		}
		if kl.Entries > len(b) {
			t.Fatalf("%d entries from %d bytes", kl.Entries, len(b))
		}
	})
}
