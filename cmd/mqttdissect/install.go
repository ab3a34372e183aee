package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mqttdissect/mqttdissect/internal/version"
	"github.com/mqttdissect/mqttdissect/luagen"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newInstallCmd)
}

type installOptions struct {
	luaOptions
	dir    string
	tshark string
	force  bool
	system bool
}

func newInstallCmd() *cobra.Command {
	o := &installOptions{}
	cmd := &cobra.Command{
		Use:   "install [--system | --dir DIR] [--take-over] [--name N] [--port P...]",
		Short: "Install mqtt.lua where Wireshark loads it, and check that it does",
		Long: `Find the Wireshark on this machine (tshark -v), write mqtt.lua into its Lua
plugin folder, say what changes and what does not, and check, as the user who
will run Wireshark, that tshark loads it (exit 1 when it does not, saying why).

Where Wireshark has its own MQTT dissector (1.12 and later) nothing it shows
today changes: it keeps TCP port 1883 and its mqtt.* filters, and the new
dissector, mqttlua, reads a connection when you choose it with Decode As
(tshark -d tcp.port==1883,mqttlua) or turn on its preference "Take over TCP
ports from the built-in MQTT dissector". --take-over writes the file with that
preference on, so mqttlua replaces the built-in dissector on its ports (undo:
mqttdissect uninstall, or the preference). Where Wireshark has no MQTT
dissector (1.10) the file reads port 1883 as MQTT, with Wireshark's field
names.

The file goes to the personal Lua plugin folder of the user who will run
Wireshark: the one tshark -G folders names, else ~/.wireshark/plugins before
Wireshark 2.5 and ~/.local/lib/wireshark/plugins from 2.5 on. Under sudo that
is the user who called sudo, who also owns what is written. As root without
sudo it refuses (Wireshark 1.x and 2.x run no personal Lua plugins as root):
--system writes to the global plugin folder tshark -G folders names, for every
user. --dir writes where you say (and lets you install without tshark).

An existing mqtt.lua that mqttdissect did not write is left alone unless
--force is given. 'mqttdissect uninstall' removes what install wrote.`,
		Example: `  mqttdissect install
  sudo mqttdissect install --system
  mqttdissect install --take-over
  mqttdissect install --dir ~/.wireshark/plugins --name mqtt
  tshark -G protocols | grep -i mqtt`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			gen, err := o.generator()
			if err != nil {
				return err
			}
			if o.system && o.dir != "" {
				return usageError{errors.New("--system and --dir both say where to write: give one")}
			}
			return runInstall(cmd.Context(), cmd.OutOrStdout(), o, gen)
		},
	}
	o.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "plugin folder to write "+luagen.FileName+" to (default: Wireshark's personal Lua plugin folder)")
	f.StringVar(&o.tshark, "tshark", "tshark", "tshark program that tells which Wireshark is installed")
	f.BoolVar(&o.force, "force", false, "replace an existing "+luagen.FileName+" that mqttdissect did not write")
	f.BoolVar(&o.system, "system", false, "install for every user, in the global Lua plugin folder tshark -G folders names (as root)")
	return cmd
}

// wireshark is what tshark says about the installed Wireshark.
type wireshark struct {
	Path         string // the tshark program
	Version      string // "4.0.17"
	Major, Minor int
	Lua          string // "5.2.4"; "" when built without Lua
	LuaDir       string // "Personal Lua Plugins" of tshark -G folders, when given
	PluginDir    string // "Personal Plugins" (where 1.10 also loads Lua)
	GlobalLuaDir string // "Global Lua Plugins"
	GlobalDir    string // "Global Plugins" (where 1.10 also loads Lua)
	GlobalConfig string // "Global configuration" of tshark -G folders, when given
}

func (w *wireshark) atLeast(major, minor int) bool {
	return w.Major > major || w.Major == major && w.Minor >= minor
}

// hasBuiltin reports whether this Wireshark has an MQTT dissector of its
// own (1.12 and later).
func (w *wireshark) hasBuiltin() bool { return w.atLeast(1, 12) }

var (
	versionRE = regexp.MustCompile(`(?i)^T?Shark(?: \(Wireshark\))? (\d+)\.(\d+)(\.\d+)?`)
	luaRE     = regexp.MustCompile(`\bwith Lua (\d+(?:\.\d+)*)`)
)

// parseTsharkVersion reads the output of tshark -v.
func parseTsharkVersion(out string) (*wireshark, error) {
	first, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	m := versionRE.FindStringSubmatch(strings.TrimSpace(first))
	if m == nil {
		return nil, fmt.Errorf("cannot read a version from %q", first)
	}
	w := &wireshark{Version: m[1] + "." + m[2] + m[3]}
	w.Major, _ = strconv.Atoi(m[1])
	w.Minor, _ = strconv.Atoi(m[2])
	// tshark wraps its "Compiled ... with Lua 5.2.4" paragraph anywhere.
	flat := strings.Join(strings.Fields(out), " ")
	if l := luaRE.FindStringSubmatch(flat); l != nil {
		w.Lua = l[1]
	}
	return w, nil
}

// parseFolders reads the output of tshark -G folders.
func parseFolders(w *wireshark, out string) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Personal Lua Plugins":
			w.LuaDir = v
		case "Personal Plugins":
			w.PluginDir = v
		case "Global Lua Plugins":
			w.GlobalLuaDir = v
		case "Global Plugins":
			w.GlobalDir = v
		case "Global configuration":
			w.GlobalConfig = v
		}
	}
}

// runTshark runs tshark, as the account a when it is another user.
func runTshark(ctx context.Context, a *account, path string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	runAs(cmd, a)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// probeWireshark asks tshark, run as a, which Wireshark this is and where
// it looks for Lua plugins.
func probeWireshark(ctx context.Context, tshark string, a *account) (*wireshark, error) {
	path, err := exec.LookPath(tshark)
	if err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs // the check may run it from another directory
	}
	out, stderr, err := runTshark(ctx, a, path, "-v")
	if err != nil {
		return nil, fmt.Errorf("%s -v: %v %s", path, err, strings.TrimSpace(stderr))
	}
	w, err := parseTsharkVersion(out)
	if err != nil {
		return nil, fmt.Errorf("%s -v: %w", path, err)
	}
	w.Path = path
	if folders, _, err := runTshark(ctx, a, path, "-G", "folders"); err == nil {
		parseFolders(w, folders)
	}
	return w, nil
}

// pluginDir picks the personal Lua plugin folder of w for the account a.
func pluginDir(w *wireshark, a *account) (string, string, error) {
	switch {
	case w != nil && w.LuaDir != "":
		return w.LuaDir, "the personal Lua plugin folder tshark -G folders names", nil
	case w != nil && !w.atLeast(2, 5) && w.PluginDir != "":
		return w.PluginDir, "the personal plugin folder tshark -G folders names", nil
	}
	if runtime.GOOS == "windows" && (a == nil || !a.Other) {
		if appdata := os.Getenv("APPDATA"); appdata != "" {
			return filepath.Join(appdata, "Wireshark", "plugins"), "Wireshark's folder on Windows", nil
		}
	}
	if a == nil || a.Home == "" {
		return "", "", errors.New("no home directory to install into: give --dir")
	}
	if w == nil || w.atLeast(2, 5) {
		return filepath.Join(a.Home, ".local", "lib", "wireshark", "plugins"), "the personal Lua plugin folder of Wireshark 2.5 and later", nil
	}
	return filepath.Join(a.Home, ".wireshark", "plugins"), "the personal plugin folder of Wireshark before 2.5", nil
}

// systemDir picks the global Lua plugin folder of w.
func systemDir(w *wireshark) (string, string, error) {
	switch {
	case w == nil:
		return "", "", errors.New("--system needs tshark to name the global plugin folder: point --tshark at it, or give --dir")
	case w.GlobalLuaDir != "":
		return w.GlobalLuaDir, "the global Lua plugin folder tshark -G folders names", nil
	case w.GlobalDir != "":
		// Wireshark 1.10 loads Lua scripts from its one global plugin folder.
		return w.GlobalDir, "the global plugin folder tshark -G folders names", nil
	}
	return "", "", fmt.Errorf("%s -G folders names no global plugin folder: give --dir", w.Path)
}

// expectedName is the protocol name the script will take in w.
func expectedName(w *wireshark, gen luagen.Options) (string, string) {
	switch {
	case gen.Name != "":
		return gen.Name, "set with --name"
	case w == nil:
		return luagen.DefaultName + " or " + luagen.FallbackName, "depending on whether Wireshark has its own MQTT dissector"
	case w.hasBuiltin():
		return luagen.FallbackName, "Wireshark " + w.Version + "'s own MQTT dissector keeps the name " + luagen.DefaultName
	}
	return luagen.DefaultName, "Wireshark " + w.Version + " has no MQTT dissector of its own"
}

var luaOffRE = regexp.MustCompile(`(?m)^\s*(disable_lua\s*=\s*true|enable_lua\s*=\s*false)\b`)

// luaDisabled returns the init.lua files that turn Lua off.
func luaDisabled(w *wireshark) []string {
	candidates := []string{"/etc/wireshark/init.lua", "/usr/share/wireshark/init.lua", "/usr/local/share/wireshark/init.lua"}
	if w != nil && w.GlobalConfig != "" {
		candidates = append([]string{filepath.Join(w.GlobalConfig, "init.lua")}, candidates...)
	}
	var off []string
	seen := map[string]bool{}
	for _, c := range candidates {
		if seen[c] {
			continue
		}
		seen[c] = true
		if b, err := os.ReadFile(c); err == nil && luaOffRE.Match(b) {
			off = append(off, c)
		}
	}
	return off
}

// installTarget is where install and uninstall work: the folder, why that
// one, the owner of a personal installation (nil for --system) and the
// user the check runs tshark as (nil: the user mqttdissect runs as).
type installTarget struct {
	dir, why string
	owner    *account
	checkAs  *account
	w        *wireshark
}

// findTarget works out whom and where an installation is for, probing
// tshark as that user. say receives what was found.
func findTarget(ctx context.Context, say func(string, ...any), dirFlag, tshark string, system bool) (*installTarget, error) {
	t := &installTarget{}
	if system {
		t.checkAs = checkAccount()
	} else {
		a, err := personalAccount(dirFlag != "")
		if err != nil {
			return nil, err
		}
		t.owner = a
		if a.Other {
			t.checkAs = a
			say("For %s, who called sudo: their folder, and files owned by them.\n", a.Name)
		}
	}
	w, probeErr := probeWireshark(ctx, tshark, t.checkAs)
	switch {
	case probeErr == nil && w.Lua == "":
		say("Found Wireshark %s (%s), built without Lua: it cannot run %s.\n", w.Version, w.Path, luagen.FileName)
		if dirFlag == "" {
			return nil, errors.New("this Wireshark has no Lua support; install one built with Lua, or give --dir to write the file anyway")
		}
	case probeErr == nil:
		say("Found Wireshark %s with Lua %s (%s).\n", w.Version, w.Lua, w.Path)
	case dirFlag == "":
		return nil, fmt.Errorf("cannot find Wireshark: %v (install tshark, point --tshark at it, or give --dir)", probeErr)
	default:
		say("Wireshark not found (%v); using %s anyway.\n", probeErr, dirFlag)
		w = nil
	}
	t.w = w
	var err error
	switch {
	case dirFlag != "":
		t.dir, t.why = dirFlag, "set with --dir"
	case system:
		t.dir, t.why, err = systemDir(w)
	default:
		t.dir, t.why, err = pluginDir(w, t.owner)
	}
	return t, err
}

// tellChanges says in plain words what installing the file changes in
// Wireshark and what it leaves as it is.
func tellChanges(out io.Writer, w *wireshark, gen luagen.Options, name string) {
	ports := gen.Ports
	if len(ports) == 0 {
		ports = []uint16{1883}
	}
	var ps []string
	for _, p := range ports {
		ps = append(ps, strconv.Itoa(int(p)))
	}
	portText := "TCP port " + strings.Join(ps, ", ")
	if len(ps) > 1 {
		portText = "TCP ports " + strings.Join(ps, ", ")
	}
	decodeAs := fmt.Sprintf("tshark -d tcp.port==%d,%s", ports[0], luagen.FallbackName)
	pref := `"Take over TCP ports from the built-in MQTT dissector"`
	switch {
	case w == nil:
		fmt.Fprintf(out, "What changes depends on the Wireshark that loads it: where it has no MQTT dissector (1.10), %s is read as MQTT by this one;\n", portText)
		if gen.TakeOver {
			fmt.Fprintf(out, "where it has one (1.12 and later), this one replaces it on %s (--take-over).\n", portText)
		} else {
			fmt.Fprintf(out, "where it has one (1.12 and later), that one keeps %s and nothing you see changes; this one is a Decode As away (%s).\n", portText, decodeAs)
		}
	case !w.hasBuiltin():
		fmt.Fprintf(out, "What changes: Wireshark %s has no MQTT dissector, so %s shows as plain TCP today; from now on it is read as MQTT (protocol %s, fields %s.topic, %s.msgtype, ...).\n",
			w.Version, portText, name, name, name)
		fmt.Fprintf(out, "What does not change: everything else Wireshark reads.\n")
	case gen.TakeOver:
		fmt.Fprintf(out, "What changes (--take-over): Wireshark %s's own MQTT dissector loses %s to this one. Packets there show as %s, and filters on mqtt.* (-Y mqtt, mqtt.topic == ...) match nothing there; use %s.* instead.\n",
			w.Version, portText, name, name)
		fmt.Fprintf(out, "To undo: mqttdissect uninstall, or turn off the preference %s (Edit > Preferences > Protocols > %s).\n", pref, strings.ToUpper(name))
	default:
		fmt.Fprintf(out, "What does not change: Wireshark %s's own MQTT dissector keeps %s; what it shows and its mqtt.* filters stay as they are.\n", w.Version, portText)
		fmt.Fprintf(out, "What changes: a second MQTT dissector, %s (fields %s.*), is there when you ask for it: Decode As (%s), or the preference %s (Edit > Preferences > Protocols > %s). Reinstall with --take-over to make it the default.\n",
			name, name, decodeAs, pref, strings.ToUpper(name))
	}
}

func runInstall(ctx context.Context, out io.Writer, o *installOptions, gen luagen.Options) error {
	say := func(format string, args ...any) { fmt.Fprintf(out, format, args...) }
	t, err := findTarget(ctx, say, o.dir, o.tshark, o.system)
	if err != nil {
		return err
	}
	w := t.w
	if w != nil && w.hasBuiltin() && gen.Name == luagen.DefaultName {
		return fmt.Errorf("the Wireshark here (%s) has its own MQTT dissector, named %s: a file forcing that name would not load; leave --name out (the file then takes %s)",
			w.Version, luagen.DefaultName, luagen.FallbackName)
	}
	path := filepath.Join(t.dir, luagen.FileName)
	replaced := false
	if old, err := os.ReadFile(path); err == nil {
		if !isGenerated(old) && !o.force {
			return fmt.Errorf("%s exists and was not written by mqttdissect; move it away or use --force", path)
		}
		replaced = true
		// Files of mqttdissect before the take_over preference took the
		// ports too.
		tookPorts := bytes.Contains(old, []byte("\nlocal TAKE_OVER = true\n")) || !bytes.Contains(old, []byte("\nlocal TAKE_OVER = "))
		if isGenerated(old) && tookPorts && !gen.TakeOver && w != nil && w.hasBuiltin() {
			say("The file installed before took the MQTT ports from Wireshark's own dissector; this one gives them back (--take-over keeps them).\n")
		}
	}
	src, err := luagen.Bytes(gen)
	if err != nil {
		return err
	}
	err = mkdirAllFor(t.dir, t.owner)
	if err == nil {
		err = writeFileAtomic(path, src)
	}
	if errors.Is(err, fs.ErrPermission) && o.system {
		return fmt.Errorf("%w (the global plugin folder belongs to root: run with sudo)", err)
	}
	if err != nil {
		return err
	}
	if err := giveTo(path, t.owner); err != nil {
		return err
	}
	verb := "Wrote"
	if replaced {
		verb = "Replaced"
	}
	say("%s %s (%d bytes, from mqttdissect %s; %s).\n", verb, path, len(src), version.String(), t.why)
	name, nameWhy := expectedName(w, gen)
	say("The protocol is %s (%s).\n", name, nameWhy)
	tellChanges(out, w, gen, name)

	off := luaDisabled(w)
	for _, f := range off {
		say("Warning: %s turns Lua off for every user; set disable_lua = false (Wireshark before 3.0) or enable_lua = true in it (as root).\n", f)
	}
	say("Remove it with 'mqttdissect uninstall%s'. Check it with:\n    tshark -G protocols | grep -i mqtt\n", uninstallFlags(o))
	if w == nil {
		say("Not checked: no tshark to load it.\n")
		return nil
	}
	looks := w.LuaDir
	if !w.atLeast(2, 5) && looks == "" {
		looks = w.PluginDir
	}
	if o.system {
		looks = w.GlobalLuaDir
		if looks == "" {
			looks = w.GlobalDir
		}
	}
	if looks != "" && filepath.Clean(looks) != filepath.Clean(t.dir) {
		say("Not checked: tshark looks in %s, not %s; load the file with tshark -X lua_script:%s\n", looks, t.dir, path)
		return nil
	}
	return checkLoads(ctx, out, t, off)
}

// uninstallFlags are the flags uninstall needs to find what this install
// wrote.
func uninstallFlags(o *installOptions) string {
	switch {
	case o.system:
		return " --system"
	case o.dir != "":
		return " --dir " + o.dir
	}
	return ""
}

// checkLoads runs tshark as the user who will run Wireshark and requires
// that it lists the dissector.
func checkLoads(ctx context.Context, out io.Writer, t *installTarget, off []string) error {
	as := "as " + t.checkAs.String()
	if t.checkAs == nil {
		as = "as you"
	}
	protocols, stderr, err := runTshark(ctx, t.checkAs, t.w.Path, "-G", "protocols")
	if err != nil {
		return dataError{fmt.Sprintf("could not run the check (tshark -G protocols %s): %v %s", as, err, strings.TrimSpace(stderr))}
	}
	for _, line := range strings.Split(protocols, "\n") {
		if strings.Contains(line, "mqttdissect") {
			fmt.Fprintf(out, "Checked: tshark, run %s, lists %q.\n", as, strings.Join(strings.Fields(line), " "))
			return nil
		}
	}
	why := ""
	switch {
	case len(off) > 0:
		why = strings.Join(off, " and ") + " turns Lua off (see the warning above)"
	case unreachableFor(filepath.Join(t.dir, luagen.FileName), t.checkAs) != "":
		why = t.checkAs.Name + " cannot read it: " + unreachableFor(filepath.Join(t.dir, luagen.FileName), t.checkAs) + " is closed to them"
	case strings.Contains(stderr, "Lua"):
		why = "it says: " + strings.TrimSpace(stderr)
	case t.checkAs == nil && os.Geteuid() == 0 && !t.w.atLeast(3, 0):
		why = "Wireshark " + t.w.Version + " runs no Lua plugins as root"
	default:
		why = "it does not say why; run tshark -G protocols " + as + " and look at its messages"
	}
	return dataError{fmt.Sprintf("tshark, run %s, does not load %s: %s", as, filepath.Join(t.dir, luagen.FileName), why)}
}
