package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lmgc/lmgc/baseline"
	"github.com/lmgc/lmgc/codec"
	"github.com/lmgc/lmgc/internal/atomicfile"
	"github.com/lmgc/lmgc/internal/models"
	"github.com/lmgc/lmgc/prior/llm"
	"github.com/lmgc/lmgc/sample"
	"github.com/lmgc/lmgc/tensorio"
)

func init() {
	register("demo", "compress the embedded sample gradient with every prior and baseline, verifying each", runDemo)
}

// Defaults of the LLM section's slice (--llm-floats 0): a pretrained
// model costs 9 positions per float (8 hex digits and a separator) at a
// few hundred positions per second on a 2-core CPU (docs/BENCHMARKS.md),
// coded and then decoded again, so its slice is small (256 floats: about
// half a minute); stories260K is a thousand times smaller.
const (
	demoFloatsReal    = 256
	demoFloatsStories = 2048
)

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	llmFloats := fs.Int("llm-floats", 0, fmt.Sprintf("floats of the sample given to the (slow) LLM prior (0: %d with SmolLM2 or --model, %d with stories260K)", demoFloatsReal, demoFloatsStories))
	modelFlag := fs.String("model", "", "GGUF model of the LLM section (default: SmolLM2-135M from scripts/models.sh, else stories260K)")
	threads := fs.Int("threads", 0, "threads (default: all CPUs)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if *llmFloats < 0 {
		return fmt.Errorf("%w: --llm-floats must be >= 0", errUsage)
	}
	if *modelFlag != "" {
		if err := checkRegular("model", *modelFlag); err != nil {
			return err
		}
	}
	src := sample.Gradient
	lay, err := tensorio.ParseLayout(tensorio.FormatNPY, bytes.NewReader(src), int64(len(src)))
	if err != nil {
		return err
	}
	var floats []byte
	for _, s := range lay.Segments {
		if s.Kind == tensorio.Float32LE {
			floats = append(floats, src[s.Offset:s.End()]...)
		}
	}
	fmt.Fprintf(stdout, "sample: %s, a real ConvNet/MNIST gradient from lmgc collect: %d float32 values, %d bytes (.npy)\n\n",
		sample.GradientName, len(floats)/4, len(src))
	header := func() {
		fmt.Fprintf(stdout, "%-44s %8s %8s %8s %8s %8s  %s\n", "method", "bytes", "rate %", "streams", "ideal", "seconds", "round trip")
	}
	header()
	row := func(name string, orig, comp int, streams int64, ideal float64, secs float64) {
		st, id := "-", "-"
		if streams >= 0 {
			st = fmt.Sprintf("%d", streams)
		}
		if ideal > 0 {
			id = fmt.Sprintf("%.0f", ideal)
		}
		fmt.Fprintf(stdout, "%-44s %8d %8.2f %8s %8s %8.2f  verified\n", name, comp, 100*float64(comp)/float64(orig), st, id, secs)
	}
	baselines := func(data []byte) error {
		for _, name := range []string{"gzip", "lzma"} {
			c, _ := baseline.ByName(name)
			if err := baseline.Available(c); err != nil {
				fmt.Fprintf(stdout, "%-44s skipped: %v\n", name, err)
				continue
			}
			r, err := baseline.Measure(c, data, false)
			if err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
			label := map[string]string{"gzip": "gzip -9", "lzma": "xz -6 (lzma)"}[name]
			row(label, len(data), int(r.Compressed), -1, 0, r.CompressSeconds+r.DecompressSeconds)
		}
		return nil
	}
	run := func(label string, data []byte, name string, opt codec.Options) error {
		bar := newProgress(stderr, *quiet, label, "sym")
		opt.Threads, opt.Progress = *threads, bar.update
		start := time.Now()
		var buf bytes.Buffer
		st, err := codec.Compress(&buf, data, name, opt)
		bar.done()
		if err != nil {
			return fmt.Errorf("%s: %v", label, err)
		}
		dec := codec.Options{Threads: *threads, Model: opt.Model}
		got, _, err := codec.Decompress(buf.Bytes(), dec)
		if err != nil {
			return fmt.Errorf("%s: decompress: %v", label, err)
		}
		if !bytes.Equal(got, data) {
			return fmt.Errorf("%s: round trip differs", label)
		}
		h, err := codec.Inspect(buf.Bytes())
		if err != nil {
			return fmt.Errorf("%s: inspect: %v", label, err)
		}
		streams := h.Other.Length
		for _, s := range h.Streams {
			streams += s.Length
		}
		row(label, len(data), buf.Len(), streams, st.IdealBytes, time.Since(start).Seconds())
		return nil
	}
	if err := baselines(src); err != nil {
		return err
	}
	if err := run("lmgc order2 (default prior)", src, sample.GradientName, codec.Options{}); err != nil {
		return err
	}
	if err := run("lmgc order2, sign/exponent byte first", src, sample.GradientName, codec.Options{SignFirst: true}); err != nil {
		return err
	}
	if err := run("lmgc cm (context mixing)", src, sample.GradientName, codec.Options{Prior: "cm"}); err != nil {
		return err
	}

	lm, err := demoModel(*modelFlag)
	if err != nil {
		return err
	}
	defer lm.remove()
	n := *llmFloats
	if n == 0 {
		n = demoFloatsReal
		if lm.stories {
			n = demoFloatsStories
		}
	}
	n = min(n*4, len(floats))
	slice := floats[:n]
	fmt.Fprintf(stdout, "\nLM-GC with %s on the first %d floats (%d bytes, raw float32;\n", lm.label, n/4, n)
	fmt.Fprintf(stdout, "\"streams\" is the coded payload without the .lmgc header, \"ideal\" is -sum log2 p / 8):\n")
	if lm.note != "" {
		fmt.Fprintf(stdout, "(%s)\n", lm.note)
	}
	header()
	if err := baselines(slice); err != nil {
		return err
	}
	if err := run("lmgc order2 (same slice)", slice, "slice.f32", codec.Options{}); err != nil {
		return err
	}
	if err := run("lmgc cm (same slice)", slice, "slice.f32", codec.Options{Prior: "cm"}); err != nil {
		return err
	}
	modes := []string{llm.Constrained}
	if lm.stories {
		modes = append(modes, llm.Paper)
	}
	for _, mode := range modes {
		label := fmt.Sprintf("lmgc llm %s, %s, hs", lm.name, mode)
		opt := codec.Options{Prior: "llm", Model: lm.path, Format: "hs", Window: 512, LLM: llm.Config{Mode: mode}}
		if err := run(label, slice, "slice.f32", opt); err != nil {
			return err
		}
	}
	if lm.stories {
		fmt.Fprintln(stdout, `
stories260K is a 260k-parameter model trained on children's stories whose
vocabulary file is lost (only its byte tokens work); it has never seen hex
text, so it predicts digits nearly uniformly and cannot beat the baselines.
It is here to show the pipeline: text serialization, deterministic inference,
arithmetic coding and a verified decode. Install SmolLM2-135M with
bash scripts/models.sh, or load any GGUF model with: lmgc demo --model FILE.gguf`)
	} else {
		fmt.Fprintln(stdout, `
The LLM codes the slice as hex text (hs: 8 hex digits per float), constrained
to the 16 digit tokens; every row above was decoded and compared byte for
byte. On a slice this small the file is mostly the container's header:
compare the streams and ideal columns. docs/RESULTS.md has the real-LLM
tables (lmgc bench) and how they compare with cm.`)
	}
	return nil
}

// demoLLM is the model of the demo's LLM section.
type demoLLM struct {
	path, name, label, note string
	stories                 bool // the embedded stories260K fallback
	remove                  func()
}

// demoModel picks the LLM: the --model file, else SmolLM2-135M from the
// model cache, else stories260K written from the binary to a temporary
// folder (removed by remove, on a signal too).
func demoModel(flagModel string) (*demoLLM, error) {
	if flagModel != "" {
		name := strings.TrimSuffix(filepath.Base(flagModel), ".gguf")
		return &demoLLM{path: flagModel, name: name, label: name + " (--model)", remove: func() {}}, nil
	}
	p, missing := models.Path(models.SmolLM2)
	if missing == nil {
		return &demoLLM{path: p, name: "SmolLM2-135M", remove: func() {},
			label: "SmolLM2-135M-Instruct (Q4_1, pretrained, 135M parameters)"}, nil
	}
	if !errors.Is(missing, models.ErrMissing) {
		return nil, missing // a damaged file is reported, not passed over
	}
	dir, remove, err := atomicfile.TempDir("", "lmgc-demo-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "stories260K.gguf")
	if err := os.WriteFile(path, sample.Stories260K, 0o644); err != nil {
		remove()
		return nil, err
	}
	return &demoLLM{path: path, name: "stories260K", stories: true, remove: remove,
		label: "stories260K (the fallback carried in the binary)",
		note:  "SmolLM2-135M is not installed: " + missing.Error()}, nil
}
