// Command mqttdissect reads MQTT from packet captures, writes a Wireshark
// Lua dissector for MQTT, and validates Lua dissectors without Wireshark.
package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/mqttdissect/mqttdissect/internal/version"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes, mapped from errors in one place (exitCode).
const (
	exitOK          = 0
	exitDataErrors  = 1 // the input had errors; output was still written
	exitUsage       = 2
	exitInterrupted = 130
)

// usageError marks a mistake in the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// dataError marks input that had errors after the command did its work.
type dataError struct{ msg string }

func (e dataError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	// A reader that goes away (| head) makes writes fail with EPIPE, which
	// commands treat as the end of their output, instead of killing the
	// program with SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command ") {
		err = usageError{err}
	}
	if errors.Is(err, syscall.EPIPE) {
		return exitOK // the reader of the output went away: nothing to say
	}
	code := exitCode(err)
	if err != nil {
		var de dataError
		switch {
		case code == exitInterrupted:
			fmt.Fprintln(stderr, "mqttdissect: interrupted; the output so far was written")
		case !errors.As(err, &de) || de.msg != "":
			fmt.Fprintln(stderr, "mqttdissect:", withoutPrefixes(err))
		}
		if code == exitUsage {
			help := "mqttdissect --help"
			if cmd != nil && cmd != root {
				help = cmd.CommandPath() + " --help"
			}
			fmt.Fprintf(stderr, "Run '%s' for usage.\n", help)
		}
	}
	return code
}

func exitCode(err error) int {
	var ue usageError
	var de dataError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &de):
		return exitDataErrors
	}
	return exitDataErrors
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "mqttdissect",
		Short: "Read MQTT from packet captures; generate and validate Wireshark Lua dissectors",
		Long: `mqttdissect reads MQTT 3.1, 3.1.1 and 5.0 from pcap and pcapng captures and shows
every control packet as Wireshark would, with Wireshark's field names. It also
writes mqtt.lua, a Wireshark Lua dissector for versions without MQTT support.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.String(),
	}
	root.SetVersionTemplate("mqttdissect {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newDecodeCmd())
	for _, c := range extraCommands {
		root.AddCommand(c())
	}
	conventions(root)
	return root
}

// extraCommands lets other files of this package add subcommands.
var extraCommands []func() *cobra.Command

// exactArgs wraps cobra's argument checks so their errors are usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
