package bench

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
)

// MeanStd returns the mean and the population standard deviation (divisor
// n, numpy's default, as the paper's mean ± std) of xs. Both are NaN for an
// empty slice; the deviation is 0 for one value.
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		d := x - mean
		std += d * d
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

// Subsets draws k subsets of per distinct indices from [0, n), each sorted,
// deterministically from seed. When n <= per every subset is all of [0, n)
// (the caller should say so).
func Subsets(n, k, per int, seed uint64) [][]int {
	if n <= 0 || k <= 0 || per <= 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x6c6d6763)) // "lmgc"
	out := make([][]int, k)
	for s := range out {
		perm := rng.Perm(n)
		sub := perm[:min(per, n)]
		sort.Ints(sub)
		out[s] = sub
	}
	return out
}

// pick returns k distinct indices from [0, n) (all of them when k <= 0 or
// k >= n), sorted, drawn deterministically from seed and key.
func pick(n, k int, seed uint64, key string) []int {
	if k <= 0 || k >= n {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all
	}
	rng := rand.New(rand.NewPCG(seed, hashKey(key)))
	idx := rng.Perm(n)[:k]
	sort.Ints(idx)
	return idx
}

func hashKey(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// sliceOf returns a contiguous piece of at most limit bytes of data
// (rounded down to whole 512-byte chunks), starting at a 512-byte aligned
// offset drawn from seed and key; all of data when limit <= 0 or data is
// not longer.
func sliceOf(data []byte, limit int, seed uint64, key string) []byte {
	if limit <= 0 || len(data) <= limit {
		return data
	}
	limit = max(limit&^511, 512)
	if len(data) <= limit {
		return data
	}
	starts := (len(data)-limit)/512 + 1
	rng := rand.New(rand.NewPCG(seed, hashKey("slice:"+key)))
	off := rng.IntN(starts) * 512
	return data[off : off+limit]
}

// humanBytes formats a byte count for labels: 1536 -> "1.5 KiB".
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.3g MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.3g KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
