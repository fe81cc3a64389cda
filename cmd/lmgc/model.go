package main

import (
	"fmt"
	"io"
	"sort"
)

// modelCommands are the subcommands of "lmgc model"; each lives in its own
// file (model_*.go) and adds itself in an init function.
var modelCommands = map[string]command{}

func registerModel(name, summary string, run func(args []string, stdout, stderr io.Writer) error) {
	modelCommands[name] = command{summary: summary, run: run}
}

func init() {
	register("model", "inspect GGUF models, make test models, tokenize, evaluate", runModel)
}

func runModel(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "usage: lmgc model <subcommand> [flags]\n\nsubcommands:")
		names := make([]string, 0, len(modelCommands))
		for n := range modelCommands {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(stderr, "  %-15s %s\n", n, modelCommands[n].summary)
		}
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	c, ok := modelCommands[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown model subcommand %q", errUsage, args[0])
	}
	return c.run(args[1:], stdout, stderr)
}
