// Package testtool helps tests that run real programs such as tshark, lua5.1
// or luac5.4: they are skipped with a message where the program is missing,
// and fail in CI (CI=true), whose .ci/run installs them.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// Need returns the path of the program, skipping the test when it is not
// installed, or failing it in CI.
func Need(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if InCI() {
			t.Fatalf("%s is required in CI (.ci/run installs it)", name)
		}
		t.Skipf("%s not installed: skipping this test", name)
	}
	return path
}

// InCI reports whether the tests run in CI.
func InCI() bool { return os.Getenv("CI") == "true" }
