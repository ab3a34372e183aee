package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// progress draws a progress bar on stderr for large inputs.
type progress struct {
	w       io.Writer
	name    string
	size    int64
	on      bool
	width   int // of the terminal
	last    time.Time
	started time.Time
	drawn   bool
}

// newProgress returns the bar for one input. In auto mode it shows only
// when stderr is a terminal that stdout does not also write to (the bar
// would be drawn over the packet lines), for files over 8 MiB.
func newProgress(stderr, stdout io.Writer, mode, name string, size int64) *progress {
	p := &progress{w: stderr, name: name, size: size, started: time.Now(), width: 80}
	if w, ok := terminalWidth(stderr); ok && w > 0 {
		p.width = w
	}
	switch mode {
	case "always":
		p.on = size > 0
	case "auto":
		_, errTerm := terminalWidth(stderr)
		p.on = size > 8<<20 && errTerm && !sameTerminal(stderr, stdout)
	}
	return p
}

// sameTerminal reports whether both writers are the same terminal.
func sameTerminal(a, b io.Writer) bool {
	fa, ok1 := a.(*os.File)
	fb, ok2 := b.(*os.File)
	if !ok1 || !ok2 {
		return false
	}
	if _, ok := terminalWidth(b); !ok {
		return false
	}
	sa, err1 := fa.Stat()
	sb, err2 := fb.Stat()
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func (p *progress) update(done int64) {
	if !p.on || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	pct := float64(done) / float64(p.size)
	if pct > 1 {
		pct = 1
	}
	tail := fmt.Sprintf(" %3d%% %s/%s", int(pct*100), humanBytes(done), humanBytes(p.size))
	name := p.name
	// The line must fit the terminal, or it wraps into a column of bars.
	room := p.width - 1 - len(tail) - 3
	if room < 10 {
		return
	}
	if len(name) > room/2 {
		name = "…" + name[len(name)-room/2+1:]
	}
	width := min(30, room-len(name)-1)
	if width < 5 {
		width = 5
	}
	fill := int(pct * float64(width))
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	fmt.Fprintf(p.w, "\r%s [%s]%s\033[K", name, bar, tail)
	p.drawn = true
}

// done erases the bar.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}
