package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// attnValues returns n float32 values, mostly normal around scale, with
// zeros of both signs, subnormals and infinities mixed in when special.
func attnValues(r *rand.Rand, n int, scale float32, special bool) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64()) * scale
		if special {
			switch r.IntN(40) {
			case 0:
				v[i] = float32(math.Copysign(0, -1))
			case 1:
				v[i] = 0
			case 2:
				v[i] = math.Float32frombits(uint32(r.IntN(1 << 23)))
			case 3:
				v[i] = float32(math.Inf(1 - 2*r.IntN(2)))
			}
		}
	}
	return v
}

func sameF32(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			return i
		}
	}
	return -1
}

// TestScoresMatchDot checks Scores (whichever kernel is installed) and its
// generic form against dotRef row by row, bit for bit; and ScoresF16 (both
// forms) on the keys rounded to binary16 against dotRef on those keys
// widened.
func TestScoresMatchDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, hd := range []int{4, 8, 12, 16, 24, 32, 64, 128} {
		for _, rows := range []int{1, 3, 17, 100} {
			for _, special := range []bool{false, true} {
				stride := hd*3 + 8*(rows%2)
				q := attnValues(r, hd, 1, special)
				k := attnValues(r, (rows-1)*stride+hd, 2, special)
				const scale = 0.125
				want := make([]float32, rows)
				for t := range want {
					want[t] = dotRef(q, k[t*stride:t*stride+hd]) * scale
				}
				got, gen := make([]float32, rows), make([]float32, rows)
				Scores(got, q, k, stride, scale)
				scoreRowsGeneric(gen, q, k, stride, scale)
				kh := make([]uint16, len(k))
				for i, x := range k {
					kh[i] = F32ToF16(x)
					k[i] = F16ToF32(kh[i])
				}
				wantF16 := make([]float32, rows)
				for t := range wantF16 {
					wantF16[t] = dotRef(q, k[t*stride:t*stride+hd]) * scale
				}
				gotF16, genF16 := make([]float32, rows), make([]float32, rows)
				ScoresF16(gotF16, q, kh, stride, scale)
				scoreRowsF16Generic(genF16, q, kh, stride, scale)
				for _, c := range []struct {
					name      string
					want, got []float32
				}{{"installed", want, got}, {"generic", want, gen}, {"F16 installed", wantF16, gotF16}, {"F16 generic", wantF16, genF16}} {
					if i := sameF32(c.want, c.got); i >= 0 {
						t.Fatalf("hd %d rows %d special %v %s: row %d = %g, want %g", hd, rows, special, c.name, i, c.got[i], c.want[i])
					}
				}
			}
		}
	}
}

// TestWeightedSumF32MatchesF16 checks WeightedSumF32 on widened rows
// against WeightedSumF16 on the binary16 rows and against Dot column by
// column, bit for bit.
func TestWeightedSumF32MatchesF16(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, hd := range []int{4, 8, 12, 16, 64, 128} {
		for _, n := range []int{1, 15, 16, 33, 200} {
			for _, special := range []bool{false, true} {
				stride := hd*2 + 4
				p := attnValues(r, n, 0.1, special)
				vh := make([]uint16, (n-1)*stride+hd)
				vf := make([]float32, len(vh))
				for i, x := range attnValues(r, len(vh), 1, special) {
					vh[i] = F32ToF16(x)
					vf[i] = F16ToF32(vh[i])
				}
				want := make([]float32, hd)
				WeightedSumF16(want, p, vh, stride)
				col := make([]float32, n)
				for d := range want {
					for t := range col {
						col[t] = vf[t*stride+d]
					}
					if got := dotRef(p, col); math.Float32bits(got) != math.Float32bits(want[d]) && !(got != got && want[d] != want[d]) {
						t.Fatalf("hd %d n %d: WeightedSumF16[%d] = %g, Dot %g", hd, n, d, want[d], got)
					}
				}
				acc := make([]float32, Lanes*hd+3)
				got := make([]float32, hd)
				WeightedSumF32(got, p, vf, stride, acc)
				if i := sameF32(want, got); i >= 0 {
					t.Fatalf("hd %d n %d special %v: [%d] = %g, want %g", hd, n, special, i, got[i], want[i])
				}
				saved, whole := weightedLanes, weightedSumF32Whole
				weightedLanes, weightedSumF32Whole = weightedLanesGeneric, nil
				WeightedSumF32(got, p, vf, stride, acc)
				weightedLanes, weightedSumF32Whole = saved, whole
				if i := sameF32(want, got); i >= 0 {
					t.Fatalf("generic, hd %d n %d: [%d] = %g, want %g", hd, n, i, got[i], want[i])
				}
			}
		}
	}
}

// TestWeightedSumF16AccMatches checks WeightedSumF16Acc (installed and
// generic lanes) against WeightedSumF16 and against WeightedSumF32 on the
// widened rows, bit for bit.
func TestWeightedSumF16AccMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, hd := range []int{4, 8, 12, 16, 24, 64, 128} {
		for _, n := range []int{1, 15, 16, 33, 200} {
			for _, special := range []bool{false, true} {
				stride := hd*2 + 4
				p := attnValues(r, n, 0.1, special)
				vh := make([]uint16, (n-1)*stride+hd)
				vf := make([]float32, len(vh))
				for i, x := range attnValues(r, len(vh), 1, special) {
					vh[i] = F32ToF16(x)
					vf[i] = F16ToF32(vh[i])
				}
				acc := make([]float32, Lanes*hd+5)
				want := make([]float32, hd)
				WeightedSumF16(want, p, vh, stride)
				wide := make([]float32, hd)
				WeightedSumF32(wide, p, vf, stride, acc)
				if i := sameF32(want, wide); i >= 0 {
					t.Fatalf("hd %d n %d special %v: F32 [%d] = %g, want %g", hd, n, special, i, wide[i], want[i])
				}
				got := make([]float32, hd)
				WeightedSumF16Acc(got, p, vh, stride, acc)
				if i := sameF32(want, got); i >= 0 {
					t.Fatalf("hd %d n %d special %v: [%d] = %g, want %g", hd, n, special, i, got[i], want[i])
				}
				saved, whole := weightedLanesF16, weightedSumF16Whole
				weightedLanesF16, weightedSumF16Whole = weightedLanesF16Generic, nil
				WeightedSumF16Acc(got, p, vh, stride, acc)
				weightedLanesF16, weightedSumF16Whole = saved, whole
				if i := sameF32(want, got); i >= 0 {
					t.Fatalf("generic, hd %d n %d: [%d] = %g, want %g", hd, n, i, got[i], want[i])
				}
			}
		}
	}
}

func BenchmarkAttention(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	const hd, n, stride = 64, 1024, 192
	q := attnValues(r, hd, 1, false)
	k := attnValues(r, n*stride, 1, false)
	out := make([]float32, n)
	acc := make([]float32, Lanes*hd)
	dst := make([]float32, hd)
	kh := make([]uint16, len(k))
	for i, x := range k {
		kh[i] = F32ToF16(x)
	}
	for _, impl := range []string{"installed", "generic"} {
		sr, wl, sh, wh := scoreRows, weightedLanes, scoreRowsF16, weightedLanesF16
		w32, w16 := weightedSumF32Whole, weightedSumF16Whole
		if impl == "generic" {
			scoreRows, weightedLanes = scoreRowsGeneric, weightedLanesGeneric
			scoreRowsF16, weightedLanesF16 = scoreRowsF16Generic, weightedLanesF16Generic
			weightedSumF32Whole, weightedSumF16Whole = nil, nil
		}
		b.Run(fmt.Sprintf("widen+scores+weighted/%s", impl), func(b *testing.B) {
			kf := make([]float32, len(kh))
			for range b.N {
				WidenF16(kf, kh)
				Scores(out, q, kf, stride, 0.125)
				WeightedSumF32(dst, out, kf, stride, acc)
			}
		})
		b.Run(fmt.Sprintf("scoresF16/%s", impl), func(b *testing.B) {
			for range b.N {
				ScoresF16(out, q, kh, stride, 0.125)
			}
		})
		b.Run(fmt.Sprintf("weightedF16/%s", impl), func(b *testing.B) {
			for range b.N {
				WeightedSumF16Acc(dst, out, kh, stride, acc)
			}
		})
		b.Run(fmt.Sprintf("scoresF16+weightedF16/%s", impl), func(b *testing.B) {
			for range b.N {
				ScoresF16(out, q, kh, stride, 0.125)
				WeightedSumF16Acc(dst, out, kh, stride, acc)
			}
		})
		b.Run(fmt.Sprintf("scores/%s", impl), func(b *testing.B) {
			for range b.N {
				Scores(out, q, k, stride, 0.125)
			}
		})
		b.Run(fmt.Sprintf("weighted/%s", impl), func(b *testing.B) {
			for range b.N {
				WeightedSumF32(dst, out, k, stride, acc)
			}
		})
		scoreRows, weightedLanes, scoreRowsF16, weightedLanesF16 = sr, wl, sh, wh
		weightedSumF32Whole, weightedSumF16Whole = w32, w16
	}
}
