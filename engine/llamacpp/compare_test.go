package llamacpp

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

func TestCompare(t *testing.T) {
	// KL([0.5 0.5] || [0.25 0.75]) = 0.5 ln 2 + 0.5 ln(2/3).
	kl := 0.5*math.Log(2) + 0.5*math.Log(2.0/3)
	// KL([0.6 0.4] || [0.4 0.6]) = 0.2 ln 1.5; the top-2 gap goes from
	// ln 1.5 to -ln 1.5.
	kl64 := 0.2 * math.Log(1.5)
	for _, tc := range []struct {
		name      string
		ref, ours [][]float32
		margin    float64
		want      Stats
	}{
		{"identical", [][]float32{{0.1, 0.9}, {0.7, 0.3}}, [][]float32{{0.1, 0.9}, {0.7, 0.3}}, 0,
			Stats{Positions: 2, ArgmaxAgree: 1}},
		{"one off", [][]float32{{0.5, 0.5}, {0, 1}}, [][]float32{{0.25, 0.75}, {0, 1}}, 0,
			Stats{Positions: 2, ArgmaxAgree: 0.5, MeanKL: kl / 2, MaxKL: kl, MaxAbsDiff: 0.25, MaxAbsLogDiff: math.Log(2), MaxGapDiff: math.Log(3)}},
		// The same with a margin: the reference's two tokens tie exactly,
		// so the disagreement is a near tie; KL and |dp| are unchanged.
		{"one off, near tie", [][]float32{{0.5, 0.5}, {0, 1}}, [][]float32{{0.25, 0.75}, {0, 1}}, TieMarginFloat,
			Stats{Positions: 2, ArgmaxAgree: 1, NearTies: 1, TieMargin: TieMarginFloat, MeanKL: kl / 2, MaxKL: kl, MaxAbsDiff: 0.25, MaxAbsLogDiff: math.Log(2), MaxGapDiff: math.Log(3)}},
		// A clear-margin disagreement (gap ln 1.5 = 0.405 nats) counts
		// under the float models' margin; the quantized models' wider
		// margin excuses it.
		{"clear margin", [][]float32{{0.6, 0.4}}, [][]float32{{0.4, 0.6}}, TieMarginFloat,
			Stats{Positions: 1, ArgmaxAgree: 0, TieMargin: TieMarginFloat, MeanKL: kl64, MaxKL: kl64, MaxAbsDiff: 0.2, MaxAbsLogDiff: math.Log(1.5), MaxGapDiff: 2 * math.Log(1.5)}},
		{"clear margin, wider margin", [][]float32{{0.6, 0.4}}, [][]float32{{0.4, 0.6}}, TieMarginQuant,
			Stats{Positions: 1, ArgmaxAgree: 1, NearTies: 1, TieMargin: TieMarginQuant, MeanKL: kl64, MaxKL: kl64, MaxAbsDiff: 0.2, MaxAbsLogDiff: math.Log(1.5), MaxGapDiff: 2 * math.Log(1.5)}},
		{"unnormalized", [][]float32{{1, 3}}, [][]float32{{2, 6}}, 0,
			Stats{Positions: 1, ArgmaxAgree: 1}},
		{"zero where ref is not", [][]float32{{0.5, 0.5}}, [][]float32{{0, 1}}, 0,
			Stats{Positions: 1, ArgmaxAgree: 0, MeanKL: math.Inf(1), MaxKL: math.Inf(1), MaxAbsDiff: 0.5, MaxAbsLogDiff: math.Inf(1), MaxGapDiff: math.Inf(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Compare(tc.ref, tc.ours, tc.margin)
			if err != nil {
				t.Fatal(err)
			}
			if !statsClose(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestCompareNearTies checks which argmax disagreements the margin
// excuses: those where the reference's log-probability of our top token is
// within the margin of its own top token's, and no others.
func TestCompareNearTies(t *testing.T) {
	ref := [][]float32{
		{0.50, 0.49, 0.01}, // gap ln(50/49) = 0.0202 between tokens 0 and 1
		{0.50, 0.49, 0.01},
		{0.10, 0.20, 0.70}, // gap ln(7/2) = 1.25 between tokens 2 and 1
		{0.30, 0.30, 0.40},
	}
	ours := [][]float32{
		{0.49, 0.50, 0.01}, // picks the reference's second: a near tie
		{0.10, 0.10, 0.80}, // picks the reference's third (gap ln 50 = 3.9): counted
		{0.10, 0.80, 0.10}, // clear margin: counted
		{0.30, 0.30, 0.40}, // agrees
	}
	s, err := Compare(ref, ours, TieMarginFloat)
	if err != nil {
		t.Fatal(err)
	}
	if s.NearTies != 1 || s.ArgmaxAgree != 0.5 {
		t.Errorf("margin %g: %d near ties, argmax agreement %g; want 1 and 0.5 (%v)", TieMarginFloat, s.NearTies, s.ArgmaxAgree, s)
	}
	if !strings.Contains(s.String(), "1 near ties within 0.06 nats excused") {
		t.Errorf("String() = %q does not report the near ties", s)
	}
	// Without a margin every disagreement counts; with one as wide as
	// the clear-margin gap that one is excused too, and still not the
	// third-token pick.
	if s, _ := Compare(ref, ours, 0); s.NearTies != 0 || s.ArgmaxAgree != 0.25 {
		t.Errorf("margin 0: %v", s)
	}
	if s, _ := Compare(ref, ours, 1.3); s.NearTies != 2 || s.ArgmaxAgree != 0.75 {
		t.Errorf("margin 1.3: %v", s)
	}
	for _, m := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := Compare(ref, ours, m); err == nil || !strings.Contains(err.Error(), "tie margin") {
			t.Errorf("margin %v: error %v", m, err)
		}
	}
}

func TestTieMargin(t *testing.T) {
	for typ, want := range map[gguf.Type]float64{gguf.F32: TieMarginFloat, gguf.F16: TieMarginFloat, gguf.BF16: TieMarginFloat,
		gguf.Q8_0: TieMarginQuant, gguf.Q4_0: TieMarginQuant, gguf.Q4_K: TieMarginQuant} {
		if got := TieMargin(typ); got != want {
			t.Errorf("TieMargin(%v) = %g, want %g", typ, got, want)
		}
	}
	f := &gguf.File{Tensors: []gguf.TensorInfo{{Name: "norm", Shape: []int64{64}, Type: gguf.F32}, {Name: "w", Shape: []int64{64, 64}, Type: gguf.F16}}}
	if m := FileTieMargin(f); m != TieMarginFloat {
		t.Errorf("f16 matrices: margin %g", m)
	}
	f.Tensors = append(f.Tensors, gguf.TensorInfo{Name: "w2", Shape: []int64{64, 64}, Type: gguf.Q8_0})
	if m := FileTieMargin(f); m != TieMarginQuant {
		t.Errorf("a q8_0 matrix: margin %g", m)
	}
	// A quantized vector (not a matrix) does not widen the margin.
	f.Tensors = []gguf.TensorInfo{{Name: "v", Shape: []int64{64}, Type: gguf.Q8_0}}
	if m := FileTieMargin(f); m != TieMarginFloat {
		t.Errorf("a q8_0 vector: margin %g", m)
	}
}

func statsClose(a, b Stats) bool {
	c := func(x, y float64) bool {
		if math.IsInf(x, 1) || math.IsInf(y, 1) {
			return x == y
		}
		return math.Abs(x-y) <= 1e-6 // the rows are float32
	}
	return a.Positions == b.Positions && a.NearTies == b.NearTies && c(a.TieMargin, b.TieMargin) && c(a.ArgmaxAgree, b.ArgmaxAgree) && c(a.MeanKL, b.MeanKL) &&
		c(a.MaxKL, b.MaxKL) && c(a.MaxAbsDiff, b.MaxAbsDiff) && c(a.MaxAbsLogDiff, b.MaxAbsLogDiff) && c(a.MaxGapDiff, b.MaxGapDiff)
}

func TestCompareLogits(t *testing.T) {
	logits := [][]float32{{0, float32(math.Log(3))}, {-1000, 5}}
	ref := [][]float32{{0.25, 0.75}, {0, 1}}
	s, err := CompareLogits(ref, logits, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Positions != 2 || s.ArgmaxAgree != 1 || s.MeanKL > 1e-7 || s.MaxAbsDiff > 1e-7 || s.MaxAbsLogDiff > 1e-7 || s.MaxGapDiff > 1e-7 {
		t.Errorf("got %v", s)
	}
}

func TestCompareErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ref, ours [][]float32
		logits    bool
		want      string
	}{
		{"row count", [][]float32{{1}}, nil, false, "1 reference rows, 0 of ours"},
		{"empty", nil, nil, false, "nothing to compare"},
		{"row length", [][]float32{{1, 0}}, [][]float32{{1}}, false, "row 0: 2 reference entries, 1 of ours"},
		{"negative", [][]float32{{1, 0}}, [][]float32{{-1, 2}}, false, "row 0 of ours: probability -1"},
		{"nan ref", [][]float32{{float32(math.NaN()), 1}}, [][]float32{{0, 1}}, false, "row 0 of the reference: probability NaN"},
		{"zero ref", [][]float32{{0, 0}}, [][]float32{{0, 1}}, false, "row 0 of the reference sums to 0"},
		{"nan logit", [][]float32{{0, 1}}, [][]float32{{float32(math.NaN()), 1}}, true, "logit NaN"},
		{"all -inf", [][]float32{{0, 1}}, [][]float32{{float32(math.Inf(-1)), float32(math.Inf(-1))}}, true, "all logits are -Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.logits {
				_, err = CompareLogits(tc.ref, tc.ours, 0)
			} else {
				_, err = Compare(tc.ref, tc.ours, 0)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDecodeProbs(t *testing.T) {
	file := func(v, p uint32, floats ...float32) []byte {
		b := binary.LittleEndian.AppendUint32(nil, v)
		b = binary.LittleEndian.AppendUint32(b, p)
		for _, f := range floats {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
		return b
	}
	rows, err := decodeProbs(file(3, 2, 0.25, 0.5, 0.25, 1, 0, 0), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][1] != 0.5 || rows[1][0] != 1 || len(rows[1]) != 3 {
		t.Errorf("got %v", rows)
	}
	for _, tc := range []struct {
		name string
		data []byte
		n    int
		want string
	}{
		{"short", []byte{1, 2, 3}, 1, "shorter than its header"},
		{"rows", file(1, 2, 1, 1), 3, "2 rows of probabilities for 3 tokens"},
		{"size", file(3, 1, 1, 0), 1, "does not hold 1 rows of 3"},
		{"huge claim", file(1<<31, 1<<31), 1 << 31, "does not hold"},
		{"zero vocab", file(0, 1), 1, "does not hold"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeProbs(tc.data, tc.n)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	job := Job{Model: "m.gguf", Tokens: []int32{1}}
	for _, tc := range []struct {
		name string
		jobs []Job
		opts []Option
		want string
	}{
		{"no jobs", nil, nil, "no jobs"},
		{"kv", []Job{job}, []Option{WithKVCache("q4_0")}, `KV cache type "q4_0" is not f16 or f32`},
		{"threads", []Job{job}, []Option{WithThreads(0)}, "0 threads"},
		{"no tokens", []Job{job, {Model: "m.gguf"}}, nil, "job 1 has no tokens"},
		{"generate", []Job{{Model: "m.gguf", Tokens: []int32{1}, Generate: -1}}, nil, "job 0: cannot generate -1 tokens"},
		{"hidden", []Job{job, {Model: "m.gguf", Tokens: []int32{1}, Generate: 2, Hidden: true}}, nil, "job 1: hidden states are for Generate 0 only"},
		{"incremental", []Job{{Model: "m.gguf", Tokens: []int32{1}, Generate: 2, Incremental: true}}, nil, "job 0: Incremental is for Generate 0"},
		{"variant", []Job{job}, []Option{WithVariant("../x")}, `CPU variant "../x" is not a variant name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(tc.jobs, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := Greedy("m.gguf", []int32{1}, 0); err == nil {
		t.Error("Greedy of 0 tokens succeeded")
	}
	if _, err := Tokenize("m.gguf", nil); err == nil {
		t.Error("Tokenize of no texts succeeded")
	}
}
