package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/modelgen"
)

func init() {
	registerModel("gen", "write a random-weight test model with a real model's GGUF layout", runModelGen)
}

func runModelGen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("model gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	shape := fs.String("shape", "", "model shape `NAME` (see --list)")
	like := fs.String("like", "", "the pretraining control of `FILE.gguf`: its metadata, tokenizer and tensor shapes, random weights (tensor types lmgc cannot quantize, such as q4_1, become --type: q8_0 or f16)")
	typ := fs.String("type", "q8_0", "weight matrix `type`: f32, f16, bf16, q8_0, q4_0, q5_0, or q4_k_m (llama.cpp's mixture of q4_K and q6_K); norms and biases stay f32; with --like, q8_0 or f16")
	seed := fs.Uint64("seed", 1, "random `seed`; the same seed, shape and type give the same file")
	out := fs.String("o", "", "output `FILE.gguf`")
	list := fs.Bool("list", false, "list the shapes and exit")
	quiet := fs.Bool("q", false, "no progress line on stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lmgc model gen --shape NAME [--type f32|f16|bf16|q8_0|q4_0|q5_0|q4_k_m] [--seed S] -o FILE.gguf")
		fmt.Fprintln(stderr, "       lmgc model gen --like REAL.gguf [--type q8_0|f16] [--seed S] -o FILE.gguf")
		fmt.Fprintln(stderr, "\nWrites a model with random weights and the metadata layout, tensor names and")
		fmt.Fprintln(stderr, "shapes llama.cpp uses for the named model, with its real tokenizer vocabulary.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *list {
		fmt.Fprintf(stdout, "%-15s %-6s %6s %7s %6s %8s %6s %7s  %s\n", "shape", "arch", "width", "layers", "heads", "kv-heads", "ffn", "vocab", "weights")
		for _, s := range modelgen.Shapes() {
			extra := ""
			if s.Tied {
				extra += " tied"
			}
			if s.QKVBias {
				extra += " qkv-bias"
			}
			fmt.Fprintf(stdout, "%-15s %-6s %6d %7d %6d %8d %6d %7d  %.1fM%s\n", s.Name, s.Arch, s.Embd, s.Layers, s.Heads, s.KVHeads, s.FFN, s.NVocab, float64(s.Params())/1e6, extra)
		}
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if (*shape == "") == (*like == "") || *out == "" {
		return fmt.Errorf("%w: one of --shape and --like, and -o, are required", errUsage)
	}
	var opts modelgen.Options
	if strings.EqualFold(*typ, "q4_k_m") {
		opts.Mix = "q4_k_m"
	} else {
		t, err := gguf.ParseType(*typ)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		opts.Type = t
	}
	opts.Seed = *seed
	if *like != "" {
		if opts.Mix != "" {
			return fmt.Errorf("%w: --like takes --type q8_0 or f16, not a mixture", errUsage)
		}
		return genLike(*like, *out, opts, *quiet, stdout, stderr)
	}
	s, err := modelgen.Lookup(*shape)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	w, err := modelgen.Build(s, opts)
	if err != nil {
		return err
	}
	size, err := w.Size()
	if err != nil {
		return err
	}
	if size > 8<<30 {
		fmt.Fprintf(stderr, "warning: %s in %s is %.1f GB; q8_0 is about a quarter of f32\n", s.Name, *typ, float64(size)/1e9)
	}
	if !*quiet {
		opts.Progress = stderr
	}
	n, err := modelgen.Generate(*out, s, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s %s, seed %d, %d bytes\n", *out, s.Name, *typ, *seed, n)
	if s.Vocab == modelgen.VocabSmolLM {
		fmt.Fprintf(stdout, "note: %s\n", strings.TrimSpace(modelgen.SmolLMNote))
	}
	return nil
}

// genLike writes the random-weight control of the model file src.
func genLike(src, out string, opts modelgen.Options, quiet bool, stdout, stderr io.Writer) error {
	if err := checkRegular("model", src); err != nil {
		return err
	}
	f, err := gguf.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	if !quiet {
		opts.Progress = stderr
	}
	n, err := modelgen.GenerateLike(out, f, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: the metadata, tokenizer and tensor shapes of %s with random weights (seed %d; quantized tensors of other types as %s), %d bytes\n",
		out, filepath.Base(src), opts.Seed, opts.Type, n)
	return nil
}
