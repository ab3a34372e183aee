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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/dissect/filter"
	"github.com/mqttdissect/mqttdissect/internal/sample"
	"github.com/mqttdissect/mqttdissect/spec"
	"github.com/spf13/cobra"
)

type decodeOptions struct {
	readingFlags
	verbose       bool
	format        string
	types         []string
	topics        []string
	clientIDs     []string
	withAcks      bool
	display       string
	fields        []string
	fieldOpts     []string
	count         int
	hexDump       bool
	lineBuffered  bool
	listFields    bool
	payloadAsText bool
	progress      string
	separate      bool

	// resolved from the flags
	clientIDSet bool
	portArgs    []string
	portAny     bool
	assigned    assignedIDs
	shorthand   *filter.Filter // --type, --topic, --client-id: per MQTT packet
	filter      *filter.Filter // -Y
	acks        *ackTracker
	columns     *fieldsWriter
	formatter   func(b []byte, pdu *dissect.PDU, start time.Time) []byte
}

func newDecodeCmd() *cobra.Command {
	opts := &decodeOptions{}
	cmd := &cobra.Command{
		Use:   "decode [FILE...]",
		Short: "Print every MQTT packet of pcap/pcapng captures",
		Long: `Print every MQTT control packet of the captures, one line each (like tshark),
as a tree (-V, like tshark -V), as JSON, or as tab-separated fields
(-T fields -e FIELD, like tshark). FILE may be pcap or pcapng, either
gzip-compressed; "-" reads standard input. With no FILE, standard input is
read when it is a pipe or a file (tcpdump -U -w - | mqttdissect decode), and a
small sample capture embedded in the program is decoded when it is a terminal.

-Y takes a Wireshark display filter over Wireshark's MQTT field names:
  mqtt.qos >= 1 && mqtt.topic matches "^sensors/"
  mqtt.msgtype in {3, 8} and not mqtt.retain == 1
  mqtt.conack.val != 0 || mqtt.connack.reason_code >= 0x80
A test holds when any occurrence of the field satisfies it. With -T fields,
rows are frames and a frame holds the fields of all its MQTT packets, as in
tshark; otherwise each MQTT packet is kept or not. --list-fields names them.

Exit status: 0 when all is well, 1 when a capture was damaged or held malformed
MQTT packets (the output is still written), 2 on usage errors.`,
		Example: `  mqttdissect decode capture.pcapng
  mqttdissect decode -V --type publish --topic 'sensors/#' capture.pcap.gz
  mqttdissect decode -Y 'mqtt.qos >= 1 && mqtt.topic matches "^sensors/"' capture.pcap
  mqttdissect decode -T fields -e frame.number -e mqtt.topic -e mqtt.msg capture.pcap
  tcpdump -U -w - 'tcp port 1883' | mqttdissect decode
  mqttdissect decode --format jsonl capture.pcap | jq .info`,
		Args: usageArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.listFields {
				return listFields(cmd.OutOrStdout())
			}
			opts.clientIDSet = cmd.Flags().Changed("client-id")
			if err := opts.resolve(); err != nil {
				return usageError{err}
			}
			return runDecode(cmd.Context(), cmd, opts, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.verbose, "verbose", "V", false, "show the full tree of each packet with its notes (text format)")
	f.StringVarP(&opts.format, "format", "T", "text", "output format: text, json (one array), jsonl (one object per line) or fields (-e)")
	f.StringVarP(&opts.display, "filter", "Y", "", "keep only packets matching this Wireshark display filter")
	f.StringArrayVarP(&opts.fields, "field", "e", nil, "with -T fields: a field to print (repeatable; frame.number, mqtt.topic, ...)")
	f.StringArrayVarP(&opts.fieldOpts, "field-option", "E", nil, "with -T fields: separator=/t|/s|C, header=y|n, quote=d|s|n, occurrence=f|l|a, aggregator=,|/s|C")
	f.IntVarP(&opts.count, "count", "c", 0, "stop after this many MQTT packets (rows with -T fields)")
	f.BoolVarP(&opts.hexDump, "hex", "x", false, "add a hex dump of each MQTT packet")
	f.BoolVarP(&opts.lineBuffered, "line-buffered", "l", false, "write each packet as soon as it is decoded (the default when reading a pipe)")
	f.BoolVar(&opts.separate, "separate", false, "with several files: decode each on its own, under a '==> FILE <==' line, instead of as one capture")
	f.BoolVar(&opts.listFields, "list-fields", false, "list the field names -Y and -e accept, and exit")
	f.StringSliceVar(&opts.portArgs, "port", nil, "TCP port to read MQTT on (repeatable; default 1883), or any: find the ports where streams start with CONNECT")
	opts.addTransportFlags(f)
	f.StringSliceVar(&opts.types, "type", nil, "keep only packets of these types (e.g. publish,subscribe; repeatable)")
	f.StringArrayVar(&opts.topics, "topic", nil, "keep only packets with a topic matching this MQTT topic filter (+ and # allowed; repeatable)")
	f.BoolVar(&opts.withAcks, "with-acks", false, "with --topic: keep also the packets answering the kept PUBLISH, SUBSCRIBE and UNSUBSCRIBE")
	f.StringArrayVar(&opts.clientIDs, "client-id", nil, "keep only packets of connections with this client identifier, sent or assigned (repeatable; '' for an empty one)")
	f.StringVar(&opts.mqttVersion, "mqtt-version", "", "MQTT version of connections whose CONNECT is not in the capture: 3.1, 3.1.1 or 5")
	f.BoolVar(&opts.payloadAsText, "payload-as-text", false, "show payloads as text (mqtt.msg_text) instead of bytes (mqtt.msg)")
	f.StringVar(&opts.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
	return cmd
}

func (o *decodeOptions) resolve() error {
	o.format, o.progress = strings.ToLower(o.format), strings.ToLower(o.progress)
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
		if o.verbose {
			return fmt.Errorf("-V shows a tree in text format; JSON output always carries the whole tree (drop -V or --format %s)", o.format)
		}
		if o.hexDump {
			return fmt.Errorf("-x adds hex dumps to text output; with --format %s, read the bytes from the fields", o.format)
		}
		o.formatter = func(b []byte, pdu *dissect.PDU, _ time.Time) []byte { return dissect.AppendJSON(b, pdu) }
	case "fields":
		if len(o.fields) == 0 {
			return errors.New("-T fields needs at least one -e FIELD (for example -e frame.number -e mqtt.topic)")
		}
		if o.verbose || o.hexDump {
			return errors.New("-V and -x do not apply to -T fields")
		}
		w, err := newFieldsWriter(o.fields, o.fieldOpts)
		if err != nil {
			return err
		}
		o.columns = w
	default:
		return fmt.Errorf("unknown --format %q (want text, json, jsonl or fields)", o.format)
	}
	if o.format != "fields" && (len(o.fields) > 0 || len(o.fieldOpts) > 0) {
		return errors.New("-e and -E need -T fields")
	}
	if o.count < 0 {
		return fmt.Errorf("-c %d: want a positive number of packets", o.count)
	}
	if o.display != "" {
		f, err := filter.Compile(o.display)
		if err != nil {
			return filterError("-Y", err)
		}
		o.filter = f
	}
	var parts []*filter.Filter
	if len(o.types) > 0 {
		var nums []string
		for _, t := range o.types {
			for _, name := range strings.Split(t, ",") {
				pt, ok := spec.ParsePacketType(strings.TrimSpace(name))
				if !ok {
					return fmt.Errorf("unknown --type %q (want a packet type such as PUBLISH, or its number)", name)
				}
				nums = append(nums, strconv.Itoa(int(pt)))
			}
		}
		f, err := filter.Compile(spec.MsgType.Abbrev + " in {" + strings.Join(nums, ", ") + "}")
		if err != nil {
			return err
		}
		parts = append(parts, f)
	}
	for _, t := range o.topics {
		if !spec.ValidTopicFilter(t) {
			return fmt.Errorf("--topic %q is not a valid MQTT topic filter", t)
		}
	}
	if o.withAcks && len(o.topics) == 0 {
		return errors.New("--with-acks needs --topic")
	}
	if len(o.topics) > 0 {
		parts = append(parts, filter.Predicate("--topic", o.topicMatches))
	}
	if o.clientIDSet {
		ids := map[string]bool{}
		for _, id := range o.clientIDs {
			ids[id] = true
		}
		parts = append(parts, filter.Predicate("--client-id", func(pdus []*dissect.PDU) bool {
			for _, p := range pdus {
				// A connection whose CONNECT was not captured has no
				// identifier, not an empty one.
				if p.State.SawConnect && ids[p.State.ClientID] {
					return true
				}
				if a, ok := o.assigned[p.Conn]; ok && ids[a] {
					return true
				}
			}
			return false
		}))
	}
	o.shorthand = filter.And(parts...)
	o.assigned = assignedIDs{}
	var err error
	if o.ports, o.portAny, err = parsePortArgs(o.portArgs); err != nil {
		return err
	}
	if o.withAcks {
		o.acks = newAckTracker()
	}
	if err := o.readingFlags.resolve(); err != nil {
		return err
	}
	return checkProgress(o.progress)
}

// filterError shows a display-filter mistake as Wireshark does: the
// message, then the expression with the mistake underlined.
func filterError(flag string, err error) error {
	var fe *filter.Error
	if errors.As(err, &fe) {
		return fmt.Errorf("%s: %s\n%s", flag, fe.Error(), fe.Caret())
	}
	return fmt.Errorf("%s: %v", flag, err)
}

func (o *decodeOptions) topicMatches(pdus []*dissect.PDU) bool {
	for _, pdu := range pdus {
		if o.topicMatchesPDU(pdu.Packet) {
			return true
		}
	}
	return false
}

func (o *decodeOptions) topicMatchesPDU(p *dissect.Packet) bool {
	for _, t := range o.topics {
		if p.Type == spec.PUBLISH {
			if spec.MatchTopic(t, string(p.Topic)) {
				return true
			}
			continue
		}
		// SUBSCRIBE and UNSUBSCRIBE: any filter that, read as a name, matches.
		for i := range p.Nodes {
			n := &p.Nodes[i]
			if n.Field == spec.Topic && spec.MatchTopic(t, string(n.Raw)) {
				return true
			}
		}
	}
	return false
}

// keepPDU applies the shorthand flags to one MQTT packet, remembering what
// --with-acks needs.
func (o *decodeOptions) keepPDU(pdu *dissect.PDU, one []*dissect.PDU) bool {
	if o.shorthand == nil {
		return true
	}
	one[0] = pdu
	if o.shorthand.Match(one) {
		if o.acks != nil {
			o.acks.request(pdu)
		}
		return true
	}
	return o.acks != nil && o.acks.answers(pdu)
}

// keepDisplay applies -Y to one MQTT packet.
func (o *decodeOptions) keepDisplay(pdu *dissect.PDU) bool {
	return o.filter == nil || o.filter.MatchPDU(pdu)
}

// output writes decoded packets, flushing after each one when asked, and
// notices a reader that went away (EPIPE).
type output struct {
	mu       sync.Mutex // the Ctrl-C watcher may flush from its goroutine
	w        *bufio.Writer
	flushAll bool
	err      error
}

func (w *output) write(b []byte) {
	w.mu.Lock()
	if w.err == nil {
		_, w.err = w.w.Write(b)
		if w.err == nil && w.flushAll {
			w.err = w.w.Flush()
		}
	}
	w.mu.Unlock()
}

func (w *output) flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.err = w.w.Flush()
	return w.err
}

func runDecode(ctx context.Context, cmd *cobra.Command, o *decodeOptions, files []string) error {
	stdout := cmd.OutOrStdout()
	out := &output{w: bufio.NewWriterSize(stdout, 64<<10), flushAll: o.lineBuffered}
	if len(files) == 0 {
		if stdinIsData(cmd.InOrStdin()) {
			files = []string{"-"}
		} else {
			files = []string{""} // the embedded sample
		}
	}
	for _, name := range files {
		if name == "-" && isPipe(cmd.InOrStdin()) {
			out.flushAll = true // live capture: show each packet as it arrives
		}
	}
	// Ctrl-C: stop between frames. A read from a pipe may block for as long
	// as the writer is silent, so after a second the watcher writes what
	// was decoded and ends the program itself.
	var interrupted atomic.Bool
	var curBar atomic.Pointer[progress]
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-finished:
			return
		case <-ctx.Done():
		}
		interrupted.Store(true)
		select {
		case <-finished:
		case <-time.After(time.Second):
			out.mu.Lock()
			out.w.Flush()
			if b := curBar.Load(); b != nil {
				b.done()
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "mqttdissect: interrupted; the output so far was written")
			os.Exit(exitInterrupted)
		}
	}()
	var buf []byte
	var start time.Time
	var problems []string
	var malformedFrames []int
	malformedTotal := 0
	first := true
	printed := 0
	stop := false
	one := make([]*dissect.PDU, 1)
	var frame filter.FrameBuffer
	if o.format == "json" {
		out.write([]byte("["))
	}
	if o.columns != nil && o.columns.header {
		out.write(o.columns.headerLine())
	}
	emit := func(pdu *dissect.PDU) {
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
		if o.hexDump {
			buf = appendHexDump(buf, pdu.Packet.Raw)
		}
		out.write(buf)
		printed++
	}
	flushFrame := func() {
		if frame.Len() == 0 {
			return
		}
		pdus := frame.PDUs()
		if !stop && (o.filter == nil || o.filter.Match(pdus)) {
			out.write(o.columns.row(pdus))
			printed++
			if o.count > 0 && printed >= o.count {
				stop = true
			}
		}
		frame.Reset()
	}
	groups := inputGroups(files, o.separate)
	for gi, group := range groups {
		label := groupName(group)
		if o.separate && len(groups) > 1 && (o.format == "text" || o.format == "fields") {
			if gi > 0 {
				out.write([]byte("\n"))
			}
			out.write([]byte("==> " + label + " <==\n"))
		}
		g, bad := openGroup(cmd, group)
		problems = append(problems, bad...)
		names, total := g.names, g.total
		closeAll := g.close
		if len(names) == 0 {
			continue
		}
		ports := o.portList
		if o.portAny {
			found, err := findPorts(cmd.ErrOrStderr(), label, names)
			if err != nil {
				closeAll()
				return err
			}
			if len(found) == 0 {
				closeAll()
				continue
			}
			ports = found
		}
		bar := newProgress(cmd.ErrOrStderr(), stdout, o.progress, label, total)
		curBar.Store(bar)
		cfg := &dissect.RunConfig{Ports: ports, Progress: bar.update}
		cfg.Options = dissect.Options{DefaultVersion: o.version, PayloadAsText: o.payloadAsText}
		connNotes := 0
		cfg.Transport, cfg.OnConnNote = o.transport, connNotePrinter(cmd.ErrOrStderr(), label, &connNotes)
		cfg.Stop = func() bool { return stop || out.err != nil || interrupted.Load() }
		cfg.OnPDU = func(pdu *dissect.PDU) {
			if start.IsZero() {
				start = pdu.Time
			}
			if o.clientIDSet {
				o.assigned.note(pdu)
			}
			if pdu.Packet.Malformed && len(malformedFrames) < 5 {
				malformedFrames = append(malformedFrames, pdu.Frame)
			}
			if stop || !o.keepPDU(pdu, one) {
				return
			}
			if o.columns != nil {
				if frame.Len() > 0 && frame.Frame() != pdu.Frame {
					flushFrame()
				}
				frame.Add(pdu)
				return
			}
			if !o.keepDisplay(pdu) {
				return
			}
			emit(pdu)
			if o.count > 0 && printed >= o.count {
				stop = true
			}
		}
		if o.separate {
			start = time.Time{} // times are relative to each file's first packet
		}
		stats, errs := g.run(ctx, cfg)
		if o.columns != nil {
			flushFrame()
		}
		bar.done()
		closeAll()
		if ctx.Err() != nil {
			if o.format == "json" {
				out.write([]byte("\n]\n"))
			}
			out.flush()
			return ctx.Err()
		}
		for i, err := range errs {
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", displayName(names[i]), userError(err)))
			}
		}
		if stats.Overlaps > 0 && !g.merge {
			fmt.Fprintf(cmd.ErrOrStderr(), "mqttdissect: %s overlap in time: they were read one after the other; for the exact order of frames, merge them with mergecap first, or use --separate\n", label)
		}
		if stats.Packets == 0 && !o.portAny && len(problems) == 0 {
			counts, scanned := scanFiles(names)
			explainNoMQTT(cmd.ErrOrStderr(), label, stats.Frames, ports, counts, scanned, connNotes)
		}
		malformedTotal += stats.Malformed
		if stop || out.err != nil {
			break
		}
		noteLossAndEviction(cmd.ErrOrStderr(), label, stats)
	}
	if o.format == "json" {
		out.write([]byte("\n]\n"))
	}
	if err := out.flush(); err != nil {
		if errors.Is(err, syscall.EPIPE) {
			return nil // the reader went away (| head): nothing more to say
		}
		return err
	}
	if malformedTotal > 0 {
		problems = append(problems, malformedLine(malformedTotal, malformedFrames))
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

// malformedLine says how many packets were malformed and where to look.
func malformedLine(n int, frames []int) string {
	s := plural(n, "malformed MQTT packet", "malformed MQTT packets")
	if len(frames) == 0 {
		return s
	}
	var fs []string
	for _, f := range frames {
		fs = append(fs, strconv.Itoa(f))
	}
	more := ""
	if n > len(frames) {
		more = ", ..."
	}
	return fmt.Sprintf("%s (frame %s%s)", s, strings.Join(fs, ", "), more)
}

// plural writes n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
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

// userError rewrites errors of the packages below in the user's terms:
// without "dissect: " and the like, and with file-system errors reduced to
// what went wrong.
func userError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Op == "open" {
		return pe.Err // the caller names the file
	}
	if errors.Is(err, dissect.ErrNotCapture) {
		return errors.New("not a pcap or pcapng file (write captures with tcpdump -w, dumpcap or Wireshark; gzip-compressed ones are read too)")
	}
	return withoutPrefixes(err)
}

// withoutPrefixes drops the package prefixes ("dissect: ") from a message.
func withoutPrefixes(err error) error {
	msg := err.Error()
	// Only where a message (or a wrapped one) starts: after ": ".
	for _, prefix := range []string{"dissect: ", "luagen: ", "spec: ", "wslua: ", "validate: "} {
		msg = strings.TrimPrefix(msg, prefix)
		msg = strings.ReplaceAll(msg, ": "+prefix, ": ")
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// stdinIsData reports whether standard input is a pipe, a socket or a
// file: something to read a capture from, rather than a terminal (or
// /dev/null, as under cron or an IDE).
func stdinIsData(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return r != nil && r != os.Stdin
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	m := fi.Mode()
	return m&os.ModeNamedPipe != 0 || m&os.ModeSocket != 0 || (m.IsRegular() && fi.Size() > 0)
}

func isPipe(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0
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

// appendHexDump appends b as tshark -x shows bytes: offset, 16 hex bytes,
// their printable ASCII, and a blank line after.
func appendHexDump(out []byte, b []byte) []byte {
	const digits = "0123456789abcdef"
	for off := 0; off < len(b); off += 16 {
		line := b[off:min(off+16, len(b))]
		out = append(out, digits[off>>12&15], digits[off>>8&15], digits[off>>4&15], digits[off&15], ' ', ' ')
		for i := 0; i < 16; i++ {
			if i < len(line) {
				out = append(out, digits[line[i]>>4], digits[line[i]&15])
			} else {
				out = append(out, ' ', ' ')
			}
			if i < 15 {
				out = append(out, ' ')
			}
		}
		out = append(out, ' ', ' ', ' ')
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			out = append(out, c)
		}
		out = append(out, '\n')
	}
	return append(out, '\n')
}
