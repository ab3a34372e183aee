//go:build !unix

package main

import "os/exec"

// runAs does nothing where there are no user ids to switch to.
func runAs(cmd *exec.Cmd, a *account) {}

// unreachableFor cannot tell on this system.
func unreachableFor(path string, a *account) string { return "" }
