package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/lmgc/lmgc/engine/tokenizer"
)

// tokenizeStdin is where "lmgc model tokenize" reads its text (a variable
// so tests can replace it).
var tokenizeStdin io.Reader = os.Stdin

func init() {
	registerModel("tokenize", "print the token ids of stdin's text for a GGUF model's tokenizer", runModelTokenize)
}

func runModelTokenize(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("model tokenize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "", "GGUF `file` whose tokenizer.ggml.* metadata defines the tokenizer")
	bos := fs.Bool("bos", false, "add special tokens as llama.cpp's add_special (BOS, and EOS if the vocab says so)")
	pieces := fs.Bool("pieces", false, "also print a second line with each token's piece, Go-quoted")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lmgc model tokenize --model FILE.gguf [--bos] [--pieces] < text")
		fmt.Fprintln(stderr, "\nReads all of stdin (used as is, a trailing newline included) and prints its")
		fmt.Fprintln(stderr, "token ids on one line, space-separated, as llama.cpp tokenizes it.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *model == "" {
		return fmt.Errorf("%w: --model is required", errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q (the text is read from stdin)", errUsage, fs.Args())
	}
	tok, err := tokenizer.Load(*model)
	if err != nil {
		return err
	}
	text, err := io.ReadAll(tokenizeStdin)
	if err != nil {
		return fmt.Errorf("reading stdin: %w", err)
	}
	ids := tok.Encode(string(text), *bos)

	w := bufio.NewWriter(stdout)
	var buf []byte
	for i, id := range ids {
		if i > 0 {
			buf = append(buf, ' ')
		}
		buf = strconv.AppendInt(buf, int64(id), 10)
		if len(buf) > 1<<16 {
			w.Write(buf)
			buf = buf[:0]
		}
	}
	buf = append(buf, '\n')
	if *pieces {
		for i, id := range ids {
			if i > 0 {
				buf = append(buf, ' ')
			}
			buf = strconv.AppendQuote(buf, tok.Piece(id))
			if len(buf) > 1<<16 {
				w.Write(buf)
				buf = buf[:0]
			}
		}
		buf = append(buf, '\n')
	}
	w.Write(buf)
	return w.Flush()
}
