//go:build enginebench && unix

// TestBenchContext is llama.cpp's reference at lmgc's own context lengths:
// lmgc codes windows of N model positions (the CLI default is 2048), while
// TestBenchSpeed's one batch of 128 tokens from an empty context attends
// to 64 positions on average. For each model of LMGC_BENCH_MODELS and each
// context N it runs llama.cpp (ctxbench.mjs) on exactly the positions lmgc
// evaluates for a real gradient (prior/llm's ModelInputs: BOS, one token
// per hex digit, a separator token after each float):
//
//   - prompt at N: one sequence of N positions (window 0 of the gradient's
//     coding, in a window of N+9 so that it holds N), context N, as
//     prompt processing in llama_decode calls of 512 tokens (llama.cpp's
//     default n_ubatch) and of N tokens (one call), logits of each call's
//     last token; and in calls of 512 with the logits of every position.
//     lmgc's encode (prior/llm's Score) evaluates its windows in
//     Forward calls of 512 positions too.
//   - lock-step decode: the W windows of the gradient's coding with
//     window N (W as lmgc has them), one sequence each (n_seq_max W), every
//     llama_decode advancing each unfinished sequence by one token with
//     its logits: lmgc's decode schedule.
//
// Positions per second (wall) and CPU ms per position, over all positions
// of the run. It is a benchmark: it prints numbers, it checks none. Run
// it next to `lmgc model bench` with scripts/ctx-bench.sh, or alone:
//
//	LMGC_BENCH_MODELS=/tmp/smol-q8_0.gguf LMGC_BENCH_CONTEXTS=512:4096,2048:16384 \
//	  go test -tags enginebench -count=1 -run TestBenchContext -v -timeout 60m ./engine/llamacpp
//
// Knobs: LMGC_BENCH_CONTEXTS (context N : coded hex digits, as `lmgc model
// bench --window N --tokens T`; default 512:4096,2048:16384: 10 windows
// each), LMGC_BENCH_INPUT (gradient file; default
// testdata/gradients/convnet-cifar10-2ep/grad-000754.npy),
// LMGC_BENCH_THREADS (default 2), LMGC_BENCH_FLASH (llama.cpp flash
// attention: 0, 1 or 0,1; default 0, as the other references),
// LMGC_BENCH_CTX_RUNS (which of prompt512, promptN, prompt512all, lockstep;
// default all four), LMGC_BENCH_LOCKSTEP_MAX_S (seconds; stop the lock
// step early on a loaded machine: the speed is then that of the shallower
// positions, and says so). Each result is also printed as a line
// "RESULT<TAB>model<TAB>N<TAB>run<TAB>positions/s<TAB>CPU ms/position<TAB>positions<TAB>decodes<TAB>depth"
// for scripts (depth: "full", or "depth D of L" for a lock step stopped early).

package llamacpp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/internal/testenv"
	"github.com/lmgc/lmgc/prior/llm"
	"github.com/lmgc/lmgc/tensorio"
)

// ctxRun is one run of ctxbench.mjs.
type ctxRun struct {
	Name   string `json:"-"`
	Mode   string `json:"mode"`
	Batch  int    `json:"batch,omitempty"`
	Logits string `json:"logits"`
	// MaxSeconds > 0 stops a lock-step run after the first step that ends
	// that late (see ctxbench.mjs).
	MaxSeconds float64   `json:"maxSeconds,omitempty"`
	Sequences  [][]int32 `json:"sequences"`
}

type ctxResult struct {
	Mode        string  `json:"mode"`
	Positions   int     `json:"positions"`
	Decodes     int     `json:"decodes"`
	Depth       int     `json:"depth"`
	Wall        float64 `json:"wall"`
	CPU         float64 `json:"cpu"`
	ContextSize int     `json:"contextSize"`
	BatchSize   int     `json:"batchSize"`
	Threads     int     `json:"threads"`
}

// benchGradient returns the first n float32 values (bytes) of a tensor
// file's float32 data.
func benchGradient(t *testing.T, path string, n int) []byte {
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	format := tensorio.Detect(path, src[:min(len(src), 64)])
	lay, err := tensorio.ParseLayout(format, bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []byte
	for _, s := range lay.Segments {
		if s.Kind == tensorio.Float32LE && len(out) < 4*n {
			out = append(out, src[s.Offset:s.Offset+min(s.Length, int64(4*n-len(out)))]...)
		}
	}
	if len(out) < 4*n {
		t.Fatalf("%s holds %d floats, fewer than %d", path, len(out)/4, n)
	}
	return out
}

// modelInputs returns lmgc's model positions, per window, for data coded
// in constrained mode with windows of window positions.
func modelInputs(t *testing.T, path string, window int, data []byte) [][]int32 {
	p, err := llm.Open(path, llm.Config{Mode: llm.Constrained, Window: window, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	in, err := p.ModelInputs(data)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func runCtxBench(t *testing.T, path string, threads int, flash bool, runs []ctxRun) (string, []ctxResult) {
	job, err := json.Marshal(map[string]any{"model": path, "threads": threads, "flashAttention": flash, "runs": runs})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nodePath, "ctxbench.mjs")
	cmd.Dir = dir()
	cmd.Stdin = bytes.NewReader(job)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node ctxbench.mjs: %v: %s", err, stderr.String())
	}
	var out struct {
		Variant string      `json:"variant"`
		Runs    []ctxResult `json:"runs"`
		MaxRSS  float64     `json:"maxRSS"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("ctxbench output %q: %v", stdout.String(), err)
	}
	if len(out.Runs) != len(runs) {
		t.Fatalf("ctxbench: %d results for %d runs", len(out.Runs), len(runs))
	}
	return fmt.Sprintf("CPU variant %s, max RSS %.0f MB", out.Variant, out.MaxRSS/1e6), out.Runs
}

func TestBenchContext(t *testing.T) {
	needLlamaCpp(t)
	threads := benchEnvInt(t, "LMGC_BENCH_THREADS", 2)
	input := os.Getenv("LMGC_BENCH_INPUT")
	if input == "" {
		input = filepath.Join(testenv.RepoRoot(t), "testdata", "gradients", "convnet-cifar10-2ep", "grad-000754.npy")
	}
	spec := os.Getenv("LMGC_BENCH_CONTEXTS")
	if spec == "" {
		spec = "512:4096,2048:16384"
	}
	var flashes []bool
	fs := os.Getenv("LMGC_BENCH_FLASH")
	if fs == "" {
		fs = "0"
	}
	for _, f := range strings.Split(fs, ",") {
		if f != "0" && f != "1" {
			t.Fatalf("LMGC_BENCH_FLASH=%q: want 0, 1 or 0,1", fs)
		}
		flashes = append(flashes, f == "1")
	}
	maxSeconds := 0.0
	if s := os.Getenv("LMGC_BENCH_LOCKSTEP_MAX_S"); s != "" {
		maxSeconds = float64(benchEnvInt(t, "LMGC_BENCH_LOCKSTEP_MAX_S", 0))
	}
	which := []string{"prompt512", "promptN", "prompt512all", "lockstep"}
	if s := os.Getenv("LMGC_BENCH_CTX_RUNS"); s != "" {
		which = strings.Split(s, ",")
	}
	type ctxCase struct{ n, digits int }
	var cases []ctxCase
	for _, c := range strings.Split(spec, ",") {
		ns, ds, ok := strings.Cut(c, ":")
		n, err1 := strconv.Atoi(ns)
		d, err2 := strconv.Atoi(ds)
		if !ok || err1 != nil || err2 != nil || n < 16 || d < 8 {
			t.Fatalf("LMGC_BENCH_CONTEXTS: %q is not N:DIGITS (N >= 16, DIGITS >= 8)", c)
		}
		cases = append(cases, ctxCase{n, d})
	}
	for _, path := range benchModels(t) {
		for _, c := range cases {
			// lmgc's positions: computed with lmgc's prior, whose weights
			// are released before llama.cpp runs.
			data := benchGradient(t, input, max(c.digits/8, c.n/9+2))
			prompt := modelInputs(t, path, c.n+9, data)[0]
			if len(prompt) < c.n {
				t.Fatalf("window 0 holds %d positions, want %d", len(prompt), c.n)
			}
			prompt = prompt[:c.n]
			windows := modelInputs(t, path, c.n, data[:4*(c.digits/8)])
			debug.FreeOSMemory()
			positions, longest := 0, 0
			for _, w := range windows {
				positions += len(w)
				longest = max(longest, len(w))
			}
			var runs []ctxRun
			for _, name := range which {
				switch name {
				case "prompt512":
					runs = append(runs, ctxRun{Name: name, Mode: "prompt", Batch: 512, Logits: "last", Sequences: [][]int32{prompt}})
				case "promptN":
					runs = append(runs, ctxRun{Name: name, Mode: "prompt", Batch: c.n, Logits: "last", Sequences: [][]int32{prompt}})
				case "prompt512all":
					runs = append(runs, ctxRun{Name: name, Mode: "prompt", Batch: 512, Logits: "all", Sequences: [][]int32{prompt}})
				case "lockstep":
					runs = append(runs, ctxRun{Name: name, Mode: "lockstep", Logits: "all", MaxSeconds: maxSeconds, Sequences: windows})
				default:
					t.Fatalf("LMGC_BENCH_CTX_RUNS: unknown run %q (want prompt512, promptN, prompt512all, lockstep)", name)
				}
			}
			t.Logf("%s, context %d: %d floats of %s; prompt %d positions; lock step %d windows, %d positions",
				filepath.Base(path), c.n, c.digits/8, filepath.Base(input), len(prompt), len(windows), positions)
			for _, flash := range flashes {
				info, res := runCtxBench(t, path, threads, flash, runs)
				fa := "no flash attention"
				if flash {
					fa = "flash attention"
				}
				for i, r := range res {
					name := runs[i].Name
					depth := "full"
					if runs[i].Mode == "lockstep" && r.Depth < longest {
						depth = fmt.Sprintf("depth %d of %d", r.Depth, longest)
						t.Logf("lock step stopped after %.0f s (LMGC_BENCH_LOCKSTEP_MAX_S): %d of %d steps, %d of %d positions",
							maxSeconds, r.Depth, longest, r.Positions, positions)
					}
					if flash {
						name += "+fa"
					}
					t.Logf("%s N=%d llama.cpp %-15s %8.1f positions/s wall, %.3f ms CPU/position (%d positions, %d llama_decode, ctx %d/seq, n_batch %d, %d threads, %s; %.2f s wall)",
						filepath.Base(path), c.n, name, float64(r.Positions)/r.Wall, 1000*r.CPU/float64(r.Positions),
						r.Positions, r.Decodes, r.ContextSize, r.BatchSize, r.Threads, fa, r.Wall)
					fmt.Printf("RESULT\t%s\t%d\t%s\t%.1f\t%.3f\t%d\t%d\t%s\n", filepath.Base(path), c.n, name,
						float64(r.Positions)/r.Wall, 1000*r.CPU/float64(r.Positions), r.Positions, r.Decodes, depth)
				}
				t.Logf("%s", info)
			}
		}
	}
}
