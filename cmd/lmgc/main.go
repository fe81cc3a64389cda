// Command lmgc compresses float32 tensors (neural-network gradients) losslessly
// with a probability model ("prior") driving a range coder.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/lmgc/lmgc/codec"
	"github.com/lmgc/lmgc/tensorio"
)

// command is one subcommand of lmgc. Each lives in its own file and adds
// itself to commands in an init function.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(name, summary string, run func(args []string, stdout, stderr io.Writer) error) {
	commands[name] = command{summary: summary, run: run}
}

// errUsage marks an error caused by bad command-line usage (exit status 2).
var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: lmgc <command> [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'lmgc <command> -h' for a command's flags.")
}

func main() {
	name := "lmgc"
	if len(os.Args) > 1 {
		name += " " + os.Args[1]
	}
	handleSignals(name, os.Stderr)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "lmgc: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if err := c.run(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "lmgc %s: %v\n", args[0], err)
		if sig := interrupted(); sig != nil {
			return signalStatus(sig)
		}
		if h := hint(err); h != "" {
			fmt.Fprintf(stderr, "lmgc %s: %s\n", args[0], h)
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// hint returns the command-line advice for a library error, or "". The
// library's messages name no flags; this is where they are named.
func hint(err error) string {
	var mm *codec.MismatchError
	switch {
	case errors.Is(err, codec.ErrModelRequired):
		return "give the model with --model FILE.gguf"
	case errors.As(err, &mm) && mm.Prior == "llm":
		return "give the model the file was compressed with: --model FILE.gguf"
	case errors.Is(err, tensorio.ErrUnknownFormat):
		return "name the input format with --input-format raw|npy|safetensors|pt"
	case errors.Is(err, codec.ErrUnknownPrior):
		return "choose --prior order2, cm or llm"
	}
	return ""
}
