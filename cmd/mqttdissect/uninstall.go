package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mqttdissect/mqttdissect/luagen"
	"github.com/spf13/cobra"
)

func init() {
	extraCommands = append(extraCommands, newUninstallCmd)
}

type uninstallOptions struct {
	dir    string
	tshark string
	system bool
}

func newUninstallCmd() *cobra.Command {
	o := &uninstallOptions{}
	cmd := &cobra.Command{
		Use:   "uninstall [--system | --dir DIR]",
		Short: "Remove the mqtt.lua that install wrote",
		Long: `Remove the mqtt.lua that 'mqttdissect install' wrote, from the folder install
would write to now (the same flags find the same folder: --system, --dir,
and under sudo the folder of the user who called sudo). Wireshark then reads
MQTT as it did before the installation.

A file there that mqttdissect did not write (it lacks the generated header)
is left alone, and uninstall says so and exits 1.`,
		Example: `  mqttdissect uninstall
  sudo mqttdissect uninstall --system`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.system && o.dir != "" {
				return usageError{errors.New("--system and --dir both say where to look: give one")}
			}
			return runUninstall(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "plugin folder to remove "+luagen.FileName+" from (default: as install)")
	f.StringVar(&o.tshark, "tshark", "tshark", "tshark program that tells where Wireshark's plugin folders are")
	f.BoolVar(&o.system, "system", false, "remove the file install --system wrote to the global Lua plugin folder")
	return cmd
}

func runUninstall(ctx context.Context, out io.Writer, o *uninstallOptions) error {
	say := func(format string, args ...any) { fmt.Fprintf(out, format, args...) }
	t, err := findTarget(ctx, say, o.dir, o.tshark, o.system)
	if err != nil {
		return err
	}
	path := filepath.Join(t.dir, luagen.FileName)
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		say("Nothing to remove: there is no %s in %s (%s).\n", luagen.FileName, t.dir, t.why)
		return nil
	case err != nil:
		return err
	case !isGenerated(old):
		return fmt.Errorf("%s was not written by mqttdissect (it lacks the generated header): left alone; remove it yourself if you mean to", path)
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("%w (the folder belongs to another user: run as them, or with sudo)", err)
		}
		return err
	}
	say("Removed %s, written by mqttdissect install.\n", path)
	if t.w != nil && t.w.hasBuiltin() {
		say("Wireshark %s reads MQTT with its own dissector again, on every port it had.\n", t.w.Version)
	} else {
		say("Wireshark no longer reads MQTT (it has no dissector of its own for it).\n")
	}
	return nil
}
