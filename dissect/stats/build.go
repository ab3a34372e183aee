package stats

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/spec"
)

// Report returns the statistics so far. Connections still open are
// reported as open at the end of the capture (dissect.Run closes them all
// before it returns). rs supplies the frame count; the zero value is fine.
func (a *Analyzer) Report(rs dissect.RunStats) *Report {
	open := make([]*conn, 0, len(a.conns))
	for _, c := range a.conns {
		open = append(open, c)
	}
	slices.SortFunc(open, func(x, y *conn) int { return cmp.Compare(x.seq, y.seq) })
	for _, c := range open {
		a.finish(c, true)
	}

	r := &Report{}
	a.summary(&r.Summary, rs)
	r.Sessions.Rows = slices.Clone(a.rows)
	for i := range r.Sessions.Rows {
		s := &r.Sessions.Rows[i]
		s.StartRel = seconds(s.start.Sub(a.first))
	}
	slices.SortStableFunc(r.Sessions.Rows, func(x, y Session) int { return cmp.Compare(x.Conn, y.Conn) })
	if a.omitted != nil {
		o := *a.omitted
		r.Sessions.Omitted = &o
	}
	r.Delivery = a.delivery()
	names := a.topicNames()
	r.Topics = a.topicRows(names)
	r.Subscriptions = a.subscriptions(names)
	if !a.reported {
		a.missedDeliveries()
		a.reported = true
	}
	r.Problems = a.problemList()
	if a.damaged != nil {
		a.markCut(r)
	}
	if r.Sessions.Rows == nil {
		r.Sessions.Rows = []Session{}
	}
	return r
}

func (a *Analyzer) summary(s *Summary, rs dissect.RunStats) {
	s.Start, s.End = timeText(a.first), timeText(a.now)
	if !a.first.IsZero() {
		s.DurationS = seconds(a.now.Sub(a.first))
	}
	s.Frames = rs.Frames
	s.Packets = a.packets
	s.Connections = a.nConns
	s.Malformed = a.malform
	s.Truncated = a.truncate
	s.Evicted = rs.Evicted
	if a.damaged != nil {
		s.Damaged = a.damaged.Error()
	}
	s.Gaps, s.LostBytes, s.SkippedBytes = rs.Gaps, rs.LostBytes, rs.SkippedBytes
	s.PacketTypes = []TypeCount{}
	for t := range a.types {
		in, out := a.types[t][0], a.types[t][1]
		if in+out == 0 {
			continue
		}
		s.PacketTypes = append(s.PacketTypes, TypeCount{Type: spec.PacketType(t).String(), Value: t,
			ToServer: in, ToClient: out, Total: in + out, Bytes: a.typeLen[t]})
	}
}

func (a *Analyzer) delivery() Delivery {
	d := Delivery{Flows: []Flow{}, Latency: []Latency{}, Untracked: a.untracked}
	for k := range a.flows {
		for dir := range a.flows[k] {
			f := a.flows[k][dir]
			if f == (Flow{}) {
				continue
			}
			f.Kind, f.From = kindNames[k], fromName[dir]
			d.Flows = append(d.Flows, f)
		}
	}
	for s := range a.lat {
		for dir, h := range a.lat[s] {
			if h == nil || h.n == 0 {
				continue
			}
			d.Latency = append(d.Latency, Latency{
				Step: stepNames[s], From: fromName[dir], Count: h.n,
				P50Ms: ms(h.quantile(0.50)), P90Ms: ms(h.quantile(0.90)), P99Ms: ms(h.quantile(0.99)),
				MaxMs: ms(h.max), MeanMs: ms(h.mean()), Exact: h.exactAll(),
			})
		}
	}
	return d
}

// topicNames returns the distinct topics seen, sorted.
func (a *Analyzer) topicNames() []string {
	names := make([]string, 0, len(a.topics))
	for n := range a.topics {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// rollUp cuts a topic to depth levels: "a/b/c" at depth 2 is "a/b/#".
func rollUp(topic string, depth int) string {
	if depth <= 0 {
		return topic
	}
	i, levels := 0, 0
	for i < len(topic) {
		j := strings.IndexByte(topic[i:], '/')
		if j < 0 {
			return topic
		}
		levels++
		if levels == depth {
			return topic[:i+j] + "/#"
		}
		i += j + 1
	}
	return topic
}

func (a *Analyzer) topicRows(names []string) Topics {
	t := Topics{Depth: a.cfg.TopicDepth, Rows: []TopicRow{}, Overflow: a.topicsFull}
	type agg struct {
		row    TopicRow
		dqos   [3]int
		dret   int
		dbytes int64
		pubSet map[string]bool
	}
	var order []string
	groups := map[string]*agg{}
	add := func(key string, acc *topicAcc) {
		g := groups[key]
		if g == nil {
			g = &agg{row: TopicRow{Topic: key}, pubSet: map[string]bool{}}
			groups[key] = g
			order = append(order, key)
		}
		r := &g.row
		r.Topics++
		r.Published += acc.published
		r.Delivered += acc.delivered
		r.PayloadBytes += acc.bytes
		g.dbytes += acc.dbytes
		for q := range acc.qos {
			r.QoS[q] += acc.qos[q]
			g.dqos[q] += acc.dqos[q]
		}
		r.Retained += acc.retained
		g.dret += acc.dretained
		r.PublishersMore = r.PublishersMore || acc.pubsMore
		for _, p := range acc.pubs {
			if g.pubSet[p] {
				continue
			}
			if len(g.pubSet) >= a.cfg.MaxPublishers {
				r.PublishersMore = true
				continue
			}
			g.pubSet[p] = true
			r.Publishers = append(r.Publishers, p)
		}
	}
	for _, n := range names {
		add(rollUp(dissect.TextShow([]byte(n)), a.cfg.TopicDepth), a.topics[n])
	}
	if a.other != nil {
		add("(other)", a.other)
	}
	for _, key := range order {
		g := groups[key]
		if g.row.Published == 0 {
			g.row.QoS, g.row.Retained, g.row.PayloadBytes = g.dqos, g.dret, g.dbytes
		}
		if g.row.Publishers == nil {
			g.row.Publishers = []string{}
		}
		slices.Sort(g.row.Publishers)
		t.Rows = append(t.Rows, g.row)
	}
	// The roll-up can reorder ("a/#" sorts after "a/b" cut from "a/b/c"),
	// and "(other)" stays last.
	slices.SortStableFunc(t.Rows, func(x, y TopicRow) int {
		if (x.Topic == "(other)") != (y.Topic == "(other)") {
			if x.Topic == "(other)" {
				return 1
			}
			return -1
		}
		return cmp.Compare(x.Topic, y.Topic)
	})
	return t
}

func (a *Analyzer) subscriptions(names []string) Subscriptions {
	out := Subscriptions{Rows: slices.Clone(a.subs), Omitted: a.subsOmitted}
	if out.Rows == nil {
		out.Rows = []Subscription{}
	}
	// One pass over the topics through the tree of filters: each filter
	// gets its first MaxMatched topics and a count; rows share their
	// filter's list.
	matched := make(map[int32][]string)
	count := make(map[int32]int)
	if len(out.Rows) > 0 {
		for _, n := range names {
			shown := ""
			a.matchFilters(n, func(id int) {
				count[int32(id)]++
				if l := matched[int32(id)]; len(l) < a.cfg.MaxMatched {
					if shown == "" {
						shown = shortTopic(n)
					}
					matched[int32(id)] = append(l, shown)
				}
			})
		}
	}
	out.MatchIncomplete = a.matchCut
	budget := maxMatchedBytes
	for i := range out.Rows {
		s := &out.Rows[i]
		list := matched[s.filter]
		k := 0
		for k < len(list) && budget >= len(list[k]) {
			budget -= len(list[k])
			k++
		}
		s.Matched = list[:k:k]
		if s.Matched == nil {
			s.Matched = []string{}
		}
		s.MatchedMore = count[s.filter] - len(s.Matched)
	}
	return out
}

// maxMatchedBytes bounds the matched topics listed over all rows: 10,000
// rows of 20 long topics each would make a report of hundreds of MB. Past
// it, rows only count their matches (MatchedMore).
const maxMatchedBytes = 2 << 20

// missedDeliveries makes a problem of every QoS 1 or 2 subscription whose
// client the broker sent far fewer of the matching QoS 1 and 2 messages
// than clients published while it was subscribed: at these QoS the broker
// must deliver each (MQTT 5.0 §4.3.2, §4.3.3). Retained messages and
// the end of the capture blur the counts, hence the margin.
func (a *Analyzer) missedDeliveries() {
	for i := range a.subs {
		s := &a.subs[i]
		qos := s.RequestedQoS
		if s.Code >= 0 {
			qos = s.Code
		}
		if s.SharedGroup != "" || qos < 1 || qos > 2 || s.Published < minMissedBase || s.Delivered*10 >= s.Published*9 {
			continue
		}
		msg := fmt.Sprintf("%s got %d of the %d QoS ≥ 1 messages published on topics matching %s while subscribed at QoS %d (%.0f %%)",
			s.ClientID, s.Delivered, s.Published, s.Filter, qos, 100*float64(s.Delivered)/float64(s.Published))
		a.problem("delivery", "delivery.missed", "warning", "delivery.missed", msg, s.SubscribeFrame)
	}
}

// minMissedBase is the fewest published messages a delivery ratio is
// judged on.
const minMissedBase = 10

// markCut marks the findings the end of a damaged capture may explain.
func (a *Analyzer) markCut(r *Report) {
	for i := range r.Sessions.Rows {
		if e := &r.Sessions.Rows[i].Ended; e.Kind == "open" {
			e.Text = strings.Replace(e.Text, "open at capture end", "open where the damaged capture stops", 1)
		}
	}
}

// maxMatchedTopic bounds the bytes of a topic listed as matched: the same
// long topic is not copied in full into every row.
const maxMatchedTopic = 256

func shortTopic(name string) string {
	t := dissect.TextShow([]byte(name))
	if len(t) <= maxMatchedTopic {
		return t
	}
	cut := maxMatchedTopic
	for cut > 0 && !utf8.RuneStart(t[cut]) {
		cut--
	}
	return t[:cut] + "…(" + strconv.Itoa(len(name)) + " bytes)"
}

var categoryOrder = map[string]int{"refused": 0, "session": 1, "delivery": 2, "malformed": 3, "sequence": 4, "protocol": 5, "assumption": 6, "transport": 7}

func (a *Analyzer) problemList() []Problem {
	list := make([]*problemAcc, 0, len(a.problems))
	for _, p := range a.problems {
		list = append(list, p)
	}
	slices.SortFunc(list, func(x, y *problemAcc) int {
		return cmp.Or(
			cmp.Compare(categoryOrder[x.Category], categoryOrder[y.Category]),
			cmp.Compare(x.Kind, y.Kind),
			cmp.Compare(x.Message, y.Message),
		)
	})
	out := make([]Problem, len(list))
	for i, p := range list {
		out[i] = p.Problem
		out[i].Frames = slices.Clone(p.Frames)
		if a.damaged != nil && p.atEOF > 0 {
			out[i].PossiblyCut = true
			out[i].Message += " (possibly because the capture is cut short)"
		}
	}
	return out
}
