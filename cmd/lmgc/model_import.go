package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lmgc/lmgc/engine/llama2c"
	"github.com/lmgc/lmgc/internal/atomicfile"
)

func init() {
	registerModel("import-llama2c", "convert a llama2.c checkpoint (.bin) to GGUF", runImportLlama2c)
}

func runImportLlama2c(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("model import-llama2c", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output GGUF `file` (required)")
	name := fs.String("name", "", "general.name to store (default: the input's base name)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lmgc model import-llama2c IN.bin -o OUT.gguf [-name NAME]")
		fmt.Fprintln(stderr, "\nWrites an f32 GGUF of architecture \"llama\" with a byte-fallback vocabulary")
		fmt.Fprintln(stderr, "(<unk>, <s>, </s>, <0x00>..<0xFF>, then unused placeholders).")
		fs.PrintDefaults()
	}
	// Flags may come before or after the input file.
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 1 || *out == "" {
		fs.Usage()
		return fmt.Errorf("%w: need one input file and -o", errUsage)
	}
	in := pos[0]
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	ck, err := llama2c.Read(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	dst, err := atomicfile.Create(*out, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(dst)
	n, err := ck.WriteGGUF(bw, llama2c.Options{Name: *name})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		dst.Abort()
		return err
	}
	if err := dst.Commit(); err != nil {
		return err
	}
	c := ck.Config
	fmt.Fprintf(stdout, "%s: dim %d, hidden %d, %d layers, %d heads (%d kv), vocab %d, context %d, shared classifier %v; wrote %d bytes to %s\n",
		in, c.Dim, c.HiddenDim, c.NLayers, c.NHeads, c.NKVHeads, c.VocabSize, c.SeqLen, c.SharedClassifier, n, *out)
	return nil
}
