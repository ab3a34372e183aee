//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// runAs makes cmd run as a (when a is another user): its user, group and
// supplementary groups, and its home directory, so that tshark looks in
// that user's plugin folders.
func runAs(cmd *exec.Cmd, a *account) {
	if a == nil || !a.Other {
		return
	}
	cmd.Env = append(withoutEnv(os.Environ(), "HOME", "XDG_CONFIG_HOME", "USER", "LOGNAME"),
		"HOME="+a.Home, "USER="+a.Name, "LOGNAME="+a.Name)
	cmd.Dir = "/"
	if a.UID < 0 || a.UID == os.Geteuid() {
		return
	}
	cred := &syscall.Credential{Uid: uint32(a.UID), Gid: uint32(a.GID)}
	if groups, err := groupsOf(a); err == nil {
		cred.Groups = groups
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
}

// unreachableFor returns the first folder on the way to path (or path
// itself) that the account a may not enter or read, judged by the mode
// bits, owner and group (not supplementary groups or ACLs), or "".
func unreachableFor(path string, a *account) string {
	if a == nil || a.UID <= 0 {
		return ""
	}
	var chain []string
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		chain = append([]string{p}, chain...)
		if filepath.Dir(p) == p {
			break
		}
	}
	for i, p := range chain {
		st, err := os.Stat(p)
		if err != nil {
			return ""
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return ""
		}
		need := os.FileMode(0o1) // search a folder
		if i == len(chain)-1 {
			need = 0o4 // read the file
		}
		mode := st.Mode().Perm()
		var bits os.FileMode
		switch {
		case int(sys.Uid) == a.UID:
			bits = mode >> 6
		case int(sys.Gid) == a.GID:
			bits = mode >> 3
		default:
			bits = mode
		}
		if bits&need == 0 {
			return fmt.Sprintf("%s (%v, owner uid %d)", p, st.Mode(), sys.Uid)
		}
	}
	return ""
}
