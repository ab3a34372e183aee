package spec

import "testing"

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
