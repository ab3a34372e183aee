package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
)

// account is the user who will run Wireshark with an installed file: the
// owner of what install writes to a personal folder, and the user the
// check runs tshark as.
type account struct {
	Name     string
	UID, GID int // -1 where the system has none (Windows)
	Home     string
	// Other is set when it is not the user mqttdissect runs as (sudo, or
	// the stand-in user of a --system check): files are given to it and
	// tshark runs under its identity.
	Other bool
}

func (a *account) String() string {
	if a == nil {
		return "you"
	}
	return a.Name
}

// invoker tells who runs mqttdissect: the effective user id and, under
// sudo, the user who called sudo. Tests replace it.
var invoker = func() (euid int, sudoUser string) {
	return os.Geteuid(), os.Getenv("SUDO_USER")
}

// lookupAccount finds a user by name in the system's user database
// (/etc/passwd without cgo). Tests replace it.
var lookupAccount = func(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user %s has no numeric user and group id (%s, %s)", name, u.Uid, u.Gid)
	}
	return &account{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir, Other: true}, nil
}

// currentAccount is the user mqttdissect runs as, with the home directory
// $HOME names.
func currentAccount() (*account, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, err
	}
	a := &account{Name: "you", UID: os.Geteuid(), GID: os.Getegid(), Home: home}
	if u, err := user.Current(); err == nil {
		a.Name = u.Username
	}
	return a, nil
}

// errRootPersonal is the refusal to install into root's own folder.
var errRootPersonal = errors.New("mqttdissect runs as root, not through sudo: a personal Lua plugin in root's folder " +
	"is never run by Wireshark 1.x and 2.x (they skip personal Lua plugins as root), and nobody should run Wireshark as root. " +
	"Run 'mqttdissect install' as the user who runs Wireshark (or 'sudo mqttdissect install' from that account), " +
	"or install for every user with --system (or choose the folder with --dir)")

// personalAccount is whom a personal installation is for: the user who
// called sudo, or the user mqttdissect runs as. As root without sudo there
// is none unless dirGiven.
func personalAccount(dirGiven bool) (*account, error) {
	euid, sudoUser := invoker()
	if euid == 0 && sudoUser != "" && sudoUser != "root" {
		a, err := lookupAccount(sudoUser)
		if err != nil {
			return nil, fmt.Errorf("sudo was called by %s, whose account cannot be read: %w", sudoUser, err)
		}
		return a, nil
	}
	if euid == 0 && !dirGiven {
		return nil, errRootPersonal
	}
	return currentAccount()
}

// checkAccount is the user the check of a --system installation runs
// tshark as: the user who called sudo, else (as root, whom Wireshark 1.x
// and 2.x never run Lua for) the unprivileged "nobody", else nil: the
// user mqttdissect runs as.
func checkAccount() *account {
	euid, sudoUser := invoker()
	if euid != 0 {
		return nil
	}
	for _, name := range []string{sudoUser, "nobody"} {
		if name == "" || name == "root" {
			continue
		}
		if a, err := lookupAccount(name); err == nil {
			return a
		}
	}
	return nil
}

// mkdirAllFor creates dir and its missing parents, giving each directory
// it creates to a (when a is another user).
func mkdirAllFor(dir string, a *account) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := giveTo(missing[i], a); err != nil {
			return err
		}
	}
	return nil
}

// giveTo makes a the owner of path when a is another user.
func giveTo(path string, a *account) error {
	if a == nil || !a.Other || a.UID < 0 {
		return nil
	}
	if err := os.Lchown(path, a.UID, a.GID); err != nil {
		return fmt.Errorf("cannot give %s to %s: %w", path, a.Name, err)
	}
	return nil
}

// withoutEnv returns env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		keep := true
		for _, n := range names {
			if len(kv) > len(n) && kv[:len(n)+1] == n+"=" {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// groupsOf returns the supplementary group ids of a (the wireshark group,
// which may be what lets it capture, among them).
func groupsOf(a *account) ([]uint32, error) {
	u, err := user.Lookup(a.Name)
	if err != nil {
		return nil, err
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, id := range ids {
		if n, err := strconv.ParseUint(id, 10, 32); err == nil {
			out = append(out, uint32(n))
		}
	}
	return out, nil
}
