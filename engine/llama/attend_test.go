package llama

import (
	"fmt"
	"math"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/kernels"
)

// attendRef is the attention of State.attend written with the package
// kernels one step at a time, exactly as documented in DETERMINISM.md:
//
//	q'     = q rounded to binary16
//	s[t]   = float32(Dot(q', K[t]) * kqScale)      for t = 0..p
//	w      = Softmax(s), then rounded to binary16
//	att[d] = WeightedSumF16(w, V)[d]
//
// With a window W > 0, t runs over a..p (a = max(0, p-W+1)) and the
// weighted sum over a0..p, a0 = a rounded down to a multiple of the lanes,
// with zero weights before a. The fast attend must match it bit for bit.
func attendRef(k, v []uint16, maxLen, heads, kvHeads, hd, window int, kqScale float32, seqs, pos []int, q, att []float32) {
	qDim := heads * hd
	gqa := heads / kvHeads
	qh := make([]float32, hd)
	krow := make([]float32, hd)
	for pair := 0; pair < len(seqs)*heads; pair++ {
		i, h := pair/heads, pair%heads
		n := pos[i] + 1
		copy(qh, q[i*qDim+h*hd:i*qDim+(h+1)*hd])
		kernels.RoundF16(qh)
		base := (seqs[i]*kvHeads + h/gqa) * maxLen * hd // the cache is head-major (State.kvOff)
		a := 0
		if window > 0 && n > window {
			a = n - window
		}
		a0 := a - a%kernels.Lanes
		w := make([]float32, n)
		for t := a; t < n; t++ {
			kernels.WidenF16(krow, k[base+t*hd:base+(t+1)*hd])
			w[t] = kernels.Dot(qh, krow) * kqScale
		}
		kernels.Softmax(w[a:])
		kernels.RoundF16(w[a:])
		kernels.WeightedSumF16(att[i*qDim+h*hd:i*qDim+(h+1)*hd], w[a0:], v[base+a0*hd:], hd)
	}
}

// TestAttendMatchesReference fills KV caches with values of every kind
// (normal, binary16 subnormals, signed zeros, the largest halves, and
// occasionally infinities) and checks that State.attend equals attendRef
// bit for bit for head widths below, at and above the 16 dot lanes, context
// lengths around the lane boundaries, grouped-query ratios 1 to 5, 7 and 8,
// sliding windows (none, 1, 5, 16, 21, 40 positions), 1 to 3 threads, and
// both the widened path (entries next to one of the same sequence, as in an
// encode chunk) and the direct F16 path (isolated entries, as in decode, and
// every entry when attnWidenMax is too small to widen).
func TestAttendMatchesReference(t *testing.T) {
	for _, tc := range []struct {
		hd, heads, kvHeads int
		special            bool // put infinities and huge values into the cache
	}{
		{8, 8, 4, false}, {8, 4, 4, true}, {4, 2, 1, false}, {12, 4, 2, false},
		{16, 4, 1, false}, {24, 2, 2, true}, {32, 4, 2, false}, {64, 4, 4, false},
		{64, 8, 2, true}, {128, 2, 1, false}, {6, 2, 2, false},
		// GQA ratios 3 (SmolLM2-135M: 9 heads on 3), 5, 7 and 8, through
		// the fused kernels' groups of 2 and 3 heads and their splits.
		{64, 9, 3, false}, {64, 9, 3, true}, {16, 6, 2, false}, {32, 10, 2, false},
		{64, 7, 1, true}, {32, 8, 1, false}, {12, 6, 2, false},
	} {
		t.Run(fmt.Sprintf("hd%d_h%d_kv%d_special%v", tc.hd, tc.heads, tc.kvHeads, tc.special), func(t *testing.T) {
			const nSeq, maxLen = 3, 70
			r := rng(uint64(tc.hd*1000 + tc.heads*10 + tc.kvHeads))
			kvDim := tc.kvHeads * tc.hd
			k := make([]uint16, nSeq*maxLen*kvDim)
			v := make([]uint16, len(k))
			fill := func(c []uint16, scale float32) {
				for i := range c {
					x := r.uniform() * scale
					switch r.next() % 64 {
					case 0:
						x = 0
					case 1:
						x = float32(math.Copysign(0, -1))
					case 2:
						x *= 1e-6 // binary16 subnormal
					case 3:
						x = 65504
						if r.next()%2 == 0 {
							x = -x
						}
					case 4:
						if tc.special {
							x = float32(math.Inf(int(r.next()%2)*2 - 1))
						}
					}
					c[i] = kernels.F32ToF16(x)
				}
			}
			fill(k, 3)
			fill(v, 2)
			m := &Model{cfg: Config{Heads: tc.heads, KVHeads: tc.kvHeads, HeadDim: tc.hd}, gqaRatio: tc.heads / tc.kvHeads,
				kqScale: 1 / sqrt32(float32(tc.hd))}
			s := &State{m: m, nSeq: nSeq, maxLen: maxLen, k: [][]uint16{k}, v: [][]uint16{v}}
			// Entries: positions around the lane boundaries and the cache end.
			var seqs, pos []int
			for _, p := range []int{0, 1, 7, 14, 15, 16, 17, 31, 32, 33, 47, 50, 63, 64, 69, 69, 40, 3, 20, 20} {
				seqs = append(seqs, int(r.next()%nSeq))
				pos = append(pos, p)
			}
			// The fixture must exercise both paths of attend.
			var batched, single int
			for i := range seqs {
				if i > 0 && seqs[i-1] == seqs[i] || i+1 < len(seqs) && seqs[i+1] == seqs[i] {
					batched++
				} else {
					single++
				}
			}
			if batched == 0 || single == 0 {
				t.Fatalf("entries: %d batched, %d single; want both", batched, single)
			}
			qDim := tc.heads * tc.hd
			q := r.vec(len(seqs)*qDim, 4, 0)
			for i := range q {
				if r.next()%50 == 0 {
					q[i] *= 1e-6
				}
			}
			defer func(v int) { attnWidenMax = v }(attnWidenMax)
			// Windows: none, 1, inside a lane group, across lane groups.
			for _, window := range []int{0, 1, 5, 16, 21, 40} {
				want := make([]float32, len(q))
				attendRef(k, v, maxLen, tc.heads, tc.kvHeads, tc.hd, window, m.kqScale, seqs, pos, q, want)
				for _, run := range []struct{ threads, widenMax int }{
					{1, 1 << 18}, {3, 1 << 18}, {1, 40 * kvDim}, {2, 0},
				} {
					threads := run.threads
					attnWidenMax = run.widenMax
					got := make([]float32, len(q))
					kernels.ParallelFor(len(seqs)*tc.heads, threads, func(lo, hi int) {
						s.attend(0, window, lo, hi, seqs, pos, q, got)
					})
					for j := range want {
						if math.Float32bits(got[j]) != math.Float32bits(want[j]) && !(want[j] != want[j] && got[j] != got[j]) {
							t.Fatalf("window %d, threads %d, widen max %d: att[%d] = %v (%#x), reference %v (%#x)", window, threads, run.widenMax, j,
								got[j], math.Float32bits(got[j]), want[j], math.Float32bits(want[j]))
						}
					}
				}
			}
		})
	}
}

// TestRoundF16 checks roundF16 against kernels.RoundF16 for every sign,
// exponent and top 10 significand bits, each with the 13 dropped bits
// below, at and above the halfway point (ties with both parities of the
// kept last bit), and for the edges of its inline range.
func TestRoundF16(t *testing.T) {
	low := []uint32{0, 1, 0xfff, 0x1000, 0x1001, 0x1ffe, 0x1fff}
	edges := []uint32{0x387fffff, 0x38800000, 0x38800001, 0x477fefff, 0x477ff000, 0x477ff001, 0x7f800000, 0x7fc00000, 0x7f800001, 0}
	x := make([]float32, 0, len(low)<<19+2*len(edges))
	for prefix := uint32(0); prefix < 1<<19; prefix++ {
		for _, lo := range low {
			x = append(x, math.Float32frombits(prefix<<13|lo))
		}
	}
	for _, e := range edges {
		x = append(x, math.Float32frombits(e), math.Float32frombits(e|0x80000000))
	}
	want := append([]float32(nil), x...)
	kernels.RoundF16(want)
	for _, f := range []struct {
		name  string
		round func([]float32)
	}{{"roundF16", roundF16}, {"roundF16Go", roundF16Go}} {
		got := append([]float32(nil), x...)
		f.round(got)
		for i := range x {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(want[i] != want[i] && got[i] != got[i]) {
				t.Fatalf("%s(%#x) = %#x, kernels.RoundF16 %#x", f.name, math.Float32bits(x[i]), math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
	}
}

// storiesShape is the shape of stories260K (dim 64, 5 layers, 8 heads, 4
// KV heads, head width 8, FFN 172, vocabulary 512), with random weights.
var storiesShape = tinySpec{arch: "llama", dim: 64, layers: 5, heads: 8, kvHeads: 4, ff: 172, vocab: 512, wtype: gguf.F32, seed: 5}

// BenchmarkDecode measures the LLM prior's pattern: nSeq sequences, each
// with ctx positions already in the cache, advance by one token per
// Forward call (all logits wanted). Every op evaluates the same positions
// (the lengths are rewound), so the context stays exactly ctx. tok/s counts
// the tokens of all sequences; cpu-µs/tok is the process's CPU time.
func BenchmarkDecode(b *testing.B) {
	medium := tinySpec{arch: "llama", dim: 512, layers: 4, heads: 8, kvHeads: 4, ff: 1408, vocab: 8000, wtype: gguf.F32, seed: 3}
	for _, bc := range []struct {
		name       string
		spec       tinySpec
		nSeq, ctx  int
		threads    int
		wantLogits bool
	}{
		{"stories260K/seq8/ctx256/threads1", storiesShape, 8, 256, 1, true},
		{"stories260K/seq8/ctx256/threads2", storiesShape, 8, 256, 2, true},
		{"stories260K/seq8/ctx64/threads1", storiesShape, 8, 64, 1, true},
		{"stories260K/seq8/ctx480/threads1", storiesShape, 8, 480, 1, true},
		{"medium-hd64/seq8/ctx256/threads1", medium, 8, 256, 1, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, err := Load(buildModel(b, bc.spec), WithThreads(bc.threads))
			if err != nil {
				b.Fatal(err)
			}
			st, err := m.NewState(bc.nSeq, bc.ctx+1)
			if err != nil {
				b.Fatal(err)
			}
			// Prefill every sequence with ctx tokens.
			for s := 0; s < bc.nSeq; s++ {
				toks := tokenWindow(uint64(s+11), bc.ctx, bc.spec.vocab)
				seqs := make([]int, len(toks))
				for i := range seqs {
					seqs[i] = s
				}
				if err := st.Forward(seqs, toks, make([][]float32, len(toks))); err != nil {
					b.Fatal(err)
				}
			}
			seqs := make([]int, bc.nSeq)
			toks := make([]int32, bc.nSeq)
			logits := make([][]float32, bc.nSeq)
			for s := range seqs {
				seqs[s] = s
				toks[s] = int32(s * 7 % bc.spec.vocab)
				logits[s] = make([]float32, m.VocabSize())
			}
			b.ResetTimer()
			c0 := cpuTime()
			for b.Loop() {
				if err := st.Forward(seqs, toks, logits); err != nil {
					b.Fatal(err)
				}
				for s := range seqs {
					st.lens[s] = bc.ctx
				}
			}
			b.ReportMetric(float64(bc.nSeq*b.N)/b.Elapsed().Seconds(), "tok/s")
			b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(bc.nSeq*b.N), "cpu-µs/tok")
		})
	}
}
