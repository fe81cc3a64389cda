package llamacpp

import (
	"fmt"
	"math"
)

// LogFloor is the smallest reference probability at which Stats compares
// log-probabilities: below it float32 softmax outputs lose their relative
// precision and say nothing about the model.
const LogFloor = 1e-6

// Stats measures how far one set of next-token distributions ("ours") is
// from a reference set, position by position, over the full vocabulary.
// All arithmetic is float64; each row is normalized to sum 1 first.
type Stats struct {
	Positions     int
	ArgmaxAgree   float64 // fraction of positions whose most probable tokens agree (lowest id on ties)
	MeanKL        float64 // mean over positions of KL(ref || ours), nats
	MaxKL         float64 // largest KL(ref || ours) of a position, nats
	MaxAbsDiff    float64 // largest |p_ref - p_ours| of any token at any position
	MaxAbsLogDiff float64 // largest |ln p_ref - ln p_ours| over tokens with p_ref >= LogFloor
}

func (s Stats) String() string {
	return fmt.Sprintf("%d positions, argmax agreement %.4f%%, mean KL %.3g nats (max %.3g), max |dp| %.3g, max |dln p| %.3g (p >= %g)",
		s.Positions, 100*s.ArgmaxAgree, s.MeanKL, s.MaxKL, s.MaxAbsDiff, s.MaxAbsLogDiff, LogFloor)
}

// Compare compares two sets of probability rows of equal shape.
func Compare(ref, ours [][]float32) (Stats, error) {
	return compare(ref, ours, func(row []float32, lp []float64) error {
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
func CompareLogits(ref, logits [][]float32) (Stats, error) {
	return compare(ref, logits, func(row []float32, lp []float64) error {
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
func compare(ref, ours [][]float32, logProbs func(row []float32, lp []float64) error) (Stats, error) {
	if len(ref) != len(ours) {
		return Stats{}, fmt.Errorf("llamacpp: %d reference rows, %d of ours", len(ref), len(ours))
	}
	if len(ref) == 0 {
		return Stats{}, fmt.Errorf("llamacpp: nothing to compare")
	}
	s := Stats{Positions: len(ref)}
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
		ra, oa := 0, 0
		for j, p := range r {
			if p > r[ra] {
				ra = j
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
		if ra == oa {
			agree++
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
