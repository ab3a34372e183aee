package dissect

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"

	"golang.org/x/crypto/chacha20poly1305"
)

// MQTT over TLS (MQTT 5.0 §4.2, port 8883) decrypted with a key log.
//
// The layer splits each direction into TLS records, reads the handshake
// in clear (ClientHello and ServerHello: client random, version, cipher
// suite), finds the session's secrets in the key log by client random,
// derives the record keys (RFC 8446 §7 for TLS 1.3, RFC 5246 §6.3 with the
// PRF of §5 for TLS 1.2) and hands the decrypted application data up to
// the next layer (WebSocket or MQTT). Only AEAD suites exist in TLS 1.3 and
// are used by every current TLS 1.2 client with ECDHE: AES-GCM and
// ChaCha20-Poly1305. A session without keys is counted and reported once.

// TLS record content types (RFC 8446 §5.1, RFC 5246 §6.2.1).
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
)

// TLS handshake message types (RFC 8446 §4).
const (
	hsClientHello = 1
	hsServerHello = 2
	hsFinished    = 20
	hsKeyUpdate   = 24
)

const (
	// maxTLSRecord bounds a record's body: 2^14 + 2048 is TLS 1.2's
	// ciphertext limit (RFC 5246 §6.2.3), above TLS 1.3's 2^14 + 256
	// (RFC 8446 §5.2).
	maxTLSRecord = 1<<14 + 2048
	// maxHandshakeMsg bounds a handshake message kept for reading;
	// longer ones (certificate chains) are skipped, not stored.
	maxHandshakeMsg = 1 << 16
)

const (
	tls12 = 0x0303
	tls13 = 0x0304
)

// helloRetryRandom is the ServerHello random that marks a
// HelloRetryRequest (RFC 8446 §4.1.3).
var helloRetryRandom, _ = hex.DecodeString("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

// TLSInfo describes a TLS session.
type TLSInfo struct {
	Version uint16 // the negotiated version: 0x0303 TLS 1.2, 0x0304 TLS 1.3
	Suite   uint16 // the cipher suite (IANA number)
}

type suiteInfo struct {
	name   string
	keyLen int
	sha384 bool // the suite's hash: SHA-384, else SHA-256
	chacha bool // ChaCha20-Poly1305, else AES-GCM
	tls13  bool
}

// suites are the AEAD cipher suites the layer decrypts (IANA TLS Cipher
// Suites registry names).
var suites = map[uint16]suiteInfo{
	0x1301: {"TLS_AES_128_GCM_SHA256", 16, false, false, true},
	0x1302: {"TLS_AES_256_GCM_SHA384", 32, true, false, true},
	0x1303: {"TLS_CHACHA20_POLY1305_SHA256", 32, false, true, true},
	0xc02b: {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 16, false, false, false},
	0xc02c: {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 32, true, false, false},
	0xc02f: {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 16, false, false, false},
	0xc030: {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 32, true, false, false},
	0xcca8: {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 32, false, true, false},
	0xcca9: {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 32, false, true, false},
	0x009c: {"TLS_RSA_WITH_AES_128_GCM_SHA256", 16, false, false, false},
	0x009d: {"TLS_RSA_WITH_AES_256_GCM_SHA384", 32, true, false, false},
	0x009e: {"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 16, false, false, false},
	0x009f: {"TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 32, true, false, false},
	0xccaa: {"TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 32, false, true, false},
}

// CipherSuiteName is the IANA name of a cipher suite, or its number.
func CipherSuiteName(s uint16) string {
	if si, ok := suites[s]; ok {
		return si.name
	}
	return "cipher suite 0x" + strconv.FormatUint(uint64(s), 16)
}

// TLSVersionName is Wireshark's name of a TLS version.
func TLSVersionName(v uint16) string {
	switch v {
	case 0x0301:
		return "TLS 1.0"
	case 0x0302:
		return "TLS 1.1"
	case tls12:
		return "TLS 1.2"
	case tls13:
		return "TLS 1.3"
	}
	return "TLS version 0x" + strconv.FormatUint(uint64(v), 16)
}

func (si *suiteInfo) hash() func() hash.Hash {
	if si.sha384 {
		return sha512.New384
	}
	return sha256.New
}

// tlsHalf is one direction of a TLS connection.
type tlsHalf struct {
	rec       []byte // a record whose end has not arrived (header included)
	hs        []byte // a handshake message whose end has not arrived
	hsSkip    int    // bytes still to skip of an oversized handshake message
	encrypted bool   // records are protected from now on
	aead      cipher.AEAD
	iv        []byte // TLS 1.3 and ChaCha20: 12-byte IV; TLS 1.2 GCM: 4-byte salt
	seq       uint64
	secret    []byte // TLS 1.3: the current traffic secret
	appSecret []byte // TLS 1.3: the application secret to switch to after Finished
	switchKey bool   // TLS 1.3: install appSecret after this record
	update    bool   // TLS 1.3: a KeyUpdate was read in this record
	broken    bool   // nothing more is read in this direction
}

// tlsLayer reads TLS records under the next layer.
type tlsLayer struct {
	connNoter
	inner StreamHandler
	via   *Via
	half  [2]tlsHalf

	info         TLSInfo
	suite        suiteInfo
	clientRandom [32]byte
	serverRandom [32]byte
	sawHello     bool // a ClientHello was read
	sawServer    bool // a ServerHello was read
	keys         bool // the session's secrets are in the key log
	unsupported  bool // a version or suite not decrypted
	earlyData    bool // the ClientHello offered 0-RTT data
	bytes        int  // bytes of TLS records seen
	hidden       int  // bytes of protected records not decrypted
	decrypted    int  // records decrypted
	last         Frame
}

func newTLSLayer(ts *transportShared, key ConnKey, inner StreamHandler, via *Via) *tlsLayer {
	return &tlsLayer{connNoter: connNoter{ts: ts, key: key, layer: "TLS"}, inner: inner, via: via}
}

func (t *tlsLayer) Data(dir Direction, data []byte, f *Frame) {
	t.last.Number, t.last.Time = f.Number, f.Time
	h := &t.half[dir&1]
	for len(data) > 0 && !h.broken {
		if len(h.rec) > 0 || len(data) < 5 {
			// Complete the buffered record first.
			need := 5
			if len(h.rec) >= 5 {
				need += int(binary.BigEndian.Uint16(h.rec[3:]))
			}
			if len(h.rec) < 5 {
				n := min(5-len(h.rec), len(data))
				h.rec = append(h.rec, data[:n]...)
				data = data[n:]
				if len(h.rec) < 5 {
					return
				}
				if !t.header(h, dir, h.rec, f) {
					return
				}
				need = 5 + int(binary.BigEndian.Uint16(h.rec[3:]))
			}
			n := min(need-len(h.rec), len(data))
			h.rec = append(h.rec, data[:n]...)
			data = data[n:]
			if len(h.rec) == need {
				t.record(h, dir, h.rec, f)
				h.rec = h.rec[:0]
			}
			continue
		}
		if !t.header(h, dir, data, f) {
			return
		}
		n := 5 + int(binary.BigEndian.Uint16(data[3:]))
		if n > len(data) {
			h.rec = append(h.rec[:0], data...)
			return
		}
		t.record(h, dir, data[:n], f)
		data = data[n:]
	}
	if h.broken {
		t.hidden += len(data)
		t.bytes += len(data)
	}
}

// header checks a record header; false when the direction cannot go on.
func (t *tlsLayer) header(h *tlsHalf, dir Direction, b []byte, f *Frame) bool {
	typ, ver, n := b[0], binary.BigEndian.Uint16(b[1:]), int(binary.BigEndian.Uint16(b[3:]))
	switch {
	case typ < recChangeCipherSpec || typ > recApplicationData || ver>>8 != 3:
		t.note(f, NoteTLSError, "TLS record of unknown type %d or version %#04x from the %s: the rest of this direction is not read", typ, ver, sideName(dir))
	case n > maxTLSRecord:
		t.note(f, NoteTLSError, "TLS record of %d bytes from the %s, over the %d-byte limit (RFC 5246 §6.2.3): the rest of this direction is not read", n, sideName(dir), maxTLSRecord)
	default:
		return true
	}
	t.breakDir(h, dir, f)
	t.bytes += len(b)
	t.hidden += len(b)
	return false
}

func (t *tlsLayer) breakDir(h *tlsHalf, dir Direction, f *Frame) {
	h.broken, h.rec, h.hs = true, nil, nil
	t.inner.Gap(dir, -1, f)
}

// record handles one whole record (header included).
func (t *tlsLayer) record(h *tlsHalf, dir Direction, rec []byte, f *Frame) {
	t.bytes += len(rec)
	typ, body := rec[0], rec[5:]
	if typ == recChangeCipherSpec {
		// TLS 1.2: this side protects its records from now on (RFC 5246
		// §7.1). TLS 1.3 sends it only for middlebox compatibility
		// (RFC 8446 §D.4): nothing changes.
		if t.info.Version != tls13 && t.sawServer {
			h.encrypted, h.seq = true, 0
		}
		return
	}
	if !h.encrypted {
		switch typ {
		case recHandshake:
			t.handshake(h, dir, body, f)
		case recApplicationData:
			t.hidden += len(rec)
		}
		return
	}
	if h.aead == nil {
		t.hidden += len(rec)
		return
	}
	plain, inner, ok := t.open(h, rec)
	if !ok && dir == ToServer && t.earlyData && h.appSecret != nil && t.info.Version == tls13 {
		// 0-RTT data (RFC 8446 §4.2.10) is protected with the early
		// traffic secret, which MQTT does not need: skip it.
		t.hidden += len(rec)
		return
	}
	if !ok {
		t.note(f, NoteTLSError, "TLS record from the %s could not be decrypted (bad record MAC: wrong key, or records missing from the capture): the rest of this direction is not read", sideName(dir))
		t.hidden += len(rec)
		t.breakDir(h, dir, f)
		return
	}
	t.decrypted++
	h.seq++
	switch inner {
	case recApplicationData:
		if len(plain) > 0 {
			t.inner.Data(dir, plain, f)
		}
	case recHandshake:
		t.handshake(h, dir, plain, f)
	case recAlert:
		if len(plain) >= 2 && plain[0] == 2 {
			t.note(f, NoteTLSError, "TLS fatal alert %d from the %s", plain[1], sideName(dir))
		}
	}
	if t.info.Version == tls13 {
		switch {
		case h.switchKey:
			h.switchKey = false
			t.install(h, h.appSecret)
		case h.update:
			// RFC 8446 §7.2: the next generation of this side's secret.
			h.update = false
			t.install(h, t.expandLabel(h.secret, "traffic upd", len(h.secret)))
		}
	}
}

// open decrypts a protected record: the plaintext and, in TLS 1.3, the
// inner content type (RFC 8446 §5.2, §5.3; RFC 5288; RFC 7905).
func (t *tlsLayer) open(h *tlsHalf, rec []byte) ([]byte, byte, bool) {
	body := rec[5:]
	var nonce [12]byte
	var aad [13]byte
	dst := t.ts.tlsScratch[:0]
	if t.info.Version == tls13 {
		copy(nonce[:], h.iv)
		xorSeq(&nonce, h.seq)
		plain, err := h.aead.Open(dst, nonce[:], body, rec[:5])
		if err != nil {
			return nil, 0, false
		}
		t.ts.tlsScratch = plain[:0]
		// Strip the zero padding; the last non-zero byte is the type.
		i := len(plain) - 1
		for i >= 0 && plain[i] == 0 {
			i--
		}
		if i < 0 {
			return nil, 0, false
		}
		return plain[:i], plain[i], true
	}
	binary.BigEndian.PutUint64(aad[:], h.seq)
	aad[8], aad[9], aad[10] = rec[0], rec[1], rec[2]
	overhead := h.aead.Overhead()
	if t.suite.chacha {
		copy(nonce[:], h.iv)
		xorSeq(&nonce, h.seq)
	} else {
		if len(body) < 8 {
			return nil, 0, false
		}
		copy(nonce[:4], h.iv)
		copy(nonce[4:], body[:8])
		body = body[8:]
	}
	if len(body) < overhead {
		return nil, 0, false
	}
	binary.BigEndian.PutUint16(aad[11:], uint16(len(body)-overhead))
	plain, err := h.aead.Open(dst, nonce[:], body, aad[:])
	if err != nil {
		return nil, 0, false
	}
	t.ts.tlsScratch = plain[:0]
	return plain, rec[0], true
}

func xorSeq(nonce *[12]byte, seq uint64) {
	for i := 0; i < 8; i++ {
		nonce[11-i] ^= byte(seq >> (8 * i))
	}
}

// handshake reads handshake messages, which may span records.
func (t *tlsLayer) handshake(h *tlsHalf, dir Direction, b []byte, f *Frame) {
	for len(b) > 0 {
		if h.hsSkip > 0 {
			n := min(h.hsSkip, len(b))
			h.hsSkip -= n
			b = b[n:]
			continue
		}
		if len(h.hs) < 4 {
			n := min(4-len(h.hs), len(b))
			h.hs = append(h.hs, b[:n]...)
			b = b[n:]
			if len(h.hs) < 4 {
				return
			}
		}
		need := 4 + (int(h.hs[1])<<16 | int(h.hs[2])<<8 | int(h.hs[3]))
		if need > maxHandshakeMsg {
			// Only the type matters for a message this long.
			t.message(h, dir, h.hs[0], nil, f)
			h.hsSkip = need - len(h.hs)
			h.hs = h.hs[:0]
			continue
		}
		n := min(need-len(h.hs), len(b))
		h.hs = append(h.hs, b[:n]...)
		b = b[n:]
		if len(h.hs) == need {
			t.message(h, dir, h.hs[0], h.hs[4:], f)
			h.hs = h.hs[:0]
		}
	}
}

// message handles one handshake message; body is nil when it was too long
// to keep.
func (t *tlsLayer) message(h *tlsHalf, dir Direction, typ byte, body []byte, f *Frame) {
	switch typ {
	case hsClientHello:
		if dir == ToServer && len(body) >= 34 {
			copy(t.clientRandom[:], body[2:34])
			t.sawHello = true
			t.earlyData = helloOffersEarlyData(body)
		}
	case hsServerHello:
		if dir == ToClient && len(body) >= 38 {
			t.serverHello(body, f)
		}
	case hsFinished:
		if t.info.Version == tls13 && h.appSecret != nil {
			h.switchKey = true
		}
	case hsKeyUpdate:
		if t.info.Version == tls13 && h.secret != nil {
			h.update = true
		}
	}
}

// helloOffersEarlyData reports whether a ClientHello body carries the
// early_data extension (42, RFC 8446 §4.2.10).
func helloOffersEarlyData(body []byte) bool {
	p := 34
	for _, lenBytes := range []int{1, 2, 1} { // session id, cipher suites, compression methods
		if len(body) < p+lenBytes {
			return false
		}
		n := int(body[p])
		if lenBytes == 2 {
			n = int(binary.BigEndian.Uint16(body[p:]))
		}
		p += lenBytes + n
	}
	if len(body) < p+2 {
		return false
	}
	ext := body[p+2 : min(len(body), p+2+int(binary.BigEndian.Uint16(body[p:])))]
	for len(ext) >= 4 {
		et, el := binary.BigEndian.Uint16(ext), int(binary.BigEndian.Uint16(ext[2:]))
		if et == 42 {
			return true
		}
		if len(ext) < 4+el {
			break
		}
		ext = ext[4+el:]
	}
	return false
}

// serverHello reads the version and suite and, with the key log's
// secrets, installs the keys.
func (t *tlsLayer) serverHello(body []byte, f *Frame) {
	if string(body[2:34]) == string(helloRetryRandom) {
		return // a HelloRetryRequest: the real ServerHello follows
	}
	copy(t.serverRandom[:], body[2:34])
	version := binary.BigEndian.Uint16(body)
	p := 34
	sid := int(body[p])
	p += 1 + sid
	if len(body) < p+3 {
		return
	}
	suite := binary.BigEndian.Uint16(body[p:])
	p += 3
	if len(body) >= p+2 {
		ext := body[p+2 : min(len(body), p+2+int(binary.BigEndian.Uint16(body[p:])))]
		for len(ext) >= 4 {
			et, el := binary.BigEndian.Uint16(ext), int(binary.BigEndian.Uint16(ext[2:]))
			if len(ext) < 4+el {
				break
			}
			if et == 43 && el == 2 { // supported_versions (RFC 8446 §4.2.1)
				version = binary.BigEndian.Uint16(ext[4:])
			}
			ext = ext[4+el:]
		}
	}
	t.sawServer = true
	t.info = TLSInfo{Version: version, Suite: suite}
	t.via.TLS = &t.info
	si, ok := suites[suite]
	if !ok || (si.tls13 != (version == tls13)) || (version != tls12 && version != tls13) {
		t.note(f, NoteTLSNotDecrypted, "%s with %s is not decrypted (only the AEAD suites of TLS 1.2 and 1.3 are)", TLSVersionName(version), CipherSuiteName(suite))
		t.unsupported = true
		return
	}
	t.suite = si
	sec := t.ts.cfg.KeyLog.lookup(t.clientRandom)
	if !t.sawHello || sec == nil {
		return
	}
	c, s := &t.half[ToServer], &t.half[ToClient]
	if version == tls13 {
		if sec.clientHS == nil || sec.server == nil {
			return
		}
		// RFC 8446 §2: the client's records after its ServerHello and the
		// server's after its ServerHello use the handshake secrets.
		t.keys = true
		c.encrypted, s.encrypted = true, true
		t.install(c, sec.clientHS)
		t.install(s, sec.server)
		c.appSecret, s.appSecret = sec.clientAp, sec.serverAp
		return
	}
	if sec.master == nil {
		return
	}
	t.keys = true
	t.install12(sec.master)
}

// install sets a TLS 1.3 traffic secret's key and IV (RFC 8446 §7.3).
func (t *tlsLayer) install(h *tlsHalf, secret []byte) {
	h.secret, h.seq = secret, 0
	if secret == nil {
		h.aead = nil
		return
	}
	key := t.expandLabel(secret, "key", t.suite.keyLen)
	h.iv = t.expandLabel(secret, "iv", 12)
	h.aead = newAEAD(t.suite.chacha, key)
}

// expandLabel is HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
func (t *tlsLayer) expandLabel(secret []byte, label string, n int) []byte {
	info := make([]byte, 0, 4+6+len(label))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0)
	out, err := hkdf.Expand(t.suite.hash(), secret, string(info), n)
	if err != nil {
		return make([]byte, n) // unreachable for these lengths; decryption then fails
	}
	return out
}

// install12 derives the TLS 1.2 key block from the master secret
// (RFC 5246 §6.3): client key, server key, client IV, server IV; AEAD
// suites have no MAC keys. GCM's IV is a 4-byte salt (RFC 5288 §3),
// ChaCha20's 12 bytes (RFC 7905 §2).
func (t *tlsLayer) install12(master []byte) {
	ivLen := 4
	if t.suite.chacha {
		ivLen = 12
	}
	kl := t.suite.keyLen
	seed := append(append([]byte("key expansion"), t.serverRandom[:]...), t.clientRandom[:]...)
	block := prf12(t.suite.hash(), master, seed, 2*kl+2*ivLen)
	c, s := &t.half[ToServer], &t.half[ToClient]
	c.aead = newAEAD(t.suite.chacha, block[:kl])
	s.aead = newAEAD(t.suite.chacha, block[kl:2*kl])
	c.iv = block[2*kl : 2*kl+ivLen]
	s.iv = block[2*kl+ivLen:]
}

// prf12 is TLS 1.2's PRF, P_hash of RFC 5246 §5, with the seed already
// prefixed by its label.
func prf12(h func() hash.Hash, secret, seed []byte, n int) []byte {
	out := make([]byte, 0, n+64)
	mac := hmac.New(h, secret)
	mac.Write(seed)
	a := mac.Sum(nil) // A(1)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:n]
}

func newAEAD(chacha bool, key []byte) cipher.AEAD {
	if chacha {
		a, err := chacha20poly1305.New(key)
		if err != nil {
			return nil
		}
		return a
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil
	}
	return a
}

func (t *tlsLayer) Gap(dir Direction, lost int, f *Frame) {
	h := &t.half[dir&1]
	if h.broken {
		return
	}
	if h.encrypted && h.aead != nil {
		// Record boundaries and sequence numbers are lost with the bytes.
		t.note(f, NoteTLSError, "bytes lost from the %s inside TLS: the rest of this direction cannot be decrypted", sideName(dir))
	}
	t.breakDir(h, dir, f)
}

func (t *tlsLayer) Close(end *Frame, atEOF bool) {
	if t.hidden > 0 && (!t.keys || t.decrypted == 0) && t.key.Server.Port() == httpsPort {
		// Port 443 carries MQTT over WebSocket over TLS, but mostly HTTPS:
		// one note says keys are missing there, not one per connection.
		t.ts.quietTLS++
		if t.ts.quietTLS > 1 {
			t.inner.Close(end, atEOF)
			return
		}
	}
	if t.hidden > 0 && (!t.keys || t.decrypted == 0) {
		f := end
		if f == nil {
			f = &t.last
		}
		what := "TLS"
		if t.sawServer {
			what = TLSVersionName(t.info.Version) + " (" + CipherSuiteName(t.info.Suite) + ")"
		}
		switch {
		case t.unsupported:
			// Said at the ServerHello.
		case !t.sawHello || !t.sawServer:
			t.ts.note(t.key, f, NoteTLSNotDecrypted, "%s, %d bytes, not decrypted: the handshake is not in the capture (start the capture before the client connects)%s", what, t.bytes, t.more())
		case t.ts.cfg.KeyLog == nil:
			t.ts.note(t.key, f, NoteTLSNotDecrypted, "%s, %d bytes, keys not in the key log: no --tls-keylog given (run the client with SSLKEYLOGFILE=FILE or node --tls-keylog=FILE, then pass --tls-keylog FILE)%s", what, t.bytes, t.more())
		case !t.keys && t.sawServer:
			t.ts.note(t.key, f, NoteTLSNotDecrypted, "%s, %d bytes, keys not in the key log (client random %x...)%s", what, t.bytes, t.clientRandom[:8], t.more())
		}
	}
	t.inner.Close(end, atEOF)
}

// httpsPort is the WebSocket-over-TLS port, shared with HTTPS.
const httpsPort = 443

func (t *tlsLayer) more() string {
	if t.key.Server.Port() == httpsPort {
		return "; later TLS connections to port 443 without keys are not reported"
	}
	return ""
}
