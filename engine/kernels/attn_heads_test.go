package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// headsImpls are the forms of the fused (GQA) attention kernels to check:
// the installed ones, the pure-Go fused ones and the head-by-head ones;
// attn_heads_amd64_test.go adds the assembly ones directly.
type headsImpl struct {
	name     string
	maxHeads int // 0: any
	scores   func(out []float32, ostride, n int, q []float32, heads int, k []uint16, stride int, scale float32, pv []uint16)
	weighted func(dst []float32, heads int, p []float32, pstride, n int, v []uint16, stride int, acc []float32)
}

var headsImpls = []headsImpl{
	{"installed", 0, nil, nil},
	{"generic", 0, scoresF16HeadsGeneric, weightedF16HeadsGeneric},
	{"each", 0, scoresF16HeadsEach, weightedF16HeadsEach},
}

// TestHeadsMatchPerHead checks ScoresF16Heads and WeightedSumF16HeadsAcc,
// in every form, against the per-head pure-Go references
// (scoreRowsF16Generic, WeightedSumF16) bit for bit: random rows with
// special values, head widths below, at and above the 16 lanes, odd row
// counts, 1 to 8 query heads, and the rows starting at a window offset
// inside a cache of interleaved KV heads (as attend reads them).
func TestHeadsMatchPerHead(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	impls := append(headsImpls[:len(headsImpls):len(headsImpls)], headsAsmImpls...)
	for _, hd := range []int{8, 12, 16, 32, 64, 128} {
		for _, heads := range []int{1, 2, 3, 4, 5, 7, 8} {
			for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 33, 100, 257} {
				special := (hd+heads+n)%3 == 0
				const kvHeads = 3
				kvDim := kvHeads * hd
				a := r.IntN(40) // first row (a window offset)
				kvh := r.IntN(kvHeads)
				rows := a + n
				cache := make([]uint16, rows*kvDim)
				for i, x := range attnValues(r, len(cache), 1, special) {
					cache[i] = F32ToF16(x)
				}
				kv := cache[a*kvDim+kvh*hd:]
				q := attnValues(r, heads*hd, 1, special)
				ostride := n + r.IntN(5)
				const scale = 0.125
				want := make([]float32, heads*ostride)
				for j := 0; j < heads; j++ {
					scoreRowsF16Generic(want[j*ostride:j*ostride+n], q[j*hd:(j+1)*hd], kv, kvDim, scale)
				}
				p := attnValues(r, heads*ostride, 0.1, special)
				wantW := make([]float32, heads*hd)
				for j := 0; j < heads; j++ {
					WeightedSumF16(wantW[j*hd:(j+1)*hd], p[j*ostride:j*ostride+n], kv, kvDim)
				}
				for _, im := range impls {
					name := fmt.Sprintf("%s hd %d heads %d n %d a %d kvh %d special %v", im.name, hd, heads, n, a, kvh, special)
					got := make([]float32, heads*ostride)
					gotW := make([]float32, heads*hd)
					acc := make([]float32, heads*Lanes*hd+r.IntN(2)*(WeightedSumF16HeadsScratch(heads, hd)-heads*Lanes*hd))
					for i := range acc {
						acc[i] = 7 // scratch contents must not matter
					}
					// Rows to prefetch (which must change nothing): none, or
					// another cache's rows of the same shape.
					var pv []uint16
					if r.IntN(2) == 0 {
						pv = make([]uint16, len(kv))
					}
					if im.scores == nil {
						if pv == nil {
							ScoresF16Heads(got, ostride, n, q, heads, kv, kvDim, scale)
						} else {
							ScoresF16HeadsPrefetch(got, ostride, n, q, heads, kv, kvDim, scale, pv)
						}
						WeightedSumF16HeadsAcc(gotW, heads, p, ostride, n, kv, kvDim, acc)
					} else {
						if im.maxHeads > 0 && heads > im.maxHeads {
							continue
						}
						im.scores(got, ostride, n, q, heads, kv, kvDim, scale, pv)
						im.weighted(gotW, heads, p, ostride, n, kv, kvDim, acc)
					}
					for j := 0; j < heads; j++ {
						if i := sameF32(want[j*ostride:j*ostride+n], got[j*ostride:j*ostride+n]); i >= 0 {
							t.Fatalf("%s: scores head %d row %d = %g, want %g", name, j, i, got[j*ostride+i], want[j*ostride+i])
						}
					}
					if i := sameF32(wantW, gotW); i >= 0 {
						t.Fatalf("%s: weighted head %d [%d] = %g, want %g", name, i/hd, i%hd, gotW[i], wantW[i])
					}
				}
			}
		}
	}
}

// BenchmarkAttentionHeads times the fused (GQA) kernels on 3 query heads
// of one KV head (SmolLM2-135M's shape: head dim 64, 3 KV heads) against
// the same work head by head.
func BenchmarkAttentionHeads(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const hd, stride, heads = 64, 192, 3
	n := benchRows
	q := attnValues(r, heads*hd, 1, false)
	kh := make([]uint16, n*stride)
	for i, x := range attnValues(r, len(kh), 1, false) {
		kh[i] = F32ToF16(x)
	}
	out := make([]float32, heads*n)
	dst := make([]float32, heads*hd)
	acc := make([]float32, WeightedSumF16HeadsScratch(heads, hd))
	for _, im := range append(headsImpls[:len(headsImpls):len(headsImpls)], headsAsmImpls...) {
		sf, wf := im.scores, im.weighted
		if sf == nil {
			sf, wf = ScoresF16HeadsPrefetch, WeightedSumF16HeadsAcc
		}
		b.Run("scores/"+im.name, func(b *testing.B) {
			defer reportCPU(b)()
			for range b.N {
				sf(out, n, n, q, heads, kh, stride, 0.125, nil)
			}
		})
		b.Run("weighted/"+im.name, func(b *testing.B) {
			defer reportCPU(b)()
			for range b.N {
				wf(dst, heads, out, n, n, kh, stride, acc)
			}
		})
	}
}

// BenchmarkAttentionHeadsCold is BenchmarkAttentionHeads on caches read
// from memory, as in decode (each step reads every window's K and V once):
// each iteration takes the next of 128 slices of K and of V (96 MB each),
// laid out as attend's head-major cache (each KV head's rows contiguous),
// and runs the fused kernels on the 3 KV heads of its rows in turn, each
// KV head's scores (prefetching its V rows, as attend does, or not) then
// its weighted sum. It reports the process CPU time per iteration too
// (the wall time on a shared machine includes other processes' turns).
func BenchmarkAttentionHeadsCold(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const hd, n, kvHeads, heads = 64, 1024, 3, 3
	const slices = 128
	kh := make([]uint16, slices*kvHeads*n*hd)
	vh := make([]uint16, len(kh))
	for i := range kh {
		// Finite halves of magnitude below 2, either sign.
		kh[i] = uint16(r.Uint32()&0x3fff) | uint16(r.Uint32()&1)<<15
		vh[i] = uint16(r.Uint32()&0x3fff) | uint16(r.Uint32()&1)<<15
	}
	q := attnValues(r, heads*hd, 1, false)
	out := make([]float32, heads*n)
	dst := make([]float32, heads*hd)
	acc := make([]float32, WeightedSumF16HeadsScratch(heads, hd))
	for i := range out {
		out[i] = 1.0 / n
	}
	for _, prefetch := range []bool{true, false} {
		name := "prefetchV"
		if !prefetch {
			name = "noPrefetch"
		}
		b.Run(name, func(b *testing.B) {
			defer reportCPU(b)()
			for i := range b.N {
				for g := 0; g < kvHeads; g++ {
					o := ((i%slices)*kvHeads + g) * n * hd
					var pv []uint16
					if prefetch {
						pv = vh[o:]
					}
					ScoresF16HeadsPrefetch(out, n, n, q, heads, kh[o:], hd, 0.125, pv)
					WeightedSumF16HeadsAcc(dst, heads, out, n, n, vh[o:], hd, acc)
				}
			}
		})
	}
}

// benchRows is BenchmarkAttentionHeads' context length.
var benchRows = func() int {
	if v, err := strconv.Atoi(os.Getenv("LMGC_BENCH_ROWS")); err == nil && v > 0 {
		return v
	}
	return 1024
}()

// reportCPU starts a benchmark's CPU clock; the function it returns
// reports the process CPU time per iteration (on a shared machine the wall
// time includes other processes' turns).
func reportCPU(b *testing.B) func() {
	cpu0 := processCPU()
	return func() { b.ReportMetric((processCPU()-cpu0)*1e9/float64(b.N), "cpu-ns/op") }
}
