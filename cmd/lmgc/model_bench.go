package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/lmgc/lmgc/codec"
	"github.com/lmgc/lmgc/prior/llm"
	"github.com/lmgc/lmgc/sample"
	"github.com/lmgc/lmgc/tensorio"
)

func init() {
	registerModel("bench", "time LM-GC encode and decode with a GGUF model on real gradient text", runModelBench)
}

// benchDigitsPerFloat and benchPositionsPerFloat describe constrained
// hex-space text with 4-byte groups: 8 coded digits per float, and 9 model
// positions (the digits and a separator, or BOS for a window's first).
const (
	benchDigitsPerFloat    = 8
	benchPositionsPerFloat = 9
)

func runModelBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("model bench", stderr)
	model := fs.String("model", "", "GGUF model `file`")
	tokens := fs.Int("tokens", 16384, "coded hex digits (8 per float) to compress and decompress")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "threads")
	window := fs.Int("window", 2048, "model positions per window")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the encode and decode to `file`")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the encode and decode to `file` (go tool pprof -sample_index=alloc_space)")
	input := fs.String("input", "", "gradient `file` (.npy, .safetensors, ...; default: the embedded "+sample.GradientName+")")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lmgc model bench --model FILE.gguf [--tokens N] [--threads T] [--window N] [--input GRADIENT]")
		fs.PrintDefaults()
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *model == "" || len(rest) > 0 {
		fs.Usage()
		return fmt.Errorf("%w: --model required, no other arguments", errUsage)
	}
	if *tokens < benchDigitsPerFloat || *threads < 1 || *window < 1 {
		return fmt.Errorf("%w: --tokens must be at least %d, --threads and --window at least 1", errUsage, benchDigitsPerFloat)
	}
	src, name := sample.Gradient, sample.GradientName
	if *input != "" {
		if src, err = os.ReadFile(*input); err != nil {
			return err
		}
		name = filepath.Base(*input)
	}
	data, err := benchFloats(src, name, *tokens/benchDigitsPerFloat)
	if err != nil {
		return err
	}
	// One copy of the weights for the compress and the decompress (the
	// load is timed on its own, not in the encode).
	t0, c0 := time.Now(), selfCPU()
	loaded, err := llm.LoadModel(*model, *threads)
	if err != nil {
		return err
	}
	defer loaded.Close()
	loadWall, loadCPU := time.Since(t0).Seconds(), selfCPU()-c0
	opt := codec.Options{Prior: "llm", Model: *model, Window: *window, Threads: *threads,
		LLM: llm.Config{Mode: llm.Constrained, Loaded: loaded}}
	if *profile != "" {
		pf, err := os.Create(*profile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var file bytes.Buffer
	t0, c0 = time.Now(), selfCPU()
	var st *codec.Stats
	// The profile's samples carry a "phase" label (encode, decode):
	// go tool pprof -tagfocus phase=decode.
	pprof.Do(context.Background(), pprof.Labels("phase", "encode"), func(context.Context) {
		st, err = codec.Compress(&file, data, "bench.f32", opt)
	})
	if err != nil {
		return err
	}
	encWall, encCPU := time.Since(t0).Seconds(), selfCPU()-c0
	releaseFreed() // untimed
	t0, c0 = time.Now(), selfCPU()
	var back []byte
	pprof.Do(context.Background(), pprof.Labels("phase", "decode"), func(context.Context) {
		back, _, err = codec.Decompress(file.Bytes(), codec.Options{Model: *model, Threads: *threads, LLM: llm.Config{Loaded: loaded}})
	})
	if err != nil {
		return err
	}
	decWall, decCPU := time.Since(t0).Seconds(), selfCPU()-c0
	if !bytes.Equal(back, data) {
		return fmt.Errorf("model bench: the decoded floats differ from the input")
	}
	floats := len(data) / 4
	positions := float64(benchPositionsPerFloat*floats - st.Windows)
	fmt.Fprintf(stdout, "model %s, %d threads, window %d: %d floats of %s, %d digits coded, %.0f model positions, %d windows\n",
		filepath.Base(*model), *threads, *window, floats, name, st.Tokens, positions, st.Windows)
	fmt.Fprintf(stdout, "model load %.2f s wall, %.2f s CPU (once, shared by the encode and the decode)\n", loadWall, loadCPU)
	fmt.Fprintf(stdout, "encode %.2f s, decode %.2f s (wall)\n", encWall, decWall)
	fmt.Fprintf(stdout, "coded %d bytes (%.3f bits/float), ideal %.1f bytes\n", st.CompressedBytes, st.BitsPerFloat, st.IdealBytes)
	for _, r := range []struct {
		what      string
		wall, cpu float64
	}{{"encode", encWall, encCPU}, {"decode", decWall, decCPU}} {
		fmt.Fprintf(stdout, "%s: %8.1f positions/s  %8.1f digits/s  %6.2f s wall  %6.2f s CPU  %.3f ms CPU/position\n",
			r.what, positions/r.wall, float64(st.Tokens)/r.wall, r.wall, r.cpu, 1000*r.cpu/positions)
	}
	// The decode's KV caches: all windows in one batch, as far as the
	// codec's default memory budget holds them (codec.decodeSchedule).
	kvWindows := int(min(int64(st.Windows), max(1, codec.DefaultBatchMemory/loaded.KVBytes(1, *window))))
	kv := float64(loaded.KVBytes(kvWindows, *window)) / 1e6
	peak := float64(peakRSS()) / 1e6
	if fi, err := os.Stat(*model); err == nil {
		file := float64(fi.Size()) / 1e6
		fmt.Fprintf(stdout, "peak RSS %.1f MB: file %.1f MB + decode KV caches %.1f MB (%d windows) %+.1f %%\n",
			peak, file, kv, kvWindows, 100*(peak/(file+kv)-1))
	} else {
		fmt.Fprintf(stdout, "peak RSS %.1f MB\n", peak)
	}
	if *memProfile != "" {
		return writeAllocProfile(*memProfile)
	}
	return nil
}

// writeAllocProfile writes the allocations of the run so far to path.
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// benchFloats returns the first n floats of the float32 data of a tensor
// file.
func benchFloats(src []byte, name string, n int) ([]byte, error) {
	format := tensorio.Detect(name, src[:min(len(src), 64)])
	lay, err := tensorio.ParseLayout(format, bytes.NewReader(src), int64(len(src)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out []byte
	for _, s := range lay.Segments {
		if s.Kind == tensorio.Float32LE && len(out) < 4*n {
			out = append(out, src[s.Offset:s.Offset+min(s.Length, int64(4*n-len(out)))]...)
		}
	}
	if len(out) < 4*n {
		return nil, fmt.Errorf("%s holds %d floats, fewer than the %d asked for", name, len(out)/4, n)
	}
	return out, nil
}
