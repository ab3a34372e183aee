package main

import (
	"bufio"
	bin "encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pcapRecords splits a little-endian pcap file into its header and records.
func pcapRecords(t *testing.T, path string) ([]byte, [][]byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bin.LittleEndian.Uint32(data) != 0xa1b2c3d4 {
		t.Fatalf("%s is not a little-endian pcap file", path)
	}
	var recs [][]byte
	for off := 24; off+16 <= len(data); {
		n := int(bin.LittleEndian.Uint32(data[off+8:]))
		recs = append(recs, data[off:off+16+n])
		off += 16 + n
	}
	return data[:24], recs
}

// TestDecodeLivePipe: packets written slowly to decode's standard input
// (as tcpdump -U -w - does) are printed as they arrive, not at the end.
func TestDecodeLivePipe(t *testing.T) {
	exe, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	header, recs := pcapRecords(t, filepath.Join("..", "..", "testdata", "v311.pcap"))
	cmd := exec.Command(exe, "decode") // no FILE: standard input is a pipe
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	stdin.Write(header)
	// Frame 4 is the CONNECT: once written, its line must come out while
	// the writer holds the rest back.
	for _, r := range recs[:4] {
		stdin.Write(r)
	}
	select {
	case l := <-lines:
		if !strings.Contains(l, "Connect Command") {
			t.Errorf("first line %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no line 10 s after the CONNECT was written: output is not flushed per packet")
	}
	for _, r := range recs[4:] {
		stdin.Write(r)
		time.Sleep(time.Millisecond)
	}
	stdin.Close()
	n := 1
	for range lines {
		n++
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if n < 10 {
		t.Errorf("%d lines", n)
	}
}

// TestDecodeClosedPipe: a reader that goes away (| head -1) ends decode
// quietly with status 0.
func TestDecodeClosedPipe(t *testing.T) {
	exe, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "big.pcap")
	gen := exec.Command("go", "test", "../../dissect", "-run", "TestWriteBenchCapture", "-count=1")
	gen.Env = append(os.Environ(), "MQTTDISSECT_BENCH_CAPTURE="+path, "MQTTDISSECT_BENCH_MESSAGES=200000")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("writing the capture: %v\n%s", err, out)
	}
	cmd := exec.Command(exe, "decode", path)
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	io.ReadFull(stdout, buf)
	stdout.Close()
	err = cmd.Wait()
	if err != nil || stderr.Len() > 0 {
		t.Errorf("exit %v, stderr %q", err, stderr.String())
	}
}

// TestDecodeStdinChoice: with no FILE, a file or pipe on standard input is
// read; /dev/null (like a terminal, nothing to read) gives the sample.
func TestDecodeStdinChoice(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "v31.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runBinary(t, data, "decode")
	if code != 0 || !strings.Contains(out, "v31/") {
		t.Errorf("stdin pipe: exit %d, stderr %q, output %q", code, stderr, out)
	}
	out, _, code = runBinary(t, nil, "decode")
	if code != 0 || !strings.Contains(out, "v5/") {
		t.Errorf("stdin /dev/null: exit %d, output %q", code, out)
	}
	out, stderr, code = runBinary(t, data, "stats")
	if code != 0 || !strings.Contains(out, "standard input") || !strings.Contains(out, "v31-") {
		t.Errorf("stats, stdin pipe: exit %d, stderr %q, output %.300q", code, stderr, out)
	}
}

// TestDecodeInterruptSilentPipe: Ctrl-C while the pipe is silent (the read
// blocks) still ends decode, with what was decoded written and status 130.
func TestDecodeInterruptSilentPipe(t *testing.T) {
	exe, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	header, recs := pcapRecords(t, filepath.Join("..", "..", "testdata", "v311.pcap"))
	cmd := exec.Command(exe, "decode", "-")
	stdin, _ := cmd.StdinPipe()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdin.Write(header)
	for _, r := range recs[:6] {
		stdin.Write(r)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("decode did not end 10 s after Ctrl-C")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted {
		t.Errorf("exit %v, want %d", err, exitInterrupted)
	}
	if !strings.Contains(stdout.String(), "Connect Ack") || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
