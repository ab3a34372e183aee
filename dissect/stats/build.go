package stats

import (
	"cmp"
	"slices"
	"strings"

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
	r.Problems = a.problemList()
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
	for i := range out.Rows {
		s := &out.Rows[i]
		s.Matched = []string{}
		for _, n := range names {
			if !spec.MatchTopic(s.Filter, n) {
				continue
			}
			if len(s.Matched) < a.cfg.MaxMatched {
				s.Matched = append(s.Matched, dissect.TextShow([]byte(n)))
			} else {
				s.MatchedMore++
			}
		}
	}
	return out
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
	}
	return out
}
