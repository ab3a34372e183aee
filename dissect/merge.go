package dissect

import (
	"container/heap"
	"context"
	"errors"
	"io"
	"sort"
	"time"
)

// Opener opens one input of RunMerged. RunMerged calls it twice: once to
// learn when the capture begins, once to read it.
type Opener func() (io.ReadCloser, error)

// RunMerged reads several captures as the one capture mergecap would write
// from them: records in time order (on equal times, the file given first
// first), numbered across the files, through one TCP assembler and one MQTT
// state, so that connections continue from file to file. A file is opened
// only when the merge reaches its first record, so rotated captures
// (tcpdump -C or -G, editcap -c) are read one or two at a time.
//
// errs[i] is the error of inputs[i] (nil when it was read to its end); a
// file that is not a capture, or is damaged, does not stop the others.
// stats.Overlaps counts the files that began before the files read so far
// had ended.
func RunMerged(ctx context.Context, inputs []Opener, cfg *RunConfig) (stats RunStats, errs []error) {
	errs = make([]error, len(inputs))
	p := newPipeline(cfg, &stats)
	ports := p.ports
	// When does each capture begin?
	type start struct {
		idx   int
		first time.Time
	}
	var starts []start
	for i, open := range inputs {
		first, err := firstRecord(open, ports)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				errs[i] = err
			}
			continue
		}
		starts = append(starts, start{i, first})
	}
	sort.SliceStable(starts, func(a, b int) bool { return starts[a].first.Before(starts[b].first) })

	var active mergeHeap
	var done int64 // bytes of the inputs closed
	finish := func(h *mergeHead, err error) {
		if err != nil && !errors.Is(err, io.EOF) {
			errs[h.idx] = err
		}
		done += h.cr.BytesRead()
		h.close.Close()
	}
	defer func() {
		for _, h := range active {
			h.close.Close()
		}
	}()
	next := 0 // in starts
	number := 0
	for n := 0; ; n++ {
		// Open every capture that begins before the earliest record held.
		for next < len(starts) && (len(active) == 0 || !active[0].f.Time.Before(starts[next].first)) {
			s := starts[next]
			next++
			rc, err := inputs[s.idx]()
			if err != nil {
				errs[s.idx] = err
				continue
			}
			cr, err := OpenCapture(rc, ports)
			if err != nil {
				errs[s.idx] = err
				rc.Close()
				continue
			}
			h := &mergeHead{idx: s.idx, cr: cr, close: rc}
			if h.f, h.tcp, err = cr.NextRecord(); err != nil {
				finish(h, err)
				continue
			}
			if len(active) > 0 {
				stats.Overlaps++
			}
			heap.Push(&active, h)
		}
		if len(active) == 0 {
			break
		}
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				errs[active[0].idx] = err
				return stats, errs
			}
			if cfg.Progress != nil {
				read := done
				for _, h := range active {
					read += h.cr.BytesRead()
				}
				cfg.Progress(read)
			}
		}
		h := active[0]
		number++
		stats.Frames = number
		if h.tcp {
			h.f.Number = number
			p.asm.Add(h.f)
		}
		var err error
		if h.f, h.tcp, err = h.cr.NextRecord(); err != nil {
			heap.Pop(&active)
			finish(h, err)
		} else {
			heap.Fix(&active, 0)
		}
		if cfg.Stop != nil && cfg.Stop() {
			break
		}
	}
	p.finish()
	if cfg.Progress != nil {
		cfg.Progress(done)
	}
	return stats, errs
}

// firstRecord returns the time of a capture's first record.
func firstRecord(open Opener, ports []uint16) (time.Time, error) {
	rc, err := open()
	if err != nil {
		return time.Time{}, err
	}
	defer rc.Close()
	cr, err := OpenCapture(rc, ports)
	if err != nil {
		return time.Time{}, err
	}
	f, _, err := cr.NextRecord()
	if err != nil {
		return time.Time{}, err
	}
	return f.Time, nil
}

// mergeHead is one open capture of a merge and its next record.
type mergeHead struct {
	idx   int
	cr    *CaptureReader
	close io.Closer
	f     *Frame
	tcp   bool
}

// mergeHeap orders the open captures by their next record's time, then by
// their position on the command line, as mergecap does.
type mergeHeap []*mergeHead

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if !h[i].f.Time.Equal(h[j].f.Time) {
		return h[i].f.Time.Before(h[j].f.Time)
	}
	return h[i].idx < h[j].idx
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*mergeHead)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
