package luagen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/mqtt.lua from the generator")

const goldenPath = "testdata/mqtt.lua"

// TestGolden fails when the checked-in copy of the generated dissector is
// stale; `go test ./luagen -update` rewrites it.
func TestGolden(t *testing.T) {
	got, err := Bytes(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run `go test ./luagen -update` to create it)", err)
	}
	if !bytes.Equal(got, want) {
		line := 1
		for i := 0; i < len(got) && i < len(want); i++ {
			if got[i] != want[i] {
				break
			}
			if got[i] == '\n' {
				line++
			}
		}
		t.Fatalf("%s is stale: the generator's output differs from line %d on; run `go test ./luagen -update` and review the diff", goldenPath, line)
	}
}
