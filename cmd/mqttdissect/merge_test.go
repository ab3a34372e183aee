package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/testtool"
)

// splitCapture writes a pcap file's records to two files at record k, as
// tcpdump -C or editcap -c rotate captures.
func splitCapture(t *testing.T, path string, k int) (string, string) {
	t.Helper()
	header, recs := pcapRecords(t, path)
	dir := t.TempDir()
	write := func(name string, rs [][]byte) string {
		p := filepath.Join(dir, name)
		data := append([]byte{}, header...)
		for _, r := range rs {
			data = append(data, r...)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("part-1.pcap", recs[:k]), write("part-2.pcap", recs[k:])
}

// TestDecodeRotatedFiles: a capture cut in two inside its connections
// decodes, from its two parts given in any order, exactly as the whole
// file: connection state carries over and frames are numbered across the
// files. --separate reads each part on its own, under a header line.
func TestDecodeRotatedFiles(t *testing.T) {
	whole := testdata("v311.pcap")
	a, b := splitCapture(t, whole, 9) // after the SUBSCRIBE, before its SUBACK
	want, _, _ := runBinary(t, nil, "decode", "-V", whole)
	for _, order := range [][]string{{a, b}, {b, a}} {
		got, stderr, code := runBinary(t, nil, append([]string{"decode", "-V"}, order...)...)
		if code != 0 || got != want {
			t.Errorf("merged %v: exit %d, stderr %q:\n%s", order, code, stderr, firstDiff(got, want))
		}
	}
	out, _, _ := runBinary(t, nil, "decode", "--separate", a, b)
	if !strings.HasPrefix(out, "==> "+a+" <==\n") || !strings.Contains(out, "\n==> "+b+" <==\n") {
		t.Errorf("--separate output:\n%s", out)
	}
	// -T fields numbers frames as mergecap does.
	fields, _, _ := runBinary(t, nil, "decode", "-T", "fields", "-e", "frame.number", "-e", "mqtt.msgtype", b, a)
	wantFields, _, _ := runBinary(t, nil, "decode", "-T", "fields", "-e", "frame.number", "-e", "mqtt.msgtype", whole)
	if fields != wantFields {
		t.Errorf("fields:\n%s", firstDiff(fields, wantFields))
	}
}

// TestRotatedFilesMatchMergecap: files cut by editcap -c, decoded together,
// give the rows tshark gives on their mergecap merge.
func TestRotatedFilesMatchMergecap(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	editcap := testtool.Need(t, "editcap")
	mergecap := testtool.Need(t, "mergecap")
	dir := t.TempDir()
	for _, c := range []string{"v5.pcapng", "will.pcapng", "v311.pcap"} {
		t.Run(c, func(t *testing.T) {
			base := filepath.Join(dir, c)
			if out, err := exec.Command(editcap, "-c", "17", testdata(c), base).CombinedOutput(); err != nil {
				t.Fatalf("editcap: %v\n%s", err, out)
			}
			parts, _ := filepath.Glob(base[:len(base)-len(filepath.Ext(base))] + "_*")
			if len(parts) < 3 {
				t.Fatalf("editcap wrote %v", parts)
			}
			merged := filepath.Join(dir, "merged-"+c)
			if out, err := exec.Command(mergecap, append([]string{"-w", merged}, parts...)...).CombinedOutput(); err != nil {
				t.Fatalf("mergecap: %v\n%s", err, out)
			}
			args := []string{"-Y", "mqtt", "-T", "fields", "-e", "frame.number", "-e", "mqtt.msgtype", "-e", "mqtt.topic", "-e", "mqtt.msgid"}
			want := tsharkFields(t, tshark, append([]string{"-r", merged}, args...)...)
			// Given in reverse: decode puts them in time order.
			rev := append([]string{}, parts...)
			for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
				rev[i], rev[j] = rev[j], rev[i]
			}
			got, stderr, code := runBinary(t, nil, append(append([]string{"decode"}, args...), rev...)...)
			if code != 0 || got != want {
				t.Errorf("exit %d, stderr %q:\n%s", code, stderr, firstDiff(got, want))
			}
		})
	}
}

// TestDecodeInterleavedFiles: two captures of the same time span (every
// other record of v311.pcap in each, as when two capture points are
// merged) decode as the whole capture: records are merged in time order
// and numbered as mergecap numbers them.
func TestDecodeInterleavedFiles(t *testing.T) {
	whole := testdata("v311.pcap")
	header, recs := pcapRecords(t, whole)
	dir := t.TempDir()
	var odd, even []byte
	odd, even = append(odd, header...), append(even, header...)
	for i, r := range recs {
		if i%2 == 0 {
			odd = append(odd, r...)
		} else {
			even = append(even, r...)
		}
	}
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	os.WriteFile(a, odd, 0o644)
	os.WriteFile(b, even, 0o644)
	want, _, _ := runBinary(t, nil, "decode", "-V", whole)
	for _, order := range [][]string{{a, b}, {b, a}} {
		got, stderr, code := runBinary(t, nil, append([]string{"decode", "-V"}, order...)...)
		if code != 0 || got != want {
			t.Errorf("merged %v: exit %d, stderr %q:\n%s", order, code, stderr, firstDiff(got, want))
		}
	}
	wantStats, _, _ := runBinary(t, nil, "stats", "--format", "json", whole)
	gotStats, _, _ := runBinary(t, nil, "stats", "--format", "json", b, a)
	cut := func(s string) string { // the capture's name differs
		_, rest, _ := strings.Cut(s, "\"summary\"")
		return rest
	}
	if cut(gotStats) != cut(wantStats) {
		t.Errorf("stats of the merge differ:\n%s", firstDiff(cut(gotStats), cut(wantStats)))
	}
}
