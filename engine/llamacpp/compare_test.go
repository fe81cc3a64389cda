package llamacpp

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	// KL([0.5 0.5] || [0.25 0.75]) = 0.5 ln 2 + 0.5 ln(2/3).
	kl := 0.5*math.Log(2) + 0.5*math.Log(2.0/3)
	for _, tc := range []struct {
		name      string
		ref, ours [][]float32
		want      Stats
	}{
		{"identical", [][]float32{{0.1, 0.9}, {0.7, 0.3}}, [][]float32{{0.1, 0.9}, {0.7, 0.3}},
			Stats{Positions: 2, ArgmaxAgree: 1}},
		{"one off", [][]float32{{0.5, 0.5}, {0, 1}}, [][]float32{{0.25, 0.75}, {0, 1}},
			Stats{Positions: 2, ArgmaxAgree: 0.5, MeanKL: kl / 2, MaxKL: kl, MaxAbsDiff: 0.25, MaxAbsLogDiff: math.Log(2)}},
		{"unnormalized", [][]float32{{1, 3}}, [][]float32{{2, 6}},
			Stats{Positions: 1, ArgmaxAgree: 1}},
		{"zero where ref is not", [][]float32{{0.5, 0.5}}, [][]float32{{0, 1}},
			Stats{Positions: 1, ArgmaxAgree: 0, MeanKL: math.Inf(1), MaxKL: math.Inf(1), MaxAbsDiff: 0.5, MaxAbsLogDiff: math.Inf(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Compare(tc.ref, tc.ours)
			if err != nil {
				t.Fatal(err)
			}
			if !statsClose(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func statsClose(a, b Stats) bool {
	c := func(x, y float64) bool {
		if math.IsInf(x, 1) || math.IsInf(y, 1) {
			return x == y
		}
		return math.Abs(x-y) <= 1e-12
	}
	return a.Positions == b.Positions && c(a.ArgmaxAgree, b.ArgmaxAgree) && c(a.MeanKL, b.MeanKL) &&
		c(a.MaxKL, b.MaxKL) && c(a.MaxAbsDiff, b.MaxAbsDiff) && c(a.MaxAbsLogDiff, b.MaxAbsLogDiff)
}

func TestCompareLogits(t *testing.T) {
	logits := [][]float32{{0, float32(math.Log(3))}, {-1000, 5}}
	ref := [][]float32{{0.25, 0.75}, {0, 1}}
	s, err := CompareLogits(ref, logits)
	if err != nil {
		t.Fatal(err)
	}
	if s.Positions != 2 || s.ArgmaxAgree != 1 || s.MeanKL > 1e-7 || s.MaxAbsDiff > 1e-7 || s.MaxAbsLogDiff > 1e-7 {
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
				_, err = CompareLogits(tc.ref, tc.ours)
			} else {
				_, err = Compare(tc.ref, tc.ours)
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
