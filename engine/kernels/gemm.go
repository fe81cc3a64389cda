package kernels

import (
	"math"
)

// Panel MatMul for Q8_0 weights: the weights are repacked once (Pack) so
// that one vector register holds the same 4 consecutive weights of 16
// consecutive rows, and a kernel (assembly, see gemm_amd64.s) forms the
// exact int32 block sums of 16 rows at once for a tile of activation
// columns, with no horizontal reduction. The vector lanes are outputs
// (rows), never parts of a sum, so each output's operations are
// dotQ8Ref's, in its order, and the result is the same bits as the
// row-by-row path.
//
// Packed layout: panel p holds rows 16p..16p+15 (the last one padded with
// zero rows); its blocks k = 0..nb-1 follow one another, each
// q8PanelBlock bytes:
//
//	[0, 32)    the 16 rows' fp16 scales of block k, row r at 2r
//	[32, 544)  8 groups g of 64 bytes; row r's weights 4g..4g+3 of block k
//	           at 32+64g+4r, each stored as w+128 (unsigned byte)
//
// Activations go to q8ActBlock-byte blocks per column: the 32 int8 values
// as QuantizeQ8 makes them, the float32 scale dx (the fp16 scale widened),
// and the int32 -128*sum(q), which takes the +128 of the weights back out:
// sum((w+128)*q) - 128*sum(q) = sum(w*q), exactly.
const (
	q8PanelRows  = 16
	q8PanelBlock = 2*q8PanelRows + q8PanelRows*BlockQ8Len
	q8ActBlock   = BlockQ8Len + 8
)

// q8ChunkBytes bounds the activation bytes a thread works through per
// pass over its weight panels, so that they stay in L2 (a variable so
// that the tests can make chunks small).
var q8ChunkBytes = 192 << 10

// q8PanelKernel computes the 16 rows of one panel against ncol columns
// (the kernels' widths: q8PanelWidths); nil when no kernel is installed.
type q8PanelKernel func(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

// q8Panels are the installed panel kernels by column count, widest first;
// empty when none is installed (then Pack does nothing).
var q8Panels []q8PanelWidth

type q8PanelWidth struct {
	cols   int
	kernel q8PanelKernel
}

// Pack lays the matrix out for the installed panel MatMul kernel, when
// there is one for its type (today Q8_0 with AVX-512 VNNI), and reports
// whether it did. The packed copy is about the size of Data (rows are
// padded to a multiple of 16); after Pack, MatMul reads only the copy and
// Data is read only by Row, so a caller whose Data is a file mapping may
// let the kernel drop those pages. The results of MatMul do not change.
func (m *Matrix) Pack() bool {
	if m.packed != nil {
		return true
	}
	if m.Type != Q8_0 || len(q8Panels) == 0 {
		return false
	}
	m.packed = packQ8(m.Data, m.Rows, m.Cols/BlockQ8Len)
	return true
}

// packQ8 repacks rows Q8_0 rows of nb blocks into the panel layout.
func packQ8(data []byte, rows, nb int) []byte {
	panels := (rows + q8PanelRows - 1) / q8PanelRows
	rs := nb * BlockQ8Size
	out := make([]byte, panels*nb*q8PanelBlock)
	for p := 0; p < panels; p++ {
		for k := 0; k < nb; k++ {
			o := out[(p*nb+k)*q8PanelBlock : (p*nb+k+1)*q8PanelBlock]
			for r := 0; r < q8PanelRows; r++ {
				row := p*q8PanelRows + r
				if row >= rows {
					for g := 0; g < BlockQ8Len/4; g++ {
						copy(o[32+64*g+4*r:32+64*g+4*r+4], []byte{0x80, 0x80, 0x80, 0x80}) // w = 0, scale 0
					}
					continue
				}
				src := data[row*rs+k*BlockQ8Size : row*rs+(k+1)*BlockQ8Size]
				o[2*r], o[2*r+1] = src[0], src[1]
				for g := 0; g < BlockQ8Len/4; g++ {
					for j := 0; j < 4; j++ {
						o[32+64*g+4*r+j] = src[2+4*g+j] ^ 0x80
					}
				}
			}
		}
	}
	return out
}

// q8Activations quantizes batch columns of cols values with QuantizeQ8
// and lays them out in the panel kernels' activation blocks.
func q8Activations(x []float32, batch, cols int) []byte {
	nb := cols / BlockQ8Len
	out := make([]byte, batch*nb*q8ActBlock)
	q8ActQuant(out, x[:batch*cols])
	return out
}

// q8ActQuant writes the activation blocks of x (len a multiple of 32)
// into out; the installed version must equal q8ActQuantGeneric bit for bit.
var q8ActQuant = q8ActQuantGeneric

// q8ActQuantGeneric is QuantizeQ8, block by block, then the sum.
func q8ActQuantGeneric(out []byte, x []float32) {
	var tmp [BlockQ8Size]byte
	for k := 0; k < len(x)/BlockQ8Len; k++ {
		QuantizeQ8(tmp[:], x[k*BlockQ8Len:(k+1)*BlockQ8Len])
		o := out[k*q8ActBlock : (k+1)*q8ActBlock]
		copy(o[:BlockQ8Len], tmp[2:])
		var sum int32
		for _, q := range tmp[2:] {
			sum += int32(int8(q))
		}
		putU32(o[BlockQ8Len:], math.Float32bits(f16Table[uint16(tmp[0])|uint16(tmp[1])<<8]))
		putU32(o[BlockQ8Len+4:], uint32(-128*sum))
	}
}

// q8ActScales does QuantizeQ8's per-block scalar part for blocks of
// maxima amax: it writes each block's widened fp16 scale d = amax/127
// into its activation block and returns id = 127/amax (0 if amax = 0) in
// amax's place.
func q8ActScales(out []byte, amax []float32) {
	for k, a := range amax {
		d := a / 127
		var id float32
		if a != 0 {
			id = 127 / a
		}
		putU32(out[k*q8ActBlock+BlockQ8Len:], math.Float32bits(f16Table[F32ToF16(d)]))
		amax[k] = id
	}
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// matMulQ8Packed is MatMul for a packed Q8_0 matrix. Threads take
// contiguous ranges of panels (rows); each thread goes through the batch
// in chunks of columns whose activations fit q8ChunkBytes, and within a
// chunk reuses each panel block for a tile of columns.
func matMulQ8Packed(dst []float32, m *Matrix, x []float32, batch, threads int) {
	nb := m.Cols / BlockQ8Len
	xa := q8Activations(x, batch, m.Cols)
	xstride := nb * q8ActBlock
	widest := q8Panels[0].cols
	chunk := max(widest, q8ChunkBytes/xstride/widest*widest)
	panels := (m.Rows + q8PanelRows - 1) / q8PanelRows
	dstride := 4 * m.Rows
	ParallelFor(panels, threads, func(lo, hi int) {
		var tmp [q8PanelRows * 8]float32
		for c0 := 0; c0 < batch; c0 += chunk {
			c1 := min(batch, c0+chunk)
			for p := lo; p < hi; p++ {
				w := &m.packed[p*nb*q8PanelBlock]
				r0 := p * q8PanelRows
				for c := c0; c < c1; {
					pw := q8Panels[len(q8Panels)-1]
					for _, k := range q8Panels {
						if k.cols <= c1-c {
							pw = k
							break
						}
					}
					if r0+q8PanelRows <= m.Rows {
						pw.kernel(w, nb, &xa[c*xstride], xstride, &dst[c*m.Rows+r0], dstride)
					} else {
						pw.kernel(w, nb, &xa[c*xstride], xstride, &tmp[0], 4*q8PanelRows)
						for j := 0; j < pw.cols; j++ {
							copy(dst[(c+j)*m.Rows+r0:(c+j+1)*m.Rows], tmp[j*q8PanelRows:j*q8PanelRows+m.Rows-r0])
						}
					}
					c += pw.cols
				}
			}
		}
	})
}
