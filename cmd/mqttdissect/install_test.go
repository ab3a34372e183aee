package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/testtool"
	"github.com/mqttdissect/mqttdissect/luagen"
)

const version40 = "TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3).\n\nCompiled (64-bit) with libpcap, with Lua 5.2.4, with GnuTLS.\n"

// TestInstallAsRoot: as root without sudo a personal installation is
// refused with the reason and --system offered; --system writes to the
// global folder tshark names (1.10: "Global Plugins") and checks as an
// unprivileged user; a disable_lua in init.lua is named and fails the check.
func TestInstallAsRoot(t *testing.T) {
	asRoot(t, "", "nobody")
	home := t.TempDir()
	t.Setenv("HOME", home)
	tshark := fakeTshark(t, version40, "Personal Lua Plugins:\t"+home+"/lua\n")
	out, stderr, code := runCLI(t, "install", "--tshark", tshark)
	if code != exitDataErrors || !strings.Contains(stderr, "--system") || !strings.Contains(stderr, "as root") {
		t.Errorf("personal install as root: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(home, "lua", luagen.FileName)); err == nil {
		t.Errorf("written into root's folder:\n%s", out)
	}

	for _, tc := range []struct {
		name, version, key string
		luaOff             bool
	}{
		{"4.0", version40, "Global Lua Plugins", false},
		{"1.10", version110, "Global Plugins", false},
		{"1.10 with Lua off", version110, "Global Plugins", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			global, conf := t.TempDir(), t.TempDir()
			if tc.luaOff {
				if err := os.WriteFile(filepath.Join(conf, "init.lua"), []byte("-- init\ndisable_lua = true\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tshark := fakeTshark(t, tc.version, fmt.Sprintf("Personal Plugins:\t%s/p\n%s:\t%s\nGlobal configuration:\t%s\n", home, tc.key, global, conf))
			out, stderr, code := runCLI(t, "install", "--system", "--tshark", tshark)
			path := filepath.Join(global, luagen.FileName)
			if b, err := os.ReadFile(path); err != nil || !isGenerated(b) {
				t.Fatalf("%s not written (%v): exit %d\n%s%s", path, err, code, out, stderr)
			}
			if tc.luaOff {
				initLua := filepath.Join(conf, "init.lua")
				if code != exitDataErrors || !strings.Contains(out, initLua+" turns Lua off") || !strings.Contains(stderr, "turns Lua off") {
					t.Errorf("Lua off: exit %d\n%s%s", code, out, stderr)
				}
				return
			}
			if code != 0 || !strings.Contains(out, "Checked: tshark, run as nobody") {
				t.Errorf("exit %d\n%s%s", code, out, stderr)
			}
			if out, stderr, code := runCLI(t, "uninstall", "--system", "--tshark", tshark); code != 0 || !strings.Contains(out, "Removed "+path) {
				t.Errorf("uninstall --system: exit %d\n%s%s", code, out, stderr)
			}
		})
	}
}

// TestInstallUnderSudo: under sudo the file goes to the folder of the user
// who called sudo, and the check runs as that user.
func TestInstallUnderSudo(t *testing.T) {
	homes := asRoot(t, "alice", "alice")
	t.Setenv("HOME", t.TempDir()) // root's
	tshark := fakeTshark(t, version26, "")
	out, stderr, code := runCLI(t, "install", "--tshark", tshark)
	path := filepath.Join(homes["alice"], ".local", "lib", "wireshark", "plugins", luagen.FileName)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
	if b, err := os.ReadFile(path); err != nil || !isGenerated(b) {
		t.Fatalf("%s not written (%v):\n%s", path, err, out)
	}
	for _, s := range []string{"For alice, who called sudo", "Checked: tshark, run as alice"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if out, _, code := runCLI(t, "uninstall", "--tshark", tshark); code != 0 || !strings.Contains(out, "Removed "+path) {
		t.Errorf("uninstall: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("uninstall left the file")
	}
}

// TestUninstall removes only what install wrote.
func TestUninstall(t *testing.T) {
	asUser(t)
	dir := filepath.Join(t.TempDir(), "plugins")
	missing := filepath.Join(t.TempDir(), "no-tshark")
	out, stderr, code := runCLI(t, "uninstall", "--tshark", missing, "--dir", dir)
	if code != 0 || !strings.Contains(out, "Nothing to remove") {
		t.Errorf("nothing installed: exit %d\n%s%s", code, out, stderr)
	}
	if _, stderr, code := runCLI(t, "install", "--tshark", missing, "--dir", dir); code != 0 {
		t.Fatalf("install: exit %d: %s", code, stderr)
	}
	path := filepath.Join(dir, luagen.FileName)
	if out, _, code := runCLI(t, "uninstall", "--tshark", missing, "--dir", dir); code != 0 || !strings.Contains(out, "Removed "+path) {
		t.Errorf("uninstall: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("the file is still there")
	}
	foreign := []byte("-- my own mqtt dissector\n")
	if err := os.WriteFile(path, foreign, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runCLI(t, "uninstall", "--tshark", missing, "--dir", dir)
	if code != exitDataErrors || !strings.Contains(stderr, "not written by mqttdissect") {
		t.Errorf("foreign file: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(path); string(b) != string(foreign) {
		t.Error("the foreign file changed")
	}
	if _, stderr, code := runCLI(t, "uninstall", "--system", "--dir", dir); code != exitUsage {
		t.Errorf("--system with --dir: exit %d, %s", code, stderr)
	}
}

// frames runs tshark with home as $HOME and returns the frame numbers the
// filter matches.
func frames(t *testing.T, tshark, home, capture, filter string) string {
	t.Helper()
	cmd := exec.Command(tshark, "-n", "-r", capture, "-Y", filter, "-T", "fields", "-e", "frame.number")
	cmd.Env = append(withoutEnv(os.Environ(), "HOME", "XDG_CONFIG_HOME"), "HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -Y %s: %v", filter, err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// TestInstallWithRealTshark installs into a fresh home with the real
// tshark (4.0 in CI) and checks what the issue promised: -Y mqtt shows the
// same frames after install as before, --take-over hands them to mqttlua,
// and uninstall restores the built-in reading.
func TestInstallWithRealTshark(t *testing.T) {
	tshark := testtool.Need(t, "tshark")
	asUser(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	capture, err := filepath.Abs("../../testdata/v5.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	before := frames(t, tshark, home, capture, "mqtt")
	if before == "" {
		t.Fatal("the built-in dissector shows no MQTT")
	}

	out, stderr, code := runCLI(t, "install")
	if code != 0 || !strings.Contains(out, "Checked: tshark, run as you, lists") || !strings.Contains(out, "What does not change") {
		t.Fatalf("install: exit %d: %s\n%s", code, stderr, out)
	}
	if got := frames(t, tshark, home, capture, "mqtt"); got != before {
		t.Errorf("after install -Y mqtt shows frames %q, before %q", got, before)
	}
	if got := frames(t, tshark, home, capture, luagen.FallbackName); got != "" {
		t.Errorf("after install mqttlua reads frames %q without being asked", got)
	}

	out, stderr, code = runCLI(t, "install", "--take-over")
	if code != 0 || !strings.Contains(out, "What changes (--take-over)") {
		t.Fatalf("install --take-over: exit %d: %s\n%s", code, stderr, out)
	}
	if got := frames(t, tshark, home, capture, luagen.FallbackName); got != before {
		t.Errorf("after install --take-over mqttlua reads frames %q, want %q", got, before)
	}
	if got := frames(t, tshark, home, capture, "mqtt"); got != "" {
		t.Errorf("after install --take-over the built-in still reads frames %q", got)
	}

	out, stderr, code = runCLI(t, "uninstall")
	if code != 0 || !strings.Contains(out, "Removed") {
		t.Fatalf("uninstall: exit %d: %s\n%s", code, stderr, out)
	}
	if got := frames(t, tshark, home, capture, "mqtt"); got != before {
		t.Errorf("after uninstall -Y mqtt shows frames %q, before %q", got, before)
	}
}

// TestInstallSaysWhatChanges: the plain-words account of what installing
// changes, per Wireshark, and the refusal of a forced name the built-in
// dissector holds.
func TestInstallSaysWhatChanges(t *testing.T) {
	asUser(t)
	for _, tc := range []struct {
		name, version string
		args          []string
		want          []string
		takeOver      bool
	}{
		{"1.10", version110, nil, []string{"has no MQTT dissector, so TCP port 1883 shows as plain TCP today", "protocol mqtt"}, false},
		{"4.0", version40, nil, []string{"What does not change: Wireshark 4.0.17's own MQTT dissector keeps TCP port 1883", "tshark -d tcp.port==1883,mqttlua"}, false},
		{"4.0 take-over", version40, []string{"--take-over"}, []string{"What changes (--take-over)", "match nothing there", "mqttdissect uninstall"}, true},
		{"4.0 two ports", version40, []string{"--port", "1883", "--port", "8883"}, []string{"keeps TCP ports 1883, 8883"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			tshark := fakeTshark(t, tc.version, "")
			out, stderr, code := runCLI(t, append([]string{"install", "--tshark", tshark}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s\n%s", code, stderr, out)
			}
			for _, s := range tc.want {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			dir := ".local/lib/wireshark/plugins"
			if tc.version == version110 {
				dir = ".wireshark/plugins"
			}
			b, err := os.ReadFile(filepath.Join(home, dir, luagen.FileName))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(b), "\nlocal TAKE_OVER = true\n"); got != tc.takeOver {
				t.Errorf("TAKE_OVER in the file: %v, want %v", got, tc.takeOver)
			}
		})
	}
	t.Run("older file that took the port", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv("HOME", home)
		dir := filepath.Join(home, ".local", "lib", "wireshark", "plugins")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		old := "-- Code generated by mqttdissect lua; DO NOT EDIT.\nlocal PORTS = { 1883 }\n"
		if err := os.WriteFile(filepath.Join(dir, luagen.FileName), []byte(old), 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := runCLI(t, "install", "--tshark", fakeTshark(t, version40, ""))
		if code != 0 || !strings.Contains(out, "Replaced") || !strings.Contains(out, "this one gives them back") {
			t.Errorf("exit %d: %s\n%s", code, stderr, out)
		}
	})
	t.Run("forced mqtt on 4.0", func(t *testing.T) {
		t.Setenv("HOME", t.TempDir())
		_, stderr, code := runCLI(t, "install", "--tshark", fakeTshark(t, version40, ""), "--name", "mqtt")
		if code != exitDataErrors || !strings.Contains(stderr, "would not load") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

// TestDecodeTutorialCaptures runs the binary's decode on the seed
// tutorial's Windows Sniffer file: the same output as its tcpdump twin; cut
// short, the packets before the cut and exit status 1.
func TestDecodeTutorialCaptures(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "captures")
	capFile, pcapFile := filepath.Join(dir, "tutorial-windows-sniffer.cap"), filepath.Join(dir, "tutorial-tcpdump.pcap")
	data, err := os.ReadFile(capFile)
	if err != nil {
		t.Skipf("the tutorial's captures are not beside the repository: %v", err)
	}
	want, _, code := runCLI(t, "decode", pcapFile)
	if code != 0 {
		t.Fatalf("pcap: exit %d", code)
	}
	got, stderr, code := runCLI(t, "decode", capFile)
	if code != 0 || got != want || strings.Count(got, "\n") != 20 {
		t.Fatalf("exit %d, %s\n%s\nwant\n%s", code, stderr, got, want)
	}
	cut := filepath.Join(t.TempDir(), "cut.cap")
	if err := os.WriteFile(cut, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	part, stderr, code := runCLI(t, "decode", cut)
	if code != exitDataErrors || !strings.Contains(stderr, "truncated capture") || !strings.Contains(stderr, "byte offset") ||
		part == "" || !strings.HasPrefix(want, part) {
		t.Errorf("cut file: exit %d, stderr %q, output\n%s", code, stderr, part)
	}
}
