package stats

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mqttdissect/mqttdissect/dissect"
	"unicode/utf8"
)

// Widths past which cells are shortened in the middle ("sensors/…/temp").
const (
	maxTopicWidth  = 48
	maxIDWidth     = 32
	maxListWidth   = 60
	maxMsgWidth    = 90
	maxReasonWidth = 40
)

// WriteJSON writes the report as one indented JSON object.
//
// The three row lists (sessions, topics, subscriptions) are written row by
// row, the same bytes encoding/json writes for the whole report, so that
// the output is never held twice in memory (encoding/json builds all of
// it, then indents a copy).
func WriteJSON(w io.Writer, r *Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	shell := *r
	shell.Sessions.Rows, shell.Topics.Rows, shell.Subscriptions.Rows = nil, nil, nil
	var head bytes.Buffer
	if err := encodeIndented(&head, &shell, ""); err != nil {
		return err
	}
	text := head.Bytes()
	const hole = `"rows": null`
	lists := []func(*bufio.Writer, string) error{
		func(b *bufio.Writer, p string) error { return writeRows(b, r.Sessions.Rows, p) },
		func(b *bufio.Writer, p string) error { return writeRows(b, r.Topics.Rows, p) },
		func(b *bufio.Writer, p string) error { return writeRows(b, r.Subscriptions.Rows, p) },
	}
	for _, list := range lists {
		i := bytes.Index(text, []byte(hole))
		if i < 0 {
			return fmt.Errorf("stats: JSON writer lost its place")
		}
		line := bytes.LastIndexByte(text[:i], '\n') + 1
		indent := string(text[line:i])
		bw.Write(text[:i+len(hole)-len("null")])
		if err := list(bw, indent); err != nil {
			return err
		}
		text = text[i+len(hole):]
	}
	bw.Write(text)
	return bw.Flush()
}

// writeRows writes rows as encoding/json indents a list whose key sits
// at indent.
func writeRows[T any](w *bufio.Writer, rows []T, indent string) error {
	if len(rows) == 0 {
		if rows == nil {
			_, err := w.WriteString("null")
			return err
		}
		_, err := w.WriteString("[]")
		return err
	}
	w.WriteString("[\n")
	var buf bytes.Buffer
	prefix := indent + "  "
	for i := range rows {
		buf.Reset()
		if err := encodeIndented(&buf, &rows[i], prefix); err != nil {
			return err
		}
		if i > 0 {
			w.WriteString(",\n")
		}
		w.WriteString(prefix)
		w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	w.WriteString("\n" + indent + "]")
	return nil
}

func encodeIndented(buf *bytes.Buffer, v any, prefix string) error {
	enc := json.NewEncoder(buf)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// WriteText writes the report as aligned tables for a terminal.
func WriteText(w io.Writer, r *Report) error {
	return write(w, r, false)
}

// WriteMarkdown writes the report as Markdown tables.
func WriteMarkdown(w io.Writer, r *Report) error {
	return write(w, r, true)
}

type table struct {
	head  []string
	right []bool // right-aligned columns
	max   []int  // width limit per column, 0: none
	rows  [][]string
}

func newTable(cols ...string) *table {
	t := &table{}
	for _, c := range cols {
		// A leading '>' marks a right-aligned column.
		right := strings.HasPrefix(c, ">")
		t.head = append(t.head, strings.TrimPrefix(c, ">"))
		t.right = append(t.right, right)
	}
	t.max = make([]int, len(cols))
	return t
}

func (t *table) limit(col, width int) *table { t.max[col] = width; return t }

func (t *table) add(cells ...string) {
	for i := range cells {
		if cells[i] == "" {
			cells[i] = "-"
		}
		if t.max[i] > 0 {
			cells[i] = shortenMiddle(cells[i], t.max[i])
		}
	}
	t.rows = append(t.rows, cells)
}

// shortenMiddle cuts s to max runes, replacing its middle with "…".
func shortenMiddle(s string, max int) string {
	n := utf8.RuneCountInString(s)
	if n <= max || max < 5 {
		return s
	}
	r := []rune(s)
	keep := max - 1
	head := (keep + 1) / 2
	tail := keep - head
	return string(r[:head]) + "…" + string(r[n-tail:])
}

func (t *table) text(b *strings.Builder) {
	width := make([]int, len(t.head))
	for i, h := range t.head {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		var l strings.Builder
		l.WriteString("  ")
		for i, c := range cells {
			if i > 0 {
				l.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if t.right[i] {
				l.WriteString(pad + c)
			} else {
				l.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	line(t.head)
	for _, r := range t.rows {
		line(r)
	}
}

func (t *table) markdown(b *strings.Builder) {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	b.WriteString("|")
	for _, h := range t.head {
		b.WriteString(" " + esc(h) + " |")
	}
	b.WriteString("\n|")
	for i := range t.head {
		if t.right[i] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.rows {
		b.WriteString("|")
		for _, c := range r {
			b.WriteString(" " + esc(c) + " |")
		}
		b.WriteString("\n")
	}
}

// doc assembles sections in either form.
type doc struct {
	b  strings.Builder
	md bool
}

func (d *doc) title(s string) {
	if d.md {
		d.b.WriteString("# " + s + "\n\n")
	} else {
		d.b.WriteString(s + "\n\n")
	}
}

func (d *doc) section(s string) {
	if d.md {
		d.b.WriteString("## " + s + "\n\n")
	} else {
		d.b.WriteString(s + "\n" + strings.Repeat("=", utf8.RuneCountInString(s)) + "\n")
	}
}

func (d *doc) para(s string) {
	if d.md {
		d.b.WriteString(s + "\n\n")
	} else {
		d.b.WriteString("  " + s + "\n")
	}
}

func (d *doc) table(t *table) {
	if len(t.rows) == 0 {
		d.para("(none)")
		if !d.md {
			d.b.WriteByte('\n')
		}
		return
	}
	if d.md {
		t.markdown(&d.b)
	} else {
		t.text(&d.b)
	}
	d.b.WriteByte('\n')
}

func write(w io.Writer, r *Report, md bool) error {
	d := &doc{md: md}
	d.title("MQTT statistics: " + r.Capture)
	summary(d, r)
	sessions(d, r)
	delivery(d, r)
	topics(d, r)
	subscriptions(d, r)
	problems(d, r)
	out := strings.TrimRight(d.b.String(), "\n") + "\n"
	_, err := io.WriteString(w, out)
	return err
}

func itoa(n int) string { return strconv.Itoa(n) }

func frameText(n int) string {
	if n <= 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func secText(s float64) string { return strconv.FormatFloat(s, 'f', 6, 64) }

func msText(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func summary(d *doc, r *Report) {
	s := &r.Summary
	d.section("Summary")
	if s.Start != "" {
		d.para(fmt.Sprintf("MQTT from %s to %s (%s s)", s.Start, s.End, secText(s.DurationS)))
	}
	line := fmt.Sprintf("%d frames, %d MQTT packets, %d connections", s.Frames, s.Packets, s.Connections)
	if s.Malformed > 0 || s.Truncated > 0 {
		line += fmt.Sprintf(", %d malformed, %d truncated", s.Malformed, s.Truncated)
	}
	d.para(line)
	if s.Damaged != "" {
		d.para("The capture is damaged and was read up to the damage only: " + s.Damaged + ". Findings marked (possibly because the capture is cut short) may be the cut's doing.")
	}
	if s.Gaps > 0 {
		gaps := fmt.Sprintf("The capture missed %d bytes of TCP data in %d gaps", s.LostBytes, s.Gaps)
		if s.SkippedBytes > 0 {
			gaps += fmt.Sprintf("; %d captured bytes after them could not be read as MQTT", s.SkippedBytes)
		}
		d.para(gaps + ": packets there are lost or cut short (notes mqtt.gap, mqtt.skipped).")
	}
	if s.Evicted > 0 {
		d.para(fmt.Sprintf("%d connections were dropped from the reader's state (more than %d open at once, the one idle the longest first); their sessions end as \"not followed further\".", s.Evicted, dissect.DefaultMaxConns))
	}
	if !d.md {
		d.b.WriteByte('\n')
	}
	t := newTable("Type", ">To broker", ">To client", ">Total", ">Bytes")
	var in, out, total int
	var bytes int64
	for _, c := range s.PacketTypes {
		t.add(c.Type, itoa(c.ToServer), itoa(c.ToClient), itoa(c.Total), strconv.FormatInt(c.Bytes, 10))
		in, out, total, bytes = in+c.ToServer, out+c.ToClient, total+c.Total, bytes+c.Bytes
	}
	if len(s.PacketTypes) > 0 {
		t.add("all", itoa(in), itoa(out), itoa(total), strconv.FormatInt(bytes, 10))
	}
	d.table(t)
}

func sessions(d *doc, r *Report) {
	d.section("Sessions")
	rows := r.Sessions.Rows
	who := newTable(">#", "Client", "Client ID", "Version", "Clean", ">Keep-alive", "User", "Will", "CONNACK").
		limit(2, maxIDWidth+24).limit(7, maxTopicWidth).limit(8, maxReasonWidth+20)
	for _, s := range rows {
		id := s.ClientID
		if id == "" && s.AssignedID != "" {
			id = s.AssignedID + " (assigned)"
		} else if id == "" && s.SawConnect {
			id = `""`
		}
		clean := "-"
		ka := "-"
		if s.SawConnect {
			clean = yesNo(s.CleanStart)
			ka = itoa(s.KeepAlive) + " s"
			if s.ServerKeep >= 0 {
				ka += " (broker: " + itoa(s.ServerKeep) + " s)"
			}
		}
		will := "-"
		if s.Will != nil {
			will = fmt.Sprintf("%s (QoS %d", s.Will.Topic, s.Will.QoS)
			if s.Will.Retain {
				will += ", retain"
			}
			will += ")"
		}
		ack := "none"
		if s.Connack != nil {
			ack = s.Connack.Result
		}
		who.add(itoa(s.Conn), s.Client, id, s.Version, clean, ka, s.Username, will, ack)
	}
	d.table(who)
	if len(rows) == 0 {
		return
	}
	life := newTable(">#", ">Start", ">Duration", ">Pkts →", ">Pkts ←", ">Bytes →", ">Bytes ←", "Ended").
		limit(7, 120)
	for _, s := range rows {
		life.add(itoa(s.Conn), secText(s.StartRel), secText(s.DurationS)+" s",
			itoa(s.PacketsIn), itoa(s.PacketsOut),
			strconv.FormatInt(s.BytesIn, 10), strconv.FormatInt(s.BytesOut, 10), s.Ended.Text)
	}
	d.table(life)
	transports(d, rows)
	if !d.md {
		d.b.WriteString("  Start: seconds since the first MQTT packet; → to the broker, ← to the client.\n\n")
	} else {
		d.para("Start: seconds since the first MQTT packet; → to the broker, ← to the client.")
	}
	if o := r.Sessions.Omitted; o != nil {
		d.para(fmt.Sprintf("%d more sessions not listed (row limit): %d packets, %d bytes, %d refused; ended: %s.",
			o.Count, o.Packets, o.Bytes, o.Refused, countsText(o.Ended)))
		if !d.md {
			d.b.WriteByte('\n')
		}
	}
}

func countsText(m map[string]int) string {
	var parts []string
	for _, k := range []string{"disconnect", "tcp_close", "open"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}

var flowTitles = map[string]string{
	"qos1": "QoS 1 PUBLISH", "qos2": "QoS 2 PUBLISH", "subscribe": "SUBSCRIBE", "unsubscribe": "UNSUBSCRIBE",
}

func delivery(d *doc, r *Report) {
	d.section("Delivery")
	t := newTable("Flow", "From", ">Started", ">Completed", ">Rejected", ">Unanswered", ">Unknown id", ">Reused id", ">DUP re-sends")
	for _, f := range r.Delivery.Flows {
		t.add(flowTitles[f.Kind], f.From, itoa(f.Started), itoa(f.Completed), itoa(f.Rejected),
			itoa(f.Unanswered), itoa(f.UnknownID), itoa(f.ReusedID), itoa(f.DupResends))
	}
	d.table(t)
	if len(r.Delivery.Latency) > 0 {
		l := newTable("Round trip", "From", ">Count", ">p50 ms", ">p90 ms", ">p99 ms", ">max ms")
		approx := false
		for _, x := range r.Delivery.Latency {
			l.add(x.Step, x.From, itoa(x.Count), msText(x.P50Ms), msText(x.P90Ms), msText(x.P99Ms), msText(x.MaxMs))
			approx = approx || !x.Exact
		}
		d.table(l)
		if approx {
			d.para("Percentiles of more than 256 samples are read from a histogram (within 5 %).")
			if !d.md {
				d.b.WriteByte('\n')
			}
		}
	}
	if r.Delivery.Untracked > 0 {
		d.para(fmt.Sprintf("%d flows were not followed: the in-flight table was full.", r.Delivery.Untracked))
		if !d.md {
			d.b.WriteByte('\n')
		}
	}
}

func topics(d *doc, r *Report) {
	d.section("Topics")
	cols := []string{"Topic", ">Published", ">Delivered", ">Payload bytes", ">QoS 0/1/2", ">Retained", "Publishers"}
	if r.Topics.Depth > 0 {
		cols = []string{"Topic", ">Topics", ">Published", ">Delivered", ">Payload bytes", ">QoS 0/1/2", ">Retained", "Publishers"}
	}
	t := newTable(cols...).limit(0, maxTopicWidth).limit(len(cols)-1, maxListWidth)
	for _, x := range r.Topics.Rows {
		pubs := strings.Join(x.Publishers, ", ")
		if x.PublishersMore {
			pubs += ", …"
		}
		qos := fmt.Sprintf("%d/%d/%d", x.QoS[0], x.QoS[1], x.QoS[2])
		cells := []string{x.Topic, itoa(x.Published), itoa(x.Delivered), strconv.FormatInt(x.PayloadBytes, 10), qos, itoa(x.Retained), pubs}
		if r.Topics.Depth > 0 {
			cells = append([]string{x.Topic, itoa(x.Topics)}, cells[1:]...)
		}
		t.add(cells...)
	}
	d.table(t)
	if len(r.Topics.Rows) > 0 {
		note := "Published: PUBLISH from clients; Delivered: PUBLISH from the broker. Payload bytes, QoS and Retained count the published messages (the delivered ones when none was published)."
		if r.Topics.Depth > 0 {
			note += fmt.Sprintf(" Rolled up to %d levels.", r.Topics.Depth)
		}
		if r.Topics.Overflow {
			note += " Topics past the limit are counted in (other)."
		}
		d.para(note)
		if !d.md {
			d.b.WriteByte('\n')
		}
	}
}

func subscriptions(d *doc, r *Report) {
	d.section("Subscriptions")
	t := newTable(">#", "Client ID", "Filter", ">QoS", "Result", ">Frame", "Unsubscribed", ">Delivered", "Matched topics").
		limit(1, maxIDWidth+12).limit(2, maxTopicWidth).limit(8, maxListWidth)
	for _, s := range r.Subscriptions.Rows {
		qos := "-"
		if s.RequestedQoS >= 0 {
			qos = itoa(s.RequestedQoS)
		}
		unsub := "-"
		if s.UnsubscribeFrame > 0 {
			unsub = "frame " + itoa(s.UnsubscribeFrame) + ": " + s.UnsubResult
		}
		matched := strings.Join(s.Matched, ", ")
		if s.MatchedMore > 0 {
			matched += fmt.Sprintf(" (+%d more)", s.MatchedMore)
		}
		// QoS 1 and 2 messages delivered to the subscriber of those
		// published on matching topics while it was subscribed.
		ratio := "-"
		if s.Published > 0 {
			ratio = itoa(s.Delivered) + "/" + itoa(s.Published)
		}
		t.add(itoa(s.Conn), s.ClientID, s.Filter, qos, s.Result, frameText(s.SubscribeFrame), unsub, ratio, matched)
	}
	d.table(t)
	if r.Subscriptions.Omitted > 0 {
		d.para(fmt.Sprintf("%d more topic filters not listed (row limit).", r.Subscriptions.Omitted))
		if !d.md {
			d.b.WriteByte('\n')
		}
	}
	if n := r.Subscriptions.MatchIncomplete; n > 0 {
		d.para(fmt.Sprintf("Matching stopped early for %d topic names (filters that branch at every level): counts of matches may be low.", n))
		if !d.md {
			d.b.WriteByte('\n')
		}
	}
	if len(r.Subscriptions.Rows) > 0 {
		d.para("Delivered: QoS 1 and 2 messages the broker sent the subscriber / those clients published on matching topics while it was subscribed (\"-\" when the capture holds no such publisher).")
		if !d.md {
			d.b.WriteByte('\n')
		}
	}
}

func problems(d *doc, r *Report) {
	d.section("Problems")
	t := newTable("Category", "Kind", ">Count", "Frames", "Example").limit(4, maxMsgWidth)
	for _, p := range r.Problems {
		frames := make([]string, len(p.Frames))
		for i, f := range p.Frames {
			frames[i] = itoa(f)
		}
		list := strings.Join(frames, ", ")
		if p.MoreFrames {
			list += ", …"
		}
		t.add(p.Category, p.Kind, itoa(p.Count), list, p.Message)
	}
	d.table(t)
	if len(r.Problems) > 0 {
		d.para("In Wireshark: frame.number == N.")
	}
}
