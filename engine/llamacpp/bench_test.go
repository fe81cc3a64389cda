//go:build enginebench && unix

// This file holds the engine's measurements on real-size models. They are
// not CI tests: they need big GGUF files, take minutes and print numbers
// rather than check them (apart from the agreement criteria). Run them
// with the build tag and the models named in the environment:
//
//	lmgc model gen --shape tinyllama-1.1b --type q8_0 --seed 1 -o /tmp/tinyllama-q8_0.gguf
//	lmgc model gen --shape llama2-7b --type q8_0 --seed 1 -o /tmp/llama2-7b-q8_0.gguf
//	LMGC_BENCH_MODELS=/tmp/tinyllama-q8_0.gguf,/tmp/llama2-7b-q8_0.gguf \
//	  go test -tags enginebench -run 'TestBench' -v -timeout 60m ./engine/llamacpp
//
// TestBenchAgreement uses the first model of LMGC_BENCH_MODELS (or
// LMGC_BENCH_AGREE_MODEL). Other knobs: LMGC_BENCH_POSITIONS (agreement,
// default 128), LMGC_BENCH_TOKENS (speed, default 16), LMGC_BENCH_ROUNDS
// (default 2), LMGC_BENCH_THREADS (both engines, default 2),
// LMGC_BENCH_MODES (speed: "decode", "batch" or both, comma-separated;
// default both).

package llamacpp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/llama"
	"github.com/lmgc/lmgc/engine/tokenizer"
)

func benchEnvInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

func benchModels(t *testing.T) []string {
	s := os.Getenv("LMGC_BENCH_MODELS")
	if s == "" {
		t.Skip("set LMGC_BENCH_MODELS to a comma-separated list of GGUF files")
	}
	return strings.Split(s, ",")
}

// hexText returns the H_s serialization (LM-GC's hex-space) of n float32
// values drawn like gradients (normal, σ = 1e-3).
func hexText(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 7))
	var sb strings.Builder
	for i := range n {
		if i > 0 {
			sb.WriteByte(' ')
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(r.NormFloat64()*1e-3)))
		fmt.Fprintf(&sb, "%x", b[:])
	}
	return sb.String()
}

// hexPrompt returns BOS followed by the model's tokens of hex text, n
// tokens in all.
func hexPrompt(t *testing.T, path string, n int, seed uint64) []int32 {
	tok, err := tokenizer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ids := append([]int32{tok.BOS()}, tok.Encode(hexText(n, seed), false)...)
	if len(ids) < n {
		t.Fatalf("%d tokens of hex text, want %d", len(ids), n)
	}
	return ids[:n]
}

// TestBenchAgreement compares the distributions of lmgc's engine and
// llama.cpp (f16 KV cache, no flash attention) position by position on hex
// text.
func TestBenchAgreement(t *testing.T) {
	needLlamaCpp(t)
	path := os.Getenv("LMGC_BENCH_AGREE_MODEL")
	if path == "" {
		path = benchModels(t)[0]
	}
	n := benchEnvInt(t, "LMGC_BENCH_POSITIONS", 128)
	threads := benchEnvInt(t, "LMGC_BENCH_THREADS", 2)
	toks := hexPrompt(t, path, n, 1)
	gf, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	margin := FileTieMargin(gf)
	gf.Close()

	start := time.Now()
	rr, err := Run([]Job{{Model: path, Tokens: toks}}, WithThreads(threads))
	if err != nil {
		t.Fatal(err)
	}
	ref := rr[0].Probs
	t.Logf("llama.cpp (CPU variant %s): %d positions in %v", rr[0].Variant, n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	ours := engineLogits(t, path, toks)
	t.Logf("engine: %d positions in %v", n, time.Since(start).Round(time.Millisecond))
	s, err := CompareLogits(ref, ours, margin)
	if err != nil {
		t.Fatal(err)
	}
	// Where along the window the differences are: mean KL per quarter.
	for q := range 4 {
		lo, hi := q*n/4, (q+1)*n/4
		qs, err := CompareLogits(ref[lo:hi], ours[lo:hi], margin)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("positions %d-%d: %v", lo, hi-1, qs)
	}
	// How sensitive the model is to rounding: llama.cpp against itself
	// with an f32 instead of an f16 KV cache.
	ref32, err := Probs(path, toks, WithThreads(threads), WithKVCache("f32"))
	if err != nil {
		t.Fatal(err)
	}
	s32, err := Compare(ref, ref32, margin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("llama.cpp f16 KV cache vs llama.cpp f32 KV cache: %v", s32)
	s32, err = CompareLogits(ref32, ours, margin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("llama.cpp f32 KV cache vs engine (f16 KV cache): %v", s32)
	checkAgreement(t, path, s)
}

// speed is one timed evaluation.
type speed struct {
	Tokens int     `json:"tokens"`
	Wall   float64 `json:"wall"` // seconds
	CPU    float64 `json:"cpu"`  // seconds, user+system of the evaluating process
	MaxRSS float64 `json:"maxRSS"`
}

func (s speed) String() string {
	return fmt.Sprintf("%6.2f tok/s wall, %7.3f CPU-s/tok (%d tokens, %.1f s wall, %.1f s CPU)",
		float64(s.Tokens)/s.Wall, s.CPU/float64(s.Tokens), s.Tokens, s.Wall, s.CPU)
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// oursSpeed evaluates toks with lmgc's engine, memory-mapped: either one
// Forward call per token (decode) or one call for all (batch), logits of
// every position.
func oursSpeed(t *testing.T, path string, toks []int32, threads int, batch bool) speed {
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := llama.Load(f, llama.WithThreads(threads))
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(1, len(toks))
	if err != nil {
		t.Fatal(err)
	}
	logits := make([][]float32, len(toks))
	for i := range logits {
		logits[i] = make([]float32, m.VocabSize())
	}
	start, c0 := time.Now(), cpuSeconds()
	if batch {
		err = st.Forward(make([]int, len(toks)), toks, logits)
	} else {
		for i := range toks {
			if err = st.Forward([]int{0}, toks[i:i+1], logits[i:i+1]); err != nil {
				break
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return speed{Tokens: len(toks), Wall: time.Since(start).Seconds(), CPU: cpuSeconds() - c0}
}

// speedJS times llama.cpp through node-llama-cpp: the model memory-mapped
// (node-llama-cpp's default), no flash attention, f16 KV cache, the given
// threads; the tokens are evaluated one per call (decode) or in one call
// (batch), each call producing the next-token distribution of its last
// position. It prints one JSON speed object.
const speedJS = `
import { getLlama, LlamaLogLevel } from "NODE_LLAMA_CPP";
const [path, toksJSON, threads, batch] = process.argv.slice(2);
const toks = JSON.parse(toksJSON);
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
const size = Math.ceil(toks.length / 256) * 256;
const context = await model.createContext({ contextSize: size, batchSize: size, sequences: 1,
    flashAttention: false, threads: Number(threads) });
const seq = context.getSequence({ contextShift: { size: 0 } });
const next = { generateNext: { token: true, options: { temperature: 0 } } };
const t0 = performance.now(), c0 = process.cpuUsage();
if (batch === "1") {
    await seq.controlledEvaluate(toks.map((t, i) => (i === toks.length - 1 ? [t, next] : t)));
} else {
    for (const t of toks)
        await seq.controlledEvaluate([[t, next]]);
}
const wall = (performance.now() - t0) / 1000, c = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ tokens: toks.length, wall, cpu: (c.user + c.system) / 1e6,
    maxRSS: process.resourceUsage().maxRSS * 1024 }) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
`

func llamaCppSpeed(t *testing.T, path string, toks []int32, threads int, batch bool) speed {
	tj, _ := json.Marshal(toks)
	b := "0"
	if batch {
		b = "1"
	}
	// node-llama-cpp tests its binary in a child process, which fails for
	// a script given with -e; so the script goes to a file, importing the
	// package by its path.
	index := filepath.Join(dir(), "node_modules", "node-llama-cpp", "dist", "index.js")
	script := filepath.Join(t.TempDir(), "speed.mjs")
	js := strings.Replace(speedJS, "NODE_LLAMA_CPP", "file://"+filepath.ToSlash(index), 1)
	if err := os.WriteFile(script, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nodePath, script, path, string(tj), strconv.Itoa(threads), b)
	cmd.Dir = dir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v: %s", err, stderr.String())
	}
	var s speed
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("node output %q: %v", stdout.String(), err)
	}
	return s
}

// TestBenchSpeed measures tokens per second of both engines on every model
// of LMGC_BENCH_MODELS, interleaved (ours, llama.cpp, ours, ...) so that
// both see the same machine state, decoding one token per call and
// evaluating the same tokens as one batch. CPU time is reported too: on a
// shared machine it is the steadier number.
func TestBenchSpeed(t *testing.T) {
	needLlamaCpp(t)
	n := benchEnvInt(t, "LMGC_BENCH_TOKENS", 16)
	rounds := benchEnvInt(t, "LMGC_BENCH_ROUNDS", 2)
	threads := benchEnvInt(t, "LMGC_BENCH_THREADS", 2)
	modes := os.Getenv("LMGC_BENCH_MODES")
	if modes == "" {
		modes = "decode,batch"
	}
	for _, path := range benchModels(t) {
		toks := hexPrompt(t, path, n, 2)
		for r := 1; r <= rounds; r++ {
			for _, batch := range []bool{false, true} {
				mode := "decode"
				if batch {
					mode = "batch"
				}
				if !slices.Contains(strings.Split(modes, ","), mode) {
					continue
				}
				if batch {
					mode = "batch "
				}
				ours := oursSpeed(t, path, toks, threads, batch)
				t.Logf("%s round %d %s %d threads: lmgc      %v", path, r, mode, threads, ours)
				ref := llamaCppSpeed(t, path, toks, threads, batch)
				t.Logf("%s round %d %s %d threads: llama.cpp %v, max RSS %.2f GB", path, r, mode, threads, ref, ref.MaxRSS/1e9)
			}
		}
	}
}
