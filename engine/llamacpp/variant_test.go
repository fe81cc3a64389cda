package llamacpp

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestVariant checks that a forced CPU variant is the one that runs (read
// back from the process's memory map), that a name the package lacks is
// refused with the list of those it has, and that llama.cpp's one-token-
// per-call evaluation matches its batched one up to the near-tie margin.
func TestVariant(t *testing.T) {
	needLlamaCpp(t)
	vs, err := Variants()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CPU variants in the package: %s", strings.Join(vs, ", "))
	if !slices.Contains(vs, "x64") {
		t.Fatalf("no x64 (baseline) variant among %v", vs)
	}
	_, path := buildTiny(t, tinySpecs[1], 1, t.TempDir()) // llama f16
	toks := tinyTokens(200, 1)
	res, err := Run([]Job{{Model: path, Tokens: toks}, {Model: path, Tokens: toks, Incremental: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ggml's choice on this CPU (or %s's): %s", VariantEnv, res[0].Variant)
	if !slices.Contains(vs, res[0].Variant) {
		t.Errorf("variant %q that ran is not among the package's variants %v", res[0].Variant, vs)
	}
	s, err := Compare(res[0].Probs, res[1].Probs, TieMarginFloat)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("llama.cpp %s, batch vs one token per call: %v", res[0].Variant, s)
	if s.ArgmaxAgree < 1 || !(s.MaxGapDiff < TieMarginFloat) {
		t.Errorf("llama.cpp's batched and one-token evaluations differ by the near-tie margin or more: %v", s)
	}
	forced := "x64"
	if res[0].Variant == forced {
		forced = "sse42"
	}
	fr, err := Run([]Job{{Model: path, Tokens: toks[:2]}}, WithVariant(forced))
	if err != nil {
		t.Fatal(err)
	}
	if fr[0].Variant != forced {
		t.Errorf("forced %s, ran %q", forced, fr[0].Variant)
	}
	_, err = Run([]Job{{Model: path, Tokens: toks[:2]}}, WithVariant("nosuch"))
	if err == nil || errors.Is(err, ErrVariantUnsupported) || !strings.Contains(err.Error(), "no CPU variant nosuch") || !strings.Contains(err.Error(), "x64") {
		t.Errorf("unknown variant: error %v", err)
	}
}
