package kernels

// Faster MatMul paths for the table types whose dot product is a Q8_0 dot
// in disguise. Each weight row is unpacked once per MatMul call into Q8_0
// blocks (the same fp16 scale bytes, the block's integers as int8), and the
// dot products with the columns go through dotQ8, the Q8_0 kernel (assembly
// where installed). dotQ8's order, acc = acc + float32(float32(dw*dx) *
// float32(s)) block by block, is the order of the reference kernels'
// integer part, so the results equal dotQ4_1Ref and dotQ5_0Ref bit for bit
// (TestQuantMatMul checks it).

func init() {
	traits[Q4_1].matMul = matMulQ4_1
	traits[Q5_0].matMul = matMulQ5_0
}

// unpackQ4_1 writes the nibbles of a Q4_1 row as Q8_0 blocks into w8 and
// the blocks' m into mw.
func unpackQ4_1(w8 []byte, mw []float32, row []byte) {
	for i := range mw {
		b, o := row[i*BlockQ4_1Size:(i+1)*BlockQ4_1Size], w8[i*BlockQ8Size:(i+1)*BlockQ8Size]
		o[0], o[1] = b[0], b[1]
		mw[i] = f16At(b[2:])
		for j := 0; j < 16; j++ {
			o[2+j] = b[4+j] & 0xf
			o[18+j] = b[4+j] >> 4
		}
	}
}

func matMulQ4_1(dst []float32, m *Matrix, x []float32, batch, threads int) {
	nb := m.Cols / BlockQ8Len
	xs := nb * BlockQ8Size
	xq := make([]byte, batch*xs)
	sx := make([]float32, batch*nb)
	tmp := make([]byte, nb*BlockQ8_1Size)
	for b := 0; b < batch; b++ {
		QuantizeQ8_1(tmp, x[b*m.Cols:(b+1)*m.Cols])
		for i := 0; i < nb; i++ {
			t, o := tmp[i*BlockQ8_1Size:], xq[b*xs+i*BlockQ8Size:]
			o[0], o[1] = t[0], t[1]
			sx[b*nb+i] = f16At(t[2:])
			copy(o[2:BlockQ8Size], t[4:BlockQ8_1Size])
		}
	}
	ParallelFor(m.Rows, threads, func(lo, hi int) {
		w8 := make([]byte, xs)
		mw := make([]float32, nb)
		for r := lo; r < hi; r++ {
			unpackQ4_1(w8, mw, m.Data[r*m.rowSize:(r+1)*m.rowSize])
			for b := 0; b < batch; b++ {
				accD := dotQ8(w8, xq[b*xs:(b+1)*xs])
				var accM float32
				for i, mv := range mw {
					accM = accM + float32(mv*sx[b*nb+i])
				}
				dst[b*m.Rows+r] = accD + accM
			}
		}
	})
}

func matMulQ5_0(dst []float32, m *Matrix, x []float32, batch, threads int) {
	nb := m.Cols / BlockQ8Len
	xs := nb * BlockQ8Size
	xq := make([]byte, batch*xs)
	for b := 0; b < batch; b++ {
		QuantizeQ8(xq[b*xs:(b+1)*xs], x[b*m.Cols:(b+1)*m.Cols])
	}
	ParallelFor(m.Rows, threads, func(lo, hi int) {
		w8 := make([]byte, xs)
		var q [32]int32
		for r := lo; r < hi; r++ {
			row := m.Data[r*m.rowSize : (r+1)*m.rowSize]
			for i := 0; i < nb; i++ {
				b, o := row[i*BlockQ5_0Size:], w8[i*BlockQ8Size:(i+1)*BlockQ8Size]
				q5_0(b, &q)
				o[0], o[1] = b[0], b[1]
				for j, v := range q {
					o[2+j] = byte(int8(v))
				}
			}
			for b := 0; b < batch; b++ {
				dst[b*m.Rows+r] = dotQ8(w8, xq[b*xs:(b+1)*xs])
			}
		}
	})
}
