package spec

import "strings"

// MatchTopic reports whether a topic name matches a topic filter, with the
// wildcards of MQTT 5.0 §4.7: "+" matches one level, "#" (last) matches any
// number of levels including the parent. Names starting with "$" are not
// matched by a filter starting with a wildcard (§4.7.2).
func MatchTopic(filter, name string) bool {
	if name != "" && name[0] == '$' && filter != "" && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" && !fmore {
			return true
		}
		nl, nrest, nmore := strings.Cut(name, "/")
		if fl != "+" && fl != nl {
			return false
		}
		if !fmore || !nmore {
			// "a/#" matches "a": the parent level.
			return fmore == nmore || (fmore && frest == "#")
		}
		filter, name = frest, nrest
	}
}

// ValidTopicFilter reports whether a filter uses wildcards as §4.7.1 allows.
func ValidTopicFilter(filter string) bool {
	if filter == "" {
		return false
	}
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return false
		}
		if strings.Contains(l, "+") && l != "+" {
			return false
		}
	}
	return true
}

// SharedFilter splits a shared subscription's filter "$share/{ShareName}/
// {filter}" (MQTT 5.0 §4.8.2): the subscription matches topics as filter
// does, and the broker delivers each message to one member of the group.
// ok is false when filter is not a shared subscription.
func SharedFilter(filter string) (group, topicFilter string, ok bool) {
	rest, found := strings.CutPrefix(filter, "$share/")
	if !found {
		return "", filter, false
	}
	group, topicFilter, found = strings.Cut(rest, "/")
	if !found || group == "" {
		return "", filter, false
	}
	return group, topicFilter, true
}

// TopicTree holds topic filters by level, so that the filters matching a
// topic name are found in time proportional to the name's levels and the
// branches its wildcards open, not to the number of filters. It matches as
// MatchTopic does. Its size is bounded: MaxNodes levels in all.
type TopicTree struct {
	// MaxNodes bounds the levels stored (DefaultTopicTreeNodes when 0);
	// Add refuses a filter that needs more.
	MaxNodes int
	nodes    []topicNode
	edges    map[topicEdge]int32 // literal levels: one map for the tree
	stack    []topicState
}

// DefaultTopicTreeNodes bounds a TopicTree: about 5 MB of levels.
const DefaultTopicTreeNodes = 100000

type topicNode struct {
	plus, hash int32 // children for "+" and a last "#"; 0 when none
	ends       bool  // a filter ends here
}

type topicEdge struct {
	parent int32
	level  string
}

type topicState struct {
	node     int32
	rest     string // name levels still to match
	hasLevel bool   // rest holds at least one level (possibly empty)
}

// NewTopicTree returns an empty tree.
func NewTopicTree() *TopicTree {
	return &TopicTree{nodes: make([]topicNode, 1), edges: make(map[topicEdge]int32)}
}

// Len returns the number of levels stored.
func (t *TopicTree) Len() int { return len(t.nodes) }

// Add adds filter and returns its identifier, below Len(); equal filters
// share one. It returns -1 when the tree is full.
func (t *TopicTree) Add(filter string) int {
	limit := t.MaxNodes
	if limit <= 0 {
		limit = DefaultTopicTreeNodes
	}
	// Count the new levels first, so a refused filter leaves no trace.
	n, levels, known := int32(0), 0, true
	for rest, more := filter, true; more; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		levels++
		if known {
			if n = t.child(n, level, more); n == 0 {
				known = false
			}
		}
	}
	if !known && len(t.nodes)+levels > limit {
		return -1
	}
	n = 0
	for rest, more := filter, true; more; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		next := t.child(n, level, more)
		if next == 0 {
			next = int32(len(t.nodes))
			t.nodes = append(t.nodes, topicNode{})
			switch {
			case level == "#" && !more:
				t.nodes[n].hash = next
			case level == "+":
				t.nodes[n].plus = next
			default:
				t.edges[topicEdge{n, level}] = next
			}
		}
		n = next
	}
	t.nodes[n].ends = true
	return int(n)
}

// child returns the child of n for level (0 when none); more says whether
// levels follow it in the filter.
func (t *TopicTree) child(n int32, level string, more bool) int32 {
	switch {
	case level == "#" && !more:
		return t.nodes[n].hash
	case level == "+":
		return t.nodes[n].plus
	}
	return t.edges[topicEdge{n, level}]
}

// Match calls found with the identifier of every filter that matches name.
// It visits at most budget states of the tree (budget <= 0: no limit) and
// returns false when it stopped there, some matches not reported: filters
// built to branch at every level cannot make it run longer.
func (t *TopicTree) Match(name string, budget int, found func(id int)) bool {
	t.stack = append(t.stack[:0], topicState{0, name, true})
	for visits := 0; len(t.stack) > 0; visits++ {
		if budget > 0 && visits >= budget {
			return false
		}
		s := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		node := &t.nodes[s.node]
		// Names starting with "$" are not matched by a filter starting
		// with a wildcard (§4.7.2).
		dollar := s.node == 0 && name != "" && name[0] == '$'
		if node.hash != 0 && !dollar {
			found(int(node.hash)) // "#" matches the rest, even no level
		}
		if !s.hasLevel {
			if node.ends {
				found(int(s.node))
			}
			continue
		}
		level, rest, more := strings.Cut(s.rest, "/")
		if c, ok := t.edges[topicEdge{s.node, level}]; ok {
			t.stack = append(t.stack, topicState{c, rest, more})
		}
		if node.plus != 0 && !dollar {
			t.stack = append(t.stack, topicState{node.plus, rest, more})
		}
	}
	return true
}
