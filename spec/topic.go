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
