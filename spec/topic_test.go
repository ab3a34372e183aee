package spec

import (
	"strings"
	"testing"
)

func TestMatchTopic(t *testing.T) {
	tests := []struct {
		filter, name string
		want         bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/#", "a/b/c", true},
		{"a/#", "a", true},
		{"#", "a/b", true},
		{"+/+", "a/b", true},
		{"+", "/a", false},
		{"/+", "/a", true},
		{"a/+/c", "a/x/c", true},
		{"#", "$SYS/x", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"a", "a/b", false},
		{"a/b/c", "a/b", false},
	}
	for _, tt := range tests {
		t.Run(tt.filter+" "+tt.name, func(t *testing.T) {
			if got := MatchTopic(tt.filter, tt.name); got != tt.want {
				t.Errorf("MatchTopic(%q, %q) = %v", tt.filter, tt.name, got)
			}
		})
	}
}

func TestValidTopicFilter(t *testing.T) {
	for f, want := range map[string]bool{"a/#": true, "a/#/b": false, "a+": false, "+/+": true, "": false, "#": true} {
		if got := ValidTopicFilter(f); got != want {
			t.Errorf("ValidTopicFilter(%q) = %v", f, got)
		}
	}
}

// TestTopicTreeAgreesWithMatchTopic: the tree finds exactly the filters
// MatchTopic accepts.
func TestTopicTreeAgreesWithMatchTopic(t *testing.T) {
	filters := []string{"#", "+", "a", "a/#", "a/+", "+/b", "a/b", "a/b/#", "+/+", "+/#", "a//b", "a/+/c", "/", "", "$SYS/#", "$SYS/+", "a/#/b", "a+", "+/+/#"}
	names := []string{"a", "a/b", "a/b/c", "b", "", "/", "a/", "/b", "a//b", "$SYS/x", "$SYS", "a/x/c", "a+", "a/#/b", "x/b"}
	tree := NewTopicTree()
	ids := map[int][]string{}
	for _, f := range filters {
		id := tree.Add(f)
		ids[id] = append(ids[id], f)
	}
	for _, n := range names {
		got := map[string]bool{}
		if !tree.Match(n, 0, func(id int) {
			for _, f := range ids[id] {
				got[f] = true
			}
		}) {
			t.Fatal("budget ran out without a budget")
		}
		for _, f := range filters {
			if want := MatchTopic(f, n); got[f] != want {
				t.Errorf("filter %q name %q: tree %v, MatchTopic %v", f, n, got[f], want)
			}
		}
	}
	if tree.Match("a/b/c", 2, func(int) {}) {
		t.Error("a budget of 2 states sufficed for a/b/c")
	}
	small := &TopicTree{MaxNodes: 4}
	small.nodes, small.edges = tree.nodes[:1:1], map[topicEdge]int32{}
	if small.Add("a/b/c") < 0 || small.Add("a/b") < 0 || small.Add("x/y") >= 0 || small.Len() != 4 {
		t.Errorf("MaxNodes not kept: %d levels", small.Len())
	}
}

func TestSharedFilter(t *testing.T) {
	for _, tt := range []struct{ in, group, filter string }{
		{"$share/grp/v5/shared/#", "grp", "v5/shared/#"},
		{"$share/g/+", "g", "+"},
		{"$share//a", "", "$share//a"},
		{"$share/g", "", "$share/g"},
		{"a/b", "", "a/b"},
	} {
		g, f, ok := SharedFilter(tt.in)
		if g != tt.group || f != tt.filter || ok != (tt.group != "") {
			t.Errorf("SharedFilter(%q) = %q, %q, %v", tt.in, g, f, ok)
		}
	}
}

// FuzzTopicTree: for any filters and name, the tree finds exactly the
// filters MatchTopic accepts, each once.
func FuzzTopicTree(f *testing.F) {
	f.Add("a/+/c\x00#\x00+/#\x00$SYS/#", "a/b/c")
	f.Add("\x00/\x00//#", "")
	f.Fuzz(func(t *testing.T, filters, name string) {
		tree := NewTopicTree()
		list := strings.Split(filters, "\x00")
		ids := make([]int, len(list))
		for i, fl := range list {
			ids[i] = tree.Add(fl)
		}
		seen := map[int]int{}
		if !tree.Match(name, 0, func(id int) { seen[id]++ }) {
			t.Fatal("no budget, yet stopped")
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("filter %d reported %d times", id, n)
			}
		}
		for i, fl := range list {
			if got, want := seen[ids[i]] > 0, MatchTopic(fl, name); got != want {
				t.Fatalf("filter %q name %q: tree %v, MatchTopic %v", fl, name, got, want)
			}
		}
	})
}
