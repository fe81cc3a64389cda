package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMuls checks MatMuls against MatMul of each matrix bit for bit:
// matrices sharing one quantized input (packed, one type, row counts
// around the panel height), mixed with an unpacked one or one of another
// type (each on its own then), batches wide enough for the activations
// to be quantized on several threads, 1 to 3 threads.
func TestMatMuls(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, typ := range []Type{Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q6_K} {
		blockLen := BlockQ8Len
		if typ != Q8_0 {
			blockLen = traits[typ].blockLen
		}
		nb := 2
		if blockLen == BlockQ8Len {
			nb = 12
		}
		cols := nb * blockLen
		mat := func(typ Type, rows int, pack bool) *Matrix {
			var data []byte
			if typ == Q8_0 {
				data = randQ8Rows(r, rows, nb*blockLen/BlockQ8Len)
			} else {
				data = randBlocks(r, typ, rows*nb*blockLen/traits[typ].blockLen)
			}
			m, err := NewMatrix(typ, rows, cols, data)
			if err != nil {
				t.Fatal(err)
			}
			if pack {
				m.Pack()
			}
			return m
		}
		other := Q8_0
		if typ == Q8_0 {
			other = Q4_0
		}
		sets := map[string][]*Matrix{
			"shared":   {mat(typ, 37, true), mat(typ, 16, true), mat(typ, 5, true)},
			"unpacked": {mat(typ, 20, true), mat(typ, 33, false)},
			"mixed":    {mat(typ, 17, true), mat(other, 17, true)},
		}
		for name, ms := range sets {
			for _, batch := range []int{1, 3, 9, 70} {
				x := randActs(r, batch, cols)
				for threads := 1; threads <= 3; threads++ {
					dsts := make([][]float32, len(ms))
					for i, m := range ms {
						dsts[i] = make([]float32, batch*m.Rows)
					}
					MatMuls(dsts, ms, x, batch, threads)
					for i, m := range ms {
						want := make([]float32, batch*m.Rows)
						MatMul(want, m, x, batch, 1)
						for j := range want {
							if math.Float32bits(dsts[i][j]) != math.Float32bits(want[j]) {
								t.Fatalf("%v %s, batch %d, %d threads: matrix %d out %d = %g, MatMul %g", typ, name, batch, threads, i, j, dsts[i][j], want[j])
							}
						}
					}
				}
			}
		}
	}
}
