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
	// Stop, if set, is asked after every frame; Run ends as at the end of
	// the capture once it returns true (enough packets were shown, or the
	// reader of the output went away).
	Stop func() bool
}

// RunStats counts what Run saw.
type RunStats struct {
	Frames    int // capture records read, every record of the file
	Packets   int // MQTT packets decoded
	Malformed int // packets that could not be read to their end
	Truncated int // packets cut short by the capture
	Notes     int // notes of warning severity or worse
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
	ports := cfg.Ports
	if len(ports) == 0 {
		ports = []uint16{1883}
	}
	cr, err := OpenCapture(r, ports)
	if err != nil {
		return stats, err
	}
	userPDU := cfg.OnPDU
	sc := cfg.StreamConfig
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
		if cfg.Stop != nil && cfg.Stop() {
			break
		}
	}
	asm.Flush()
	if n := cr.Stats().Frames; n > stats.Frames {
		stats.Frames = n
	}
	if cfg.Progress != nil {
		cfg.Progress(cr.BytesRead())
	}
	return stats, readErr
}
