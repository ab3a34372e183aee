package dissect

import (
	"context"
	"errors"
	"io"
	"time"
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
	// Overlaps counts inputs of RunAll that began before the previous one
	// ended.
	Overlaps int
}

// Run reads a capture from r and calls cfg.OnPDU for every MQTT packet, in
// the order their last bytes appear in the capture. It streams: memory is
// bounded by the open connections, not by the capture's size.
//
// On a damaged capture Run first delivers every packet before the damage,
// then returns the *CaptureError. When ctx is cancelled it stops between
// frames, flushes nothing further, and returns ctx.Err().
func Run(ctx context.Context, r io.Reader, cfg *RunConfig) (RunStats, error) {
	stats, errs := RunAll(ctx, []io.Reader{r}, cfg)
	return stats, errs[0]
}

// RunAll reads several captures one after the other as one capture, as
// mergecap writes files that follow each other in time (tcpdump -C or -G,
// editcap -c): TCP connections and their MQTT state carry over from one
// file to the next, and frames are numbered across the files. errs[i] is
// the error of inputs[i] (nil when it was read to its end); a file that is
// not a capture, or is damaged, does not stop the others. When ctx is
// cancelled RunAll stops between frames and the current input's error is
// ctx.Err().
//
// Progress, when set, receives the bytes read from all inputs so far.
// stats.Overlaps counts inputs whose first frame is older than the last
// frame of the input before: those were not written one after the other.
func RunAll(ctx context.Context, inputs []io.Reader, cfg *RunConfig) (stats RunStats, errs []error) {
	errs = make([]error, len(inputs))
	ports := cfg.Ports
	if len(ports) == 0 {
		ports = []uint16{1883}
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
	var offset int     // frames of the inputs before
	var before int64   // bytes of the inputs before
	var last time.Time // time of the latest frame of the input before
	for k, r := range inputs {
		cr, err := OpenCapture(r, ports)
		if err != nil {
			errs[k] = err
			continue
		}
		first := true
		for i := 0; ; i++ {
			if i&1023 == 0 {
				if err := ctx.Err(); err != nil {
					errs[k] = err
					return stats, errs
				}
				if cfg.Progress != nil {
					cfg.Progress(before + cr.BytesRead())
				}
			}
			f, err := cr.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					errs[k] = err
				}
				break
			}
			if first {
				if k > 0 && f.Time.Before(last) {
					stats.Overlaps++
				}
				first = false
			}
			last = f.Time
			f.Number += offset
			stats.Frames = f.Number
			asm.Add(f)
			if cfg.Stop != nil && cfg.Stop() {
				break
			}
		}
		offset += cr.Stats().Frames
		before += cr.BytesRead()
		if offset > stats.Frames {
			stats.Frames = offset
		}
		if cfg.Progress != nil {
			cfg.Progress(before)
		}
		if cfg.Stop != nil && cfg.Stop() {
			break
		}
	}
	asm.Flush()
	return stats, errs
}
