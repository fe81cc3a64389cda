package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lmgc/lmgc/codec"
	"github.com/lmgc/lmgc/codec/lowrank"
	"github.com/lmgc/lmgc/prior/llm"
)

func init() {
	register("compress", "compress a float32 tensor file (.f32/.bin raw, .npy, .safetensors), a folder of them, or stdin", runCompress)
	register("decompress", "restore the original file from an .lmgc file (or a folder of them)", runDecompress)
	register("inspect", "show the parameters and streams of an .lmgc file", runInspect)
}

func runCompress(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compress", stderr)
	out := fs.String("o", "", "output file (default IN.lmgc; - for stdout); for a folder IN, the output folder (default: next to each file)")
	pr := fs.String("prior", "", "probability model (default: the one of --level): "+priorHelp())
	level := fs.String("level", "", "operating point when no --prior is given: fast (default: fcm; order2 for text formats) or strong (fcm2; cm for text formats)")
	model := fs.String("model", "", "llm prior: the GGUF model file")
	mode := fs.String("mode", "constrained", "llm prior: constrained (hex digits only, separators free) or paper (the reference pipeline)")
	prompt := fs.String("prompt", "", "llm prior, constrained mode: fixed text after BOS")
	batch := fs.Int("batch", 8, "llm prior: windows evaluated side by side")
	estimate := fs.Bool("estimate", false, "report the ideal size (-sum log2 p) without coding or writing a file")
	format := fs.String("format", "", "serialization: raw (default; llm: hs), or iso, hn, hs, hc, hcs, hsemi (text formats of the paper)")
	bpg := fs.Int("bytes-per-group", 4, "text formats: bytes per group (1, 2, 3, 4, 8; 16-bit floats, llm prior: 1, else 2, one value)")
	sign := fs.Bool("sign-first", false, "write each float's sign/exponent byte first")
	lowRank := fs.Bool("lowrank", false, "experimental: code 2-D float32 tensors of low rank (linear-layer gradients of a small batch) as differences from their low-rank prediction (raw serialization, no --shard)")
	inFormat := fs.String("input-format", "", "input file format: raw, npy, safetensors or pt (default: from the name and contents)")
	window := fs.Int("window", 0, "symbols per independently decodable window (default 1048576; llm: 2048 model positions)")
	threads := fs.Int("threads", 0, "windows coded in parallel (default: all CPUs)")
	force := fs.Bool("force", false, "overwrite the output file")
	quiet := fs.Bool("quiet", false, "no progress bar and no summary line (--json still prints its summary)")
	jsonOut := fs.Bool("json", false, "print the summary as JSON (on stdout; on stderr with -o -)")
	verify := fs.Bool("verify", false, "decompress the result and check it is identical before keeping it")
	shard := addShardFlag(fs, "code")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: lmgc compress [flags] IN|FOLDER|- [-o OUT]", errUsage)
	}
	if *pr, err = levelPrior(*level, *pr, *format); err != nil {
		return err
	}
	in := pos[0]
	folder := isDir(in)
	if shard.set && (folder || *estimate || *verify) {
		return fmt.Errorf("%w: --shard codes one file's part: not with a folder, --estimate or --verify (merge, then verify)", errUsage)
	}
	if *out == "" && shard.set && in != "-" {
		*out = fmt.Sprintf("%s.lmgc.part%d", in, shard.s.Index)
	}
	if *out == "" && !folder {
		if in == "-" {
			*out = "-"
		} else {
			*out = in + ".lmgc"
		}
	}
	if err := checkRegular("model", *model); err != nil {
		return err
	}
	if !folder && !*estimate { // a bad output fails before the prior (a model) is loaded
		if err := checkOutput(*out, in, *force); err != nil {
			return err
		}
	}
	bar := newProgress(stderr, *quiet, "compress", "B")
	prog := &fileProgress{bar: bar}
	opt := codec.Options{Prior: *pr, Format: *format, BytesPerGroup: *bpg, SignFirst: *sign,
		Window: *window, Threads: *threads, Progress: prog.update, Model: *model, Estimate: *estimate, InputFormat: *inFormat, LowRank: *lowRank,
		LLM: llm.Config{Mode: *mode, Prompt: *prompt, Batch: *batch}}
	switch {
	case folder && *out != "":
		opt.TempDir = *out
	case folder:
		opt.TempDir = in
	case *out != "-":
		opt.TempDir = filepath.Dir(*out)
	}
	if *verify && *pr == "llm" && *model != "" {
		// The encoder and the verifying decoder share one loaded model
		// (one copy of the weights in memory, loaded once).
		m, err := llm.LoadModel(*model, *threads)
		if err != nil {
			return err
		}
		defer m.Close()
		opt.LLM.Loaded = m
	}
	enc, err := codec.NewEncoder(opt)
	if err != nil {
		return err
	}
	defer enc.Close()
	job := compressJob{enc: enc, shard: shard, force: *force, verify: *verify, estimate: *estimate, stdout: stdout,
		dec:       codec.Options{Threads: *threads, Model: *model, LLM: llm.Config{Batch: *batch, Loaded: opt.LLM.Loaded}},
		verifyBar: newProgress(stderr, *quiet, "verify", "B")}
	if folder {
		return compressFolder(job, in, *out, prog, stdout, stderr, *jsonOut, *quiet, *inFormat != "")
	}
	if in != "-" {
		if fi, err := os.Stat(in); err == nil {
			prog.start(0, fi.Size(), fi.Size())
		}
	}
	st, err := job.run(in, *out)
	bar.done()
	if err != nil {
		return err
	}
	return report(stdout, stderr, st, *jsonOut, *quiet, *out == "-", *verify)
}

// compressJob compresses one file with a shared Encoder.
type compressJob struct {
	enc                     *codec.Encoder
	shard                   *shardFlag    // --shard: write one part file
	dec                     codec.Options // for --verify
	verifyBar               *meter
	force, verify, estimate bool
	stdout                  io.Writer
}

func (j compressJob) run(in, out string) (*codec.Stats, error) {
	if j.shard != nil && j.shard.set {
		return j.compressShard(in, out)
	}
	if j.estimate {
		src, size, done, err := openInput(in, os.TempDir())
		if err != nil {
			return nil, err
		}
		defer done()
		return j.enc.Encode(io.Discard, src, size, in)
	}
	o, src, size, done, err := openPair(in, out, j.force, j.verify, j.stdout)
	if err != nil {
		return nil, err
	}
	defer done()
	st, err := j.enc.Encode(o, src, size, in)
	if err != nil {
		return nil, err
	}
	if j.verify {
		lm, lsize, err := o.readBack()
		if err == nil {
			vp := &fileProgress{bar: j.verifyBar}
			vp.start(0, size, size)
			dec := j.dec
			dec.Progress = vp.update
			if dec.LLM.Loaded != nil {
				releaseFreed()
			}
			err = verifyFile(lm, lsize, src, size, dec)
			j.verifyBar.done()
		}
		if err != nil {
			return nil, fmt.Errorf("verification failed: %w", err)
		}
	}
	return st, o.commit()
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
	out := fs.String("o", "", "output file (default IN without .lmgc; - for stdout, written as it decodes: the exit status tells whether the SHA-256 matched); for a folder IN, the output folder")
	threads := fs.Int("threads", 0, "windows decoded in parallel (default: all CPUs)")
	model := fs.String("model", "", "llm prior: the GGUF model file the input was compressed with")
	batch := fs.Int("batch", 8, "llm prior: windows evaluated side by side")
	force := fs.Bool("force", false, "overwrite the output file")
	quiet := fs.Bool("quiet", false, "no progress bar and no summary line (--json still prints its summary)")
	jsonOut := fs.Bool("json", false, "print the summary as JSON (on stdout; on stderr with -o -)")
	shard := addShardFlag(fs, "decode into OUT.partial")
	verifyShards := fs.Bool("verify", false, "after every --shard run: check OUT.partial's SHA-256, then rename it to OUT")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: lmgc decompress [flags] IN|FOLDER|- [-o OUT]", errUsage)
	}
	in := pos[0]
	folder := isDir(in)
	if (shard.set || *verifyShards) && (folder || in == "-" || (shard.set && *verifyShards)) {
		return fmt.Errorf("%w: --shard and --verify take one .lmgc file, in separate runs", errUsage)
	}
	if *out == "" && !folder {
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
	bar := newProgress(stderr, *quiet, "decompress", "B")
	prog := &fileProgress{bar: bar}
	job := decompressJob{opt: codec.Options{Threads: *threads, Progress: prog.update,
		Model: *model, LLM: llm.Config{Batch: *batch}}, force: *force, stdout: stdout}
	if folder {
		if *model != "" {
			// One loaded model for all the folder's files, not one each.
			m, err := llm.LoadModel(*model, *threads)
			if err != nil {
				return err
			}
			defer m.Close()
			job.opt.LLM.Loaded = m
		}
		return decompressFolder(job, in, *out, prog, stdout, stderr, *jsonOut, *quiet)
	}
	if shard.set || *verifyShards {
		var sum *shardSummary
		if *verifyShards {
			sum, err = job.verifyShards(in, *out)
		} else {
			sum, err = job.decompressShard(in, *out, shard.s)
		}
		bar.done()
		if err != nil {
			return err
		}
		return sum.print(stdout, *jsonOut, *quiet)
	}
	if in != "-" {
		if fi, err := os.Stat(in); err == nil {
			prog.start(0, fi.Size(), fi.Size())
		}
	}
	st, err := job.run(in, *out)
	bar.done()
	if err != nil {
		return err
	}
	return report(stdout, stderr, st, *jsonOut, *quiet, *out == "-", false)
}

// decompressJob decompresses one .lmgc file.
type decompressJob struct {
	opt    codec.Options
	force  bool
	stdout io.Writer
}

func (j decompressJob) run(in, out string) (*codec.Stats, error) {
	o, src, size, done, err := openPair(in, out, j.force, false, j.stdout)
	if err != nil {
		return nil, err
	}
	defer done()
	r, err := codec.NewReader(src, size, j.opt)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if _, err := r.WriteTo(o); err != nil {
		return nil, err
	}
	return r.Stats(), o.commit()
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
	src, size, done, err := openInput(pos[0], os.TempDir())
	if err != nil {
		return err
	}
	defer done()
	h, err := codec.InspectReader(src, size)
	if err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(stdout, h)
	}
	o := h.Original
	fmt.Fprintf(stdout, "original:      %s, %d bytes, %s, sha256 %s\n", o.Name, o.Size, o.Format, o.SHA256)
	nf, no, kind := 0, 0, "float32"
	for _, s := range o.Segments {
		switch s.Kind {
		case "float32le":
			nf++
		case "float16le":
			nf, kind = nf+1, "16-bit float"
		default:
			no++
		}
	}
	fmt.Fprintf(stdout, "segments:      %d %s (%d bytes), %d other (%d bytes, %s -> %d bytes)\n",
		nf, kind, h.FloatBytes, no, h.Other.Symbols, h.OtherCodec, h.Other.Length)
	for _, s := range o.Segments {
		if s.Name != "" || s.DType != "" {
			lr := ""
			if s.LowRank != "" && len(s.Shape) == 2 {
				lr = ", low-rank transform: bad plan"
				if p, err := lowrank.DecodePlan(s.LowRank, int(s.Shape[0]), int(s.Shape[1])); err == nil {
					lr = fmt.Sprintf(", low-rank transform: rank %d", len(p.Basis))
				}
			}
			fmt.Fprintf(stdout, "  %-9s %-24s %-5s %v %d bytes%s\n", s.Kind, s.Name, s.DType, s.Shape, s.Length, lr)
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
	fmt.Fprintf(stdout, "file:          %d bytes, %.2f%% of the original\n", size,
		100*float64(size)/max(float64(o.Size), 1))
	return nil
}

// Operating points of compress --level: the prior for raw floats and the
// one for text formats (the float priors code raw floats only).
var levels = map[string][2]string{
	"fast":   {"fcm", "order2"},
	"strong": {"fcm2", "cm"},
}

// levelPrior returns the prior to use: the one given, or that of the level
// (default fast) for the serialization format.
func levelPrior(level, pr, format string) (string, error) {
	if pr != "" {
		if level != "" {
			return "", fmt.Errorf("%w: give --prior or --level, not both", errUsage)
		}
		return pr, nil
	}
	if level == "" {
		level = "fast"
	}
	l, ok := levels[level]
	if !ok {
		return "", fmt.Errorf("%w: --level %q (fast or strong)", errUsage, level)
	}
	if format != "" && format != codec.FormatRaw {
		return l[1], nil
	}
	return l[0], nil
}
