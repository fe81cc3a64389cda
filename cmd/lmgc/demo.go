package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/lmgc/lmgc/baseline"
	"github.com/lmgc/lmgc/codec"
	"github.com/lmgc/lmgc/internal/atomicfile"
	"github.com/lmgc/lmgc/prior/llm"
	"github.com/lmgc/lmgc/sample"
	"github.com/lmgc/lmgc/tensorio"
)

func init() {
	register("demo", "compress the embedded sample gradient with every prior and baseline, verifying each", runDemo)
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	llmFloats := fs.Int("llm-floats", 2048, "floats of the sample given to the (slow) LLM prior")
	threads := fs.Int("threads", 0, "threads (default: all CPUs)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if _, err := parseArgs(fs, args); err != nil {
		return err
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
	fmt.Fprintf(stdout, "%-44s %10s %8s %10s %8s  %s\n", "method", "bytes", "rate %", "ideal", "seconds", "round trip")

	row := func(name string, orig, comp int, ideal float64, secs float64) {
		id := "-"
		if ideal > 0 {
			id = fmt.Sprintf("%.0f", ideal)
		}
		fmt.Fprintf(stdout, "%-44s %10d %8.2f %10s %8.2f  verified\n", name, comp, 100*float64(comp)/float64(orig), id, secs)
	}
	for _, name := range []string{"gzip", "lzma"} {
		c, _ := baseline.ByName(name)
		if err := baseline.Available(c); err != nil {
			fmt.Fprintf(stdout, "%-44s skipped: %v\n", name, err)
			continue
		}
		r, err := baseline.Measure(c, src, false)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		label := map[string]string{"gzip": "gzip -9", "lzma": "xz -6 (lzma)"}[name]
		row(label, len(src), int(r.Compressed), 0, r.CompressSeconds+r.DecompressSeconds)
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
		row(label, len(data), buf.Len(), st.IdealBytes, time.Since(start).Seconds())
		return nil
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

	// The LLM prior: stories260K, carried in the binary.
	dir, remove, err := atomicfile.TempDir("", "lmgc-demo-") // removed on a signal too
	if err != nil {
		return err
	}
	defer remove()
	model := filepath.Join(dir, "stories260K.gguf")
	if err := os.WriteFile(model, sample.Stories260K, 0o644); err != nil {
		return err
	}
	n := min(*llmFloats*4, len(floats))
	slice := floats[:n]
	fmt.Fprintf(stdout, "\nLM-GC with an LLM prior on the first %d floats (%d bytes, raw float32):\n", n/4, n)
	if err := run("lmgc order2 (same slice)", slice, "slice.f32", codec.Options{}); err != nil {
		return err
	}
	for _, c := range []struct {
		label string
		cfg   llm.Config
	}{
		{"lmgc llm stories260K, constrained, hs", llm.Config{Mode: llm.Constrained}},
		{"lmgc llm stories260K, paper mode, hs", llm.Config{Mode: llm.Paper}},
	} {
		opt := codec.Options{Prior: "llm", Model: model, Format: "hs", Window: 512, LLM: c.cfg}
		if err := run(c.label, slice, "slice.f32", opt); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, `
stories260K is a 260k-parameter model trained on children's stories whose
vocabulary file is lost (only its byte tokens work); it has never seen hex
text, so it predicts digits nearly uniformly and cannot beat the baselines.
It is here to show the pipeline: text serialization, deterministic inference,
arithmetic coding and a verified decode. Load a real LLM (TinyLlama, Llama-2,
Qwen2.5 GGUF files) with: lmgc compress --prior llm --model FILE.gguf IN`)
	return nil
}
