package llama

import (
	"fmt"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

// BenchmarkForward reports tokens per second for a tiny and a medium random
// model, evaluating a 64-token window one token at a time (the decoder's
// pattern, batch 1) and as one batch; for Q8_0 both with the weights
// packed for the panel kernels ("panel", as Load does) and in the file's
// layout ("rows", the row-by-row kernels).
func BenchmarkForward(b *testing.B) {
	medium := tinySpec{arch: "llama", dim: 512, layers: 4, heads: 8, kvHeads: 4, ff: 1408, vocab: 8000, seed: 3}
	for _, s := range []struct {
		name string
		spec tinySpec
	}{
		{"tiny", tiny("llama", gguf.F32)},
		{"medium", medium},
	} {
		for _, typ := range []gguf.Type{gguf.F32, gguf.F16, gguf.Q8_0} {
			spec := s.spec
			spec.wtype = typ
			for _, path := range []string{"panel", "rows"} {
				var opts []Option
				if path == "rows" {
					if typ != gguf.Q8_0 {
						continue
					}
					opts = append(opts, withoutPacking())
				}
				m, err := Load(buildModel(b, spec), opts...)
				if err != nil {
					b.Fatal(err)
				}
				const n = 64
				toks := tokenWindow(7, n, spec.vocab)
				for _, chunk := range []int{1, n} {
					b.Run(fmt.Sprintf("%s/%v/batch%d/%s", s.name, typ, chunk, path), func(b *testing.B) {
						c0 := cpuTime()
						for b.Loop() {
							forwardAll(b, m, toks, []int{chunk})
						}
						b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tok/s")
						// CPU time per token: meaningful on a shared, loaded machine
						// where wall time is not.
						b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(n*b.N), "cpu-µs/tok")
					})
				}
			}
		}
	}
}
