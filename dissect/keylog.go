package dissect

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// The NSS key log format: one secret per line, "LABEL CLIENT_RANDOM SECRET"
// in hex, as SSLKEYLOGFILE (NSS, OpenSSL, BoringSSL, curl) and Node's
// --tls-keylog write it. The client random of the ClientHello finds a
// session's secrets. The file is secret material: nothing read from it is
// ever printed, not even in errors, which name line numbers only.

const (
	// maxKeyLogEntries bounds the sessions kept from a key log; later
	// lines are counted in KeyLog.Dropped.
	maxKeyLogEntries = 1 << 20
	// maxKeyLogLine bounds a line: the longest valid one (a 48-byte
	// secret) is under 200 bytes.
	maxKeyLogLine = 4096
	// maxSecret is the longest secret (SHA-512 sized) accepted.
	maxSecret = 64
)

// ErrKeyLog is wrapped by ReadKeyLog's errors.
var ErrKeyLog = errors.New("not an NSS key log")

// KeyLog holds TLS secrets by client random.
type KeyLog struct {
	sessions map[[32]byte]*tlsSecrets
	// Entries counts the secrets read; Dropped the lines over the ceiling.
	Entries, Dropped int
}

// tlsSecrets are one session's secrets from the key log.
type tlsSecrets struct {
	master             []byte // CLIENT_RANDOM: the TLS 1.2 master secret
	clientHS, server   []byte // CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET
	clientAp, serverAp []byte // CLIENT_/SERVER_TRAFFIC_SECRET_0
}

// ReadKeyLog reads an NSS key log. Comment lines, blank lines and labels
// this reader has no use for (EXPORTER_SECRET, early traffic, RSA) are
// skipped; a line that is not "LABEL HEX HEX" is an error naming its number.
func ReadKeyLog(r io.Reader) (*KeyLog, error) {
	kl := &KeyLog{sessions: make(map[[32]byte]*tlsSecrets)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxKeyLogLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		parts := bytes.Fields(b)
		if len(parts) != 3 {
			return nil, fmt.Errorf("line %d: %w (want LABEL CLIENT_RANDOM SECRET)", line, ErrKeyLog)
		}
		var dst *[]byte
		var cr [32]byte
		if len(parts[1]) != 64 {
			if string(parts[0]) == "RSA" {
				continue // keyed by encrypted premaster, not by client random
			}
			return nil, fmt.Errorf("line %d: %w (the client random is not 32 bytes of hex)", line, ErrKeyLog)
		}
		if _, err := hex.Decode(cr[:], parts[1]); err != nil {
			return nil, fmt.Errorf("line %d: %w (the client random is not hex)", line, ErrKeyLog)
		}
		e := kl.sessions[cr]
		if e == nil {
			e = &tlsSecrets{}
		}
		switch string(parts[0]) {
		case "CLIENT_RANDOM":
			dst = &e.master
		case "CLIENT_HANDSHAKE_TRAFFIC_SECRET":
			dst = &e.clientHS
		case "SERVER_HANDSHAKE_TRAFFIC_SECRET":
			dst = &e.server
		case "CLIENT_TRAFFIC_SECRET_0":
			dst = &e.clientAp
		case "SERVER_TRAFFIC_SECRET_0":
			dst = &e.serverAp
		default:
			continue
		}
		if len(parts[2])%2 != 0 || len(parts[2]) > 2*maxSecret {
			return nil, fmt.Errorf("line %d: %w (the secret is not hex of at most %d bytes)", line, ErrKeyLog, maxSecret)
		}
		secret := make([]byte, len(parts[2])/2)
		if _, err := hex.Decode(secret, parts[2]); err != nil {
			return nil, fmt.Errorf("line %d: %w (the secret is not hex)", line, ErrKeyLog)
		}
		if _, ok := kl.sessions[cr]; !ok {
			if len(kl.sessions) >= maxKeyLogEntries {
				kl.Dropped++
				continue
			}
			kl.sessions[cr] = e
		}
		*dst = secret
		kl.Entries++
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: %w (a line over %d bytes)", line+1, ErrKeyLog, maxKeyLogLine)
		}
		return nil, err
	}
	return kl, nil
}

func (kl *KeyLog) lookup(cr [32]byte) *tlsSecrets {
	if kl == nil {
		return nil
	}
	return kl.sessions[cr]
}
