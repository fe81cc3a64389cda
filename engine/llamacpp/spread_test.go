package llamacpp

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// spreadEnv enables TestLlamaCppSpread; its value lists the CPU variants to
// measure besides ggml's choice ("1" for haswell,x64,sandybridge).
const spreadEnv = "LMGC_LLAMACPP_SPREAD"

// TestLlamaCppSpread measures how far llama.cpp's own CPU variants and its
// two evaluation modes (one batch, or one token per call) move its
// distributions on the test models: the figures behind TieMarginFloat and
// TieMarginQuant (docs/ENGINE.md). Each run is compared with llama.cpp's
// batched evaluation under ggml's choice of variant; the test fails where
// a top-2 gap moves by the margin or more, or an argmax differs beyond it.
// It runs llama.cpp about eight times (minutes), so only on request:
//
//	LMGC_LLAMACPP_SPREAD=haswell,x64,sandybridge go test -run TestLlamaCppSpread -v ./engine/llamacpp
func TestLlamaCppSpread(t *testing.T) {
	env := os.Getenv(spreadEnv)
	if env == "" {
		t.Skipf("set %s=1 (or a comma-separated list of CPU variants) to measure llama.cpp's spread", spreadEnv)
	}
	needLlamaCpp(t)
	variants := strings.Split(env, ",")
	if env == "1" {
		variants = []string{"haswell", "x64", "sandybridge"}
	}
	dir := t.TempDir()
	var jobs []Job
	var names []string
	var margins []float64
	for i, spec := range tinySpecs {
		_, path := buildTiny(t, spec, uint64(i), dir)
		jobs = append(jobs, Job{Model: path, Tokens: tinyTokens(500, uint64(i))})
		names = append(names, spec.String())
		margins = append(margins, TieMargin(spec.typ))
	}
	_, path := stories260K(t)
	jobs = append(jobs, Job{Model: path, Tokens: hexTokens(56, 2)})
	names = append(names, "stories260K")
	margins = append(margins, TieMarginFloat)
	incremental := make([]Job, len(jobs))
	for i, j := range jobs {
		j.Incremental = true
		incremental[i] = j
	}

	base, err := Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	def := base[0].Variant
	type run struct {
		name string
		res  []Result
	}
	var runs []run
	for _, v := range append([]string{""}, variants...) {
		var opts []Option
		name := def
		if v != "" {
			if v == def {
				continue
			}
			opts, name = []Option{WithVariant(v)}, v
			res, err := Run(jobs, opts...)
			if errors.Is(err, ErrVariantUnsupported) {
				t.Logf("%s skipped: %v", v, err)
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			runs = append(runs, run{name + " batch", res})
		}
		res, err := Run(incremental, opts...)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run{name + " one token per call", res})
	}
	worst := make([]float64, len(jobs))
	for i := range jobs {
		for _, r := range runs {
			s, err := Compare(base[i].Probs, r.res[i].Probs, margins[i])
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%-12s %s batch vs %s: %v", names[i], def, r.name, s)
			worst[i] = max(worst[i], s.MaxGapDiff)
			if s.ArgmaxAgree < 1 || !(s.MaxGapDiff < margins[i]) {
				t.Errorf("%s, %s batch vs %s: llama.cpp differs from itself by the near-tie margin %g or more: %v", names[i], def, r.name, margins[i], s)
			}
		}
	}
	for i := range jobs {
		t.Logf("%-12s largest top-2 gap change %.3g nats (margin %g)", names[i], worst[i], margins[i])
	}
}
