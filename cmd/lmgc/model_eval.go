package main

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/llama"
	"github.com/lmgc/lmgc/internal/atomicfile"
)

func init() {
	registerModel("eval", "run a GGUF model over token ids and write the logits of every position", runModelEval)
}

func runModelEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("model eval", stderr)
	model := fs.String("model", "", "GGUF model `file`")
	tokens := fs.String("tokens", "", "`file` of whitespace-separated token ids (- for stdin)")
	out := fs.String("o", "", "output `file`: float32 little-endian logits, one row of vocabulary width per position")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "threads (the logits do not depend on it)")
	batch := fs.Int("batch", 64, "positions per forward call (the logits do not depend on it)")
	force := fs.Bool("force", false, "overwrite the output file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lmgc model eval --model FILE.gguf --tokens IDS -o LOGITS [--threads N] [--batch N]")
		fs.PrintDefaults()
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	var missing []string
	if *model == "" {
		missing = append(missing, "--model")
	}
	if *tokens == "" {
		missing = append(missing, "--tokens")
	}
	if *out == "" {
		missing = append(missing, "-o")
	}
	if len(missing) > 0 || len(rest) > 0 {
		fs.Usage()
		if len(rest) > 0 {
			return fmt.Errorf("%w: unexpected arguments %q", errUsage, rest)
		}
		return fmt.Errorf("%w: %s required", errUsage, strings.Join(missing, ", "))
	}
	if *threads < 1 || *batch < 1 {
		return fmt.Errorf("%w: --threads and --batch must be at least 1", errUsage)
	}
	if err := checkOutput(*out, *tokens, *force); err != nil {
		return err
	}
	raw, err := readInput(*tokens)
	if err != nil {
		return err
	}
	ids, err := llama.ReadTokens(strings.NewReader(string(raw)))
	if err != nil {
		return fmt.Errorf("%s: %v", *tokens, err)
	}
	f, err := gguf.Open(*model)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := llama.Load(f, llama.WithThreads(*threads))
	if err != nil {
		return fmt.Errorf("%s: %v", *model, err)
	}
	return writeStreaming(*out, stdout, func(w io.Writer) error {
		return m.WriteLogits(w, ids, *batch)
	})
}

// writeStreaming writes what fill produces to path atomically (see package
// atomicfile), so a failed or interrupted run leaves no partial output; "-"
// streams to stdout.
func writeStreaming(path string, stdout io.Writer, fill func(io.Writer) error) error {
	if path == "-" {
		bw := bufio.NewWriterSize(stdout, 1<<20)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}
