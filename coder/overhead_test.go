package coder

import (
	"bytes"
	"math/rand/v2"
	"sync"
	"testing"
)

// The overhead workloads: 1,000,000 symbols drawn from a fixed table:
// Zipf over 32,000 symbols (p_k ∝ 1/(k+1)^1.1, total 2^24), 16 symbols
// with p_k ∝ 2^-k (total 2^24), 16 symbols where one has all but 2^-20 of
// the mass (total 2^31), and Zipf over 151,936 symbols (total 2^31).
const workloadSymbols = 1_000_000

type workload struct {
	name string
	d    *Freqs
	syms []int
}

var workloads = sync.OnceValue(func() []workload {
	zipf, err := NewFreqs(quantize(zipfWeights(32000, 1.1), 1<<24))
	if err != nil {
		panic(err)
	}
	// 16 symbols, p_k proportional to 2^-k: the first has half the mass.
	w := make([]float64, 16)
	for k := range w {
		w[k] = 1 / float64(uint64(1)<<k)
	}
	skew, err := NewFreqs(quantize(w, 1<<24))
	if err != nil {
		panic(err)
	}
	// Nearly deterministic: one symbol has all but 1/2^20 of the mass.
	certain, err := NewFreqs([]uint32{1<<31 - 15<<11, 1 << 11, 1 << 11, 1 << 11, 1 << 11, 1 << 11, 1 << 11, 1 << 11, 1 << 11, 1 << 11, 1 << 11, 1 << 11, 1 << 11, 1 << 11, 1 << 11, 1 << 11})
	if err != nil {
		panic(err)
	}
	// A 151,936-token vocabulary (Qwen2) at the largest total.
	zipfBig, err := NewFreqs(quantize(zipfWeights(151936, 1.1), MaxTotal))
	if err != nil {
		panic(err)
	}
	ws := []workload{{name: "zipf32000"}, {name: "skew16"}, {name: "certain16"}, {name: "zipf151936_t31"}}
	for i, d := range []*Freqs{zipf, skew, certain, zipfBig} {
		rng := rand.New(rand.NewPCG(uint64(i), 99))
		ws[i].d = d
		ws[i].syms = make([]int, workloadSymbols)
		for j := range ws[i].syms {
			ws[i].syms[j], _, _ = d.Lookup(rng.Uint32N(d.Total()))
		}
	}
	return ws
})

func (w workload) steps() []step {
	steps := make([]step, len(w.syms))
	for i, s := range w.syms {
		steps[i] = step{w.d, s}
	}
	return steps
}

// TestOverhead checks that the coded size exceeds the ideal size
// -sum log2(freq/total) by less than 0.01% plus 16 bytes. It is a property
// of the coder's arithmetic, not a timing.
func TestOverhead(t *testing.T) {
	for _, w := range workloads() {
		t.Run(w.name, func(t *testing.T) {
			steps := w.steps()
			stream := encodeSteps(t, steps)
			checkDecode(t, stream, steps)
			ideal := idealBits(steps) / 8
			over := float64(len(stream)) - ideal
			t.Logf("%d symbols: %d bytes, ideal %.1f bytes, overhead %.2f bytes (%.5f%%)",
				len(steps), len(stream), ideal, over, 100*over/ideal)
			if over > 1e-4*ideal+16 {
				t.Errorf("overhead %.2f bytes on ideal %.1f bytes exceeds 0.01%% + 16 bytes", over, ideal)
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, w := range workloads() {
		b.Run(w.name, func(b *testing.B) {
			var buf bytes.Buffer
			buf.Grow(4 * len(w.syms))
			e := NewEncoder(&buf)
			for b.Loop() {
				buf.Reset()
				e.Reset(&buf)
				for _, s := range w.syms {
					if err := e.Encode(w.d, s); err != nil {
						b.Fatal(err)
					}
				}
				if err := e.Close(); err != nil {
					b.Fatal(err)
				}
			}
			reportSymbols(b, len(w.syms))
			b.ReportMetric(float64(8*buf.Len())/float64(len(w.syms)), "bits/sym")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, w := range workloads() {
		b.Run(w.name, func(b *testing.B) {
			var buf bytes.Buffer
			e := NewEncoder(&buf)
			for _, s := range w.syms {
				if err := e.Encode(w.d, s); err != nil {
					b.Fatal(err)
				}
			}
			if err := e.Close(); err != nil {
				b.Fatal(err)
			}
			stream := buf.Bytes()
			r := bytes.NewReader(stream)
			var d Decoder
			for b.Loop() {
				r.Reset(stream)
				if err := d.Reset(r); err != nil {
					b.Fatal(err)
				}
				for i, want := range w.syms {
					s, err := d.Decode(w.d)
					if err != nil || s != want {
						b.Fatalf("symbol %d: decoded %d, %v; want %d", i, s, err, want)
					}
				}
			}
			reportSymbols(b, len(w.syms))
		})
	}
}

// reportSymbols reports throughput in symbols per second and ns per symbol.
func reportSymbols(b *testing.B, perOp int) {
	sec := b.Elapsed().Seconds()
	n := float64(b.N) * float64(perOp)
	b.ReportMetric(n/sec, "sym/s")
	b.ReportMetric(sec*1e9/n, "ns/sym")
}
