package kernels

import "encoding/binary"

// Faster MatMul paths for the table types whose dot product is a Q8_0 dot
// in disguise. Each weight row is unpacked once per MatMul call into Q8_0
// blocks (the same fp16 scale bytes, the block's integers as int8), and the
// dot products with the columns go through dotQ8, the Q8_0 kernel (assembly
// where installed). dotQ8's order, acc = acc + float32(float32(dw*dx) *
// float32(s)) block by block, is the order of the reference kernels'
// integer part, so the results equal dotQ4_0Ref, dotQ4_1Ref and dotQ5_0Ref
// bit for bit (TestQuantMatMul checks it).
//
// The K-quant paths (Q4_K, Q6_K) use dotQ8 for the integer sums only: a
// sub-block's weights and activations are laid out as one Q8_0 block with
// scale 1 on both sides (a Q6_K sub-block of 16 padded with 16 zeros), so
// dotQ8 returns float32(s) with s the exact int32 sum (|s| < 2^24, so the
// conversion is exact too). The rest is the reference kernels' integer and
// float arithmetic in their order.

func init() {
	traits[Q4_1].matMul = matMulQ4_1
	traits[Q5_0].matMul = matMulQ5_0
	traits[Q4_0].matMul = matMulQ4_0
	traits[Q4_K].matMul = matMulQ4_K
	traits[Q6_K].matMul = matMulQ6_K
}

// unitBlock writes a Q8_0 block header of scale 1 (fp16 0x3c00).
func unitBlock(o []byte) { o[0], o[1] = 0x00, 0x3c }

// intDot returns the exact integer dot of two Q8_0 blocks of scale 1.
func intDot(w, x []byte) int32 { return int32(dotQ8(w[:BlockQ8Size], x[:BlockQ8Size])) }

func matMulQ4_K(dst []float32, m *Matrix, x []float32, batch, threads int) {
	nsb := m.Cols / BlockKLen
	xs := nsb * BlockQ8KSize
	as := nsb * 8 * BlockQ8Size
	xq := make([]byte, batch*xs)
	xa := make([]byte, batch*as)
	for b := 0; b < batch; b++ {
		q := xq[b*xs : (b+1)*xs]
		QuantizeQ8K(q, x[b*m.Cols:(b+1)*m.Cols])
		for i := 0; i < nsb*8; i++ {
			o := xa[b*as+i*BlockQ8Size:]
			unitBlock(o)
			copy(o[2:BlockQ8Size], q[(i/8)*BlockQ8KSize+4+32*(i%8):])
		}
	}
	ParallelFor(m.Rows, threads, func(lo, hi int) {
		wa := make([]byte, as)
		sc := make([]int32, 2*nsb*8) // scale, min per sub-block
		dw := make([]float32, 2*nsb) // d, dmin per super-block
		for i := 0; i < nsb*8; i++ {
			unitBlock(wa[i*BlockQ8Size:])
		}
		for r := lo; r < hi; r++ {
			row := m.Data[r*m.rowSize : (r+1)*m.rowSize]
			for k := 0; k < nsb; k++ {
				blk := row[k*BlockQ4_KSize:]
				dw[2*k], dw[2*k+1] = f16At(blk), f16At(blk[2:])
				qs := blk[16:144]
				for s := 0; s < 8; s++ {
					sc[2*(8*k+s)], sc[2*(8*k+s)+1] = scaleMinK4(s, blk[4:16])
					shift := uint(4 * (s & 1))
					o, q := wa[(8*k+s)*BlockQ8Size+2:], qs[32*(s/2):]
					for l := 0; l < 32; l++ {
						o[l] = q[l] >> shift & 0xf
					}
				}
			}
			for b := 0; b < batch; b++ {
				var acc float32
				for k := 0; k < nsb; k++ {
					xb := xq[b*xs+k*BlockQ8KSize:]
					bsums := xb[4+BlockKLen:]
					var S, M int32
					for s := 0; s < 8; s++ {
						i := 8*k + s
						S += sc[2*i] * intDot(wa[i*BlockQ8Size:], xa[b*as+i*BlockQ8Size:])
						bs := int32(int16(uint16(bsums[4*s])|uint16(bsums[4*s+1])<<8)) + int32(int16(uint16(bsums[4*s+2])|uint16(bsums[4*s+3])<<8))
						M += sc[2*i+1] * bs
					}
					dx := q8KD(xb)
					acc = acc + float32(float32(dw[2*k]*dx)*float32(S))
					acc = acc - float32(float32(dw[2*k+1]*dx)*float32(M))
				}
				dst[b*m.Rows+r] = acc
			}
		}
	})
}

func matMulQ6_K(dst []float32, m *Matrix, x []float32, batch, threads int) {
	nsb := m.Cols / BlockKLen
	xs := nsb * BlockQ8KSize
	as := nsb * 16 * BlockQ8Size
	xq := make([]byte, batch*xs)
	xa := make([]byte, batch*as) // zero padding stays zero
	for b := 0; b < batch; b++ {
		q := xq[b*xs : (b+1)*xs]
		QuantizeQ8K(q, x[b*m.Cols:(b+1)*m.Cols])
		for i := 0; i < nsb*16; i++ {
			o := xa[b*as+i*BlockQ8Size:]
			unitBlock(o)
			copy(o[2:18], q[(i/16)*BlockQ8KSize+4+16*(i%16):])
		}
	}
	ParallelFor(m.Rows, threads, func(lo, hi int) {
		wa := make([]byte, as)
		sc := make([]int32, nsb*16)
		dw := make([]float32, nsb)
		var q [BlockKLen]int32
		for i := 0; i < nsb*16; i++ {
			unitBlock(wa[i*BlockQ8Size:])
		}
		for r := lo; r < hi; r++ {
			row := m.Data[r*m.rowSize : (r+1)*m.rowSize]
			for k := 0; k < nsb; k++ {
				blk := row[k*BlockQ6_KSize:]
				q6_K(blk, &q)
				dw[k] = f16At(blk[208:])
				for s := 0; s < 16; s++ {
					sc[16*k+s] = int32(int8(blk[192+s]))
					o := wa[(16*k+s)*BlockQ8Size+2:]
					for l := 0; l < 16; l++ {
						o[l] = byte(int8(q[16*s+l]))
					}
				}
			}
			for b := 0; b < batch; b++ {
				var acc float32
				for k := 0; k < nsb; k++ {
					var S int32
					for s := 0; s < 16; s++ {
						i := 16*k + s
						S += sc[i] * intDot(wa[i*BlockQ8Size:], xa[b*as+i*BlockQ8Size:])
					}
					acc = acc + float32(float32(dw[k]*q8KD(xq[b*xs+k*BlockQ8KSize:]))*float32(S))
				}
				dst[b*m.Rows+r] = acc
			}
		}
	})
}

// unpackQ4_1 writes the nibbles of a Q4_1 row as Q8_0 blocks into w8 and
// the blocks' m into mw.
func unpackQ4_1(w8 []byte, mw []float32, row []byte) {
	for i := range mw {
		b, o := row[i*BlockQ4_1Size:(i+1)*BlockQ4_1Size], w8[i*BlockQ8Size:(i+1)*BlockQ8Size]
		o[0], o[1] = b[0], b[1]
		mw[i] = f16At(b[2:])
		splitNibbles(o[2:BlockQ8Size], b[4:20], false)
	}
}

// splitNibbles writes the low nibbles of the 16 bytes of src to dst[0:16]
// and the high nibbles to dst[16:32], as bytes 0..15, or, with signed, as
// the int8 values nibble-8. Eight bytes at a time in a uint64: a nibble
// never leaves its byte. For signed, m = n^8 is n-8 for n >= 8; for n < 8
// it is n+8 (bit 3 set), and n-8 as a byte is 0xf0|m, so bit 3 is copied
// into bits 4-7.
func splitNibbles(dst, src []byte, signed bool) {
	const lo4, bit3 = 0x0f0f0f0f0f0f0f0f, 0x0808080808080808
	_, _ = dst[31], src[15]
	for h := 0; h < 16; h += 8 {
		v := binary.LittleEndian.Uint64(src[h:])
		l, u := v&lo4, (v>>4)&lo4
		if signed {
			l ^= bit3
			u ^= bit3
			tl, tu := l&bit3, u&bit3
			l |= tl<<1 | tl<<2 | tl<<3 | tl<<4
			u |= tu<<1 | tu<<2 | tu<<3 | tu<<4
		}
		binary.LittleEndian.PutUint64(dst[h:], l)
		binary.LittleEndian.PutUint64(dst[16+h:], u)
	}
}

// dotQ4_1D returns the d part of dotQ4_1Ref (accD, in its order) of a
// Q4_1 row w against activations laid out as Q8_0 blocks (d_x and the 32
// int8 of the Q8_1 block): an assembly kernel where one is installed (nil
// otherwise: then matMulQ4_1 unpacks each row once for all its columns).
var dotQ4_1D func(w, x []byte) float32

// dotQ4_1DGeneric, the kernel's reference, unpacks the row into Q8_0 blocks and takes dotQ8: the
// same integer sums and float steps as dotQ4_1Ref's accD.
func dotQ4_1DGeneric(w, x []byte) float32 {
	nb := len(w) / BlockQ4_1Size
	w8 := make([]byte, nb*BlockQ8Size)
	for i := 0; i < nb; i++ {
		b, o := w[i*BlockQ4_1Size:], w8[i*BlockQ8Size:]
		o[0], o[1] = b[0], b[1]
		splitNibbles(o[2:BlockQ8Size], b[4:20], false)
	}
	return dotQ8(w8, x[:len(w8)])
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
			row := m.Data[r*m.rowSize : (r+1)*m.rowSize]
			direct := dotQ4_1D != nil
			if direct {
				for i := range mw {
					mw[i] = f16At(row[i*BlockQ4_1Size+2:])
				}
			} else {
				unpackQ4_1(w8, mw, row)
			}
			for b := 0; b < batch; b++ {
				var accD float32
				if direct {
					accD = dotQ4_1D(row, xq[b*xs:(b+1)*xs])
				} else {
					accD = dotQ8(w8, xq[b*xs:(b+1)*xs])
				}
				var accM float32
				for i, mv := range mw {
					accM = accM + float32(mv*sx[b*nb+i])
				}
				dst[b*m.Rows+r] = accD + accM
			}
		}
	})
}

func matMulQ4_0(dst []float32, m *Matrix, x []float32, batch, threads int) {
	matMulAsQ8(dst, m, x, batch, threads, func(w8, row []byte) {
		for i := range len(w8) / BlockQ8Size {
			b, o := row[i*BlockQ4_0Size:], w8[i*BlockQ8Size:(i+1)*BlockQ8Size]
			o[0], o[1] = b[0], b[1]
			splitNibbles(o[2:BlockQ8Size], b[2:18], true)
		}
	})
}

func matMulQ5_0(dst []float32, m *Matrix, x []float32, batch, threads int) {
	matMulAsQ8(dst, m, x, batch, threads, func(w8, row []byte) {
		var q [32]int32
		for i := range len(w8) / BlockQ8Size {
			b, o := row[i*BlockQ5_0Size:], w8[i*BlockQ8Size:(i+1)*BlockQ8Size]
			q5_0(b, &q)
			o[0], o[1] = b[0], b[1]
			for j, v := range q {
				o[2+j] = byte(int8(v))
			}
		}
	})
}

// matMulAsQ8 multiplies a matrix whose blocks carry one f16 scale and 32
// integer weights (Q4_0, Q5_0) by Q8_0 activations: unpack writes each row
// as Q8_0 blocks (same scale, weights widened to int8), which the Q8_0 dot
// then takes, so the result is the reference's bit for bit.
func matMulAsQ8(dst []float32, m *Matrix, x []float32, batch, threads int, unpack func(w8, row []byte)) {
	nb := m.Cols / BlockQ8Len
	xs := nb * BlockQ8Size
	xq := make([]byte, batch*xs)
	for b := 0; b < batch; b++ {
		QuantizeQ8(xq[b*xs:(b+1)*xs], x[b*m.Cols:(b+1)*m.Cols])
	}
	ParallelFor(m.Rows, threads, func(lo, hi int) {
		w8 := make([]byte, xs)
		for r := lo; r < hi; r++ {
			unpack(w8, m.Data[r*m.rowSize:(r+1)*m.rowSize])
			for b := 0; b < batch; b++ {
				dst[b*m.Rows+r] = dotQ8(w8, xq[b*xs:(b+1)*xs])
			}
		}
	})
}
