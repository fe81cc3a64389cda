package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/lmgc/lmgc/codec"
	"github.com/lmgc/lmgc/prior/llm"
)

func init() {
	register("compress", "compress a float32 tensor file (.f32/.bin raw, .npy, .safetensors)", runCompress)
	register("decompress", "restore the original file from an .lmgc file", runDecompress)
	register("inspect", "show the parameters and streams of an .lmgc file", runInspect)
}

func runCompress(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compress", stderr)
	out := fs.String("o", "", "output file (default IN.lmgc; - for stdout)")
	pr := fs.String("prior", "order2", "probability model: order2 (fast, default), cm (context mixing: smaller, slower), llm (a language model: --model)")
	model := fs.String("model", "", "llm prior: the GGUF model file")
	mode := fs.String("mode", "constrained", "llm prior: constrained (hex digits only, separators free) or paper (the reference pipeline)")
	prompt := fs.String("prompt", "", "llm prior, constrained mode: fixed text after BOS")
	batch := fs.Int("batch", 8, "llm prior: windows evaluated side by side")
	estimate := fs.Bool("estimate", false, "report the ideal size (-sum log2 p) without coding or writing a file")
	format := fs.String("format", "", "serialization: raw (default; llm: hs), or iso, hn, hs, hc, hcs, hsemi (text formats of the paper)")
	bpg := fs.Int("bytes-per-group", 4, "text formats: bytes per group (1, 2, 3, 4, 8)")
	sign := fs.Bool("sign-first", false, "write each float's sign/exponent byte first")
	inFormat := fs.String("input-format", "", "input file format: raw, npy, safetensors or pt (default: from the name and contents)")
	window := fs.Int("window", 0, "symbols per independently decodable window (default 1048576; llm: 2048 model positions)")
	threads := fs.Int("threads", 0, "windows coded in parallel (default: all CPUs)")
	force := fs.Bool("force", false, "overwrite the output file")
	quiet := fs.Bool("quiet", false, "no progress bar and no summary line (--json still prints its summary)")
	jsonOut := fs.Bool("json", false, "print the summary as JSON (on stdout; on stderr with -o -)")
	verify := fs.Bool("verify", false, "decompress the result and check it is identical before writing it")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: lmgc compress [flags] IN [-o OUT]", errUsage)
	}
	in := pos[0]
	if *out == "" {
		if in == "-" {
			*out = "-"
		} else {
			*out = in + ".lmgc"
		}
	}
	if err := checkRegular("model", *model); err != nil {
		return err
	}
	var dst *output // before reading the input: a bad output path fails at once
	if !*estimate {
		if dst, err = createOutput(*out, in, *force, stdout); err != nil {
			return err
		}
		defer dst.abort()
	}
	src, err := readInput(in)
	if err != nil {
		return err
	}
	bar := newProgress(stderr, *quiet, "compress", "sym")
	opt := codec.Options{Prior: *pr, Format: *format, BytesPerGroup: *bpg, SignFirst: *sign,
		Window: *window, Threads: *threads, Progress: bar.update, Model: *model, Estimate: *estimate, InputFormat: *inFormat,
		LLM: llm.Config{Mode: *mode, Prompt: *prompt, Batch: *batch}}
	var buf bytes.Buffer
	st, err := codec.Compress(&buf, src, in, opt)
	bar.done()
	if err != nil {
		return err
	}
	if *estimate {
		return report(stdout, stderr, st, *jsonOut, *quiet, false, false)
	}
	if *verify {
		vbar := newProgress(stderr, *quiet, "verify", "sym")
		got, _, err := codec.Decompress(buf.Bytes(), codec.Options{Threads: *threads, Progress: vbar.update,
			Model: *model, LLM: llm.Config{Batch: *batch}})
		vbar.done()
		if err != nil {
			return fmt.Errorf("verification failed: %w", err)
		}
		if !bytes.Equal(got, src) {
			return fmt.Errorf("verification failed: decompressed data differs from the input")
		}
	}
	if err := dst.write(buf.Bytes()); err != nil {
		return err
	}
	return report(stdout, stderr, st, *jsonOut, *quiet, *out == "-", *verify)
}

// report prints the summary of a run: the JSON object with --json, else a
// line of text unless --quiet. It goes to stdout, or to stderr when the data
// itself went to stdout (-o -).
func report(stdout, stderr io.Writer, st *codec.Stats, jsonOut, quiet, dataOnStdout, verified bool) error {
	w := stdout
	if dataOnStdout {
		w = stderr
	}
	if jsonOut {
		v := struct {
			*codec.Stats
			Verified bool `json:"verified,omitempty"`
		}{st, verified}
		return printJSON(w, v)
	}
	if quiet {
		return nil
	}
	msg := fmt.Sprintf("%d -> %d bytes (%.2f%%), ideal %.0f bytes, %.3f bits/float, %d tokens (%.2f/float), %.2fs (%.2f MB/s, %s tokens/s)",
		st.OriginalBytes, st.CompressedBytes, st.RatePercent, st.IdealBytes, st.BitsPerFloat, st.Tokens, st.TokensPerFloat,
		st.Seconds, float64(st.OriginalBytes)/1e6/max(st.Seconds, 1e-9), human(float64(st.Tokens)/max(st.Seconds, 1e-9)))
	if st.Estimate {
		msg = fmt.Sprintf("estimate: %d bytes -> ideal %.0f bytes (%.2f%% plus the file header), %.3f bits/float, %d tokens (%.2f/float), %.2fs (%s tokens/s)",
			st.OriginalBytes, st.IdealBytes, 100*st.IdealBytes/max(float64(st.OriginalBytes), 1), 8*st.IdealBytes/max(float64(st.FloatBytes/4), 1),
			st.Tokens, st.TokensPerFloat, st.Seconds, human(float64(st.Tokens)/max(st.Seconds, 1e-9)))
	}
	if verified {
		msg += ", verified"
	}
	fmt.Fprintln(w, msg)
	return nil
}

func runDecompress(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("decompress", stderr)
	out := fs.String("o", "", "output file (default IN without .lmgc; - for stdout)")
	threads := fs.Int("threads", 0, "windows decoded in parallel (default: all CPUs)")
	model := fs.String("model", "", "llm prior: the GGUF model file the input was compressed with")
	batch := fs.Int("batch", 8, "llm prior: windows evaluated side by side")
	force := fs.Bool("force", false, "overwrite the output file")
	quiet := fs.Bool("quiet", false, "no progress bar and no summary line (--json still prints its summary)")
	jsonOut := fs.Bool("json", false, "print the summary as JSON (on stdout; on stderr with -o -)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: lmgc decompress [flags] IN [-o OUT]", errUsage)
	}
	in := pos[0]
	if *out == "" {
		switch {
		case in == "-":
			*out = "-"
		case strings.HasSuffix(in, ".lmgc") && len(in) > len(".lmgc"):
			*out = strings.TrimSuffix(in, ".lmgc")
		default:
			return fmt.Errorf("%w: %s does not end in .lmgc; name the output with -o", errUsage, in)
		}
	}
	if err := checkRegular("model", *model); err != nil {
		return err
	}
	dst, err := createOutput(*out, in, *force, stdout)
	if err != nil {
		return err
	}
	defer dst.abort()
	src, err := readInput(in)
	if err != nil {
		return err
	}
	bar := newProgress(stderr, *quiet, "decompress", "sym")
	data, st, err := codec.Decompress(src, codec.Options{Threads: *threads, Progress: bar.update,
		Model: *model, LLM: llm.Config{Batch: *batch}})
	bar.done()
	if err != nil {
		return err
	}
	if err := dst.write(data); err != nil {
		return err
	}
	return report(stdout, stderr, st, *jsonOut, *quiet, *out == "-", false)
}

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", stderr)
	jsonOut := fs.Bool("json", false, "print the whole header as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: lmgc inspect [--json] FILE", errUsage)
	}
	src, err := readInput(pos[0])
	if err != nil {
		return err
	}
	h, err := codec.Inspect(src)
	if err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(stdout, h)
	}
	o := h.Original
	fmt.Fprintf(stdout, "original:      %s, %d bytes, %s, sha256 %s\n", o.Name, o.Size, o.Format, o.SHA256)
	nf, no := 0, 0
	for _, s := range o.Segments {
		if s.Kind == "float32le" {
			nf++
		} else {
			no++
		}
	}
	fmt.Fprintf(stdout, "segments:      %d float32 (%d bytes), %d other (%d bytes, %s -> %d bytes)\n",
		nf, h.FloatBytes, no, h.Other.Symbols, h.OtherCodec, h.Other.Length)
	for _, s := range o.Segments {
		if s.Name != "" || s.DType != "" {
			fmt.Fprintf(stdout, "  %-9s %-24s %-5s %v %d bytes\n", s.Kind, s.Name, s.DType, s.Shape, s.Length)
		}
	}
	fmt.Fprintf(stdout, "prior:         %s %v\n", h.Prior.Name, h.Prior.Params)
	fmt.Fprintf(stdout, "fingerprint:   %s\n", h.Prior.Fingerprint)
	ser := h.Serialization
	if h.BytesPerGroup > 0 {
		ser += fmt.Sprintf(", %d bytes per group, %d-byte chunks (pad %d)", h.BytesPerGroup, h.ChunkSize, h.Pad)
	}
	if h.SignFirst {
		ser += ", sign/exponent first"
	}
	fmt.Fprintf(stdout, "serialization: %s\n", ser)
	var coded int64
	for _, s := range h.Streams {
		coded += s.Length
	}
	fmt.Fprintf(stdout, "windows:       %d of up to %d symbols, %d symbols in all\n", len(h.Streams), h.Window, h.Tokens)
	fmt.Fprintf(stdout, "coded:         %d bytes, ideal %.1f bytes (overhead %.4f%%)\n", coded, h.IdealBits/8,
		100*(float64(coded)*8-h.IdealBits)/max(h.IdealBits, 1))
	fmt.Fprintf(stdout, "file:          %d bytes, %.2f%% of the original\n", int64(len(src)),
		100*float64(len(src))/max(float64(o.Size), 1))
	return nil
}
