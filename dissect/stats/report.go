package stats

import "time"

// The report: what `mqttdissect stats` prints. The JSON form is this
// structure as encoding/json writes it; field names are stable.

// Report is the analysis of one capture.
type Report struct {
	Capture  string   `json:"capture"`
	Summary  Summary  `json:"summary"`
	Sessions Sessions `json:"sessions"`
	Delivery Delivery `json:"delivery"`
	Topics   Topics   `json:"topics"`
	// Subscriptions lists each topic filter of each SUBSCRIBE (and each
	// UNSUBSCRIBE of a filter the capture did not see subscribed).
	Subscriptions Subscriptions `json:"subscriptions"`
	Problems      []Problem     `json:"problems"`
}

// Summary holds the capture-wide counts.
type Summary struct {
	// Start and End are the times of the first and last MQTT packet
	// (RFC 3339, UTC, as captured); empty when there were none.
	Start     string  `json:"start"`
	End       string  `json:"end"`
	DurationS float64 `json:"duration_s"`
	Frames    int     `json:"frames"`
	Packets   int     `json:"packets"`
	// Connections counts TCP connections that carried MQTT.
	Connections int `json:"connections"`
	Malformed   int `json:"malformed"`
	Truncated   int `json:"truncated"`
	// Evicted counts connections whose state the reader dropped because
	// too many were open at once (oldest idle first); their sessions end
	// with kind "evicted", and later packets on them count as a new
	// connection.
	Evicted int `json:"evicted_connections,omitempty"`
	// Gaps and LostBytes count the holes in the TCP streams the capture
	// missed; SkippedBytes the captured bytes after them no packet could
	// be read from.
	Gaps         int   `json:"gaps,omitempty"`
	LostBytes    int64 `json:"lost_bytes,omitempty"`
	SkippedBytes int64 `json:"skipped_bytes,omitempty"`
	// Damaged is the capture reader's error when the file is cut short or
	// corrupt: nothing after the damage was read, and the report's
	// findings about the end (sessions open, flows never answered) may be
	// the cut's doing (Problem.PossiblyCut).
	Damaged string `json:"capture_damaged,omitempty"`
	// PacketTypes has one entry per packet type seen, in type order.
	PacketTypes []TypeCount `json:"packet_types"`
}

// TypeCount counts the packets of one control packet type.
type TypeCount struct {
	Type     string `json:"type"` // "PUBLISH"
	Value    int    `json:"value"`
	ToServer int    `json:"to_server"`
	ToClient int    `json:"to_client"`
	Total    int    `json:"total"`
	Bytes    int64  `json:"bytes"`
}

// Sessions lists one row per MQTT connection.
type Sessions struct {
	Rows []Session `json:"rows"`
	// Omitted aggregates the connections past the row limit.
	Omitted *OmittedSessions `json:"omitted,omitempty"`
}

// OmittedSessions sums up the sessions that were not kept as rows.
type OmittedSessions struct {
	Count   int            `json:"count"`
	Packets int            `json:"packets"`
	Bytes   int64          `json:"bytes"`
	Ended   map[string]int `json:"ended"` // by End.Kind
	Refused int            `json:"refused"`
}

// Session is one MQTT connection.
type Session struct {
	Conn   int    `json:"conn"` // connection number, in order of first appearance
	Client string `json:"client"`
	Server string `json:"server"`
	// ClientID is the CONNECT's client identifier; AssignedID the one a v5
	// broker assigned in its CONNACK.
	ClientID     string  `json:"client_id"`
	AssignedID   string  `json:"assigned_client_id,omitempty"`
	Version      string  `json:"version"` // "3.1.1"; "unknown" without CONNECT
	SawConnect   bool    `json:"saw_connect"`
	CleanStart   bool    `json:"clean_start"`
	KeepAlive    int     `json:"keep_alive"`              // seconds, from CONNECT; -1 unknown
	ServerKeep   int     `json:"server_keep_alive"`       // v5 Server Keep Alive, -1 when none
	Username     string  `json:"username,omitempty"`      // never the password
	Will         *Will   `json:"will,omitempty"`          // the CONNECT's will
	ConnectFrame int     `json:"connect_frame,omitempty"` // 0 when none
	Connack      *Ack    `json:"connack"`                 // nil when no CONNACK was seen
	Start        string  `json:"start"`                   // first MQTT packet
	End          string  `json:"end"`                     // last MQTT packet
	StartRel     float64 `json:"start_rel_s"`             // seconds since the capture's first MQTT packet
	DurationS    float64 `json:"duration_s"`
	PacketsIn    int     `json:"packets_to_server"`
	PacketsOut   int     `json:"packets_to_client"`
	BytesIn      int64   `json:"bytes_to_server"`
	BytesOut     int64   `json:"bytes_to_client"`
	Ended        End     `json:"ended"`
	// Transport is tls, ws or wss, absent for plain TCP; TLSVersion and
	// TLSCipherSuite name a TLS session's version and suite.
	Transport      string `json:"transport,omitempty"`
	TLSVersion     string `json:"tls_version,omitempty"`
	TLSCipherSuite string `json:"tls_cipher_suite,omitempty"`

	start, end time.Time
}

// Will is the will message a CONNECT carried (not its payload).
type Will struct {
	Topic  string `json:"topic"`
	QoS    int    `json:"qos"`
	Retain bool   `json:"retain"`
}

// Ack is a CONNACK's result.
type Ack struct {
	Frame          int    `json:"frame"`
	Code           int    `json:"code"`
	Result         string `json:"result"` // in words
	Accepted       bool   `json:"accepted"`
	SessionPresent bool   `json:"session_present"`
}

// End says how a session ended.
type End struct {
	// Kind is "disconnect" (a DISCONNECT was seen), "tcp_close" (the TCP
	// connection closed without DISCONNECT), "open" (still open when the
	// capture ended) or "evicted" (the reader stopped following it: too
	// many connections were open at once).
	Kind string `json:"kind"`
	// Frame is the DISCONNECT's frame, the FIN or RST that closed the
	// connection, or the last MQTT packet's when the capture ended first.
	Frame int `json:"frame"`
	// Reset is set when an RST, not a FIN, closed the connection.
	Reset bool `json:"reset,omitempty"`
	// DisconnectBy is "client" or "server" for Kind "disconnect".
	DisconnectBy string `json:"disconnect_by,omitempty"`
	// Reason is a v5 DISCONNECT's reason in words, "" otherwise.
	Reason     string `json:"reason,omitempty"`
	ReasonCode int    `json:"reason_code,omitempty"`
	// WillPublished is the frame of the first PUBLISH of the will by the
	// broker after the session ended, 0 when none was seen.
	WillPublished int `json:"will_published_frame,omitempty"`
	// KeepAliveExceeded is set when the client sent nothing for more than
	// 1.5 x keep-alive; KeepAliveFrame is the client packet that came too
	// late (0 when the gap ran to the close or the capture's end).
	KeepAliveExceeded bool    `json:"keep_alive_exceeded,omitempty"`
	KeepAliveFrame    int     `json:"keep_alive_frame,omitempty"`
	KeepAliveGapS     float64 `json:"keep_alive_gap_s,omitempty"`
	// Text is the whole story in words, as the text output shows it.
	Text string `json:"text"`
}

// Delivery holds the QoS 1/2 and (UN)SUBSCRIBE flows.
type Delivery struct {
	Flows   []Flow    `json:"flows"`
	Latency []Latency `json:"latency"`
	// Untracked counts flows not followed because the in-flight table was
	// full.
	Untracked int `json:"untracked,omitempty"`
}

// Flow counts one kind of exchange in one direction.
type Flow struct {
	// Kind is "qos1" (PUBLISH-PUBACK), "qos2" (PUBLISH-PUBREC-PUBREL-PUBCOMP),
	// "subscribe" or "unsubscribe".
	Kind string `json:"kind"`
	// From is who sent the first packet: "client" or "broker".
	From      string `json:"from"`
	Started   int    `json:"started"`
	Completed int    `json:"completed"`
	// Rejected flows ended with a v5 reason code of 0x80 or more.
	Rejected   int `json:"rejected"`
	Unanswered int `json:"unanswered"`
	// UnknownID counts acknowledgements (or PUBRELs) of an identifier not in
	// flight; ReusedID counts new packets with an identifier still in
	// flight; DupResends counts PUBLISHes with DUP=1.
	UnknownID  int `json:"unknown_id"`
	ReusedID   int `json:"reused_id"`
	DupResends int `json:"dup_resends"`
}

// Latency is the round trip of one acknowledgement kind in one direction.
type Latency struct {
	// Step is "PUBLISH→PUBACK", "PUBLISH→PUBREC", "PUBREL→PUBCOMP",
	// "SUBSCRIBE→SUBACK" or "UNSUBSCRIBE→UNSUBACK".
	Step   string  `json:"step"`
	From   string  `json:"from"` // who sent the first packet
	Count  int     `json:"count"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
	// Exact is false when percentiles come from the histogram (more than
	// a few hundred samples): they are then within 5 %.
	Exact bool `json:"exact"`
}

// Topics is the topic tree.
type Topics struct {
	// Depth is the roll-up depth (0: full topics).
	Depth int        `json:"depth"`
	Rows  []TopicRow `json:"rows"`
	// Overflow is set when more distinct topics were seen than kept; their
	// messages are in a row named "(other)".
	Overflow bool `json:"overflow,omitempty"`
}

// TopicRow counts the messages of one topic, or of a subtree when rolled up
// ("home/#").
type TopicRow struct {
	Topic string `json:"topic"`
	// Topics is how many distinct topic names the row holds.
	Topics int `json:"topics"`
	// Published counts PUBLISHes from clients, Delivered from the broker.
	Published int `json:"published"`
	Delivered int `json:"delivered"`
	// PayloadBytes, QoS (messages by QoS 0, 1, 2) and Retained count the
	// published messages, or the delivered ones when nothing was published
	// (as when only a subscriber was captured).
	PayloadBytes int64    `json:"payload_bytes"`
	QoS          [3]int   `json:"qos"`
	Retained     int      `json:"retained"`
	Publishers   []string `json:"publishers"`
	// PublishersMore is set when there were more publishers than listed.
	PublishersMore bool `json:"publishers_more,omitempty"`
}

// Subscriptions lists subscription rows.
type Subscriptions struct {
	Rows    []Subscription `json:"rows"`
	Omitted int            `json:"omitted,omitempty"`
	// MatchIncomplete counts topic names whose matching against the
	// filters stopped at a fixed bound of work (filters built to branch at
	// every level): their matches may be missing from the counts.
	MatchIncomplete int `json:"match_incomplete,omitempty"`
}

// Subscription is one topic filter of a SUBSCRIBE.
type Subscription struct {
	Conn     int    `json:"conn"`
	ClientID string `json:"client_id"`
	Filter   string `json:"filter"`
	// RequestedQoS is -1 for an UNSUBSCRIBE of a filter not seen subscribed.
	RequestedQoS   int    `json:"requested_qos"`
	SubscribeFrame int    `json:"subscribe_frame,omitempty"`
	SubackFrame    int    `json:"suback_frame,omitempty"`
	Code           int    `json:"code"`   // SUBACK code, -1 when none
	Result         string `json:"result"` // "granted QoS 2", a reason, or "no SUBACK"
	// UnsubscribeFrame is the UNSUBSCRIBE of the filter, if any.
	UnsubscribeFrame int    `json:"unsubscribe_frame,omitempty"`
	UnsubackFrame    int    `json:"unsuback_frame,omitempty"`
	UnsubResult      string `json:"unsubscribe_result,omitempty"`
	// SharedGroup is the share name of a shared subscription
	// ("$share/{group}/{filter}", MQTT 5.0 §4.8.2); it matches as filter.
	SharedGroup string `json:"shared_group,omitempty"`
	// Matched lists the topics seen that the filter matches (at most
	// Config.MaxMatched, each cut to 256 bytes); MatchedMore counts the
	// others.
	Matched     []string `json:"matched_topics"`
	MatchedMore int      `json:"matched_more,omitempty"`
	// Published counts the QoS 1 and 2 PUBLISHes from clients in the
	// capture on topics the filter matches while the subscription was
	// active; Delivered the QoS 1 and 2 PUBLISHes the broker sent this
	// client on such topics (not counted for shared subscriptions). When
	// the capture holds both sides they should be close.
	Published int `json:"published_qos12"`
	Delivered int `json:"delivered_qos12"`

	filter   int32 // identifier in Analyzer.filters, -1 when not there
	pubStart int   // the filter's published count when subscribed
	active   bool  // subscribed now: Published still grows
}

// Problem is one kind of trouble, with the frames where it happened.
type Problem struct {
	// Category is "refused", "session", "delivery", or the decoder note's
	// group: "protocol", "malformed", "sequence", "assumption".
	Category string `json:"category"`
	// Kind is a stable name: the decoder rule ("mqtt.reserved_flags") or
	// one of ours ("connack.refused", "delivery.unanswered", ...).
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	// Message is the first occurrence's description.
	Message string `json:"message"`
	Count   int    `json:"count"`
	// Frames are the first occurrences' frame numbers, for
	// `frame.number == N` in Wireshark.
	Frames []int `json:"frames"`
	// MoreFrames is set when it happened in more frames than listed.
	MoreFrames bool `json:"more_frames,omitempty"`
	// PossiblyCut is set when the capture is damaged and some occurrences
	// were found at the end of the input: the cut may have hidden what
	// would have resolved them (an acknowledgement, a DISCONNECT).
	PossiblyCut bool `json:"possibly_cut,omitempty"`
}
