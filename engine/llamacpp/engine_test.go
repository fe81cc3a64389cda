package llamacpp

import (
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/llama"
)

// engineLogits runs lmgc's engine over tokens (one sequence, one Forward
// call) and returns the logits of every position.
func engineLogits(t testing.TB, path string, tokens []int32) [][]float32 {
	t.Helper()
	m, f := loadEngine(t, path)
	defer f.Close()
	s, err := m.NewState(1, len(tokens))
	if err != nil {
		t.Fatal(err)
	}
	logits := make([][]float32, len(tokens))
	for i := range logits {
		logits[i] = make([]float32, m.VocabSize())
	}
	if err := s.Forward(make([]int, len(tokens)), tokens, logits); err != nil {
		t.Fatal(err)
	}
	return logits
}

func loadEngine(t testing.TB, path string) (*llama.Model, *gguf.File) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := llama.Load(f, llama.WithThreads(2))
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	return m, f
}

// engineGreedy feeds prompt, then appends n argmax tokens one Forward call
// at a time.
func engineGreedy(t testing.TB, path string, prompt []int32, n int) []int32 {
	t.Helper()
	m, f := loadEngine(t, path)
	defer f.Close()
	s, err := m.NewState(1, len(prompt)+n)
	if err != nil {
		t.Fatal(err)
	}
	logits := make([][]float32, len(prompt))
	for i := range logits {
		logits[i] = make([]float32, m.VocabSize())
	}
	if err := s.Forward(make([]int, len(prompt)), prompt, logits); err != nil {
		t.Fatal(err)
	}
	last := logits[len(prompt)-1]
	var out []int32
	for len(out) < n {
		tok := int32(Argmax(last))
		out = append(out, tok)
		if err := s.Forward([]int{0}, []int32{tok}, [][]float32{last}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// refRun is llama.cpp's output for a list of jobs under one CPU variant.
type refRun struct {
	variant string
	res     []Result
}

// secondVariants are the CPU variants the agreement tests run besides
// ggml's own choice, in order of preference: the first one that differs
// from ggml's choice and loads on this CPU runs. x64 (x86-64 baseline,
// SSE2: ggml's scalar loops) runs on every x86-64 CPU and shares the least
// code with the AVX2 and AVX-512 variants ggml picks on current machines
// (its q8_0 activation quantization rounds differently, for one); haswell
// (AVX2, FMA, F16C) stands in where ggml itself picks x64.
var secondVariants = []string{"x64", "haswell"}

// runVariants runs jobs with llama.cpp twice: under the CPU variant ggml
// picks for this CPU (or the one VariantEnv names), which must work, and
// under a second variant (see secondVariants); a second variant this CPU
// cannot run is skipped with the reason in the log. It logs which variants
// ran.
func runVariants(t *testing.T, jobs []Job, opts ...Option) []refRun {
	t.Helper()
	res, err := Run(jobs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	runs := []refRun{{res[0].Variant, res}}
	for _, v := range secondVariants {
		if v == runs[0].variant {
			continue
		}
		res, err := Run(jobs, append(slices.Clone(opts), WithVariant(v))...)
		if errors.Is(err, ErrVariantUnsupported) {
			t.Logf("llama.cpp CPU variant %s skipped: %v", v, err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, refRun{v, res})
		break
	}
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = r.variant
	}
	first := "ggml's choice for this CPU"
	if v := os.Getenv(VariantEnv); v != "" {
		first = VariantEnv + "=" + v
	}
	t.Logf("llama.cpp CPU variants run: %s (the first is %s)", strings.Join(names, ", "), first)
	return runs
}

// maxNearTies is the largest fraction of positions at which an agreement
// test excuses an argmax disagreement as a near tie: rounding noise flips
// one now and then (none to one in 500 positions measured), an error that
// flips many does not pass as noise even where the margin is wide.
const maxNearTies = 0.01

// checkAgreement applies the criteria to our engine against
// llama.cpp: argmax agreement >= 99.9% (near ties excused, see TieMargin,
// at no more than maxNearTies of the positions) and mean KL < 1e-4 nats.
func checkAgreement(t *testing.T, name string, s Stats) {
	t.Helper()
	t.Logf("%s, engine vs llama.cpp: %v", name, s)
	if s.ArgmaxAgree < 0.999 || float64(s.NearTies) > maxNearTies*float64(s.Positions) || !(s.MeanKL < 1e-4) {
		t.Errorf("%s: engine disagrees with llama.cpp (want argmax agreement >= 99.9%% beyond near ties, near ties at <= %g%% of positions, mean KL < 1e-4): %v",
			name, 100*maxNearTies, s)
	}
}

// checkSpread checks the premise of the near-tie margin on two llama.cpp
// runs of the same jobs under different CPU variants: they move no top-2
// log-probability gap by as much as the margin and so disagree on no argmax
// beyond it.
func checkSpread(t *testing.T, name string, a, b [][]float32, margin float64) {
	t.Helper()
	s, err := Compare(a, b, margin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %v", name, s)
	if s.ArgmaxAgree < 1 || !(s.MaxGapDiff < margin) {
		t.Errorf("%s: llama.cpp's CPU variants differ by more than the near-tie margin %g nats: %v", name, margin, s)
	}
}

// TestEngineTiny compares lmgc's engine with llama.cpp (f16 KV cache, as
// both use by default) under two CPU variants of llama.cpp on tiny random
// models of both architectures in f32, f16 and q8_0, and checks the harness
// itself against a float64 reference forward pass on the same weights.
func TestEngineTiny(t *testing.T) {
	needLlamaCpp(t)
	dir := t.TempDir()
	models := make([]*tiny, len(tinySpecs))
	jobs := make([]Job, len(tinySpecs))
	for i, spec := range tinySpecs {
		var path string
		models[i], path = buildTiny(t, spec, uint64(i), dir)
		jobs[i] = Job{Model: path, Tokens: tinyTokens(500, uint64(i))}
	}
	runs := runVariants(t, jobs)
	for i, spec := range tinySpecs {
		t.Run(spec.String(), func(t *testing.T) {
			toks, margin := jobs[i].Tokens, TieMargin(spec.typ)
			f64 := models[i].forward(toks, true)
			ours := engineLogits(t, jobs[i].Model, toks)
			for _, r := range runs {
				ref := r.res[i].Probs
				s, err := CompareLogits(ref, f64, margin)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s, float64 reference vs llama.cpp %s: %v", spec, r.variant, s)
				if s.ArgmaxAgree < 0.99 || !(s.MeanKL < 1e-3) {
					t.Errorf("llama.cpp %s disagrees with the float64 reference: %v", r.variant, s)
				}
				s, err = CompareLogits(ref, ours, margin)
				if err != nil {
					t.Fatal(err)
				}
				checkAgreement(t, spec.String()+", llama.cpp "+r.variant, s)
			}
			if len(runs) > 1 {
				checkSpread(t, spec.String()+", llama.cpp "+runs[0].variant+" vs "+runs[1].variant,
					runs[0].res[i].Probs, runs[1].res[i].Probs, margin)
			}
		})
	}
}

// TestEngineStories260K compares the engine with llama.cpp (two CPU
// variants) on the real stories260K model (converted from llama2.c) fed
// hex text through byte tokens, and checks that both greedy-decode the
// same 40 tokens from BOS.
func TestEngineStories260K(t *testing.T) {
	needLlamaCpp(t)
	_, path := stories260K(t)
	toks := hexTokens(56, 2) // 504 tokens
	const n = 40
	runs := runVariants(t, []Job{{Model: path, Tokens: toks}, {Model: path, Tokens: []int32{1}, Generate: n}})
	ours := engineLogits(t, path, toks)
	greedy := engineGreedy(t, path, []int32{1}, n)
	for _, r := range runs {
		s, err := CompareLogits(r.res[0].Probs, ours, TieMarginFloat)
		if err != nil {
			t.Fatal(err)
		}
		checkAgreement(t, "stories260K hex, llama.cpp "+r.variant, s)
		checkGreedy(t, r.res[1], greedy, TieMarginFloat)
	}
	if len(runs) > 1 {
		checkSpread(t, "stories260K hex, llama.cpp "+runs[0].variant+" vs "+runs[1].variant,
			runs[0].res[0].Probs, runs[1].res[0].Probs, TieMarginFloat)
	}
}

// checkGreedy compares greedy continuations: want from llama.cpp (with the
// distribution of every step), got from another implementation. They must
// agree up to the end, or up to a step where llama.cpp itself sees a near
// tie between the two choices (log-probabilities within margin nats, see
// TieMargin: there rounding decides; llama.cpp's own single-token and
// batched evaluations can pick differently); after it the contexts differ
// and are not compared.
func checkGreedy(t *testing.T, want Result, got []int32, margin float64) {
	t.Helper()
	n := len(want.Tokens)
	if len(got) != n {
		t.Fatalf("greedy lengths differ: %d and %d", len(got), n)
	}
	i := 0
	for i < n && want.Tokens[i] == got[i] {
		i++
	}
	if i == n {
		t.Logf("greedy continuations agree on all %d tokens (llama.cpp %s)", n, want.Variant)
		return
	}
	p := want.Probs[i]
	a, b := want.Tokens[i], got[i]
	gap := math.Abs(math.Log(float64(p[a])) - math.Log(float64(p[b])))
	t.Logf("greedy continuations agree on %d of %d tokens; at step %d llama.cpp %s gives p(%d) = %.6f, p(%d) = %.6f (log gap %.3g nats)",
		i, n, i, want.Variant, a, p[a], b, p[b], gap)
	if !(gap <= margin) {
		t.Errorf("greedy continuations differ at step %d beyond a near tie (log gap %.3g > %g nats):\ngot       %v\nllama.cpp %v", i, gap, margin, got, want.Tokens)
	}
}
