package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/dissect/stats"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newStatsCmd)
}

type statsOptions struct {
	readingFlags
	format   string
	depth    int
	progress string
	separate bool
	portArgs []string
	portAny  bool
}

func newStatsCmd() *cobra.Command {
	opts := &statsOptions{}
	cmd := &cobra.Command{
		Use:   "stats [FILE...]",
		Short: "Sessions, QoS delivery, topics, subscriptions and problems of MQTT captures",
		Long: `Answer "what happened on this broker?" from pcap/pcapng captures:

  Sessions       one row per MQTT connection: client, client identifier, version,
                 clean start, keep-alive, user name (never the password), CONNACK
                 result, duration, packets and bytes each way, and how it ended
  Delivery       QoS 1/2 and (UN)SUBSCRIBE flows matched by packet identifier:
                 completed, unanswered, broken; round-trip percentiles
  Topics         messages, payload bytes, QoS mix, retained and publishers per
                 topic (--depth rolls the tree up)
  Subscriptions  each topic filter with its granted QoS and the topics it matched
  Problems       refused connections, protocol violations, malformed packets and
                 gaps, with the frames to look at (frame.number == N in Wireshark)

FILE may be pcap or pcapng, either gzip-compressed; "-" reads standard input.
With no FILE, standard input is read when it is a pipe or a file, and a small
sample capture embedded in the program is analysed when it is a terminal.
Several files are read as the one capture mergecap would make of them
(--separate: one report each).
Memory stays flat on captures of any size.

Exit status: 0 when all is well, 1 when a capture was damaged or held malformed
MQTT packets (the report is still written), 2 on usage errors.`,
		Example: `  mqttdissect stats capture.pcapng
  mqttdissect stats --depth 2 capture.pcap.gz
  mqttdissect stats --format json capture.pcap | jq '.sessions.rows[] | select(.connack.accepted | not)'
  mqttdissect stats --format markdown capture.pcap > report.md`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.resolve(); err != nil {
				return usageError{err}
			}
			return runStats(cmd, opts, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.format, "format", "text", "output format: text, json or markdown")
	f.BoolVar(&opts.separate, "separate", false, "with several files: one report per file (JSON: always an array) instead of one for all")
	f.IntVar(&opts.depth, "depth", 0, "roll the topic table up to N levels (0: full topics)")
	f.StringSliceVar(&opts.portArgs, "port", nil, "TCP port to read MQTT on (repeatable; default 1883), or any: find the ports where streams start with CONNECT")
	opts.addTransportFlags(f)
	f.StringVar(&opts.mqttVersion, "mqtt-version", "", "MQTT version of connections whose CONNECT is not in the capture: 3.1, 3.1.1 or 5")
	f.StringVar(&opts.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
	return cmd
}

func (o *statsOptions) resolve() error {
	o.format, o.progress = strings.ToLower(o.format), strings.ToLower(o.progress)
	switch o.format {
	case "text", "json", "markdown":
	default:
		return fmt.Errorf("unknown --format %q (want text, json or markdown)", o.format)
	}
	if o.depth < 0 {
		return fmt.Errorf("--depth %d: want 0 (full topics) or more", o.depth)
	}
	var err error
	if o.ports, o.portAny, err = parsePortArgs(o.portArgs); err != nil {
		return err
	}
	if err := o.readingFlags.resolve(); err != nil {
		return err
	}
	return checkProgress(o.progress)
}

// runStats writes one report per file. With several files, JSON output is
// an array of reports and text/markdown reports follow one another.
func runStats(cmd *cobra.Command, o *statsOptions, files []string) error {
	ctx := cmd.Context()
	out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	defer out.Flush()
	if len(files) == 0 {
		files = []string{""} // the embedded sample, unless a capture is piped in
		if stdinIsData(cmd.InOrStdin()) {
			files = []string{"-"}
		}
	}
	var problems []string
	// One report for the files read as one capture; with --separate one
	// per file, and JSON is then always an array.
	groups := inputGroups(files, o.separate)
	array := o.separate && o.format == "json"
	if array {
		out.WriteString("[\n")
	}
	written := 0
	for _, group := range groups {
		label := groupName(group)
		g, bad := openGroup(cmd, group)
		problems = append(problems, bad...)
		names, total := g.names, g.total
		if len(names) == 0 {
			continue
		}
		ports := o.portList
		if o.portAny {
			found, err := findPorts(cmd.ErrOrStderr(), label, names)
			if err != nil {
				g.close()
				return err
			}
			if len(found) == 0 {
				g.close()
				continue
			}
			ports = found
		}
		bar := newProgress(cmd.ErrOrStderr(), cmd.OutOrStdout(), o.progress, label, total)
		rc := &dissect.RunConfig{Ports: ports, Progress: bar.update}
		connNotes := 0
		rc.Transport, rc.OnConnNote = o.transport, connNotePrinter(cmd.ErrOrStderr(), label, &connNotes)
		rc.Options = dissect.Options{DefaultVersion: o.version}
		a := stats.New(stats.Config{TopicDepth: o.depth})
		a.Attach(rc)
		rs, errs := g.run(ctx, rc)
		report := a.Report(rs)
		bar.done()
		g.close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		failed, noCapture := false, true
		for i, err := range errs {
			if err != nil {
				failed = true
				problems = append(problems, fmt.Sprintf("%s: %v", displayName(names[i]), userError(err)))
			}
			if !errors.Is(err, dissect.ErrNotCapture) {
				noCapture = false
			}
		}
		if noCapture {
			continue // nothing was read: no report to write
		}
		if rs.Overlaps > 0 && !g.merge {
			fmt.Fprintf(cmd.ErrOrStderr(), "mqttdissect: %s overlap in time: they were read one after the other; merge them with mergecap first, or use --separate\n", label)
		}
		if rs.Packets == 0 && !failed && !o.portAny {
			counts, scanned := scanFiles(names)
			explainNoMQTT(cmd.ErrOrStderr(), label, rs.Frames, ports, counts, scanned, connNotes)
		}
		if rs.Malformed > 0 {
			problems = append(problems, fmt.Sprintf("%s: %s", label, plural(rs.Malformed, "malformed MQTT packet", "malformed MQTT packets")))
		}
		report.Capture = label
		if written > 0 && o.format != "json" {
			out.WriteString("\n")
		}
		var err error
		switch o.format {
		case "json":
			if array && written > 0 {
				out.WriteString(",\n")
			}
			err = stats.WriteJSON(out, report)
		case "markdown":
			err = stats.WriteMarkdown(out, report)
		default:
			err = stats.WriteText(out, report)
		}
		if err != nil {
			return err
		}
		written++
	}
	if array {
		out.WriteString("]\n")
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return dataError{strings.Join(problems, "; ")}
	}
	return nil
}
