package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/testtool"
	"github.com/mqttdissect/mqttdissect/luagen"
)

// TestReleaseScript runs .ci/release into a temporary folder and checks
// what it promises: the six static binaries, each of its platform's format
// and architecture with no dynamic linking, the generated mqtt.lua, a
// SHA256SUMS that matches, the version stamped into the binaries, and the
// same bytes from a second build. Cross-compiling six platforms takes
// minutes on a cold build cache: the test runs in CI (CI=true) or with
// MQTTDISSECT_RELEASE_TEST=1, never with -short.
// releaseVersion is the version the test asks .ci/release to stamp.
const releaseVersion = "v0.0.0-releasetest"

func TestReleaseScript(t *testing.T) {
	if testing.Short() || !testtool.InCI() && os.Getenv("MQTTDISSECT_RELEASE_TEST") != "1" {
		t.Skip("cross-compiles six platforms: runs with CI=true or MQTTDISSECT_RELEASE_TEST=1")
	}
	bash := testtool.Need(t, "bash")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	release := func(dir string, env ...string) string {
		t.Helper()
		cmd := exec.Command(bash, filepath.Join(root, ".ci", "release"), dir)
		cmd.Dir = root
		cmd.Env = append(append(os.Environ(), "VERSION="+releaseVersion), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf(".ci/release: %v\n%s", err, out)
		}
		return string(out)
	}
	dist := t.TempDir()
	out := release(dist)

	want := map[string]func(path string) error{
		"mqttdissect-linux-amd64":       checkELF(elf.EM_X86_64),
		"mqttdissect-linux-arm64":       checkELF(elf.EM_AARCH64),
		"mqttdissect-linux-386":         checkELF(elf.EM_386),
		"mqttdissect-windows-amd64.exe": checkPE(pe.IMAGE_FILE_MACHINE_AMD64),
		"mqttdissect-darwin-amd64":      checkMachO(macho.CpuAmd64),
		"mqttdissect-darwin-arm64":      checkMachO(macho.CpuArm64),
	}
	for name, check := range want {
		if err := check(filepath.Join(dist, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	lua, err := os.ReadFile(filepath.Join(dist, luagen.FileName))
	if err != nil {
		t.Fatal(err)
	}
	// The release's own version is in the header of the file it ships.
	if gen, _ := luagen.Bytes(luagen.Options{Version: releaseVersion}); !bytes.Equal(lua, gen) {
		t.Errorf("%s is not the generated dissector", luagen.FileName)
	}

	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Errorf("SHA256SUMS line %q", sc.Text())
			continue
		}
		data, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != sum {
			t.Errorf("SHA256SUMS: %s does not match", name)
		}
		listed[name] = true
	}
	for name := range want {
		if !listed[name] {
			t.Errorf("SHA256SUMS lacks %s", name)
		}
	}
	if !listed[luagen.FileName] {
		t.Errorf("SHA256SUMS lacks %s", luagen.FileName)
	}

	// The version: stamped into every binary (stripped ones keep their
	// strings), printed by the linux/amd64 one where it runs.
	version := strings.TrimSpace(lastLine(out))
	version = strings.TrimPrefix(version, "mqttdissect ")
	version, _, _ = strings.Cut(version, " in ")
	if version == "" || version == "(devel)" {
		t.Fatalf("no version in the script's output:\n%s", out)
	}
	for name := range want {
		data, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil || !bytes.Contains(data, []byte(version)) {
			t.Errorf("%s does not carry the version %q", name, version)
		}
	}
	host := filepath.Join(dist, "mqttdissect-linux-amd64")
	if info, err := exec.Command("go", "version", "-m", host).Output(); err != nil ||
		!strings.Contains(string(info), "CGO_ENABLED=0") || !strings.Contains(string(info), "-trimpath=true") {
		t.Errorf("go version -m: %v\n%s", err, info)
	}
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		if out, err := exec.Command(host, "--version").CombinedOutput(); err == nil && !strings.Contains(string(out), version) {
			t.Errorf("--version says %q, the binary is %s", out, version)
		}
		out, err := exec.Command(host, "install", "--tshark", filepath.Join(t.TempDir(), "none"), "--dir", t.TempDir()).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "from mqttdissect "+version) {
			t.Errorf("the linux/amd64 binary does not say its version: %v\n%s", err, out)
		}
	}

	// Reproducible: a second build of one platform gives the same bytes.
	again := t.TempDir()
	release(again, "TARGETS=linux/arm64")
	a, _ := os.ReadFile(filepath.Join(dist, "mqttdissect-linux-arm64"))
	b, _ := os.ReadFile(filepath.Join(again, "mqttdissect-linux-arm64"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("two builds of linux/arm64 differ")
	}
}

// checkELF requires a statically linked ELF executable for the machine.
func checkELF(machine elf.Machine) func(string) error {
	return func(path string) error {
		f, err := elf.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if f.Machine != machine || f.Type != elf.ET_EXEC {
			return fmt.Errorf("ELF %v %v, want %v executable", f.Machine, f.Type, machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				return fmt.Errorf("dynamically linked (%v)", p.Type)
			}
		}
		return nil
	}
}

func checkPE(machine uint16) func(string) error {
	return func(path string) error {
		f, err := pe.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if f.Machine != machine {
			return fmt.Errorf("PE machine %#x, want %#x", f.Machine, machine)
		}
		return nil
	}
}

func checkMachO(cpu macho.Cpu) func(string) error {
	return func(path string) error {
		f, err := macho.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if f.Cpu != cpu || f.Type != macho.TypeExec {
			return fmt.Errorf("Mach-O %v %v, want %v executable", f.Cpu, f.Type, cpu)
		}
		return nil
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
