package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lmgc/lmgc/baseline"
	"github.com/lmgc/lmgc/bench"
	"github.com/lmgc/lmgc/internal/atomicfile"
	"github.com/lmgc/lmgc/prior"
)

func init() {
	register("bench", "reproduce the paper's tables on a folder of gradient sets", runBench)
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", stderr)
	data := fs.String("data", "", "a gradient set folder (*.npy), or a folder of such folders (required)")
	codecs := fs.String("codecs", "all", "baseline codecs, comma-separated ("+strings.Join(codecNames(), ",")+"), all, none, or list (print them with their versions and exit)")
	priors := fs.String("priors", "order2,cm", "lmgc priors without a model, comma-separated ("+strings.Join(modelFreePriors(), ", ")+"), or none")
	var models []string
	fs.Func("model", "GGUF model for the LLM prior rows (repeatable)", func(s string) error {
		models = append(models, s)
		return nil
	})
	modes := fs.String("modes", "constrained,paper", "LLM prior modes")
	subsets := fs.Int("subsets", 3, "random subsets (draws) per set")
	per := fs.Int("per-subset", 10, "gradient files per subset")
	seed := fs.Uint64("seed", 1, "seed of the subsets, slices and chunk samples")
	maxBytes := fs.Int("max-bytes", 0, "bound each file to a contiguous slice of this many bytes at a seeded offset (0: whole files)")
	chunks := fs.Int("chunks", 0, "chunked runs: 512-byte chunks sampled per file (0: all)")
	llmFloats := fs.Int("llm-floats", 256, "LLM rows: floats at the start of each file (best a multiple of 128: a partial 512-byte chunk is zero-padded and its padding is coded too)")
	llmOffset := fs.Int("llm-offset", 0, "LLM rows: floats skipped at the start of each file before the --llm-floats floats (e.g. to start at a tensor)")
	llmFiles := fs.Int("llm-files", 2, "LLM rows: files per set (the first ones of the first subset)")
	llmFormat := fs.String("llm-format", "hs", "LLM rows: serialization")
	llmWindow := fs.Int("llm-window", 512, "LLM rows: model positions per window")
	windows := fs.String("windows", "", "ablation: context windows, e.g. 256,512,1024,2048")
	groups := fs.String("groups", "", "ablation: bytes per group, e.g. 1,2,3,4,8")
	formats := fs.String("formats", "", "ablation: serializations, e.g. iso,hn,hs,hc,hcs,hsemi")
	ablModel := fs.String("ablation-model", "", "ablation model (default: the last --model)")
	ablSet := fs.String("ablation-set", "", "set of Table 1 and the ablations (default: the first)")
	threads := fs.Int("threads", 0, "codec threads (default: all CPUs)")
	out := fs.String("out", "", "folder for results.md, results.csv, results.json and rates.svg")
	quick := fs.Bool("quick", false, "small run: 1 subset of 2 files, 256 KiB slices, 32 chunks, 128 LLM floats on 1 file")
	from := fs.String("from", "", "render a results.json of an earlier run again instead of running (--data not needed); more results.json files as arguments are merged with it")
	quiet := fs.Bool("quiet", false, "no progress bar")
	verbose := fs.Bool("v", false, "print each row on stderr when it is done")
	jsonOut := fs.Bool("json", false, "print the report as JSON (results.json) on stdout instead of the Markdown tables")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *codecs == "list" {
		return listCodecs(stdout)
	}
	if *from != "" {
		// More results.json files after the first are merged with it
		// (bench.Merge): lmgc bench --from a.json b.json ...
		rep, err := readReports(append([]string{*from}, pos...))
		if err != nil {
			return err
		}
		return writeBench(rep, *out, *jsonOut, stdout)
	}
	if *data == "" || len(pos) > 0 {
		return fmt.Errorf("%w: lmgc bench --data DIR [flags]", errUsage)
	}
	if *llmOffset < 0 {
		return fmt.Errorf("%w: --llm-offset %d is negative", errUsage, *llmOffset)
	}
	cfg := bench.Config{Data: *data, Models: models, Subsets: *subsets, PerSubset: *per, Seed: *seed,
		MaxBytes: *maxBytes, Chunks: *chunks, LLMFloats: *llmFloats, LLMOffset: *llmOffset, LLMFiles: *llmFiles, LLMFormat: *llmFormat,
		LLMWindow: *llmWindow, AblationModel: *ablModel, AblationSet: *ablSet, Threads: *threads,
		Modes: splitList(*modes), Priors: splitList(*priors), Formats: splitList(*formats)}
	if *quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]*int{"subsets": subsets, "per-subset": per, "max-bytes": maxBytes,
			"chunks": chunks, "llm-floats": llmFloats, "llm-files": llmFiles} {
			if set[name] {
				continue
			}
			q := map[string]int{"subsets": 1, "per-subset": 2, "max-bytes": 256 << 10, "chunks": 32, "llm-floats": 128, "llm-files": 1}[name]
			*v = q
		}
		cfg.Subsets, cfg.PerSubset, cfg.MaxBytes, cfg.Chunks = *subsets, *per, *maxBytes, *chunks
		cfg.LLMFloats, cfg.LLMFiles = *llmFloats, *llmFiles
	}
	if cfg.Windows, err = intList("windows", *windows); err != nil {
		return err
	}
	if cfg.Groups, err = intList("groups", *groups); err != nil {
		return err
	}
	switch *codecs {
	case "all":
		cfg.Codecs = baseline.All()
	case "none", "":
	default:
		for _, n := range splitList(*codecs) {
			c, err := baseline.ByName(n)
			if err != nil {
				return fmt.Errorf("%w: %v", errUsage, err)
			}
			cfg.Codecs = append(cfg.Codecs, c)
		}
	}
	if len(cfg.Priors) == 1 && cfg.Priors[0] == "none" {
		cfg.Priors = nil
	}
	for _, p := range cfg.Priors {
		if info, ok := prior.Lookup(p); !ok || info.NeedsModel {
			return fmt.Errorf("%w: --priors: unknown prior %q (%s; the llm prior is run with --model)", errUsage, p, strings.Join(modelFreePriors(), ", "))
		}
	}
	for _, m := range append(append([]string{}, models...), *ablModel) {
		if m == "" {
			continue
		}
		if err := checkRegular("model", m); err != nil {
			return err
		}
	}
	if *out != "" { // fail before the run, not after it
		if err := checkFolder(*out, "results.json"); err != nil {
			return err
		}
	}

	// The first SIGINT or SIGTERM stops the run after the current
	// measurement; the rows completed are printed and written, marked
	// incomplete. A second one stops at once (see signals.go).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer onInterrupt(cancel)()
	bar := newProgress(stderr, *quiet, "bench", "runs")
	cfg.Progress = bar.update
	if *verbose {
		cfg.Log = func(s string) {
			bar.done() // clears the bar line; the next update redraws it
			fmt.Fprintln(stderr, s)
		}
	}
	rep, err := bench.Run(ctx, cfg)
	bar.done()
	if rep == nil {
		return err
	}
	rep.Command = "lmgc bench " + strings.Join(args, " ")
	if werr := writeBench(rep, *out, *jsonOut, stdout); werr != nil {
		return werr
	}
	if errors.Is(err, context.Canceled) {
		how := "interrupted"
		if sig := interrupted(); sig != nil {
			how += " by " + signalName(sig)
		}
		return fmt.Errorf("%s: %d rows completed, the report is marked incomplete", how, len(rep.Rows))
	}
	return err
}

// readReports reads the results.json files at paths and merges them.
func readReports(paths []string) (*bench.Report, error) {
	var reps []*bench.Report
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		rep, err := bench.ReadJSON(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		reps = append(reps, rep)
	}
	if len(reps) == 1 {
		return reps[0], nil
	}
	return bench.Merge(reps)
}

// writeBench prints the Markdown tables of rep (its JSON with jsonOut)
// and, when out is set, writes results.md, results.csv, results.json and
// rates.svg into it.
func writeBench(rep *bench.Report, out string, jsonOut bool, stdout io.Writer) error {
	render := bench.WriteMarkdown
	if jsonOut {
		render = bench.WriteJSON
	}
	var b bytes.Buffer
	if err := render(&b, rep); err != nil {
		return err
	}
	if _, err := stdout.Write(b.Bytes()); err != nil {
		return err
	}
	if out == "" {
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// All four files are written before any is renamed into place, so a
	// full disk leaves none of them.
	files := []struct {
		name  string
		write func(io.Writer, *bench.Report) error
	}{{"results.md", bench.WriteMarkdown}, {"results.csv", bench.WriteCSV}, {"results.json", bench.WriteJSON}, {"rates.svg", bench.WriteSVG}}
	var pending []*atomicfile.File
	defer func() {
		for _, f := range pending {
			f.Abort() // no-op once committed
		}
	}()
	for _, f := range files {
		var b bytes.Buffer
		if err := f.write(&b, rep); err != nil {
			return err
		}
		dst, err := atomicfile.Create(filepath.Join(out, f.name), 0o644)
		if err != nil {
			return err
		}
		pending = append(pending, dst)
		if _, err := dst.Write(b.Bytes()); err != nil {
			return err
		}
	}
	for _, f := range pending {
		if err := f.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func codecNames() []string {
	var names []string
	for _, c := range baseline.All() {
		names = append(names, c.Name())
	}
	return names
}

// listCodecs prints every baseline codec: name, version or why it cannot
// run here, and settings.
func listCodecs(w io.Writer) error {
	var b strings.Builder
	for _, c := range baseline.All() {
		state := baseline.Version(c)
		if err := baseline.Available(c); err != nil {
			state = "unavailable: " + err.Error()
		}
		fmt.Fprintf(&b, "%-18s %s\n%-18s %s\n", c.Name(), state, "", baseline.Describe(c))
	}
	b.WriteString("A name with /16 (pcodec/16) reads the data as 16-bit elements, where the codec has that variant.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func intList(name, s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%w: --%s: %q is not a positive number", errUsage, name, f)
		}
		out = append(out, n)
	}
	return out, nil
}
