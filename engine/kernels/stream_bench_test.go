package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMatMulStream multiplies 96 distinct packed Q8_0 matrices of
// SmolLM2's FFN shape (1536x576, 0.9 MB each, 90 MB in all: more than the
// L3 cache) in turn by narrow batches, as a decode step does with a
// model's layers: the weights stream from memory once per pass. It
// reports weight bytes and operations per CPU-second of the process.
func BenchmarkMatMulStream(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	const rows, cols, n = 1536, 576, 96
	ms := make([]*Matrix, n)
	for i := range ms {
		m, err := NewMatrix(Q8_0, rows, cols, randQ8Rows(r, rows, cols/BlockQ8Len))
		if err != nil {
			b.Fatal(err)
		}
		if !m.Pack() {
			b.Skip("no panel kernel")
		}
		ms[i] = m
	}
	bytes := float64(n * rows * cols / BlockQ8Len * BlockQ8Size)
	for _, batch := range []int{1, 2, 3, 8, 10, 16, 64} {
		for _, threads := range []int{1, 2} {
			x := randVec(r, batch*cols, 1)
			dst := make([]float32, batch*rows)
			b.Run(fmt.Sprintf("batch%d/threads%d", batch, threads), func(b *testing.B) {
				c0 := processCPU()
				for b.Loop() {
					for _, m := range ms {
						MatMul(dst, m, x, batch, threads)
					}
				}
				cpu := processCPU() - c0
				b.ReportMetric(bytes*float64(b.N)/cpu/1e9, "GB/cpu-s")
				b.ReportMetric(2*bytes/BlockQ8Size*BlockQ8Len*float64(batch*b.N)/cpu/1e9, "GOP/cpu-s")
			})
		}
	}
}
