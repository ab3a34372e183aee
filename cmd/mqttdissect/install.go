package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

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
}

func newInstallCmd() *cobra.Command {
	o := &installOptions{}
	cmd := &cobra.Command{
		Use:   "install [--dir DIR] [--name N] [--port P...]",
		Short: "Install mqtt.lua into Wireshark's personal Lua plugin folder",
		Long: `Find the Wireshark on this machine (tshark -v), write mqtt.lua into its personal
Lua plugin folder, and check that tshark loads it.

The folder is the one tshark -G folders names as "Personal Lua Plugins" when it
can say; otherwise ~/.wireshark/plugins for Wireshark before 2.5 and
~/.local/lib/wireshark/plugins from 2.5 on. --dir overrides it (and lets you
install without tshark). An existing mqtt.lua that mqttdissect did not write is
left alone unless --force is given.

Wireshark 1.x and 2.x run no personal Lua plugins as root, and none at all when
init.lua disables Lua: install as the user who runs Wireshark.`,
		Example: `  mqttdissect install
  mqttdissect install --dir ~/.wireshark/plugins --name mqtt
  tshark -G protocols | grep -i mqtt`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			gen, err := o.generator()
			if err != nil {
				return err
			}
			return runInstall(cmd.Context(), cmd.OutOrStdout(), o, gen)
		},
	}
	o.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "plugin folder to write "+luagen.FileName+" to (default: Wireshark's personal Lua plugin folder)")
	f.StringVar(&o.tshark, "tshark", "tshark", "tshark program that tells which Wireshark is installed")
	f.BoolVar(&o.force, "force", false, "replace an existing "+luagen.FileName+" that mqttdissect did not write")
	return cmd
}

// wireshark is what tshark says about the installed Wireshark.
type wireshark struct {
	Path         string // the tshark program
	Version      string // "4.0.17"
	Major, Minor int
	Lua          string // "5.2.4"; "" when built without Lua
	LuaDir       string // "Personal Lua Plugins" of tshark -G folders, when given
	GlobalConfig string // "Global configuration" of tshark -G folders, when given
}

func (w *wireshark) atLeast(major, minor int) bool {
	return w.Major > major || w.Major == major && w.Minor >= minor
}

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
		case "Global configuration":
			w.GlobalConfig = v
		}
	}
}

func runTshark(ctx context.Context, path string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// probeWireshark asks tshark which Wireshark this is and where it looks
// for Lua plugins.
func probeWireshark(ctx context.Context, tshark string) (*wireshark, error) {
	path, err := exec.LookPath(tshark)
	if err != nil {
		return nil, err
	}
	out, stderr, err := runTshark(ctx, path, "-v")
	if err != nil {
		return nil, fmt.Errorf("%s -v: %v %s", path, err, strings.TrimSpace(stderr))
	}
	w, err := parseTsharkVersion(out)
	if err != nil {
		return nil, fmt.Errorf("%s -v: %w", path, err)
	}
	w.Path = path
	if folders, _, err := runTshark(ctx, path, "-G", "folders"); err == nil {
		parseFolders(w, folders)
	}
	return w, nil
}

// pluginDir picks the personal Lua plugin folder of w.
func pluginDir(w *wireshark) (string, string, error) {
	if w != nil && w.LuaDir != "" {
		return w.LuaDir, "tshark -G folders names it", nil
	}
	if runtime.GOOS == "windows" {
		if appdata := os.Getenv("APPDATA"); appdata != "" {
			return filepath.Join(appdata, "Wireshark", "plugins"), "Wireshark's folder on Windows", nil
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", "", err
	}
	if w == nil || w.atLeast(2, 5) {
		return filepath.Join(home, ".local", "lib", "wireshark", "plugins"), "the personal Lua plugin folder of Wireshark 2.5 and later", nil
	}
	return filepath.Join(home, ".wireshark", "plugins"), "the personal plugin folder of Wireshark before 2.5", nil
}

// expectedName is the protocol name the script will take in w.
func expectedName(w *wireshark, gen luagen.Options) (string, string) {
	switch {
	case gen.Name != "":
		return gen.Name, "set with --name"
	case w == nil:
		return luagen.DefaultName + " or " + luagen.FallbackName, "depending on whether Wireshark has its own MQTT dissector"
	case w.atLeast(1, 12):
		return luagen.FallbackName, "Wireshark " + w.Version + " has its own MQTT dissector, which keeps the name " + luagen.DefaultName
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

func runInstall(ctx context.Context, out io.Writer, o *installOptions, gen luagen.Options) error {
	w, probeErr := probeWireshark(ctx, o.tshark)
	switch {
	case probeErr == nil && w.Lua == "":
		fmt.Fprintf(out, "Found Wireshark %s (%s), built without Lua: it cannot run %s.\n", w.Version, w.Path, luagen.FileName)
		if o.dir == "" {
			return errors.New("this Wireshark has no Lua support; install one built with Lua, or give --dir to write the file anyway")
		}
	case probeErr == nil:
		fmt.Fprintf(out, "Found Wireshark %s with Lua %s (%s).\n", w.Version, w.Lua, w.Path)
	case o.dir == "":
		return fmt.Errorf("cannot find Wireshark: %v (install tshark, point --tshark at it, or give --dir)", probeErr)
	default:
		fmt.Fprintf(out, "Wireshark not found (%v); writing to %s anyway.\n", probeErr, o.dir)
		w = nil
	}

	dir, why := o.dir, "set with --dir"
	if dir == "" {
		var err error
		if dir, why, err = pluginDir(w); err != nil {
			return err
		}
	}
	path := filepath.Join(dir, luagen.FileName)
	replaced := false
	if old, err := os.ReadFile(path); err == nil {
		if !isGenerated(old) && !o.force {
			return fmt.Errorf("%s exists and was not written by mqttdissect; move it away or use --force", path)
		}
		replaced = true
	}
	src, err := luagen.Bytes(gen)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(path, src); err != nil {
		return err
	}
	verb := "Wrote"
	if replaced {
		verb = "Replaced"
	}
	fmt.Fprintf(out, "%s %s (%d bytes; %s).\n", verb, path, len(src), why)
	name, nameWhy := expectedName(w, gen)
	ports := gen.Ports
	if len(ports) == 0 {
		ports = []uint16{1883}
	}
	var ps []string
	for _, p := range ports {
		ps = append(ps, strconv.Itoa(int(p)))
	}
	fmt.Fprintf(out, "The protocol is %s (%s); it reads MQTT on TCP port %s.\n", name, nameWhy, strings.Join(ps, ", "))

	for _, f := range luaDisabled(w) {
		fmt.Fprintf(out, "Warning: %s turns Lua off; set disable_lua = false (Wireshark before 3.0) or enable_lua = true in it.\n", f)
	}
	if w != nil && !w.atLeast(3, 0) && os.Geteuid() == 0 {
		fmt.Fprintf(out, "Warning: Wireshark %s runs no personal Lua plugins as root; run it as a normal user (and install as that user).\n", w.Version)
	}

	fmt.Fprintf(out, "Check it with:\n    tshark -G protocols | grep -i mqtt\n")
	if w == nil {
		return nil
	}
	if w.LuaDir != "" && filepath.Clean(w.LuaDir) != filepath.Clean(dir) {
		fmt.Fprintf(out, "(tshark looks in %s, not %s: load the file with tshark -X lua_script:%s)\n", w.LuaDir, dir, path)
		return nil
	}
	protocols, stderr, err := runTshark(ctx, w.Path, "-G", "protocols")
	if err != nil {
		fmt.Fprintf(out, "Could not run the check: %v\n", err)
		return nil
	}
	found := ""
	for _, line := range strings.Split(protocols, "\n") {
		if strings.Contains(line, "mqttdissect") {
			found = strings.Join(strings.Fields(line), " ")
		}
	}
	switch {
	case found != "":
		fmt.Fprintf(out, "Checked: tshark lists %q.\n", found)
	case strings.Contains(stderr, "Lua"):
		fmt.Fprintf(out, "Warning: tshark does not list the dissector and says:\n%s\n", strings.TrimSpace(stderr))
	default:
		fmt.Fprintf(out, "Warning: tshark does not list the dissector yet (as root, or with Lua disabled, Wireshark skips personal plugins).\n")
	}
	return nil
}
