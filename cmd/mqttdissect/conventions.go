package main

import (
	"strings"

	"github.com/mqttdissect/mqttdissect/spec"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// enumerations are the values of flags that take one of a few words, for
// shell completion; the commands accept them in any case.
var enumerations = map[string][]string{
	"decode/format":       {"text", "json", "jsonl", "fields"},
	"decode/field-option": {"separator=,", "separator=/t", "separator=/s", "header=y", "header=n", "quote=d", "quote=s", "quote=n", "occurrence=f", "occurrence=l", "occurrence=a", "aggregator=,", "aggregator=/s"},
	"stats/format":        {"text", "json", "markdown"},
	"*/progress":          {"auto", "always", "never"},
	"*/mqtt-version":      {"3.1", "3.1.1", "5"},
	"validate/wireshark":  {"1.10", "1.10/5.2", "1.12", "2.6", "3.6", "4.0", "4.4"},
	"decode/type":         packetTypeNames(),
	"decode/port":         {"1883", "8883", "any"},
	"stats/port":          {"1883", "8883", "any"},
	"*/port":              {"1883", "8883"},
}

func packetTypeNames() []string {
	var out []string
	for _, p := range spec.Packets {
		if p.Name != "" {
			out = append(out, p.Name)
		}
	}
	return out
}

// conventions applies what every subcommand shares: completion values for
// enumerated flags (and none of file names for them), and help that does
// not print "(default [])" for empty lists.
func conventions(root *cobra.Command) {
	for _, c := range root.Commands() {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.DefValue == "[]" && f.Value.Type() == "uintSlice" {
				f.DefValue = ""
			}
			values, ok := enumerations[c.Name()+"/"+f.Name]
			if !ok {
				values, ok = enumerations["*/"+f.Name]
			}
			if !ok {
				return
			}
			_ = c.RegisterFlagCompletionFunc(f.Name, func(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
				var out []string
				for _, v := range values {
					if strings.HasPrefix(strings.ToLower(v), strings.ToLower(prefix)) {
						out = append(out, v)
					}
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			})
		})
	}
}
