// Package llamacpp runs llama.cpp as a reference for lmgc's Go transformer
// engine and measures how closely two sets of next-token distributions
// agree.
//
// llama.cpp is reached through the npm package node-llama-cpp (pinned in
// package.json next to this file; install it with
// "npm ci --omit=optional --ignore-scripts" in this directory), which ships
// prebuilt CPU binaries; the Node script refrun.mjs does the work. Nothing here is needed to compress or decompress: the
// package exists for tests, which call Available and skip when it reports
// a reason.
//
// The binaries hold one build of ggml's CPU backend per x86
// micro-architecture (libggml-cpu-haswell.so, -zen4.so,
// -sapphirerapids.so, -x64.so, ...) and ggml loads the best one the CPU
// supports, so llama.cpp's float32 rounding, and with it the last bits of
// its distributions, depends on the machine. WithVariant (or VariantEnv)
// forces one; Result.Variant says which ran. Comparisons therefore excuse
// argmax disagreements at near ties (TieMargin) and the agreement tests run
// against two variants.
package llamacpp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// DirEnv names the environment variable that overrides the directory
// holding refrun.mjs and its node_modules (by default the directory of this
// source file, or the working directory, as for this package's tests, when
// the binary was built with -trimpath).
const DirEnv = "LMGC_LLAMACPP_DIR"

// dir returns the directory of refrun.mjs.
func dir() string {
	if d := os.Getenv(DirEnv); d != "" {
		return d
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Dir(file)
	}
	d, _ := os.Getwd()
	return d
}

var (
	availOnce sync.Once
	availErr  error
	nodePath  string
)

// Available reports why llama.cpp cannot be run here, or nil if it can:
// node (version 20 or later) must be on the PATH, and refrun.mjs with an
// installed node-llama-cpp and its linux-x64 binaries must be in the
// package directory. Tests pass the error to t.Skip.
func Available() error {
	availOnce.Do(func() { availErr = available() })
	return availErr
}

func available() error {
	d := dir()
	if d == "" {
		return errors.New("llamacpp: cannot locate the package directory (set " + DirEnv + ")")
	}
	var err error
	nodePath, err = exec.LookPath("node")
	if err != nil {
		return errors.New("llamacpp: node is not installed")
	}
	out, err := exec.Command(nodePath, "--version").Output()
	if err != nil {
		return fmt.Errorf("llamacpp: node --version: %v", err)
	}
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	if err != nil || major < 20 {
		return fmt.Errorf("llamacpp: node %s is too old (node-llama-cpp needs 20 or later)", v)
	}
	for _, p := range []string{
		"refrun.mjs",
		"ggmlcpu.mjs",
		"node_modules/node-llama-cpp/package.json",
		"node_modules/@node-llama-cpp/" + runtime.GOOS + "-" + nodeArch() + "/package.json",
	} {
		if _, err := os.Stat(filepath.Join(d, p)); err != nil {
			return fmt.Errorf("llamacpp: %s missing in %s (run \"npm ci --omit=optional --ignore-scripts\" there)", p, d)
		}
	}
	return nil
}

func nodeArch() string {
	if runtime.GOARCH == "amd64" {
		return "x64"
	}
	return runtime.GOARCH
}

// VariantEnv names the environment variable that selects the CPU variant of
// llama.cpp's ggml to run (see WithVariant) when no option does.
const VariantEnv = "LMGC_LLAMACPP_VARIANT"

// ErrVariantUnsupported is returned (wrapped) by Run when the forced CPU
// variant cannot run on this CPU: ggml scores it 0 because an instruction
// set it was built for is missing.
var ErrVariantUnsupported = errors.New("llamacpp: CPU variant does not run on this CPU")

// Option configures a llama.cpp run.
type Option func(*config)

type config struct {
	kv      string
	threads int
	variant string
}

// WithKVCache sets the type of llama.cpp's key/value cache: "f16" (the
// default, as in llama.cpp and lmgc's engine) or "f32" (no rounding).
func WithKVCache(typ string) Option {
	return func(c *config) { c.kv = typ }
}

// WithThreads sets the number of threads llama.cpp uses (default 1).
func WithThreads(n int) Option {
	return func(c *config) { c.threads = n }
}

// WithVariant forces the CPU variant of ggml that llama.cpp runs with: name
// is that of one of the package's libggml-cpu-<name>.so (see Variants), for
// example "haswell" (AVX2), "x64" (SSE2 only), "zen4" or "sapphirerapids".
// "" (the default, unless VariantEnv is set) lets ggml pick the best one this
// CPU supports. Result.Variant reports the variant that was loaded.
func WithVariant(name string) Option {
	return func(c *config) { c.variant = name }
}

// Variants lists the CPU variants of ggml that the installed node-llama-cpp
// binaries hold, sorted by name.
func Variants() ([]string, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	bins := filepath.Join(dir(), "node_modules", "@node-llama-cpp", runtime.GOOS+"-"+nodeArch(), "bins")
	files, err := filepath.Glob(filepath.Join(bins, "*", "libggml-cpu-*.so"))
	if err != nil {
		return nil, err
	}
	var vs []string
	for _, f := range files {
		v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "libggml-cpu-"), ".so")
		if !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("llamacpp: no libggml-cpu-*.so in %s", bins)
	}
	slices.Sort(vs)
	return vs, nil
}

// Job is one evaluation for Run.
type Job struct {
	Model  string  // GGUF file
	Tokens []int32 // the sequence, or the prompt when Generate > 0
	// Generate is 0 to get the distribution after every token, or the
	// number of tokens to generate greedily after the prompt.
	Generate int
	// Incremental (with Generate 0) evaluates the tokens one per llama.cpp
	// call instead of in one batch: llama.cpp's other code path (matrix-
	// vector instead of matrix-matrix products), as in generation.
	Incremental bool
	// Hidden (with Generate 0) asks for llama.cpp's final hidden state of
	// every position (the output RMSNorm, the input of the output
	// projection) instead of the distribution; the tokens are evaluated
	// one at a time. Much cheaper than distributions for large
	// vocabularies.
	Hidden bool
}

// Result is what Run returns for a Job.
type Result struct {
	// Probs has one row per token (Generate 0) or per generated token (the
	// distribution it was chosen from), each over the full vocabulary.
	Probs [][]float32
	// Tokens holds the generated tokens (nil for Generate 0).
	Tokens []int32
	// Hidden has one row of n_embd values per token when Job.Hidden.
	Hidden [][]float32
	// Variant is the CPU variant of ggml that ran (libggml-cpu-<Variant>.so),
	// read back from the llama.cpp process's memory map.
	Variant string
}

// Run runs the jobs in order in one llama.cpp process (no flash attention;
// by default an f16 KV cache, one thread and the CPU variant ggml picks, or
// VariantEnv's). A forced variant this CPU cannot run gives an error
// wrapping ErrVariantUnsupported. For Generate 0, row i of
// Probs is llama.cpp's distribution of the next token given Tokens[0..i]:
// the softmax of its logits over the full vocabulary, as node-llama-cpp
// hands it out with greedy sampling (no temperature, top-k, penalties or
// bias). For Generate n, each generated token is the argmax of the logits
// (end-of-sequence tokens included), evaluated one token at a time.
func Run(jobs []Job, opts ...Option) ([]Result, error) {
	c := config{kv: "f16", threads: 1, variant: os.Getenv(VariantEnv)}
	for _, o := range opts {
		o(&c)
	}
	kv := strings.ToUpper(c.kv)
	if kv != "F16" && kv != "F32" {
		return nil, fmt.Errorf("llamacpp: KV cache type %q is not f16 or f32", c.kv)
	}
	if c.threads < 1 {
		return nil, fmt.Errorf("llamacpp: %d threads", c.threads)
	}
	if strings.Trim(c.variant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
		return nil, fmt.Errorf("llamacpp: CPU variant %q is not a variant name", c.variant)
	}
	if len(jobs) == 0 {
		return nil, errors.New("llamacpp: no jobs")
	}
	for i, j := range jobs {
		if len(j.Tokens) == 0 {
			return nil, fmt.Errorf("llamacpp: job %d has no tokens", i)
		}
		if j.Generate < 0 {
			return nil, fmt.Errorf("llamacpp: job %d: cannot generate %d tokens", i, j.Generate)
		}
		if j.Hidden && j.Generate != 0 {
			return nil, fmt.Errorf("llamacpp: job %d: hidden states are for Generate 0 only", i)
		}
		if j.Incremental && j.Generate > 0 {
			return nil, fmt.Errorf("llamacpp: job %d: Incremental is for Generate 0 (generation is incremental)", i)
		}
	}
	if err := Available(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "lmgc-llamacpp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	type jsonJob struct {
		Model       string  `json:"model"`
		Tokens      []int32 `json:"tokens"`
		Generate    int     `json:"generate"`
		Incremental bool    `json:"incremental"`
		Hidden      bool    `json:"hidden,omitempty"`
		Out         string  `json:"out"`
	}
	jj := make([]jsonJob, len(jobs))
	for i, j := range jobs {
		path, err := filepath.Abs(j.Model)
		if err != nil {
			return nil, err
		}
		jj[i] = jsonJob{path, j.Tokens, j.Generate, j.Incremental, j.Hidden, filepath.Join(tmp, fmt.Sprintf("%d.bin", i))}
	}
	in, err := json.Marshal(jj)
	if err != nil {
		return nil, err
	}
	stdout, err := runRefrun(in, []string{"LMGC_LLAMACPP_KV=" + kv, "LMGC_LLAMACPP_THREADS=" + strconv.Itoa(c.threads), VariantEnv + "=" + c.variant})
	if err != nil {
		return nil, err
	}
	var out struct {
		Variant   string    `json:"variant"`
		Generated [][]int32 `json:"generated"`
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		return nil, fmt.Errorf("llamacpp: reading refrun.mjs output: %v", err)
	}
	gen := out.Generated
	if out.Variant == "" || (c.variant != "" && out.Variant != c.variant) {
		return nil, fmt.Errorf("llamacpp: refrun.mjs ran CPU variant %q, want %q", out.Variant, c.variant)
	}
	if len(gen) != len(jobs) {
		return nil, fmt.Errorf("llamacpp: %d results for %d jobs", len(gen), len(jobs))
	}
	res := make([]Result, len(jobs))
	for i, j := range jobs {
		res[i].Variant = out.Variant
		rows := len(j.Tokens)
		if j.Generate > 0 {
			rows = j.Generate
			if len(gen[i]) != j.Generate {
				return nil, fmt.Errorf("llamacpp: job %d: %d tokens generated, want %d", i, len(gen[i]), j.Generate)
			}
			res[i].Tokens = gen[i]
		}
		data, err := os.ReadFile(jj[i].Out)
		if err != nil {
			return nil, err
		}
		rowsOut, err := decodeProbs(data, rows)
		if err != nil {
			return nil, fmt.Errorf("job %d: %w", i, err)
		}
		if j.Hidden {
			res[i].Hidden = rowsOut
		} else {
			res[i].Probs = rowsOut
		}
	}
	return res, nil
}

// Probs runs one Job with Generate 0 and returns its probability rows.
func Probs(ggufPath string, tokens []int32, opts ...Option) ([][]float32, error) {
	r, err := Run([]Job{{Model: ggufPath, Tokens: tokens}}, opts...)
	if err != nil {
		return nil, err
	}
	return r[0].Probs, nil
}

// Hidden runs one Job with Hidden set and returns llama.cpp's final hidden
// state of every position.
func Hidden(ggufPath string, tokens []int32, opts ...Option) ([][]float32, error) {
	r, err := Run([]Job{{Model: ggufPath, Tokens: tokens, Hidden: true}}, opts...)
	if err != nil {
		return nil, err
	}
	return r[0].Hidden, nil
}

// Greedy runs one Job that generates n tokens after prompt and returns
// them.
func Greedy(ggufPath string, prompt []int32, n int, opts ...Option) ([]int32, error) {
	if n < 1 {
		return nil, fmt.Errorf("llamacpp: cannot generate %d tokens", n)
	}
	r, err := Run([]Job{{Model: ggufPath, Tokens: prompt, Generate: n}}, opts...)
	if err != nil {
		return nil, err
	}
	return r[0].Tokens, nil
}

// Tokenize tokenizes each text with llama.cpp's tokenizer for the
// vocabulary of the GGUF file (no BOS or EOS added, special-token text not
// parsed: add_special and parse_special false, as llama.cpp's
// test-tokenizer-0).
func Tokenize(ggufPath string, texts []string) ([][]int32, error) {
	if len(texts) == 0 {
		return nil, errors.New("llamacpp: no texts to tokenize")
	}
	if err := Available(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "lmgc-llamacpp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	path, err := filepath.Abs(ggufPath)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(tmp, "tokens.json")
	in, err := json.Marshal([]map[string]any{{"model": path, "texts": texts, "out": out}})
	if err != nil {
		return nil, err
	}
	if _, err := runRefrun(in, nil); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	var ids [][]int32
	if err := json.Unmarshal(data, &ids); err != nil {
		return nil, fmt.Errorf("llamacpp: reading token ids: %v", err)
	}
	if len(ids) != len(texts) {
		return nil, fmt.Errorf("llamacpp: %d tokenizations for %d texts", len(ids), len(texts))
	}
	return ids, nil
}

// runRefrun runs refrun.mjs with the jobs in (JSON) and the extra
// environment, returning its stdout. Exit status 3 (a forced CPU variant
// that does not run here) becomes ErrVariantUnsupported.
func runRefrun(in []byte, env []string) ([]byte, error) {
	cmd := exec.Command(nodePath, "refrun.mjs")
	cmd.Dir = dir()
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
			return nil, fmt.Errorf("%w: %s", ErrVariantUnsupported, msg)
		}
		return nil, fmt.Errorf("llamacpp: refrun.mjs: %v: %s", err, msg)
	}
	return stdout.Bytes(), nil
}

// decodeProbs parses refrun.mjs's output: uint32 vocabulary size V, uint32
// positions P, then P rows of V little-endian float32.
func decodeProbs(data []byte, positions int) ([][]float32, error) {
	if len(data) < 8 {
		return nil, errors.New("llamacpp: probability file shorter than its header")
	}
	v := int64(binary.LittleEndian.Uint32(data))
	p := int64(binary.LittleEndian.Uint32(data[4:]))
	if p != int64(positions) {
		return nil, fmt.Errorf("llamacpp: %d rows of probabilities for %d tokens", p, positions)
	}
	n := int64(len(data) - 8)
	if v == 0 || n%4 != 0 || (n/4)%v != 0 || (n/4)/v != p {
		return nil, fmt.Errorf("llamacpp: probability file of %d bytes does not hold %d rows of %d", len(data), p, v)
	}
	rows := make([][]float32, p)
	data = data[8:]
	for i := range rows {
		r := make([]float32, v)
		for j := range r {
			r[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*j:]))
		}
		rows[i] = r
		data = data[4*v:]
	}
	return rows, nil
}
