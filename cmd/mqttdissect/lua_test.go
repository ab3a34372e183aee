package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/luagen"
)

// runCLI runs the command in-process.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

func TestLuaCommand(t *testing.T) {
	// The command names its version in the header; the golden file does not.
	want, err := luagen.Bytes(luagen.Options{Version: version()})
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, "lua")
	if code != 0 || out != string(want) {
		t.Fatalf("lua: exit %d, %d bytes (want %d), stderr %q", code, len(out), len(want), stderr)
	}

	path := filepath.Join(t.TempDir(), "mqtt.lua")
	if _, stderr, code := runCLI(t, "lua", "-o", path, "--name", "mymqtt", "--port", "1884", "--port", "1883"); code != 0 {
		t.Fatalf("lua -o: exit %d: %s", code, stderr)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"mqttdissect lua --name mymqtt --port 1883 --port 1884 -o mqtt.lua", `pcall(Proto, "mymqtt"`, "local PORTS = { 1883, 1884 }"} {
		if !bytes.Contains(got, []byte(s)) {
			t.Errorf("the file lacks %q", s)
		}
	}

	for _, args := range [][]string{
		{"lua", "--port", "0"},
		{"lua", "--port", "70000"},
		{"lua", "--name", "MQTT"},
		{"lua", "--name", "my.mqtt"},
		{"lua", "extra"},
		{"install", "--port", "0"},
	} {
		if _, stderr, code := runCLI(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
	}
}

// fakeTshark writes a shell script that answers -v with version and
// -G folders with folders (failing when folders is "").
func fakeTshark(t *testing.T, version, folders string) string {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("version.txt", version)
	write("folders.txt", folders)
	script := `#!/bin/sh
d=$(dirname "$0")
case "$1" in
-v) cat "$d/version.txt" ;;
-G) if [ "$2" = folders ] && [ -s "$d/folders.txt" ]; then cat "$d/folders.txt"; else echo "tshark: Invalid -G" >&2; exit 1; fi ;;
*) exit 1 ;;
esac
`
	path := filepath.Join(dir, "tshark")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

const (
	version110   = "TShark 1.10.14 (Git Rev Unknown from unknown)\n\nCopyright 1998-2015 Gerald Combs\n\nCompiled (64-bit) with GLib 2.42.2, with libpcap, with libz 1.2.7, with POSIX\ncapabilities (Linux), without libnl, with SMI 0.4.8, with c-ares 1.10.0, with\nLua 5.1, without Python, with GnuTLS 3.3.26, with Gcrypt 1.5.3, with MIT\nKerberos, with GeoIP.\n"
	version26    = "TShark (Wireshark) 2.6.20 (Git v2.6.20 packaged as 2.6.20-0+deb10u1)\n\nCompiled (64-bit) with libpcap, with POSIX capabilities (Linux), with libnl 3,\nwith GLib 2.58.3, with zlib 1.2.11, with SMI 0.4.8, with c-ares 1.14.0, with Lua\n5.2.4, with GnuTLS 3.6.7.\n"
	versionNoLua = "TShark (Wireshark) 3.4.16 (Git v3.4.16 packaged as 3.4.16-0+deb11u1)\n\nCompiled (64-bit) with libpcap, without Lua, with GnuTLS 3.7.1.\n"
)

func TestParseTsharkVersion(t *testing.T) {
	for _, tc := range []struct {
		out, version, lua string
		major, minor      int
	}{
		{version110, "1.10.14", "5.1", 1, 10},
		{version26, "2.6.20", "5.2.4", 2, 6},
		{versionNoLua, "3.4.16", "", 3, 4},
		{"TShark (Wireshark) 4.0.17 (Git v4.0.17 packaged as 4.0.17-0+deb12u3).\n\nCompiled ..., with Lua\n5.2.4, with GnuTLS", "4.0.17", "5.2.4", 4, 0},
	} {
		w, err := parseTsharkVersion(tc.out)
		if err != nil {
			t.Errorf("%q: %v", tc.out, err)
			continue
		}
		if w.Version != tc.version || w.Lua != tc.lua || w.Major != tc.major || w.Minor != tc.minor {
			t.Errorf("got %+v, want %s/%s", w, tc.version, tc.lua)
		}
	}
	if _, err := parseTsharkVersion("bash: tshark: command not found"); err == nil {
		t.Error("no error for output without a version")
	}
}

func TestInstallPicksTheFolderByVersion(t *testing.T) {
	for _, tc := range []struct {
		name, version, folders, dir, proto string
	}{
		{"1.10", version110, "", ".wireshark/plugins", "protocol is mqtt "},
		{"2.6", version26, "", ".local/lib/wireshark/plugins", "protocol is mqttlua "},
		{"folders", version26, "Personal Lua Plugins:\tHOME/lua-here\nGlobal configuration:\t/nonexistent\n", "lua-here", "protocol is mqttlua "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			tshark := fakeTshark(t, tc.version, strings.ReplaceAll(tc.folders, "HOME", home))
			out, stderr, code := runCLI(t, "install", "--tshark", tshark)
			if code != 0 {
				t.Fatalf("exit %d: %s\n%s", code, stderr, out)
			}
			path := filepath.Join(home, tc.dir, luagen.FileName)
			if b, err := os.ReadFile(path); err != nil || !isGenerated(b) {
				t.Fatalf("%s not written (%v); output:\n%s", path, err, out)
			}
			for _, s := range []string{path, tc.proto, "tshark -G protocols | grep -i mqtt"} {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

func TestInstallRefusals(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)

	// Without Lua: nothing is written unless --dir says where.
	noLua := fakeTshark(t, versionNoLua, "")
	if out, _, code := runCLI(t, "install", "--tshark", noLua); code == 0 {
		t.Errorf("installed for a Wireshark without Lua:\n%s", out)
	}
	// Without tshark: --dir is needed.
	missing := filepath.Join(t.TempDir(), "no-tshark")
	if _, stderr, code := runCLI(t, "install", "--tshark", missing); code == 0 || !strings.Contains(stderr, "--dir") {
		t.Errorf("exit %d without tshark or --dir; stderr %q", code, stderr)
	}
	dir := filepath.Join(t.TempDir(), "plugins")
	if out, stderr, code := runCLI(t, "install", "--tshark", missing, "--dir", dir, "--name", "mqtt"); code != 0 {
		t.Fatalf("--dir without tshark: exit %d: %s\n%s", code, stderr, out)
	}
	// A file mqttdissect did not write is kept unless --force.
	foreign := filepath.Join(dir, luagen.FileName)
	if err := os.WriteFile(foreign, []byte("-- my own dissector\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "install", "--tshark", missing, "--dir", dir); code == 0 || !strings.Contains(stderr, "--force") {
		t.Errorf("replaced a foreign file: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(foreign); string(b) != "-- my own dissector\n" {
		t.Error("the foreign file changed")
	}
	if _, stderr, code := runCLI(t, "install", "--tshark", missing, "--dir", dir, "--force"); code != 0 {
		t.Errorf("--force: exit %d: %s", code, stderr)
	}
	// Its own file is replaced without --force.
	out, stderr, code := runCLI(t, "install", "--tshark", missing, "--dir", dir)
	if code != 0 || !strings.Contains(out, "Replaced") {
		t.Errorf("reinstall: exit %d, %s %s", code, out, stderr)
	}
}

// TestInstallWithRealTshark installs into a fresh home and checks that the
// real tshark lists the dissector.
func TestInstallWithRealTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is required in CI")
		}
		t.Skip("tshark not installed")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	out, stderr, code := runCLI(t, "install")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
	if !strings.Contains(out, "Checked: tshark lists") || !strings.Contains(out, luagen.FallbackName) {
		t.Errorf("tshark does not list the installed dissector:\n%s", out)
	}
}
