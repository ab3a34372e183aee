package dissect

import (
	"context"
	"errors"
	"io"
)

// RunConfig configures Run.
type RunConfig struct {
	StreamConfig
	// Ports are the TCP ports MQTT is read on; empty means 1883.
	Ports []uint16
	// Progress, if set, is called now and then with the bytes of input read.
	Progress func(bytesRead int64)
	// MaxConns overrides DefaultMaxConns when > 0.
	MaxConns int
}

// RunStats counts what Run saw.
type RunStats struct {
	Frames    int // capture records read
	Packets   int // MQTT packets decoded
	Malformed int // packets that could not be read to their end
	Truncated int // packets cut short by the capture
	Notes     int // notes of warning severity or worse
	// Gaps and LostBytes count the holes in the TCP streams; SkippedBytes
	// the captured bytes after them that no packet could be read from.
	Gaps         int
	LostBytes    int64
	SkippedBytes int64
	// SkippedAtEnd names the first skipped runs no packet followed (see
	// StreamCounters).
	SkippedAtEnd []SkippedRange
	// Evicted counts connections whose state was dropped because more
	// than MaxConns were open at once (oldest idle first).
	Evicted int
}

// Run reads a capture from r and calls cfg.OnPDU for every MQTT packet, in
// the order their last bytes appear in the capture. It streams: memory is
// bounded by the open connections, not by the capture's size.
//
// On a damaged capture Run first delivers every packet before the damage,
// then returns the *CaptureError. When ctx is cancelled it stops between
// frames, flushes nothing further, and returns ctx.Err().
func Run(ctx context.Context, r io.Reader, cfg *RunConfig) (RunStats, error) {
	var stats RunStats
	var tc TransportConfig
	if cfg.Transport != nil {
		tc = *cfg.Transport
	}
	tc.MQTTPorts = cfg.Ports
	ports := watchedPorts(cfg.Ports, &tc)
	cr, err := OpenCapture(r, ports)
	if err != nil {
		return stats, err
	}
	userPDU := cfg.OnPDU
	sc := cfg.StreamConfig
	var counters StreamCounters
	if sc.Counters == nil {
		sc.Counters = &counters
	}
	sc.Transport = &tc
	sc.OnPDU = func(p *PDU) {
		stats.Packets++
		if p.Packet.Malformed {
			stats.Malformed++
		}
		if p.Packet.Truncated() {
			stats.Truncated++
		}
		if userPDU != nil {
			userPDU(p)
		}
	}
	asm := NewAssembler(ports, Streams(&sc))
	asm.MaxConns = cfg.MaxConns
	var readErr error
	for i := 0; ; i++ {
		if i&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return stats, err
			}
			if cfg.Progress != nil {
				cfg.Progress(cr.BytesRead())
			}
		}
		f, err := cr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		stats.Frames = f.Number
		asm.Add(f)
	}
	asm.Flush()
	as := asm.Stats()
	stats.Gaps, stats.LostBytes, stats.SkippedBytes = as.Gaps, as.LostBytes, sc.Counters.SkippedBytes
	stats.Evicted = as.Evicted
	stats.SkippedAtEnd = sc.Counters.SkippedAtEnd
	if cfg.Progress != nil {
		cfg.Progress(cr.BytesRead())
	}
	return stats, readErr
}
