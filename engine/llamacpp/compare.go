package llamacpp

import (
	"fmt"
	"math"

	"github.com/lmgc/lmgc/engine/gguf"
)

// LogFloor is the smallest reference probability at which Stats compares
// log-probabilities: below it float32 softmax outputs lose their relative
// precision and say nothing about the model.
const LogFloor = 1e-6

// Near-tie margins of the argmax criterion, in nats. Where our most
// probable token differs from the reference's, but the reference itself
// gives ours a log-probability less than the margin below its own top token's,
// the disagreement is a near tie that float32 rounding decides: llama.cpp's
// own CPU variants (libggml-cpu-*.so) and its batched and one-token-per-call
// evaluations move the log-probability gap between the top two tokens of a
// row by up to 0.029 nats on models with float weights and up to 0.33 nats
// on q8_0 ones, whose activations llama.cpp rounds to 8 bits (a flip moves
// a value by 1/127 of its block's range). Stats counts such a disagreement
// in NearTies, not against ArgmaxAgree. Each margin is about twice the
// largest gap change measured (docs/ENGINE.md has the figures); KL,
// |dp| and |dln p| are measured without any allowance.
const (
	TieMarginFloat = 0.06 // f32, f16, bf16 weights
	TieMarginQuant = 0.65 // quantized weights (q8_0 and coarser)
)

// TieMargin returns the near-tie margin for a model whose matrices are
// stored as typ.
func TieMargin(typ gguf.Type) float64 {
	switch typ {
	case gguf.F32, gguf.F16, gguf.BF16, gguf.F64:
		return TieMarginFloat
	}
	return TieMarginQuant
}

// FileTieMargin returns the near-tie margin for a model file: TieMarginQuant
// if any of its matrices (tensors of two or more dimensions) is quantized,
// else TieMarginFloat.
func FileTieMargin(f *gguf.File) float64 {
	m := TieMarginFloat
	for _, t := range f.Tensors {
		if len(t.Shape) >= 2 {
			m = max(m, TieMargin(t.Type))
		}
	}
	return m
}

// Stats measures how far one set of next-token distributions ("ours") is
// from a reference set, position by position, over the full vocabulary.
// All arithmetic is float64; each row is normalized to sum 1 first.
type Stats struct {
	Positions int
	// ArgmaxAgree is the fraction of positions whose most probable tokens
	// (lowest id on ties) agree or are a near tie (see TieMargin).
	ArgmaxAgree float64
	// NearTies counts the positions whose most probable tokens differ
	// where the reference's log-probabilities of the two are within
	// TieMargin nats: counted as agreeing in ArgmaxAgree.
	NearTies      int
	TieMargin     float64 // the margin Compare was given, nats
	MeanKL        float64 // mean over positions of KL(ref || ours), nats
	MaxKL         float64 // largest KL(ref || ours) of a position, nats
	MaxAbsDiff    float64 // largest |p_ref - p_ours| of any token at any position
	MaxAbsLogDiff float64 // largest |ln p_ref - ln p_ours| over tokens with p_ref >= LogFloor
	// MaxGapDiff is the largest change, from the reference to ours, of the
	// log-probability gap between the reference's two most probable tokens
	// (over positions whose second token has p_ref >= LogFloor): how far
	// rounding moves a top-2 decision.
	MaxGapDiff float64
}

func (s Stats) String() string {
	return fmt.Sprintf("%d positions, argmax agreement %.4f%% (%d near ties within %g nats excused), mean KL %.3g nats (max %.3g), max |dp| %.3g, max |dln p| %.3g (p >= %g), max |d top-2 gap| %.3g",
		s.Positions, 100*s.ArgmaxAgree, s.NearTies, s.TieMargin, s.MeanKL, s.MaxKL, s.MaxAbsDiff, s.MaxAbsLogDiff, LogFloor, s.MaxGapDiff)
}

// Compare compares two sets of probability rows of equal shape; tieMargin
// (nats, see TieMargin) decides which argmax disagreements are near ties.
func Compare(ref, ours [][]float32, tieMargin float64) (Stats, error) {
	return compare(ref, ours, tieMargin, func(row []float32, lp []float64) error {
		var sum float64
		for _, p := range row {
			if !(p >= 0) || math.IsInf(float64(p), 0) {
				return fmt.Errorf("probability %v", p)
			}
			sum += float64(p)
		}
		if sum == 0 {
			return fmt.Errorf("probabilities sum to 0")
		}
		for j, p := range row {
			lp[j] = math.Log(float64(p) / sum)
		}
		return nil
	})
}

// CompareLogits compares reference probability rows with the softmax of
// our logits, computed in float64 (so that no probability of ours
// underflows to zero).
func CompareLogits(ref, logits [][]float32, tieMargin float64) (Stats, error) {
	return compare(ref, logits, tieMargin, func(row []float32, lp []float64) error {
		m := math.Inf(-1)
		for _, x := range row {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 1) {
				return fmt.Errorf("logit %v", x)
			}
			m = math.Max(m, float64(x))
		}
		if math.IsInf(m, -1) {
			return fmt.Errorf("all logits are -Inf")
		}
		var sum float64
		for _, x := range row {
			sum += math.Exp(float64(x) - m)
		}
		ls := math.Log(sum)
		for j, x := range row {
			lp[j] = float64(x) - m - ls
		}
		return nil
	})
}

// compare does the work; logProbs turns one row of ours into natural-log
// probabilities.
func compare(ref, ours [][]float32, tieMargin float64, logProbs func(row []float32, lp []float64) error) (Stats, error) {
	if !(tieMargin >= 0) || math.IsInf(tieMargin, 1) {
		return Stats{}, fmt.Errorf("llamacpp: tie margin %v", tieMargin)
	}
	if len(ref) != len(ours) {
		return Stats{}, fmt.Errorf("llamacpp: %d reference rows, %d of ours", len(ref), len(ours))
	}
	if len(ref) == 0 {
		return Stats{}, fmt.Errorf("llamacpp: nothing to compare")
	}
	s := Stats{Positions: len(ref), TieMargin: tieMargin}
	agree := 0
	var lq []float64
	for i, r := range ref {
		o := ours[i]
		if len(r) != len(o) || len(r) == 0 {
			return Stats{}, fmt.Errorf("llamacpp: row %d: %d reference entries, %d of ours", i, len(r), len(o))
		}
		if cap(lq) < len(o) {
			lq = make([]float64, len(o))
		}
		lq = lq[:len(o)]
		if err := logProbs(o, lq); err != nil {
			return Stats{}, fmt.Errorf("llamacpp: row %d of ours: %v", i, err)
		}
		var rsum float64
		for _, p := range r {
			if !(p >= 0) || math.IsInf(float64(p), 0) {
				return Stats{}, fmt.Errorf("llamacpp: row %d of the reference: probability %v", i, p)
			}
			rsum += float64(p)
		}
		if rsum == 0 {
			return Stats{}, fmt.Errorf("llamacpp: row %d of the reference sums to 0", i)
		}
		var kl float64
		ra, rb, oa := 0, -1, 0 // the reference's top two, our top one
		for j, p := range r {
			switch {
			case p > r[ra]:
				ra, rb = j, ra
			case j != ra && (rb < 0 || p > r[rb]):
				rb = j
			}
			if lq[j] > lq[oa] {
				oa = j
			}
			pr := float64(p) / rsum
			po := math.Exp(lq[j])
			s.MaxAbsDiff = math.Max(s.MaxAbsDiff, math.Abs(pr-po))
			if pr > 0 {
				lr := math.Log(pr)
				kl += pr * (lr - lq[j])
				if pr >= LogFloor {
					s.MaxAbsLogDiff = math.Max(s.MaxAbsLogDiff, math.Abs(lr-lq[j]))
				}
			}
		}
		// ln of the reference's probability, as above.
		lref := func(j int) float64 { return math.Log(float64(r[j]) / rsum) }
		switch {
		case ra == oa:
			agree++
		case lref(ra)-lref(oa) < tieMargin:
			agree++
			s.NearTies++
		}
		if rb >= 0 && float64(r[rb])/rsum >= LogFloor {
			g := math.Abs((lref(ra) - lref(rb)) - (lq[ra] - lq[rb]))
			s.MaxGapDiff = math.Max(s.MaxGapDiff, g)
		}
		s.MeanKL += kl
		s.MaxKL = math.Max(s.MaxKL, kl)
	}
	s.MeanKL /= float64(len(ref))
	s.ArgmaxAgree = float64(agree) / float64(len(ref))
	return s, nil
}

// Argmax returns the index of the largest value (the lowest on ties), or -1
// for an empty slice.
func Argmax(x []float32) int {
	if len(x) == 0 {
		return -1
	}
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}
