package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqttdissect/mqttdissect/internal/sample"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "mqttdissect-e2e")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "mqttdissect")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return bin, nil
})

// runBinary runs the real, pure-Go binary and returns stdout, stderr and
// the exit status.
func runBinary(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err = cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/mqttdissect -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update if intended):\n%s", path, firstDiff(got, string(want)))
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n  got:  " + gl + "\n  want: " + wl
		}
	}
	return ""
}

func captures(t *testing.T) []string {
	var out []string
	for _, pattern := range []string{"*.pcap", "*.pcapng", "*.pcap.gz"} {
		m, _ := filepath.Glob(filepath.Join("..", "..", "testdata", pattern))
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Fatal("no captures in testdata")
	}
	return out
}

func TestDecodeGolden(t *testing.T) {
	for _, c := range captures(t) {
		base := filepath.Base(c)
		for _, tc := range []struct {
			suffix string
			args   []string
		}{
			{".txt", nil},
			{".tree.txt", []string{"-V"}},
			{".jsonl", []string{"--format", "jsonl"}},
		} {
			t.Run(base+tc.suffix, func(t *testing.T) {
				args := append([]string{"decode"}, tc.args...)
				out, stderr, code := runBinary(t, nil, append(args, c)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				golden(t, base+tc.suffix, out)
			})
		}
	}
}

func TestDecodeNoArgumentsUsesSample(t *testing.T) {
	out, stderr, code := runBinary(t, nil, "decode")
	if code != 0 || !strings.Contains(out, "Connect Command") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", sample.Name))
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != sample.Capture {
		t.Errorf("internal/sample/sample.pcapng is stale: copy %s over it", sample.Name)
	}
}

func TestDecodeJSONSchema(t *testing.T) {
	out, _, code := runBinary(t, nil, "decode", "--format", "json", filepath.Join("..", "..", "testdata", "v5.pcapng"))
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var packets []struct {
		Frame   int              `json:"frame"`
		Time    string           `json:"time"`
		Src     string           `json:"src"`
		Dst     string           `json:"dst"`
		Version int              `json:"version"`
		Type    string           `json:"type"`
		Info    string           `json:"info"`
		Fields  [][2]any         `json:"fields"`
		Notes   []map[string]any `json:"notes"`
	}
	if err := json.Unmarshal([]byte(out), &packets); err != nil {
		t.Fatalf("not a JSON array: %v", err)
	}
	if len(packets) == 0 {
		t.Fatal("no packets")
	}
	p := packets[0]
	if p.Frame == 0 || p.Time == "" || p.Src == "" || p.Version != 5 || p.Type != "CONNECT" || len(p.Fields) == 0 {
		t.Errorf("first packet = %+v", p)
	}
	kinds := map[string]bool{}
	for _, p := range packets {
		for _, f := range p.Fields {
			switch f[1].(type) {
			case float64:
				kinds["number"] = true
			case bool:
				kinds["bool"] = true
			case string:
				kinds["string"] = true
			}
		}
	}
	if len(kinds) != 3 {
		t.Errorf("field value kinds = %v, want numbers, bools and strings", kinds)
	}
}

func TestDecodeFiltersAndErrors(t *testing.T) {
	v311 := filepath.Join("..", "..", "testdata", "v311.pcap")
	t.Run("type filter", func(t *testing.T) {
		out, _, code := runBinary(t, nil, "decode", "--type", "subscribe,SUBACK", v311)
		if code != 0 || out == "" {
			t.Fatalf("exit %d", code)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.Contains(line, "Subscribe Request") && !strings.Contains(line, "Subscribe Ack") {
				t.Errorf("unexpected line %q", line)
			}
		}
	})
	t.Run("topic filter", func(t *testing.T) {
		out, _, _ := runBinary(t, nil, "decode", "--type", "publish", "--topic", "home/+", v311)
		if out == "" || strings.Contains(out, "sensors/") {
			t.Errorf("topic filter output:\n%s", out)
		}
	})
	t.Run("client-id filter", func(t *testing.T) {
		out, _, _ := runBinary(t, nil, "decode", "--client-id", "no-such-client", v311)
		if out != "" {
			t.Errorf("expected nothing, got:\n%s", out)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		data, _ := os.ReadFile(v311)
		out, _, code := runBinary(t, data, "decode", "-")
		if code != 0 || !strings.Contains(out, "Connect Command") {
			t.Errorf("exit %d, output %q", code, out)
		}
	})
	checkExitCodes(t, []exitCase{
		{"bad format", []string{"decode", "--format", "xml"}, 2},
		{"bad type", []string{"decode", "--type", "PUBLISHX"}, 2},
		{"bad topic filter", []string{"decode", "--topic", "a/#/b"}, 2},
		{"bad version", []string{"decode", "--mqtt-version", "6"}, 2},
		{"unknown flag", []string{"decode", "--nope"}, 2},
		{"missing file", []string{"decode", "/nonexistent.pcap"}, 1},
		{"not a capture", []string{"decode", "e2e_test.go"}, 1},
	})
	t.Run("truncated capture", func(t *testing.T) {
		path := cutCapture(t, v311)
		out, stderr, code := runBinary(t, nil, "decode", path)
		full, _, _ := runBinary(t, nil, "decode", v311)
		// Every packet before the cut is as in the full capture; the last
		// one may be cut short.
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		before := strings.Join(lines[:len(lines)-1], "\n")
		if code != 1 || len(lines) < 5 || !strings.HasPrefix(full, before) || !strings.Contains(stderr, "truncated") {
			t.Errorf("exit %d, stderr %q, %d of %d bytes of output", code, stderr, len(out), len(full))
		}
	})
}

// TestDecodeInterrupt: Ctrl-C stops decoding cleanly, exit status 130,
// with the output so far written (a JSON array still closed).
func TestDecodeInterrupt(t *testing.T) {
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	// A capture large enough to be still decoding when interrupted.
	path := filepath.Join(t.TempDir(), "big.pcap")
	cmd := exec.Command("go", "test", "../../dissect", "-run", "TestWriteBenchCapture", "-count=1")
	cmd.Env = append(os.Environ(), "MQTTDISSECT_BENCH_CAPTURE="+path, "MQTTDISSECT_BENCH_MESSAGES=1000000")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("writing the capture: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	run := exec.Command(bin, "decode", "--format", "json", path)
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	// Decoding the capture as JSON takes seconds; interrupt it early on.
	time.Sleep(300 * time.Millisecond)
	run.Process.Signal(os.Interrupt)
	err = run.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted {
		t.Fatalf("exit = %v, want %d (stderr %q)", err, exitInterrupted, stderr.String())
	}
	var packets []json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &packets); err != nil || len(packets) == 0 {
		t.Fatalf("output is not a closed JSON array of packets: %v", err)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// exitCase is a command line and the exit status it must end with.
type exitCase struct {
	name string
	args []string
	code int
}

// checkExitCodes runs each case and requires its exit status and an error
// message on stderr prefixed "mqttdissect: ".
func checkExitCodes(t *testing.T, cases []exitCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runBinary(t, nil, tc.args...)
			if code != tc.code || !strings.HasPrefix(stderr, "mqttdissect: ") {
				t.Errorf("exit %d (want %d), stderr %q", code, tc.code, stderr)
			}
		})
	}
}

// cutCapture writes the first two thirds (and a few bytes) of a capture to
// a temporary file, cutting it inside a record, and returns its path.
func cutCapture(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(cut, data[:len(data)*2/3+5], 0o644); err != nil {
		t.Fatal(err)
	}
	return cut
}
