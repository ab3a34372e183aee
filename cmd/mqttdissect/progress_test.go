package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestProgressFitsTheTerminal: the bar line never reaches the terminal's
// last column (it would wrap into a column of bars), and done erases it.
func TestProgressFitsTheTerminal(t *testing.T) {
	for _, width := range []int{200, 80, 50, 30, 12} {
		var buf bytes.Buffer
		p := &progress{w: &buf, name: "/a/very/long/path/to/some/capture-file-name.pcapng", size: 100 << 20, on: true, width: width}
		p.update(37 << 20)
		line := strings.TrimSuffix(strings.TrimPrefix(buf.String(), "\r"), "\033[K")
		if n := utf8.RuneCountInString(line); n >= width {
			t.Errorf("width %d: line of %d columns: %q", width, n, line)
		}
		p.done()
		if p.drawn && width >= 30 {
			t.Errorf("width %d: not erased", width)
		}
		if buf.Len() > 0 && !strings.HasSuffix(buf.String(), "\r\033[K") {
			t.Errorf("width %d: the bar is not erased: %q", width, buf.String())
		}
	}
}

// TestProgressOnlyOnItsOwnTerminal: auto mode draws nothing when stderr is
// not a terminal (here a file), whatever the size.
func TestProgressOnlyOnItsOwnTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p := newProgress(f, f, "auto", "x", 1<<30); p.on {
		t.Error("auto progress on a file")
	}
	if p := newProgress(f, os.Stdout, "always", "x", 1<<30); !p.on {
		t.Error("always progress off")
	}
	if sameTerminal(f, f) {
		t.Error("a file is not a terminal")
	}
}
