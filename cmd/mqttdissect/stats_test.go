package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStatsGolden(t *testing.T) {
	for _, c := range captures(t) {
		base := filepath.Base(c)
		for _, tc := range []struct {
			suffix string
			args   []string
		}{
			{".txt", nil},
			{".json", []string{"--format", "json"}},
		} {
			t.Run(base+tc.suffix, func(t *testing.T) {
				args := append([]string{"stats"}, tc.args...)
				out, stderr, code := runBinary(t, nil, append(args, c)...)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				golden(t, filepath.Join("stats", base+tc.suffix), out)
			})
		}
	}
}

// statsJSON is the part of the JSON report scripts rely on.
type statsJSON struct {
	Capture string `json:"capture"`
	Summary struct {
		Packets     int `json:"packets"`
		PacketTypes []struct {
			Type  string `json:"type"`
			Total int    `json:"total"`
		} `json:"packet_types"`
	} `json:"summary"`
	Sessions struct {
		Rows []struct {
			Conn     int    `json:"conn"`
			ClientID string `json:"client_id"`
			Username string `json:"username"`
			Connack  *struct {
				Accepted bool   `json:"accepted"`
				Result   string `json:"result"`
			} `json:"connack"`
			Ended struct {
				Kind string `json:"kind"`
				Text string `json:"text"`
			} `json:"ended"`
		} `json:"rows"`
	} `json:"sessions"`
	Delivery struct {
		Flows []struct {
			Kind      string `json:"kind"`
			From      string `json:"from"`
			Started   int    `json:"started"`
			Completed int    `json:"completed"`
		} `json:"flows"`
		Latency []struct {
			Step  string  `json:"step"`
			P50Ms float64 `json:"p50_ms"`
		} `json:"latency"`
	} `json:"delivery"`
	Topics struct {
		Rows []struct {
			Topic     string `json:"topic"`
			Published int    `json:"published"`
		} `json:"rows"`
	} `json:"topics"`
	Subscriptions struct {
		Rows []struct {
			Filter  string   `json:"filter"`
			Matched []string `json:"matched_topics"`
		} `json:"rows"`
	} `json:"subscriptions"`
	Problems []struct {
		Kind   string `json:"kind"`
		Count  int    `json:"count"`
		Frames []int  `json:"frames"`
	} `json:"problems"`
}

func TestStatsJSONSchema(t *testing.T) {
	out, _, code := runBinary(t, nil, "stats", "--format", "json", filepath.Join("..", "..", "testdata", "refused.pcap"))
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var r statsJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Summary.Packets == 0 || len(r.Sessions.Rows) != 10 || len(r.Delivery.Flows) == 0 || len(r.Topics.Rows) == 0 || len(r.Problems) == 0 {
		t.Errorf("report = %+v", r)
	}
	if s := r.Sessions.Rows[0]; s.Connack == nil || s.Connack.Accepted || s.Username != "alice" || s.Ended.Kind != "tcp_close" {
		t.Errorf("first session = %+v", s)
	}
	if strings.Contains(out, "secret") || strings.Contains(out, "passw") {
		t.Error("the report shows a password")
	}
}

func TestStatsFormatsAndFlags(t *testing.T) {
	v311 := filepath.Join("..", "..", "testdata", "v311.pcap")
	t.Run("markdown", func(t *testing.T) {
		out, _, code := runBinary(t, nil, "stats", "--format", "markdown", v311)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, want := range []string{"# MQTT statistics: ", "## Sessions", "## Delivery", "## Topics", "## Subscriptions", "## Problems",
			"| # | Client | Client ID |", "|---:|---|", "| home/status |"} {
			if !strings.Contains(out, want) {
				t.Errorf("markdown lacks %q", want)
			}
		}
	})
	t.Run("text sections", func(t *testing.T) {
		out, _, _ := runBinary(t, nil, "stats", v311)
		for _, want := range []string{"\nSessions\n", "\nDelivery\n", "\nTopics\n", "\nSubscriptions\n", "\nProblems\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("text lacks section %q", want)
			}
		}
	})
	t.Run("depth", func(t *testing.T) {
		out, _, code := runBinary(t, nil, "stats", "--format", "json", "--depth", "1", v311)
		var r statsJSON
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("exit %d", code)
		}
		var topics []string
		for _, row := range r.Topics.Rows {
			topics = append(topics, row.Topic)
		}
		if strings.Join(topics, " ") != "home/# plain/# sensors/#" {
			t.Errorf("depth 1 topics = %q", topics)
		}
	})
	t.Run("several files", func(t *testing.T) {
		// Read as one capture: one object, whatever the number of files.
		out, _, code := runBinary(t, nil, "stats", "--format", "json", v311, filepath.Join("..", "..", "testdata", "will.pcapng"))
		var one statsJSON
		if code != 0 || json.Unmarshal([]byte(out), &one) != nil {
			t.Fatalf("exit %d, output %.200s", code, out)
		}
		// --separate: an array, even of one report.
		for _, files := range [][]string{{v311, filepath.Join("..", "..", "testdata", "will.pcapng")}, {v311}} {
			out, _, code := runBinary(t, nil, append([]string{"stats", "--separate", "--format", "json"}, files...)...)
			var rs []statsJSON
			if code != 0 || json.Unmarshal([]byte(out), &rs) != nil || len(rs) != len(files) {
				t.Fatalf("--separate: exit %d, output %.200s", code, out)
			}
		}
	})
	t.Run("stdin and sample", func(t *testing.T) {
		data, _ := os.ReadFile(v311)
		out, _, code := runBinary(t, data, "stats", "-")
		if code != 0 || !strings.Contains(out, "MQTT statistics: standard input") || !strings.Contains(out, "v311-sub") {
			t.Errorf("stdin: exit %d, %.200s", code, out)
		}
		out, _, code = runBinary(t, nil, "stats")
		if code != 0 || !strings.Contains(out, "embedded sample") {
			t.Errorf("sample: exit %d, %.200s", code, out)
		}
	})
	checkExitCodes(t, []exitCase{
		{"bad format", []string{"stats", "--format", "xml"}, 2},
		{"bad depth", []string{"stats", "--depth", "-1"}, 2},
		{"bad port", []string{"stats", "--port", "70000"}, 2},
		{"bad version", []string{"stats", "--mqtt-version", "6"}, 2},
		{"bad progress", []string{"stats", "--progress", "sometimes"}, 2},
		{"missing file", []string{"stats", "/nonexistent.pcap"}, 1},
		{"not a capture", []string{"stats", "stats_test.go"}, 1},
	})
	t.Run("truncated capture", func(t *testing.T) {
		path := cutCapture(t, v311)
		out, stderr, code := runBinary(t, nil, "stats", path)
		if code != 1 || !strings.Contains(out, "\nSessions\n") || !strings.Contains(stderr, "truncated capture: frame") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}
