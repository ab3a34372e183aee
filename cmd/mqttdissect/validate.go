package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mqttdissect/mqttdissect/dissect"
	"github.com/mqttdissect/mqttdissect/luagen/validate"
	"github.com/mqttdissect/mqttdissect/luagen/wslua"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newValidateCmd)
}

type validateOptions struct {
	lua       string
	wireshark string
	golden    string
	update    bool
	junit     string
	budget    time.Duration
	maxDiffs  int
	prefs     []string

	// resolved from the flags
	profile wslua.Profile

	readingFlags
}

func newValidateCmd() *cobra.Command {
	o := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate --lua FILE [flags] CAPTURE...",
		Short: "Run a Lua dissector without Wireshark and compare its trees with the native decoder",
		Long: `Run a Wireshark Lua dissector inside mqttdissect, against an emulation of
Wireshark's Lua API, over the TCP streams of the captures, fed segment by
segment as Wireshark's TCP dissector feeds it (with its reassembly), and
compare the tree it builds for every PDU, field by field, with the native MQTT
decoder's reading: name (the script's protocol name is mapped to mqtt), value,
label, position, length and nesting, and the expert infos.

For a dissector of another protocol, --golden DIR compares with trees stored
in DIR (one CAPTURE.tree.txt per capture) instead; --update writes them.

--wireshark picks the emulated release: only its Lua API and its Lua dialect
are available (1.10 has Lua 5.1, 1.12 to 4.0 Lua 5.2, 4.4 Lua 5.4), and a
script that uses something the release lacks fails with the API point and the
first release that has it. The script runs sandboxed (no os.execute, io.popen,
file writes or module loading) and each dissector call has a time budget.

The last line printed is a one-line summary. Exit status: 0 when every tree
matched and nothing raised, 1 otherwise (differences, Lua errors, a script that
does not load, an unreadable capture), 2 on usage errors.`,
		Example: `  mqttdissect lua -o mqtt.lua && mqttdissect validate --lua mqtt.lua testdata/*.pcap*
  mqttdissect validate --lua mqtt.lua --wireshark 1.10 --junit report.xml capture.pcapng
  mqttdissect validate --lua mydissector.lua --golden trees/ --update capture.pcap`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.resolve(); err != nil {
				return usageError{err}
			}
			return runValidate(cmd.Context(), cmd, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.lua, "lua", "", "the Lua dissector to validate (required)")
	f.StringVar(&o.wireshark, "wireshark", "4.0", "emulated Wireshark release: 1.10, 1.10/5.2, 1.12, 2.6, 3.6, 4.0 or 4.4")
	f.StringVar(&o.golden, "golden", "", "compare with the golden trees in this folder instead of the native decoder")
	f.BoolVar(&o.update, "update", false, "with --golden: write the golden trees instead of comparing")
	f.StringVar(&o.junit, "junit", "", "also write a JUnit XML report to this file")
	f.UintSliceVar(&o.ports, "port", nil, "TCP port to read (repeatable; default: the ports the script registers)")
	f.DurationVar(&o.budget, "budget", time.Second, "time budget of one dissector call")
	f.IntVar(&o.maxDiffs, "max-diffs", validate.DefaultMaxDiffs, "differences reported per PDU")
	f.StringVar(&o.mqttVersion, "mqtt-version", "", "MQTT version of connections whose CONNECT is not in the capture: 3.1, 3.1.1 or 5 (both sides)")
	f.StringArrayVar(&o.prefs, "pref", nil, "a preference for the script, proto.name=value as tshark -o (repeatable)")
	return cmd
}

func (o *validateOptions) resolve() error {
	if o.lua == "" {
		return errors.New("--lua FILE is required")
	}
	p, err := wslua.ProfileByName(o.wireshark)
	if err != nil {
		return fmt.Errorf("--wireshark: %v", strings.TrimPrefix(err.Error(), "wslua: "))
	}
	o.profile = p
	if o.update && o.golden == "" {
		return errors.New("--update needs --golden DIR")
	}
	if o.budget <= 0 {
		return fmt.Errorf("--budget %v must be positive", o.budget)
	}
	if o.maxDiffs <= 0 {
		return fmt.Errorf("--max-diffs %d must be positive", o.maxDiffs)
	}
	if err := o.readingFlags.resolve(); err != nil {
		return err
	}
	return nil
}

// validateTotals adds up the captures' results.
type validateTotals struct {
	captures, failed                 int
	pdus, fields, experts            int
	diffs, diffPDUs, luaErrors, read int
}

func (t *validateTotals) add(res *validate.Result) {
	t.captures++
	if !res.OK() {
		t.failed++
	}
	t.pdus += res.PDUs
	t.fields += res.Fields
	t.experts += res.Experts
	t.diffs += res.DiffCount
	t.diffPDUs += res.DiffPDUs
	t.luaErrors += res.ErrorCount
	if res.ReadErr != nil {
		t.read++
	}
}

func validateCount(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// summary is the last line of the output.
func (t *validateTotals) summary() string {
	compared := fmt.Sprintf("%s, %s, %s compared", validateCount(t.pdus, "PDU", "PDUs"), validateCount(t.fields, "field", "fields"),
		validateCount(t.experts, "expert info", "expert infos"))
	problems := validateCount(t.diffs, "difference", "differences")
	if t.diffs > 0 {
		problems += " in " + validateCount(t.diffPDUs, "PDU", "PDUs")
	}
	problems += ", " + validateCount(t.luaErrors, "Lua error", "Lua errors")
	if t.read > 0 {
		problems += ", " + validateCount(t.read, "unreadable capture", "unreadable captures")
	}
	if t.failed == 0 {
		return fmt.Sprintf("validate: %s, %s: %s", validateCount(t.captures, "capture", "captures"), compared, problems)
	}
	return fmt.Sprintf("validate: FAIL: %d of %s: %s (%s)", t.failed, validateCount(t.captures, "capture", "captures"), problems, compared)
}

func runValidate(ctx context.Context, cmd *cobra.Command, o *validateOptions, files []string) error {
	out := bufio.NewWriter(cmd.OutOrStdout())
	defer out.Flush()
	src, err := os.ReadFile(o.lua)
	if err != nil {
		return usageError{fmt.Errorf("--lua: %w", err)}
	}
	junit := &validate.JUnit{Script: o.lua}
	opts := validate.Options{
		Profile: o.profile, Budget: o.budget, Ports: o.portList, MaxDiffs: o.maxDiffs,
		MQTTVersion: o.version, Prefs: o.prefs, KeepTrees: o.update, KeepPDUs: o.junit != "",
	}
	v, err := validate.New(o.lua, src, opts)
	if err != nil {
		var le *validate.LoadError
		if !errors.As(err, &le) {
			return usageError{err}
		}
		fmt.Fprintf(out, "%v\n", err)
		junit.AddError(o.lua, o.profile.String(), "load", err)
		if werr := writeValidateJUnit(o.junit, junit); werr != nil {
			fmt.Fprintf(out, "validate: cannot write --junit: %v\n", werr)
		}
		first, _, _ := strings.Cut(err.Error(), "\n")
		fmt.Fprintf(out, "validate: FAIL: %s\n", first)
		return dataError{}
	}
	against := "the native MQTT decoder"
	if o.golden != "" {
		against = "the golden trees in " + o.golden
		if o.update {
			against = "nothing: writing golden trees to " + o.golden
		}
	}
	fmt.Fprintf(out, "validate: %s in Wireshark %s (Lua %s, emulated), protocols %s, TCP ports %s, against %s\n",
		o.lua, o.profile, o.profile.Lua(), strings.Join(v.Protocols(), ", "), validatePortText(v.Ports()), against)
	if o.update {
		if err := os.MkdirAll(o.golden, 0o755); err != nil {
			return err
		}
	}
	var tot validateTotals
	var skipped []string
	seen := map[string]string{}
	for _, name := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !looksLikeCapture(name) && notCapture(name) {
			// A shell glob such as testdata/*.pcap* also names the
			// .pdml and .info files kept beside captures.
			skipped = append(skipped, displayName(name))
			continue
		}
		start := time.Now()
		res, err := validateOne(ctx, cmd, o, v, name, seen)
		if errors.Is(err, context.Canceled) {
			return err
		}
		if err != nil {
			tot.captures++
			tot.failed++
			tot.read++
			fmt.Fprintf(out, "%s: %v\n", displayName(name), err)
			junit.AddError(displayName(name), o.profile.String(), "read", err)
			continue
		}
		tot.add(res)
		res.WriteReport(out)
		junit.AddResult(res, time.Since(start))
		if o.update {
			path := filepath.Join(o.golden, validate.GoldenName(name))
			var buf bytes.Buffer
			if err := validate.WriteGolden(&buf, o.lua, res); err != nil {
				return err
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(out, "  wrote %s (%s)\n", path, validateCount(len(res.Trees), "PDU", "PDUs"))
		}
	}
	if len(skipped) > 0 {
		names := skipped
		if len(names) > 3 {
			names = append(names[:3:3], "...")
		}
		fmt.Fprintf(out, "validate: skipped %s that %s not pcap or pcapng: %s\n", validateCount(len(skipped), "file", "files"),
			map[bool]string{true: "is", false: "are"}[len(skipped) == 1], strings.Join(names, ", "))
	}
	if err := writeValidateJUnit(o.junit, junit); err != nil {
		fmt.Fprintf(out, "validate: cannot write --junit: %v\n", err)
		tot.failed++
	}
	if tot.captures == 0 {
		fmt.Fprintln(out, "validate: FAIL: no capture to validate")
		return dataError{}
	}
	if tot.pdus == 0 && tot.failed == 0 && !o.update {
		// Nothing compared proves nothing: the ports, or the captures, are
		// not the ones the script reads.
		fmt.Fprintln(out, "validate: FAIL: no PDU was compared: nothing was decoded on the TCP ports read (check the captures, or name the port with --port N)")
		tot.failed = tot.captures
	}
	fmt.Fprintln(out, tot.summary())
	if tot.failed > 0 {
		return dataError{}
	}
	return nil
}

// validateOne validates one capture; the error is for a capture (or golden
// file) that cannot be read at all.
func validateOne(ctx context.Context, cmd *cobra.Command, o *validateOptions, v *validate.Validator, name string, seen map[string]string) (*validate.Result, error) {
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		return nil, errors.New("is a directory, not a capture")
	}
	var ref *validate.Reference
	if o.golden != "" {
		gname := validate.GoldenName(name)
		if prev, ok := seen[gname]; ok {
			return nil, fmt.Errorf("its golden file %s is also that of %s: give captures distinct names", gname, prev)
		}
		seen[gname] = name
		ref = &validate.Reference{Record: true}
		if !o.update {
			f, err := os.Open(filepath.Join(o.golden, gname))
			if err != nil {
				return nil, fmt.Errorf("no golden trees (run with --update to write them): %w", err)
			}
			ref, err = validate.ReadGolden(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", gname, err)
			}
		}
	}
	in, _, closeFn, err := openInput(cmd, name)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	return v.Run(ctx, displayName(name), in, ref)
}

// notCapture says whether the file starts with neither a pcap nor a
// pcapng header (after gzip decompression).
func notCapture(name string) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = dissect.OpenCapture(f, nil)
	return errors.Is(err, dissect.ErrNotCapture)
}

// looksLikeCapture says whether a file name promises a capture, so that a
// damaged one fails instead of being skipped.
func looksLikeCapture(name string) bool {
	lower := strings.ToLower(name)
	for _, ext := range []string{".pcap", ".pcapng", ".cap", ".ntar", ".dmp", ".gz"} {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	return name == "-"
}

func validatePortText(ports []uint16) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}

func writeValidateJUnit(path string, j *validate.JUnit) error {
	if path == "" {
		return nil
	}
	var buf bytes.Buffer
	if _, err := j.WriteTo(&buf); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
