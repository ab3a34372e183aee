// Package stats answers "what happened on this broker?" from a capture:
// sessions, QoS delivery flows, topics, subscriptions and problems. It is
// built on the decoder in package dissect (it reads the *dissect.PDU values
// dissect.Run hands out) and never parses bytes itself.
//
// Memory is bounded: per-connection state is small, the in-flight table,
// the topic table, the session and subscription rows and the frames kept
// per problem all have caps (Config), and latencies go into fixed-size
// histograms. What goes past a cap is counted, not stored, and the report
// says so.
package stats

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/spec"
)

// Config bounds the memory of an Analyzer. Zero fields take the defaults.
type Config struct {
	// MaxSessions is the number of sessions kept as full rows (10,000);
	// later ones are summed up in Sessions.Omitted.
	MaxSessions int
	// MaxTopics is the number of distinct topic names counted one by one
	// (10,000); the messages of later ones go to the "(other)" row.
	MaxTopics int
	// MaxPublishers is the number of publishers listed per topic (10).
	MaxPublishers int
	// MaxFrames is the number of frame numbers kept per problem kind (10).
	MaxFrames int
	// MaxInflight bounds the QoS/SUBSCRIBE flows followed at once over all
	// connections (1,000,000); flows started when it is full are counted
	// as untracked.
	MaxInflight int
	// MaxSubscriptions is the number of subscription rows kept (10,000).
	MaxSubscriptions int
	// MaxWills is the number of ended sessions whose will is watched for at
	// once (10,000).
	MaxWills int
	// MaxMatched is the number of matching topics listed per subscription (20).
	MaxMatched int
	// TopicDepth rolls the topic table up to this many levels (0: full).
	TopicDepth int
}

func (c *Config) defaults() {
	set := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	set(&c.MaxSessions, 10000)
	set(&c.MaxTopics, 10000)
	set(&c.MaxPublishers, 10)
	set(&c.MaxFrames, 10)
	set(&c.MaxInflight, 1000000)
	set(&c.MaxSubscriptions, 10000)
	set(&c.MaxWills, 10000)
	set(&c.MaxMatched, 20)
}

// Flow kinds, acknowledgement steps and who starts a flow.
const (
	kindQoS1 = iota
	kindQoS2
	kindSub
	kindUnsub
	nKinds
)

var kindNames = [nKinds]string{"qos1", "qos2", "subscribe", "unsubscribe"}

const (
	stepPuback = iota
	stepPubrec
	stepPubcomp
	stepSuback
	stepUnsuback
	nSteps
)

var stepNames = [nSteps]string{"PUBLISH→PUBACK", "PUBLISH→PUBREC", "PUBREL→PUBCOMP", "SUBSCRIBE→SUBACK", "UNSUBSCRIBE→UNSUBACK"}

// fromName names the sender of a flow's first packet by its direction.
var fromName = [2]string{"client", "broker"}

// flight is one flow in progress.
type flight struct {
	kind  uint8
	stage uint8 // QoS 2: 0 waiting for PUBREC, 1 for PUBREL, 2 for PUBCOMP
	frame int
	t     time.Time // first packet
	t2    time.Time // PUBREL
	rows  []int32   // subscription rows of a (UN)SUBSCRIBE
}

// conn is what is known of one open connection.
type conn struct {
	seq       int
	key       dissect.ConnKey
	row       Session
	first     time.Time
	last      time.Time
	lastFrame int

	hasClient       bool
	lastClient      time.Time
	lastClientFrame int
	keepAlive       int // effective, seconds; 0 disables the check
	kaGap           time.Duration
	// st is the decoder's state of the connection; clientGaps is how many
	// gaps of the client's direction it had counted at the client's latest
	// packet. A keep-alive interval that spans lost client bytes is not
	// judged: the missing packet may be among them.
	st         *dissect.ConnState
	clientGaps int

	hasWill   bool
	willTopic string

	disconnect bool

	// closeFrame and closeTime are the FIN or RST that closed the
	// connection (0 and zero when the capture ended first).
	closeFrame int
	closeTime  time.Time
	reset      bool

	inflight [2]map[uint16]flight
	// active maps the filters subscribed now (as sent) to their rows, so
	// an UNSUBSCRIBE finds each in constant time; byFilter maps the tree
	// identifiers of the non-shared ones to their rows, to count what the
	// broker delivers on each.
	active    map[string]int32
	byFilter  map[int32]int32
	publisher string
}

// pendingWill is an ended session whose will the broker should publish.
type pendingWill struct {
	row      int // index in Analyzer.rows, -1 when the row was not kept
	clientID string
}

type problemAcc struct {
	Problem
	atEOF int // occurrences found when the input ended
}

type topicAcc struct {
	published, delivered int
	bytes, dbytes        int64
	qos, dqos            [3]int
	retained, dretained  int
	pubs                 []string
	pubsMore             bool
}

// Analyzer collects the statistics. Feed it with OnPDU and OnClose (Attach
// does that for a dissect.RunConfig), then call Report.
type Analyzer struct {
	cfg Config

	conns    map[dissect.ConnKey]*conn
	rows     []Session
	omitted  *OmittedSessions
	nConns   int
	first    time.Time
	now      time.Time // latest packet time: the capture clock
	packets  int
	malform  int
	truncate int
	types    [16][2]int
	typeLen  [16]int64

	flows     [nKinds][2]Flow
	lat       [nSteps][2]*histogram
	inflightN int
	untracked int

	topics     map[string]*topicAcc
	other      *topicAcc
	topicsFull bool

	subs        []Subscription
	subsOmitted int
	// filters holds the topic filter of every subscription row; published
	// counts, per filter, the QoS 1 and 2 PUBLISHes from clients whose
	// topic it matches. A row's Published is the growth of its filter's
	// count while it was subscribed.
	filters   *spec.TopicTree
	published []int
	// matchCut counts topic names whose match against the filters stopped
	// at matchBudget.
	matchCut int
	reported bool // Report ran: its one-time problems are made
	// free holds finished connection states for reuse: a capture of a
	// million short connections need not allocate a million of them.
	free []*conn
	// finishingEOF is set while the sessions still open at the end of the
	// input are finished: the problems found then may be the cut's doing
	// when the capture is damaged. damaged is the reader's error then.
	finishingEOF bool
	damaged      error

	// wills holds the pending wills by topic, then by client identifier:
	// a PUBLISH of the topic settles all of them, a CONNECT of the client
	// cancels its own, each without a scan.
	wills  map[string]map[string][]pendingWill
	nWills int
	// willTopics lists, per client identifier, the topics of its pending
	// wills, so that a CONNECT cancels them without scanning every will.
	willTopics map[string][]string

	problems map[string]*problemAcc
}

// New returns an Analyzer.
func New(cfg Config) *Analyzer {
	cfg.defaults()
	return &Analyzer{
		cfg:        cfg,
		conns:      make(map[dissect.ConnKey]*conn),
		topics:     make(map[string]*topicAcc),
		wills:      make(map[string]map[string][]pendingWill),
		willTopics: make(map[string][]string),
		problems:   make(map[string]*problemAcc),
		filters:    spec.NewTopicTree(),
	}
}

// matchBudget bounds the tree states one topic name visits when matched
// against the subscriptions' filters, in proportion to its levels: each
// PUBLISH costs O(levels) whatever the filters, and filters built to branch
// at every level only get their matches counted short (matchCut).
func matchBudget(topic string) int {
	return 64 + 8*(strings.Count(topic, "/")+1)
}

// matchFilters calls found with each filter identifier that matches topic.
func (a *Analyzer) matchFilters(topic string, found func(id int)) {
	if a.filters.Len() <= 1 {
		return
	}
	if !a.filters.Match(topic, matchBudget(topic), found) {
		a.matchCut++
	}
}

// addFilter adds a subscription's filter to the tree and returns its
// identifier, -1 when the tree is full. A shared subscription matches as
// its filter without the "$share/{group}/" prefix (MQTT 5.0 §4.8.2).
func (a *Analyzer) addFilter(s *Subscription, raw string) {
	group, filter, shared := spec.SharedFilter(raw)
	if shared {
		s.SharedGroup = dissect.TextShow([]byte(group))
	}
	s.filter = int32(a.filters.Add(filter))
	for len(a.published) < a.filters.Len() {
		a.published = append(a.published, 0)
	}
	if s.filter >= 0 {
		s.pubStart = a.published[s.filter]
	}
}

// endSubscription stops counting what was published for row r.
func (a *Analyzer) endSubscription(c *conn, r int32) {
	s := &a.subs[r]
	if s.active && s.filter >= 0 {
		s.Published += a.published[s.filter] - s.pubStart
	}
	s.active = false
	if c.byFilter[s.filter] == r {
		delete(c.byFilter, s.filter)
	}
}

// Attach makes rc feed the Analyzer, keeping any handlers rc already has.
func (a *Analyzer) Attach(rc *dissect.RunConfig) {
	onPDU, onClose := rc.OnPDU, rc.OnClose
	rc.OnPDU = func(p *dissect.PDU) {
		a.OnPDU(p)
		if onPDU != nil {
			onPDU(p)
		}
	}
	rc.OnClose = func(key dissect.ConnKey, st *dissect.ConnState, end *dissect.Frame, atEOF bool) {
		a.OnClose(key, st, end, atEOF)
		if onClose != nil {
			onClose(key, st, end, atEOF)
		}
	}
	a.attachTransport(rc)
}

// Analyze runs the decoder over r with rc (nil: defaults) and returns the
// report. On a damaged capture it returns the report of what could be read
// together with the error.
func Analyze(ctx context.Context, r io.Reader, rc *dissect.RunConfig, cfg Config) (*Report, dissect.RunStats, error) {
	if rc == nil {
		rc = &dissect.RunConfig{}
	}
	a := New(cfg)
	a.Attach(rc)
	rs, err := dissect.Run(ctx, r, rc)
	if errors.Is(err, dissect.ErrTruncatedCapture) || errors.Is(err, dissect.ErrCorruptCapture) {
		a.CaptureDamaged(err)
	}
	return a.Report(rs), rs, err
}

// CaptureDamaged tells the Analyzer that the capture ended at damage (err):
// the report says so, and marks what the end of the input made it find
// (sessions open, flows unanswered) as possibly the cut's doing.
func (a *Analyzer) CaptureDamaged(err error) { a.damaged = err }

func dirIndex(d dissect.Direction) int { return int(d & 1) }

// OnPDU takes one decoded packet. It keeps no reference to p.
func (a *Analyzer) OnPDU(p *dissect.PDU) {
	pk := p.Packet
	dir := dirIndex(p.Dir)
	if a.first.IsZero() {
		a.first = p.Time
	}
	if p.Time.After(a.now) {
		a.now = p.Time
	}
	a.packets++
	a.types[pk.Type&15][dir]++
	a.typeLen[pk.Type&15] += int64(pk.Len)
	if pk.Malformed {
		a.malform++
	}
	if pk.Truncated() {
		a.truncate++
	}
	for i := range pk.Notes {
		n := &pk.Notes[i]
		a.problem(n.Rule.Group.String(), n.Rule.Name, n.Severity.String(), n.Rule.Name, n.Message, p.Frame)
	}

	c := a.conn(p)
	if dir == 0 {
		c.row.PacketsIn++
		c.row.BytesIn += int64(pk.Len)
	} else {
		c.row.PacketsOut++
		c.row.BytesOut += int64(pk.Len)
	}
	c.last, c.lastFrame = p.Time, p.Frame
	if v := versionText(p.State); v != c.row.Version {
		c.row.Version = v
	}
	if dir == 0 {
		a.clientPacket(c, p)
	}

	switch pk.Type {
	case spec.CONNECT:
		a.connect(c, p)
	case spec.CONNACK:
		a.connack(c, p)
	case spec.PUBLISH:
		a.publish(c, p)
	case spec.DISCONNECT:
		if !c.disconnect {
			c.disconnect = true
			e := &c.row.Ended
			e.Frame = p.Frame
			e.DisconnectBy = fromName[dir]
			if pk.ReasonCode > 0 {
				e.ReasonCode = pk.ReasonCode
				e.Reason = codeText(spec.DisconnectReasons, pk.ReasonCode, true)
			}
		}
	}
	switch pk.Type {
	case spec.PUBLISH, spec.PUBACK, spec.PUBREC, spec.PUBREL, spec.PUBCOMP,
		spec.SUBSCRIBE, spec.SUBACK, spec.UNSUBSCRIBE, spec.UNSUBACK:
		a.flow(c, p)
	}
}

func versionText(st *dissect.ConnState) string {
	if st == nil {
		return "unknown"
	}
	if st.Assumed {
		return st.Version.String() + " (assumed)"
	}
	return st.Version.String()
}

// conn returns the state of p's connection, creating it on first sight.
func (a *Analyzer) conn(p *dissect.PDU) *conn {
	c := a.conns[p.Conn]
	if c != nil && c.seq == p.ConnSeq {
		return c
	}
	if c != nil {
		// The same addresses and ports again, as a new connection: the
		// old one ended without our seeing its close.
		a.finish(c, false)
	}
	a.nConns++
	if n := len(a.free); n > 0 {
		c, a.free = a.free[n-1], a.free[:n-1]
	} else {
		c = new(conn)
	}
	*c = conn{seq: p.ConnSeq, key: p.Conn, first: p.Time, st: p.State}
	c.row = Session{
		Conn:       p.ConnSeq,
		Version:    versionText(p.State),
		KeepAlive:  -1,
		ServerKeep: -1,
		start:      p.Time, // Start is written when the row is kept
	}
	if p.State != nil && p.State.ClientID != "" {
		c.row.ClientID = p.State.ClientID
	}
	setTransport(&c.row, p.Via)
	a.conns[p.Conn] = c
	return c
}

// pub names the connection's client for the topic and subscription
// tables, computed when first needed: a million connections that never
// publish need no name.
func (c *conn) pub() string {
	if c.publisher == "" {
		c.publisher = publisherName(&c.row, c.key.Client)
	}
	return c.publisher
}

func publisherName(s *Session, client netip.AddrPort) string {
	switch {
	case s.ClientID != "":
		return s.ClientID
	case s.AssignedID != "":
		return s.AssignedID
	}
	return client.String()
}

// clientPacket checks the keep-alive on a packet from the client.
func (a *Analyzer) clientPacket(c *conn, p *dissect.PDU) {
	lost := c.clientLost()
	if p.State != nil {
		c.st, c.clientGaps = p.State, p.State.Gaps[dissect.ToServer]
	}
	if c.hasClient && c.keepAlive > 0 && !lost {
		gap := p.Time.Sub(c.lastClient)
		if gap > keepAliveLimit(c.keepAlive) {
			a.keepAliveBreach(c, gap, p.Frame, p.Frame)
		}
	}
	c.hasClient = true
	c.lastClient, c.lastClientFrame = p.Time, p.Frame
}

// clientLost says whether client bytes were lost since the client's latest
// packet.
func (c *conn) clientLost() bool {
	return c.st != nil && c.st.Gaps[dissect.ToServer] != c.clientGaps
}

// keepAliveLimit is one and a half times the keep-alive (MQTT 5.0 §3.1.2.10).
func keepAliveLimit(seconds int) time.Duration {
	return time.Duration(seconds) * 3 * time.Second / 2
}

func (a *Analyzer) keepAliveBreach(c *conn, gap time.Duration, frame, problemFrame int) {
	e := &c.row.Ended
	if !e.KeepAliveExceeded {
		e.KeepAliveExceeded = true
		e.KeepAliveFrame = frame
		e.KeepAliveGapS = seconds(gap)
		c.kaGap = gap
	}
	msg := fmt.Sprintf("no packet from the client for %s, more than 1.5 × keep-alive %d s", durText(gap), c.keepAlive)
	a.problem("session", "session.keep_alive_exceeded", "warning", "session.keep_alive_exceeded", msg, problemFrame)
}

func (a *Analyzer) connect(c *conn, p *dissect.PDU) {
	pk := p.Packet
	if c.row.SawConnect {
		a.problem("session", "session.second_connect", "warning", "session.second_connect",
			"a second CONNECT on the same connection (MQTT 5.0 §3.1.0: a protocol error)", p.Frame)
		return
	}
	s := &c.row
	s.SawConnect = true
	s.ConnectFrame = p.Frame
	s.ClientID = dissect.TextShow(pk.ClientID)
	s.Username = dissect.TextShow(pk.Username)
	if pk.KeepAlive >= 0 {
		s.KeepAlive = pk.KeepAlive
		c.keepAlive = pk.KeepAlive
	}
	if pk.ProtoLevel >= 0 {
		s.Version = versionText(p.State)
	}
	var will Will
	for i := range pk.Nodes {
		n := &pk.Nodes[i]
		switch n.Field {
		case spec.ConFlagClean:
			s.CleanStart = n.Uint != 0
		case spec.ConFlagWill:
			c.hasWill = n.Uint != 0
		case spec.ConFlagQoS:
			will.QoS = int(n.Uint)
		case spec.ConFlagRetain:
			will.Retain = n.Uint != 0
		case spec.WillTopic:
			will.Topic = dissect.TextShow(n.Raw)
			c.willTopic = string(n.Raw)
		}
	}
	if c.hasWill {
		s.Will = &will
	}
	c.publisher = "" // named again when next needed
	// A client that connects again cancels the will of its previous
	// session, if the broker has not published it yet (§3.1.3.2).
	if topics, ok := a.willTopics[s.ClientID]; ok && s.ClientID != "" {
		delete(a.willTopics, s.ClientID)
		for _, topic := range topics {
			byClient := a.wills[topic]
			a.nWills -= len(byClient[s.ClientID])
			delete(byClient, s.ClientID)
			if len(byClient) == 0 {
				delete(a.wills, topic)
			}
		}
	}
}

func (a *Analyzer) connack(c *conn, p *dissect.PDU) {
	pk := p.Packet
	s := &c.row
	if s.Connack != nil {
		a.problem("session", "session.second_connack", "warning", "session.second_connack",
			"a second CONNACK on the same connection", p.Frame)
		return
	}
	ack := &Ack{Frame: p.Frame, Code: pk.ReasonCode}
	table, hex := spec.ConnackCodes, false
	for i := range pk.Nodes {
		n := &pk.Nodes[i]
		switch n.Field {
		case spec.ConackVal:
			table, hex = spec.ConnackCodes, false
		case spec.ConnackReason:
			table, hex = spec.ConnackReasons, true
		case spec.ConackFlagSP:
			ack.SessionPresent = n.Uint != 0
		case spec.PropertyID:
			switch n.Uint {
			case uint64(spec.PropIDAssignedClientID):
				if v := propValue(pk.Nodes, i); v != nil {
					s.AssignedID = dissect.TextShow(v.Raw)
				}
			case uint64(spec.PropIDServerKeepAlive):
				if v := propValue(pk.Nodes, i); v != nil {
					s.ServerKeep = int(v.Uint)
					c.keepAlive = int(v.Uint)
				}
			}
		}
	}
	if ack.Code < 0 {
		ack.Result = "unreadable"
	} else {
		ack.Result = codeText(table, ack.Code, hex)
		ack.Accepted = ack.Code == 0
	}
	s.Connack = ack
	c.publisher = "" // named again when next needed
	if !ack.Accepted && ack.Code >= 0 {
		a.problem("refused", "connack.refused", "warning", "connack.refused:"+ack.Result, ack.Result, p.Frame)
	}
}

// propValue returns the value node of the property whose identifier node
// is nodes[i].
func propValue(nodes []dissect.Node, i int) *dissect.Node {
	for j := i + 1; j < len(nodes); j++ {
		switch nodes[j].Field {
		case spec.PropertyID:
			return nil
		case spec.PropString, spec.PropNumber:
			return &nodes[j]
		}
	}
	return nil
}

// codeText names a return or reason code: "Not authorized (0x87)", or for
// 3.x CONNACK "Connection Refused: not authorized (5)".
func codeText(t *spec.ValueTable, code int, hex bool) string {
	num := strconv.Itoa(code)
	if hex {
		num = fmt.Sprintf("0x%02X", code)
	}
	if v, ok := t.Lookup(uint64(code)); ok {
		return v.Name + " (" + num + ")"
	}
	return "undefined code " + num
}

func (a *Analyzer) publish(c *conn, p *dissect.PDU) {
	pk := p.Packet
	if pk.Topic == nil && pk.Malformed {
		return
	}
	q, _ := pk.Value(spec.QoSLevel)
	r, _ := pk.Value(spec.Retain)
	qos, retain := int(q), r != 0
	size := int64(len(pk.Payload))
	for i := range pk.Nodes {
		if f := pk.Nodes[i].Field; f == spec.Msg || f == spec.MsgText {
			size = int64(pk.Nodes[i].Len)
		}
	}
	t := a.topic(pk.Topic)
	if qos >= 1 && qos <= 2 {
		a.countMatches(c, p.Dir, string(pk.Topic))
	}
	if p.Dir == dissect.ToServer {
		t.published++
		t.bytes += size
		if qos < 3 {
			t.qos[qos]++
		}
		if retain {
			t.retained++
		}
		addPublisher(t, c.pub(), a.cfg.MaxPublishers)
		return
	}
	t.delivered++
	t.dbytes += size
	if qos < 3 {
		t.dqos[qos]++
	}
	if retain {
		t.dretained++
	}
	if a.nWills > 0 {
		if byClient, ok := a.wills[string(pk.Topic)]; ok {
			for id, ws := range byClient {
				for _, w := range ws {
					if w.row >= 0 {
						a.rows[w.row].Ended.WillPublished = p.Frame
						a.rows[w.row].Ended.Text = endText(&a.rows[w.row], true)
					}
				}
				a.nWills -= len(ws)
				if id != "" {
					a.forgetWillTopic(id, string(pk.Topic))
				}
			}
			delete(a.wills, string(pk.Topic))
		}
	}
}

// countMatches counts a QoS 1 or 2 PUBLISH: from a client, for every
// filter its topic matches; from the broker, for the subscription of the
// receiving client that it answers.
func (a *Analyzer) countMatches(c *conn, dir dissect.Direction, topic string) {
	if dir == dissect.ToServer {
		a.matchFilters(topic, func(id int) { a.published[id]++ })
		return
	}
	if len(c.byFilter) > 0 {
		a.matchFilters(topic, func(id int) {
			if r, ok := c.byFilter[int32(id)]; ok {
				a.subs[r].Delivered++
			}
		})
	}
}

// forgetWillTopic drops topic from the pending will topics of clientID.
func (a *Analyzer) forgetWillTopic(clientID, topic string) {
	ts := a.willTopics[clientID]
	kept := ts[:0]
	for _, t := range ts {
		if t != topic {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(a.willTopics, clientID)
	} else {
		a.willTopics[clientID] = kept
	}
}

func (a *Analyzer) topic(name []byte) *topicAcc {
	if t, ok := a.topics[string(name)]; ok {
		return t
	}
	if len(a.topics) >= a.cfg.MaxTopics {
		a.topicsFull = true
		if a.other == nil {
			a.other = &topicAcc{}
		}
		return a.other
	}
	t := &topicAcc{}
	a.topics[string(name)] = t
	return t
}

func addPublisher(t *topicAcc, name string, limit int) {
	for _, p := range t.pubs {
		if p == name {
			return
		}
	}
	if len(t.pubs) >= limit {
		t.pubsMore = true
		return
	}
	t.pubs = append(t.pubs, name)
}

// flow follows QoS 1/2 and (UN)SUBSCRIBE exchanges by direction and packet
// identifier.
func (a *Analyzer) flow(c *conn, p *dissect.PDU) {
	pk := p.Packet
	if pk.PacketID < 0 {
		return // malformed before its identifier
	}
	id := uint16(pk.PacketID)
	dir := dirIndex(p.Dir)
	other := 1 - dir
	switch pk.Type {
	case spec.PUBLISH:
		switch q, _ := pk.Value(spec.QoSLevel); q {
		case 1:
			a.start(c, p, dir, id, kindQoS1, nil)
		case 2:
			a.start(c, p, dir, id, kindQoS2, nil)
		}
	case spec.SUBSCRIBE:
		a.start(c, p, dir, id, kindSub, a.subscribe(c, p))
	case spec.UNSUBSCRIBE:
		a.start(c, p, dir, id, kindUnsub, a.unsubscribe(c, p))
	case spec.PUBACK:
		if f, ok := a.answer(c, p, other, id, kindQoS1, 0); ok {
			a.latency(stepPuback, other, p.Time.Sub(f.t))
			a.finishFlow(c, p, other, id, kindQoS1, "PUBACK", spec.PubackReasons)
		}
	case spec.PUBREC:
		if f, ok := a.answer(c, p, other, id, kindQoS2, 0); ok {
			a.latency(stepPubrec, other, p.Time.Sub(f.t))
			if pk.ReasonCode >= 0x80 {
				a.finishFlow(c, p, other, id, kindQoS2, "PUBREC", spec.PubackReasons)
			} else {
				f.stage = 1
				c.inflight[other][id] = f
			}
		}
	case spec.PUBREL:
		if f, ok := a.answer(c, p, dir, id, kindQoS2, 1); ok {
			f.stage, f.t2 = 2, p.Time
			c.inflight[dir][id] = f
		}
	case spec.PUBCOMP:
		if f, ok := a.answer(c, p, other, id, kindQoS2, 2); ok {
			a.latency(stepPubcomp, other, p.Time.Sub(f.t2))
			a.finishFlow(c, p, other, id, kindQoS2, "PUBCOMP", spec.PubrelReasons)
		}
	case spec.SUBACK:
		if f, ok := a.answer(c, p, other, id, kindSub, 0); ok {
			a.latency(stepSuback, other, p.Time.Sub(f.t))
			a.suback(p, f.rows)
			a.finishFlow(c, p, other, id, kindSub, "", nil)
		}
	case spec.UNSUBACK:
		if f, ok := a.answer(c, p, other, id, kindUnsub, 0); ok {
			a.latency(stepUnsuback, other, p.Time.Sub(f.t))
			a.unsuback(p, f.rows)
			a.finishFlow(c, p, other, id, kindUnsub, "", nil)
		}
	}
}

// start begins a flow sent in direction dir.
func (a *Analyzer) start(c *conn, p *dissect.PDU, dir int, id uint16, kind int, rows []int32) {
	fs := &a.flows[kind][dir]
	d, _ := p.Packet.Value(spec.DupFlag)
	dup := p.Packet.Type == spec.PUBLISH && d != 0
	if dup {
		fs.DupResends++
		a.problem("delivery", "delivery.dup_resend", "note", "delivery.dup_resend",
			fmt.Sprintf("PUBLISH (id=%d) re-sent with DUP=1", id), p.Frame)
	}
	m := c.inflight[dir]
	if old, ok := m[id]; ok {
		if dup && int(old.kind) == kind {
			return // a re-send of the flow in progress
		}
		a.flows[old.kind][dir].ReusedID++
		a.problem("delivery", "delivery.reused_id", "warning", "delivery.reused_id",
			fmt.Sprintf("packet identifier %d reused while the %s of frame %d was still in flight", id, flowPacketName(int(old.kind)), old.frame), p.Frame)
		delete(m, id)
		a.inflightN--
	}
	fs.Started++
	if a.inflightN >= a.cfg.MaxInflight {
		a.untracked++
		return
	}
	if m == nil {
		m = make(map[uint16]flight)
		c.inflight[dir] = m
	}
	m[id] = flight{kind: uint8(kind), frame: p.Frame, t: p.Time, rows: rows}
	a.inflightN++
}

func flowPacketName(kind int) string {
	switch kind {
	case kindSub:
		return "SUBSCRIBE"
	case kindUnsub:
		return "UNSUBSCRIBE"
	}
	return "PUBLISH"
}

// answer finds the flow a reply belongs to; dir is the direction of the
// flow's first packet.
func (a *Analyzer) answer(c *conn, p *dissect.PDU, dir int, id uint16, kind int, stage uint8) (flight, bool) {
	f, ok := c.inflight[dir][id]
	if ok && int(f.kind) == kind && f.stage == stage {
		return f, true
	}
	a.flows[kind][dir].UnknownID++
	name := spec.Packets[p.Packet.Type].Name
	a.problem("delivery", "delivery.unknown_id", "warning", "delivery.unknown_id",
		fmt.Sprintf("%s (id=%d) answers no %s in flight", name, id, expected(kind, stage)), p.Frame)
	return flight{}, false
}

func expected(kind int, stage uint8) string {
	switch {
	case kind == kindQoS1:
		return "QoS 1 PUBLISH"
	case kind == kindQoS2 && stage == 1:
		return "QoS 2 PUBREC"
	case kind == kindQoS2 && stage == 2:
		return "PUBREL"
	case kind == kindQoS2:
		return "QoS 2 PUBLISH"
	}
	return flowPacketName(kind)
}

// finishFlow ends a flow on its last packet, counting it as rejected when a
// v5 reason code says so.
func (a *Analyzer) finishFlow(c *conn, p *dissect.PDU, dir int, id uint16, kind int, ackName string, reasons *spec.ValueTable) {
	delete(c.inflight[dir], id)
	a.inflightN--
	fs := &a.flows[kind][dir]
	if rc := p.Packet.ReasonCode; reasons != nil && rc >= 0x80 {
		fs.Rejected++
		why := ackName + ": " + codeText(reasons, rc, true)
		a.problem("delivery", "delivery.rejected", "warning", "delivery.rejected:"+why, why, p.Frame)
		return
	}
	fs.Completed++
}

func (a *Analyzer) latency(step, dir int, d time.Duration) {
	h := a.lat[step][dir]
	if h == nil {
		h = &histogram{}
		a.lat[step][dir] = h
	}
	h.add(d)
}

// subscribe adds a row per topic filter of a SUBSCRIBE and returns their
// indexes.
func (a *Analyzer) subscribe(c *conn, p *dissect.PDU) []int32 {
	var rows []int32
	cur := -1
	// Filters past the decoder's ceiling on repeated entries are counted
	// with the rows not kept.
	a.subsOmitted += p.Packet.Hidden
	for i := range p.Packet.Nodes {
		n := &p.Packet.Nodes[i]
		switch n.Field {
		case spec.Topic:
			cur = -1
			if len(a.subs) >= a.cfg.MaxSubscriptions {
				a.subsOmitted++
				continue
			}
			cur = len(a.subs)
			a.subs = append(a.subs, Subscription{
				Conn: c.seq, ClientID: c.pub(), Filter: dissect.TextShow(n.Raw),
				RequestedQoS: -1, SubscribeFrame: p.Frame, Code: -1, Result: "no SUBACK",
			})
			rows = append(rows, int32(cur))
			s := &a.subs[cur]
			raw := string(n.Raw)
			a.addFilter(s, raw)
			// A SUBSCRIBE of a filter already subscribed replaces that
			// subscription (MQTT 5.0 §3.8.4).
			if old, ok := c.active[raw]; ok {
				a.endSubscription(c, old)
			}
			if c.active == nil {
				c.active, c.byFilter = make(map[string]int32), make(map[int32]int32)
			}
			c.active[raw] = int32(cur)
			s.active = true
			if s.SharedGroup == "" && s.filter >= 0 {
				c.byFilter[s.filter] = int32(cur)
			}
		case spec.SubQoS, spec.SubOptionsQoS:
			if cur >= 0 {
				a.subs[cur].RequestedQoS = int(n.Uint)
			}
		}
	}
	return rows
}

func (a *Analyzer) suback(p *dissect.PDU, rows []int32) {
	k := 0
	for i := range p.Packet.Nodes {
		n := &p.Packet.Nodes[i]
		if n.Field != spec.SubackQoS && n.Field != spec.SubackReason {
			continue
		}
		code := int(n.Uint)
		text := subackText(n.Field, code)
		if code >= 0x80 {
			a.problem("refused", "suback.failure", "warning", "suback.failure:"+text, "subscription refused: "+text, p.Frame)
		}
		if k < len(rows) {
			s := &a.subs[rows[k]]
			s.SubackFrame, s.Code, s.Result = p.Frame, code, text
		}
		k++
	}
}

func subackText(f *spec.Field, code int) string {
	if code <= 2 {
		return "granted QoS " + strconv.Itoa(code)
	}
	if f == spec.SubackQoS {
		return codeText(spec.GrantedQoS, code, true)
	}
	return codeText(spec.SubackReasons, code, true)
}

// unsubscribe marks the subscription rows of the filters an UNSUBSCRIBE
// names, adding rows for filters not seen subscribed.
func (a *Analyzer) unsubscribe(c *conn, p *dissect.PDU) []int32 {
	var rows []int32
	a.subsOmitted += p.Packet.Hidden
	for i := range p.Packet.Nodes {
		n := &p.Packet.Nodes[i]
		if n.Field != spec.Topic {
			continue
		}
		raw := string(n.Raw)
		found, ok := c.active[raw]
		if ok {
			a.endSubscription(c, found)
			delete(c.active, raw)
		} else {
			if len(a.subs) >= a.cfg.MaxSubscriptions {
				a.subsOmitted++
				continue
			}
			found = int32(len(a.subs))
			a.subs = append(a.subs, Subscription{Conn: c.seq, ClientID: c.pub(), Filter: dissect.TextShow(n.Raw),
				RequestedQoS: -1, Code: -1, Result: "not subscribed in the capture"})
			a.addFilter(&a.subs[found], raw)
		}
		a.subs[found].UnsubscribeFrame = p.Frame
		a.subs[found].UnsubResult = "no UNSUBACK"
		rows = append(rows, found)
	}
	return rows
}

func (a *Analyzer) unsuback(p *dissect.PDU, rows []int32) {
	k := 0
	for i := range p.Packet.Nodes {
		n := &p.Packet.Nodes[i]
		if n.Field != spec.UnsubackReason {
			continue
		}
		if k < len(rows) {
			a.subs[rows[k]].UnsubResult = codeText(spec.UnsubackReasons, int(n.Uint), true)
		}
		k++
	}
	for j, r := range rows {
		s := &a.subs[r]
		s.UnsubackFrame = p.Frame
		if j >= k {
			s.UnsubResult = "unsubscribed"
		}
	}
}

// problem counts one occurrence; key groups occurrences (a rule, or a rule
// and a reason).
func (a *Analyzer) problem(category, kind, severity, key, msg string, frame int) {
	pa := a.problems[key]
	if pa == nil {
		pa = &problemAcc{Problem: Problem{Category: category, Kind: kind, Severity: severity, Message: msg}}
		a.problems[key] = pa
	}
	pa.Count++
	if a.finishingEOF {
		pa.atEOF++
	}
	if n := len(pa.Frames); n == 0 || pa.Frames[n-1] != frame {
		if n < a.cfg.MaxFrames {
			pa.Frames = append(pa.Frames, frame)
		} else {
			pa.MoreFrames = true
		}
	}
}

// OnClose ends the connection's session. end is the frame whose FIN or RST
// closed it, nil when the capture ended first.
func (a *Analyzer) OnClose(key dissect.ConnKey, _ *dissect.ConnState, end *dissect.Frame, atEOF bool) {
	c := a.conns[key]
	if c == nil {
		return // no MQTT on it
	}
	if end != nil {
		c.closeFrame, c.closeTime = end.Number, end.Time
		c.reset = end.Flags&dissect.TCPRst != 0
		if end.Time.After(a.now) {
			a.now = end.Time
		}
	}
	a.finish(c, atEOF)
}

// finish turns a connection into a session row.
func (a *Analyzer) finish(c *conn, atEOF bool) {
	a.finishingEOF = atEOF
	defer func() { a.finishingEOF = false }()
	if a.conns[c.key] == c {
		delete(a.conns, c.key)
	}
	s := &c.row
	e := &s.Ended
	switch {
	case c.disconnect:
		e.Kind = "disconnect"
	case c.st != nil && c.st.Evicted:
		// The reader dropped the connection's state (too many open at
		// once): how it ended is unknown.
		e.Kind = "evicted"
		e.Frame = c.lastFrame
	case atEOF:
		e.Kind = "open"
		e.Frame = c.lastFrame
	default:
		e.Kind = "tcp_close"
		e.Frame = c.lastFrame
		if c.closeFrame > 0 {
			e.Frame, e.Reset = c.closeFrame, c.reset
		}
	}
	// Keep-alive up to the close (its FIN or RST), or to the end of the
	// capture.
	if !c.disconnect && c.hasClient && c.keepAlive > 0 && !c.clientLost() {
		until := a.now
		if c.closeFrame > 0 {
			until = c.closeTime
		}
		if gap := until.Sub(c.lastClient); gap > keepAliveLimit(c.keepAlive) {
			a.keepAliveBreach(c, gap, 0, c.lastClientFrame)
		}
	}
	for _, r := range c.active {
		a.endSubscription(c, r)
	}
	c.active, c.byFilter = nil, nil
	for dir := range c.inflight {
		for _, f := range c.inflight[dir] {
			a.flows[f.kind][dir].Unanswered++
			a.problem("delivery", "delivery.unanswered", "warning", "delivery.unanswered",
				fmt.Sprintf("%s from the %s never answered", flowPacketName(int(f.kind)), fromName[dir]), f.frame)
		}
		a.inflightN -= len(c.inflight[dir])
		c.inflight[dir] = nil
	}
	if s.SawConnect && s.Connack == nil {
		msg := "no CONNACK: the connection closed first"
		if atEOF {
			msg = "no CONNACK before the capture ended"
		}
		a.problem("refused", "connack.missing", "warning", "connack.missing:"+msg, msg, s.ConnectFrame)
	}
	if c.closeFrame > 0 && c.closeTime.After(c.last) {
		c.last = c.closeTime
	}
	s.end = c.last
	s.DurationS = seconds(c.last.Sub(c.first))

	// Wills the broker is expected to publish: the session was accepted and
	// ended without DISCONNECT, or with "Disconnect with Will Message".
	expectWill := c.hasWill && s.Connack != nil && s.Connack.Accepted && (!c.disconnect || e.ReasonCode == spec.ReasonDisconnectWithWill)
	e.Text = endText(s, expectWill)

	row := -1
	if len(a.rows) < a.cfg.MaxSessions {
		// Times in words only for the rows kept: a million connections
		// would spend more formatting them than reading them.
		s.Start, s.End = timeText(s.start), timeText(c.last)
		s.Client, s.Server = c.key.Client.String(), c.key.Server.String()
		row = len(a.rows)
		a.rows = append(a.rows, *s)
	} else {
		if a.omitted == nil {
			a.omitted = &OmittedSessions{Ended: map[string]int{}}
		}
		o := a.omitted
		o.Count++
		o.Packets += s.PacketsIn + s.PacketsOut
		o.Bytes += s.BytesIn + s.BytesOut
		o.Ended[e.Kind]++
		if s.Connack != nil && !s.Connack.Accepted {
			o.Refused++
		}
	}
	if expectWill && a.nWills < a.cfg.MaxWills {
		byClient := a.wills[c.willTopic]
		if byClient == nil {
			byClient = make(map[string][]pendingWill)
			a.wills[c.willTopic] = byClient
		}
		byClient[s.ClientID] = append(byClient[s.ClientID], pendingWill{row: row, clientID: s.ClientID})
		a.nWills++
		if s.ClientID != "" {
			a.willTopics[s.ClientID] = append(a.willTopics[s.ClientID], c.willTopic)
		}
	}
	if len(a.free) < 256 {
		*c = conn{}
		a.free = append(a.free, c)
	}
}

// endText tells how a session ended, in words.
func endText(s *Session, expectWill bool) string {
	e := &s.Ended
	var t string
	switch e.Kind {
	case "disconnect":
		t = "DISCONNECT"
		if e.DisconnectBy == "broker" {
			t = "DISCONNECT from broker"
		}
		if e.Reason != "" {
			t += " (" + e.Reason + ")"
		}
	case "tcp_close":
		t = "TCP close without DISCONNECT"
		if e.Reset {
			t = "TCP reset without DISCONNECT"
		}
	case "evicted":
		t = "not followed further: too many connections open at once (the reader dropped the one idle the longest)"
	default:
		t = "open at capture end"
	}
	if expectWill {
		if e.WillPublished > 0 {
			t += "; will published (frame " + strconv.Itoa(e.WillPublished) + ")"
		} else {
			t += "; will not seen published"
		}
	}
	if e.KeepAliveExceeded {
		gap := time.Duration(e.KeepAliveGapS * float64(time.Second))
		if e.KeepAliveFrame > 0 {
			t += fmt.Sprintf("; keep-alive exceeded (%s without a client packet, frame %d)", durText(gap), e.KeepAliveFrame)
		} else {
			t += fmt.Sprintf("; keep-alive exceeded (%s without a client packet before the end)", durText(gap))
		}
	}
	return t
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
}

func seconds(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1e6
}

func ms(d time.Duration) float64 {
	return float64(d.Nanoseconds()/1000) / 1000
}

// durText writes a duration for people: "1.234 s", "12.5 ms", "830 µs".
func durText(d time.Duration) string {
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + " s"
	case d >= time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64) + " ms"
	}
	return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64) + " µs"
}
