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
	// MaxConns overrides DefaultMaxConns when > 0.
	MaxConns int
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
	// Overlaps counts inputs of RunAll that began before the previous one
	// ended.
	Overlaps int
}

// pipeline is what Run, RunAll and RunMerged share: the ports watched (MQTT's
// and those of the layers under it), one TCP assembler with one MQTT state
// for every input, and the counts of what they saw.
type pipeline struct {
	ports    []uint16
	asm      *Assembler
	sc       StreamConfig
	tc       TransportConfig
	counters StreamCounters
	stats    *RunStats
}

func newPipeline(cfg *RunConfig, stats *RunStats) *pipeline {
	p := &pipeline{stats: stats}
	if cfg.Transport != nil {
		p.tc = *cfg.Transport
	}
	p.tc.MQTTPorts = cfg.Ports
	p.ports = watchedPorts(cfg.Ports, &p.tc)
	userPDU := cfg.OnPDU
	p.sc = cfg.StreamConfig
	if p.sc.Counters == nil {
		p.sc.Counters = &p.counters
	}
	p.sc.Transport = &p.tc
	p.sc.OnPDU = func(pdu *PDU) {
		stats.Packets++
		if pdu.Packet.Malformed {
			stats.Malformed++
		}
		if pdu.Packet.Truncated() {
			stats.Truncated++
		}
		if userPDU != nil {
			userPDU(pdu)
		}
	}
	p.asm = NewAssembler(p.ports, Streams(&p.sc))
	p.asm.MaxConns = cfg.MaxConns
	return p
}

// finish flushes what the capture's end completes and fills in the counts.
func (p *pipeline) finish() {
	p.asm.Flush()
	as := p.asm.Stats()
	p.stats.Gaps, p.stats.LostBytes, p.stats.SkippedBytes = as.Gaps, as.LostBytes, p.sc.Counters.SkippedBytes
	p.stats.Evicted = as.Evicted
	p.stats.SkippedAtEnd = p.sc.Counters.SkippedAtEnd
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
	p := newPipeline(cfg, &stats)
	var offset int     // frames of the inputs before
	var before int64   // bytes of the inputs before
	var last time.Time // time of the latest frame of the input before
	for k, r := range inputs {
		cr, err := OpenCapture(r, p.ports)
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
			p.asm.Add(f)
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
	p.finish()
	return stats, errs
}
