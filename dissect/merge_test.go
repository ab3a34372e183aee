package dissect

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func opener(b []byte) Opener {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// TestRunMergedErrors: a file that is not a capture, one that cannot be
// opened and an empty one are reported each, and the others are read.
func TestRunMergedErrors(t *testing.T) {
	capture, err := os.ReadFile(filepath.Join("..", "testdata", "v311.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	missing := errors.New("cannot open")
	inputs := []Opener{
		opener([]byte("not a capture at all, not at all")),
		opener(capture),
		func() (io.ReadCloser, error) { return nil, missing },
		opener(capture[:24]), // a header and no record
	}
	var cfg RunConfig
	stats, errs := RunMerged(context.Background(), inputs, &cfg)
	if !errors.Is(errs[0], ErrNotCapture) || errs[1] != nil || !errors.Is(errs[2], missing) || errs[3] != nil {
		t.Errorf("errs = %v", errs)
	}
	single, _ := Run(context.Background(), bytes.NewReader(capture), &RunConfig{})
	if stats.Frames != single.Frames || stats.Packets != single.Packets || stats.Overlaps != 0 {
		t.Errorf("stats %+v, alone %+v", stats, single)
	}
	// The same capture twice: every record twice, the second copy
	// overlapping the first.
	stats, _ = RunMerged(context.Background(), []Opener{opener(capture), opener(capture)}, &cfg)
	if stats.Frames != 2*single.Frames || stats.Overlaps != 1 {
		t.Errorf("twice: %+v", stats)
	}
}
