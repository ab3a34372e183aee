//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/mqttdissect/mqttdissect/internal/testtool"
	"github.com/mqttdissect/mqttdissect/luagen"
)

// TestInstallForSudoUserWithRealTshark creates a throwaway user (only as
// root in CI), installs as if that user had run sudo, and requires the
// file in their home, owned by them, and the check run as them. The user
// and home are removed afterwards.
func TestInstallForSudoUserWithRealTshark(t *testing.T) {
	if !testtool.InCI() || os.Geteuid() != 0 {
		t.Skip("creates a system user: only as root with CI=true")
	}
	testtool.Need(t, "tshark")
	useradd, err := exec.LookPath("useradd")
	if err != nil {
		t.Skip("no useradd")
	}
	name := fmt.Sprintf("mqdt%d", os.Getpid()%100000)
	home := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command(useradd, "--create-home", "--home-dir", home, "--shell", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "--remove", name).CombinedOutput(); err != nil {
			t.Logf("userdel %s: %v %s", name, err, out)
		}
	})
	old := invoker
	invoker = func() (int, string) { return 0, name }
	t.Cleanup(func() { invoker = old })

	// The test's temporary folders are closed to other users: the check,
	// run as the user, fails and names the folder.
	out, stderr, code := runCLI(t, "install")
	if code != exitDataErrors || !strings.Contains(stderr, name+" cannot read it") {
		t.Errorf("behind a closed folder: exit %d: %s\n%s", code, stderr, out)
	}
	for _, dir := range []string{filepath.Dir(home), filepath.Dir(filepath.Dir(home))} {
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code = runCLI(t, "install")
	if code != 0 || !strings.Contains(out, "Checked: tshark, run as "+name+", lists") {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
	path := filepath.Join(home, ".local", "lib", "wireshark", "plugins", luagen.FileName)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, out)
	}
	a, err := lookupAccount(name)
	if err != nil {
		t.Fatal(err)
	}
	for p := path; p != home; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); !ok || int(sys.Uid) != a.UID {
			t.Errorf("%s is not owned by %s (uid %d)", p, name, a.UID)
		}
	}
	if out, stderr, code := runCLI(t, "uninstall"); code != 0 || !strings.Contains(out, "Removed "+path) {
		t.Errorf("uninstall: exit %d: %s\n%s", code, stderr, out)
	}
}
