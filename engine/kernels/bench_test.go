package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkDot(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x, y := randVec(r, 4096, 1), randVec(r, 4096, 1)
	b.SetBytes(4 * 4096)
	for b.Loop() {
		Dot(x, y)
	}
}

// BenchmarkMatMul multiplies a 2048x2048 matrix by 1 and 16 columns.
func BenchmarkMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, typ := range []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_1} {
		m, _ := matrixOf(&testing.T{}, r, typ, 2048, 2048)
		for _, batch := range []int{1, 16} {
			x := randVec(r, batch*2048, 1)
			dst := make([]float32, batch*2048)
			b.Run(fmt.Sprintf("%v/batch%d", typ, batch), func(b *testing.B) {
				for b.Loop() {
					MatMul(dst, m, x, batch, 1)
				}
				b.ReportMetric(float64(2*2048*2048*batch*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkMatMulPanel runs the same 2048x2048 MatMul on the row path and,
// where a panel kernel is installed for the type, on the packed matrix,
// side by side, for batches 1, 16 and 64.
func BenchmarkMatMulPanel(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, typ := range []Type{Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q6_K} {
		var data []byte
		if typ == Q8_0 {
			data = randQ8Rows(r, 2048, 2048/BlockQ8Len)
		} else {
			data = randBlocks(r, typ, 2048*2048/traits[typ].blockLen)
		}
		m, err := NewMatrix(typ, 2048, 2048, data)
		if err != nil {
			b.Fatal(err)
		}
		p := *m
		if !p.Pack() {
			continue
		}
		for _, batch := range []int{1, 16, 64} {
			x := randVec(r, batch*2048, 1)
			dst := make([]float32, batch*2048)
			for _, v := range []struct {
				name string
				m    *Matrix
			}{{"row", m}, {"panel", &p}} {
				b.Run(fmt.Sprintf("%v/batch%d/%s", typ, batch, v.name), func(b *testing.B) {
					for b.Loop() {
						MatMul(dst, v.m, x, batch, 1)
					}
					b.ReportMetric(float64(2*2048*2048*batch*b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
