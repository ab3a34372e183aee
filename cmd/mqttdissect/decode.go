package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/internal/sample"
	"github.com/mqttdissect/mqttdissect/spec"
	"github.com/spf13/cobra"
)

type decodeOptions struct {
	readingFlags
	verbose       bool
	format        string
	types         []string
	topic         string
	clientID      string
	payloadAsText bool
	progress      string

	// resolved from the flags
	typeSet   [16]bool
	anyType   bool
	formatter func(b []byte, pdu *dissect.PDU, start time.Time) []byte
}

func newDecodeCmd() *cobra.Command {
	opts := &decodeOptions{}
	cmd := &cobra.Command{
		Use:   "decode [FILE...]",
		Short: "Print every MQTT packet of pcap/pcapng captures",
		Long: `Print every MQTT control packet of the captures, one line each (like tshark),
as a tree (-V, like tshark -V), or as JSON. FILE may be pcap or pcapng, either
gzip-compressed; "-" reads standard input. With no FILE, a small sample capture
embedded in the program is decoded.

Exit status: 0 when all is well, 1 when a capture was damaged or held malformed
MQTT packets (the output is still written), 2 on usage errors.`,
		Example: `  mqttdissect decode capture.pcapng
  mqttdissect decode -V --type publish --topic 'sensors/#' capture.pcap.gz
  mqttdissect decode --format jsonl capture.pcap | jq .info`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.resolve(); err != nil {
				return usageError{err}
			}
			return runDecode(cmd.Context(), cmd, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.verbose, "verbose", "V", false, "show the full tree of each packet with its notes")
	f.StringVar(&opts.format, "format", "text", "output format: text, json (one array) or jsonl (one object per line)")
	f.UintSliceVar(&opts.ports, "port", nil, "TCP port to read MQTT on (repeatable; default 1883)")
	opts.addTransportFlags(f)
	f.StringSliceVar(&opts.types, "type", nil, "keep only packets of these types (e.g. publish,subscribe; repeatable)")
	f.StringVar(&opts.topic, "topic", "", "keep only packets with a topic matching this MQTT topic filter (+ and # allowed)")
	f.StringVar(&opts.clientID, "client-id", "", "keep only packets of connections whose CONNECT had this client identifier")
	f.StringVar(&opts.mqttVersion, "mqtt-version", "", "MQTT version of connections whose CONNECT is not in the capture: 3.1, 3.1.1 or 5")
	f.BoolVar(&opts.payloadAsText, "payload-as-text", false, "show payloads as text (mqtt.msg_text) instead of bytes (mqtt.msg)")
	f.StringVar(&opts.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
	return cmd
}

func (o *decodeOptions) resolve() error {
	switch o.format {
	case "text":
		o.formatter = dissect.AppendSummary
		if o.verbose {
			o.formatter = func(b []byte, pdu *dissect.PDU, _ time.Time) []byte {
				b = dissect.AppendTree(b, pdu)
				return append(b, '\n')
			}
		}
	case "json", "jsonl":
		o.formatter = func(b []byte, pdu *dissect.PDU, _ time.Time) []byte { return dissect.AppendJSON(b, pdu) }
	default:
		return fmt.Errorf("unknown --format %q (want text, json or jsonl)", o.format)
	}
	for _, t := range o.types {
		for _, name := range strings.Split(t, ",") {
			pt, ok := spec.ParsePacketType(strings.TrimSpace(name))
			if !ok {
				return fmt.Errorf("unknown --type %q (want a packet type such as PUBLISH, or its number)", name)
			}
			o.typeSet[pt] = true
			o.anyType = true
		}
	}
	if o.topic != "" && !spec.ValidTopicFilter(o.topic) {
		return fmt.Errorf("--topic %q is not a valid MQTT topic filter", o.topic)
	}
	if err := o.readingFlags.resolve(); err != nil {
		return err
	}
	return checkProgress(o.progress)
}

// keep applies the filters.
func (o *decodeOptions) keep(pdu *dissect.PDU) bool {
	p := pdu.Packet
	if o.anyType && !o.typeSet[p.Type] {
		return false
	}
	if o.clientID != "" && pdu.State.ClientID != o.clientID {
		return false
	}
	if o.topic != "" {
		return o.topicMatches(p)
	}
	return true
}

func (o *decodeOptions) topicMatches(p *dissect.Packet) bool {
	if p.Type == spec.PUBLISH {
		return spec.MatchTopic(o.topic, string(p.Topic))
	}
	// SUBSCRIBE and UNSUBSCRIBE: any filter that, read as a name, matches.
	for i := range p.Nodes {
		n := &p.Nodes[i]
		if n.Field == spec.Topic && spec.MatchTopic(o.topic, string(n.Raw)) {
			return true
		}
	}
	return false
}

func runDecode(ctx context.Context, cmd *cobra.Command, o *decodeOptions, files []string) error {
	out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	defer out.Flush()
	if len(files) == 0 {
		files = []string{""} // the embedded sample
	}
	var buf []byte
	var start time.Time
	var problems []string
	first := true
	if o.format == "json" {
		out.WriteString("[")
	}
	for _, name := range files {
		in, size, closeFn, err := openInput(cmd, name)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		bar := newProgress(cmd.ErrOrStderr(), o.progress, displayName(name), size)
		cfg := &dissect.RunConfig{Ports: o.portList, Progress: bar.update}
		cfg.Options = dissect.Options{DefaultVersion: o.version, PayloadAsText: o.payloadAsText}
		cfg.Transport, cfg.OnConnNote = o.transport, connNotePrinter(cmd.ErrOrStderr(), displayName(name))
		cfg.OnPDU = func(pdu *dissect.PDU) {
			if start.IsZero() {
				start = pdu.Time
			}
			if !o.keep(pdu) {
				return
			}
			buf = buf[:0]
			if o.format == "json" {
				if !first {
					buf = append(buf, ',')
				}
				buf = append(buf, "\n"...)
			}
			first = false
			buf = o.formatter(buf, pdu, start)
			if o.format == "jsonl" {
				buf = append(buf, '\n')
			}
			out.Write(buf)
		}
		stats, err := dissect.Run(ctx, in, cfg)
		bar.done()
		closeFn()
		if errors.Is(err, context.Canceled) {
			if o.format == "json" {
				out.WriteString("\n]\n")
			}
			out.Flush()
			return err
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", displayName(name), err))
		}
		if stats.Malformed > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d malformed MQTT packets", displayName(name), stats.Malformed))
		}
		noteLossAndEviction(cmd.ErrOrStderr(), displayName(name), stats)
	}
	if o.format == "json" {
		out.WriteString("\n]\n")
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return dataError{strings.Join(problems, "; ")}
	}
	return nil
}

// noteLossAndEviction says on stderr what the packets' notes cannot say
// once (issue 11): captured bytes read as no packet, connections whose
// state was dropped for the ceiling.
func noteLossAndEviction(w io.Writer, name string, st dissect.RunStats) {
	if st.SkippedBytes > 0 {
		fmt.Fprintf(w, "mqttdissect: %s: %d captured bytes after lost bytes could not be read as MQTT packets (the next packet's mqtt.skipped note names their frames)\n", name, st.SkippedBytes)
		for _, k := range st.SkippedAtEnd {
			src := k.Conn.Client
			if k.Dir == dissect.ToClient {
				src = k.Conn.Server
			}
			fmt.Fprintf(w, "mqttdissect: %s: %d of them from %s, in frames %d-%d, before the connection or the capture ended\n", name, k.Bytes, src, k.First, k.Last)
		}
	}
	if st.Evicted > 0 {
		fmt.Fprintf(w, "mqttdissect: %s: %d connections were dropped from the reader's state, more than %d being open at once (the one idle the longest first); a packet in progress on them carries an mqtt.evicted note\n", name, st.Evicted, dissect.DefaultMaxConns)
	}
}

func displayName(name string) string {
	switch name {
	case "":
		return "embedded sample (" + sample.Name + ")"
	case "-":
		return "standard input"
	}
	return name
}

// openInput opens a capture file, standard input ("-"), or the embedded
// sample (""). size is -1 when unknown.
func openInput(cmd *cobra.Command, name string) (io.Reader, int64, func(), error) {
	switch name {
	case "":
		return strings.NewReader(sample.Capture), int64(len(sample.Capture)), func() {}, nil
	case "-":
		return cmd.InOrStdin(), -1, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, err
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, size, func() { f.Close() }, nil
}

// progress draws a progress bar on stderr for large inputs.
type progress struct {
	w       io.Writer
	name    string
	size    int64
	on      bool
	last    time.Time
	started time.Time
	drawn   bool
}

func newProgress(w io.Writer, mode, name string, size int64) *progress {
	p := &progress{w: w, name: name, size: size, started: time.Now()}
	switch mode {
	case "always":
		p.on = size > 0
	case "auto":
		p.on = size > 8<<20 && isTerminal(w)
	}
	return p
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
	const width = 30
	fill := int(pct * width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	fmt.Fprintf(p.w, "\r%s [%s] %3d%% %s/%s", p.name, bar, int(pct*100), humanBytes(done), humanBytes(p.size))
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
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

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
