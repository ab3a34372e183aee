package validate

import (
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// JUnit collects results into a JUnit XML report for CI systems: one
// testsuite per capture, one testcase per PDU (failing with its
// differences), one per Lua error and one for a damaged capture.
type JUnit struct {
	Name   string // the report's name; "mqttdissect validate" when empty
	Script string
	suites []junitSuite
}

type junitReport struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`

	elapsed time.Duration
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	ClassName string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func (j *JUnit) props(profile string) []junitProperty {
	p := []junitProperty{{"wireshark", profile}}
	if j.Script != "" {
		p = append([]junitProperty{{"script", j.Script}}, p...)
	}
	return p
}

// AddResult adds a capture's result; it needs Options.KeepPDUs for one
// testcase per PDU.
func (j *JUnit) AddResult(res *Result, elapsed time.Duration) {
	class := filepath.Base(res.Capture)
	s := junitSuite{Name: res.Capture, Properties: j.props(res.Profile.String()), elapsed: elapsed, Time: seconds(elapsed)}
	for _, pr := range res.PDUList {
		c := junitCase{ClassName: class, Name: fmt.Sprintf("frame %d pdu %d: %s", pr.Frame, pr.Index, pr.Name), Time: "0.000"}
		if pr.DiffCount > 0 {
			var text strings.Builder
			for _, d := range pr.Diffs {
				text.WriteString(d.String() + "\n")
			}
			if more := pr.DiffCount - len(pr.Diffs); more > 0 {
				fmt.Fprintf(&text, "... and %d more differences\n", more)
			}
			c.Failure = &junitProblem{Message: plural(pr.DiffCount, "difference", "differences"), Type: "difference", Text: text.String()}
			s.Failures++
		}
		s.Cases = append(s.Cases, c)
	}
	for _, e := range res.Errors {
		c := junitCase{ClassName: class, Name: fmt.Sprintf("frame %d: Lua error", e.Frame), Time: "0.000",
			Error: &junitProblem{Message: e.Message, Type: "LuaError", Text: e.Message + "\n" + e.Traceback}}
		s.Errors++
		s.Cases = append(s.Cases, c)
	}
	if n := res.ErrorCount - len(res.Errors); n > 0 {
		s.Cases = append(s.Cases, junitCase{ClassName: class, Name: "more Lua errors", Time: "0.000",
			Error: &junitProblem{Message: plural(n, "more Lua error", "more Lua errors"), Type: "LuaError"}})
		s.Errors++
	}
	if res.ReadErr != nil {
		s.Cases = append(s.Cases, junitCase{ClassName: class, Name: "read capture", Time: "0.000",
			Error: &junitProblem{Message: res.ReadErr.Error(), Type: "CaptureError"}})
		s.Errors++
	}
	if res.NothingCompared {
		// Nothing compared proved nothing: a failure, not a pass.
		var hint strings.Builder
		res.WriteReport(&hint)
		s.Cases = append(s.Cases, junitCase{ClassName: class, Name: "nothing compared", Time: "0.000",
			Failure: &junitProblem{Message: "no PDU on either side", Type: "NothingCompared", Text: hint.String()}})
		s.Failures++
	}
	if len(s.Cases) == 0 {
		// A recorded capture without PDUs still shows as one passing test.
		s.Cases = append(s.Cases, junitCase{ClassName: class, Name: "no PDUs", Time: "0.000"})
	}
	s.Tests = len(s.Cases)
	s.SystemOut = res.Line()
	j.suites = append(j.suites, s)
}

// AddError adds a suite with one erroring testcase: a script that does not
// load, or a capture that cannot be read.
func (j *JUnit) AddError(suite, profile, kind string, err error) {
	s := junitSuite{Name: suite, Tests: 1, Errors: 1, Time: "0.000", Properties: j.props(profile)}
	s.Cases = []junitCase{{ClassName: filepath.Base(suite), Name: kind, Time: "0.000",
		Error: &junitProblem{Message: firstLine(err.Error()), Type: kind, Text: err.Error()}}}
	j.suites = append(j.suites, s)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// WriteTo writes the report.
func (j *JUnit) WriteTo(w io.Writer) (int64, error) {
	rep := junitReport{Name: j.Name, Suites: j.suites}
	if rep.Name == "" {
		rep.Name = "mqttdissect validate"
	}
	var total time.Duration
	for _, s := range j.suites {
		rep.Tests += s.Tests
		rep.Failures += s.Failures
		rep.Errors += s.Errors
		total += s.elapsed
	}
	rep.Time = seconds(total)
	out, err := xml.MarshalIndent(rep, "", "  ")
	if err != nil {
		return 0, err
	}
	n, err := io.WriteString(w, xml.Header+string(out)+"\n")
	return int64(n), err
}
