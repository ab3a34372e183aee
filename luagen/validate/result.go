package validate

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/luagen/wslua"
)

// LuaError is an error the script raised while dissecting a frame.
type LuaError struct {
	Frame     int
	Message   string
	Traceback string
	// Where is the script's file and line ("mqtt.lua:1488") when known.
	Where string
	// Limit is "instructions" or "memory" when the script ran into a limit.
	Limit string
	// Caught is set for a runtime error the script caught itself (pcall)
	// and turned into something else, typically an expert info.
	Caught bool
}

func (e LuaError) String() string {
	what := "Lua error"
	if e.Caught {
		what = "Lua error caught by the script"
	}
	at := ""
	if e.Where != "" && !strings.HasPrefix(e.Message, e.Where) && !strings.Contains(e.Message, " at "+e.Where) {
		at = " (at " + e.Where + ")"
	}
	return fmt.Sprintf("frame %d: %s: %s%s", e.Frame, what, e.Message, at)
}

// PDUResult is the outcome of one PDU.
type PDUResult struct {
	Frame, Index int
	Name         string // the reference's description of the PDU
	Fields       int    // reference fields compared
	Experts      int    // reference expert infos compared
	Diffs        []Diff // the first MaxDiffs differences
	DiffCount    int    // all differences
	// Extra is a PDU only the Lua side has; Missing one only the
	// reference has.
	Extra, Missing bool
}

// Result is the outcome of one capture.
type Result struct {
	Capture string
	Profile wslua.Profile
	Golden  bool // compared with golden trees rather than the native decoder
	// Recorded is set when the Lua trees were only recorded (Reference.Record).
	Recorded bool
	Frames   int // capture records read

	PDUs      int // PDUs found on both sides and compared
	LuaPDUs   int // PDUs the script showed
	RefPDUs   int // PDUs of the reference
	Fields    int // reference fields compared
	Experts   int // reference expert infos compared
	DiffPDUs  int // PDUs with at least one difference (including extra and missing ones)
	DiffCount int // differences in all
	// Diffs are the reported differences: the first Options.MaxDiffs of
	// each of the first Options.MaxDiffPDUs PDUs that have some.
	Diffs          []Diff
	UnreportedPDUs int // PDUs with differences beyond Options.MaxDiffPDUs
	// SpanningMissing counts native packets that span TCP segments and
	// that the Lua dissector did not show, or showed with another length
	// (a reassembly step missing?);
	// FirstSpanningMissing is the frame of the first.
	SpanningMissing, FirstSpanningMissing int
	ErrorCount                            int // Lua errors in all
	Errors                                []LuaError
	// MaxSteps is the most work one dissector call did (Lua instructions,
	// as counted against Options.Steps), in frame MaxStepsFrame.
	MaxSteps      int64
	MaxStepsFrame int
	// CaughtErrors counts the Lua errors (of ErrorCount) the script caught
	// itself: runtime errors inside a pcall, hidden from Wireshark's view.
	CaughtErrors int
	// Stopped says why the capture was not read to its end (the script ran
	// into its instruction budget or memory limit).
	Stopped string
	// NothingCompared is set when no PDU was found on either side: a run
	// that proved nothing. ReadPorts are the TCP ports read, ScriptPorts
	// those the script registers, TrafficPorts the other TCP ports that
	// carried traffic, busiest first.
	NothingCompared bool
	ReadPorts       []uint16
	ScriptPorts     []uint16
	TrafficPorts    []dissect.PortCount
	NotComparable   int // native packets cut short by lost bytes or the end of a stream
	// ReadErr is set when the capture is damaged part way; what came
	// before the damage was compared.
	ReadErr error

	Trees   []*Tree     // the Lua trees, with Options.KeepTrees
	PDUList []PDUResult // with Options.KeepPDUs
}

// OK reports whether everything matched and nothing raised.
func (r *Result) OK() bool {
	return r.DiffCount == 0 && r.ErrorCount == 0 && r.ReadErr == nil && r.Stopped == "" && !r.NothingCompared
}

func (r *Result) add(pr *PDUResult, maxDiffs, maxPDUs int, keep bool) {
	if !pr.Extra && !pr.Missing {
		r.PDUs++
		r.Fields += pr.Fields
		r.Experts += pr.Experts
	}
	pr.DiffCount = len(pr.Diffs)
	if pr.DiffCount > 0 {
		r.DiffPDUs++
		r.DiffCount += pr.DiffCount
		if len(pr.Diffs) > maxDiffs {
			pr.Diffs = pr.Diffs[:maxDiffs]
		}
		if r.DiffPDUs <= maxPDUs {
			r.Diffs = append(r.Diffs, pr.Diffs...)
			if more := pr.DiffCount - len(pr.Diffs); more > 0 {
				r.Diffs = append(r.Diffs, Diff{Frame: pr.Frame, PDU: pr.Index, More: more})
			}
		} else {
			r.UnreportedPDUs++
		}
	}
	if keep {
		r.PDUList = append(r.PDUList, *pr)
	}
}

func (r *Result) addError(e LuaError) {
	r.ErrorCount++
	if len(r.Errors) < maxStoredErrors {
		r.Errors = append(r.Errors, e)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Line is the one-line account of the capture.
func (r *Result) Line() string {
	var b strings.Builder
	if r.Recorded {
		fmt.Fprintf(&b, "%s: recorded %s, %s", filepath.Base(r.Capture), plural(r.LuaPDUs, "PDU", "PDUs"), plural(r.ErrorCount, "Lua error", "Lua errors"))
		if r.Stopped != "" {
			fmt.Fprintf(&b, "; %s", r.Stopped)
		}
		if r.ReadErr != nil {
			fmt.Fprintf(&b, "; capture damaged: %v", r.ReadErr)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%s: %s, %s, %s compared: %s",
		filepath.Base(r.Capture), plural(r.PDUs, "PDU", "PDUs"), plural(r.Fields, "field", "fields"),
		plural(r.Experts, "expert info", "expert infos"), plural(r.DiffCount, "difference", "differences"))
	if r.DiffCount > 0 {
		fmt.Fprintf(&b, " in %s", plural(r.DiffPDUs, "PDU", "PDUs"))
	}
	fmt.Fprintf(&b, ", %s", plural(r.ErrorCount, "Lua error", "Lua errors"))
	if r.CaughtErrors > 0 {
		fmt.Fprintf(&b, " (%d caught by the script)", r.CaughtErrors)
	}
	if r.Stopped != "" {
		fmt.Fprintf(&b, "; %s", r.Stopped)
	}
	if r.NothingCompared {
		b.WriteString("; nothing compared")
	}
	if r.NotComparable > 0 {
		fmt.Fprintf(&b, " (%s cut short by lost bytes or the end of a stream not compared: Wireshark does not dissect them)",
			plural(r.NotComparable, "native packet", "native packets"))
	}
	if r.ReadErr != nil {
		fmt.Fprintf(&b, "; capture damaged: %v", r.ReadErr)
	}
	return b.String()
}

// WriteReport writes the capture's line, then its differences and its Lua
// errors with their tracebacks, indented.
func (r *Result) WriteReport(w io.Writer) error {
	var b strings.Builder
	b.WriteString(r.Line() + "\n")
	// Lua errors first: the differences after them are often their effect.
	// The same error in many frames is shown once, with its traceback,
	// followed by the frames it recurred in.
	again := map[string][]int{}
	var order []LuaError
	for _, e := range r.Errors {
		k := e.Message + "\x00" + e.Where
		if _, seen := again[k]; seen {
			again[k] = append(again[k], e.Frame)
			continue
		}
		again[k] = []int{}
		order = append(order, e)
	}
	for _, e := range order {
		b.WriteString("  " + e.String() + "\n")
		if tb := strings.TrimSpace(e.Traceback); tb != "" {
			for _, line := range strings.Split(tb, "\n") {
				b.WriteString("      " + strings.TrimSpace(line) + "\n")
			}
		}
		if fs := again[e.Message+"\x00"+e.Where]; len(fs) > 0 {
			shown := fs[:min(len(fs), 10)]
			parts := make([]string, len(shown))
			for i, f := range shown {
				parts[i] = fmt.Sprint(f)
			}
			more := ""
			if len(fs) > len(shown) {
				more = fmt.Sprintf(" and %d more", len(fs)-len(shown))
			}
			fmt.Fprintf(&b, "    the same error in frames %s%s\n", strings.Join(parts, ", "), more)
		}
	}
	if n := r.ErrorCount - len(r.Errors); n > 0 {
		fmt.Fprintf(&b, "  ... and %d more Lua errors\n", n)
	}
	if r.NothingCompared {
		fmt.Fprintf(&b, "  hint: no PDU on either side: TCP ports read %s", portList(r.ReadPorts))
		if portList(r.ReadPorts) != portList(r.ScriptPorts) {
			if len(r.ScriptPorts) == 0 {
				b.WriteString(" (the script registers none: read through Decode As)")
			} else {
				fmt.Fprintf(&b, " (the script registers %s)", portList(r.ScriptPorts))
			}
		}
		if len(r.TrafficPorts) == 0 {
			b.WriteString("; the capture carries no TCP traffic on other ports either\n")
		} else {
			parts := make([]string, len(r.TrafficPorts))
			for i, p := range r.TrafficPorts {
				parts[i] = fmt.Sprintf("%d (%s)", p.Port, plural(p.Frames, "frame", "frames"))
			}
			fmt.Fprintf(&b, "; TCP traffic in the capture is on ports %s: give them with --port\n", strings.Join(parts, ", "))
		}
	}
	if r.SpanningMissing > 0 {
		what := "1 native packet that spans TCP segments is"
		if r.SpanningMissing > 1 {
			what = fmt.Sprintf("%d native packets that span TCP segments are", r.SpanningMissing)
		}
		fmt.Fprintf(&b, "  hint: %s missing from the Lua tree or cut short, the first completed by frame %d: "+
			"does the dissector ask for more data (pinfo.desegment_offset and pinfo.desegment_len) when a PDU is not complete?\n",
			what, r.FirstSpanningMissing)
	}
	for _, d := range r.Diffs {
		b.WriteString("  " + d.String() + "\n")
	}
	if r.UnreportedPDUs > 0 {
		fmt.Fprintf(&b, "  ... and %d more differences in %s\n", r.DiffCount-countReported(r.Diffs),
			plural(r.UnreportedPDUs, "more PDU", "more PDUs"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func portList(ports []uint16) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}

func countReported(ds []Diff) int {
	n := 0
	for _, d := range ds {
		if d.More > 0 {
			n += d.More
		} else {
			n++
		}
	}
	return n
}
