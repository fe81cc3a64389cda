package kernels

import (
	"math"
	"sync"
)

// Panel MatMul for Q8_0, Q4_0, Q4_1, Q5_0, Q4_K and Q6_K weights: the
// weights are repacked once (Pack) so that one vector register holds the
// same 4 consecutive weights of 16 consecutive rows, and a kernel
// (assembly, see gemm_amd64.s) forms the exact int32 block sums of 16 rows
// at once for a tile of activation columns, with no horizontal reduction.
// The vector lanes are outputs (rows), never parts of a sum, so each
// output's operations are its reference kernel's (dotQ8Ref, dotQ4_0Ref,
// ...), in its order, and the result is the same bits as the row-by-row
// path.
//
// Packed layout: panel p holds rows 16p..16p+15 (the last one padded with
// zero rows, whose outputs are dropped); its blocks k = 0..nb-1 follow
// one another, each panelFormat.block bytes: the 16 rows' fp16 scales
// (row r at 2r), then the weights as described at the top of
// gemm_amd64.s (Q8_0: w+128 as unsigned bytes, 4 consecutive weights of
// a row per dword; Q4_0, Q5_0: the file's nibble bytes, 4 per row and
// dword, and Q5_0's 32-bit qh per row; Q4_1, Q4_K, Q6_K below). The
// packed matrix is the size of the file's (Q4_K: 148 bytes per 144; plus
// the padding rows).
//
// Activations are quantized per call to the type's format (Q8_0 with
// QuantizeQ8 for Q8_0, Q4_0, Q5_0; Q8_1 and Q8_K for the others, below).
// The Q8_0 ones are laid out in q8ActBlock-byte blocks per column: the 32
// int8 values (in the nibble order for Q4_0 and Q5_0: 0-3, 16-19, 4-7,
// 20-23, ...), the float32 scale dx (the fp16 scale widened) and the
// int32 -off*sum(q), which takes the weights' offset back out:
// sum(u*q) - off*sum(q) = sum((u-off)*q) exactly, u the unsigned stored
// weight.
const (
	panelRows  = 16
	q8ActBlock = BlockQ8Len + 8
)

// q8ChunkBytes bounds the activation bytes a thread works through per
// pass over its weight panels, so that they stay in L2 (a variable so
// that the tests can make chunks small).
var q8ChunkBytes = 192 << 10

// panelKernel computes the 16 rows of one panel against a tile of
// columns; see gemm_amd64.s.
type panelKernel func(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

type panelWidth struct {
	cols   int
	kernel panelKernel
}

// panelFormat is the panel layout and kernels of one weight type.
type panelFormat struct {
	block   int // bytes of one panel block (16 rows)
	blockIn int // bytes of one block of a row in the file
	// put writes row r's block b (the file's bytes) into panel block o.
	put func(o []byte, r int, b []byte)
	// actLen and actBlock are the values and bytes of an activation
	// block (one per weight block); acts writes the activation blocks of
	// x (whole blocks) into out.
	actLen, actBlock int
	acts             func(out []byte, x []float32)
	// kernels by column count, widest first (the last has 1 column).
	kernels []panelWidth
}

// panelFormats are the types with installed panel kernels (none without
// assembly: then Pack does nothing and MatMul keeps its row path).
var panelFormats = map[Type]*panelFormat{}

// The layouts, installed with their kernels by the architecture's init.
var (
	panelQ8_0 = panelFormat{block: 32 + 16*BlockQ8Len, blockIn: BlockQ8Size, put: putQ8_0,
		actLen: BlockQ8Len, actBlock: q8ActBlock, acts: func(o []byte, x []float32) { q8ActQuant(o, x, 128, false) }}
	panelQ4_0 = panelFormat{block: 32 + 16*16, blockIn: BlockQ4_0Size, put: putQ4_0,
		actLen: BlockQ8Len, actBlock: q8ActBlock, acts: func(o []byte, x []float32) { q8ActQuant(o, x, 8, true) }}
	panelQ4_1 = panelFormat{block: 64 + 16*16, blockIn: BlockQ4_1Size, put: putQ4_1,
		actLen: BlockQ8Len, actBlock: q8ActBlock, acts: func(o []byte, x []float32) { q81Acts(o, x) }}
	panelQ5_0 = panelFormat{block: 32 + 16*20, blockIn: BlockQ5_0Size, put: putQ5_0,
		actLen: BlockQ8Len, actBlock: q8ActBlock, acts: func(o []byte, x []float32) { q8ActQuant(o, x, 16, true) }}
	panelQ4_K = panelFormat{block: q4kPanelBlock, blockIn: BlockQ4_KSize, put: putQ4_K,
		actLen: BlockKLen, actBlock: q8KActBlock, acts: q8KActs}
	panelQ6_K = panelFormat{block: 16 * BlockQ6_KSize, blockIn: BlockQ6_KSize, put: putQ6_K,
		actLen: BlockKLen, actBlock: q6KActBlock, acts: q6KActs}
)

// Q4_K panel super-block (16 rows), q4kPanelBlock bytes:
//
//	[0, 32)      d of the 16 rows (fp16, row r at 2r)
//	[32, 64)     dmin
//	[64, 192)    sc[s] of row r at 64+16s+r (the 6-bit scales, one byte each)
//	[192, 320)   the mins in pairs: mn[2t] and mn[2t+1] of row r at
//	             192+32t+2r and 192+32t+2r+1 (VPMOVZXBW makes them the
//	             int16 pairs of VPDPWSSD)
//	[320, 2368)  for the sub-block pair g (0..3) and 4-byte group j (0..7),
//	             64 bytes at 320+64(8g+j): row r's qs[32g+4j..32g+4j+4] at
//	             4r (low nibbles: sub-block 2g, high: 2g+1)
//
// A Q8_K activation block, q8KActBlock bytes: the 256 int8 q, the 8
// int16 sums bsums[2s]+bsums[2s+1] of the sub-blocks' q (|sum| <= 32*128),
// 16 bytes of padding, the float32 d, 4 bytes of padding.
const (
	q4kPanelBlock = 320 + 16*128
	q8KActBlock   = BlockKLen + 32 + 8
)

// Q6_K panel super-block (16 rows), 16*210 bytes (the file's size), with
// u = q+32 the unsigned 6-bit weights in element order:
//
//	[0, 32)       d of the 16 rows (fp16)
//	[32, 288)     int8 scale of sub-block s (16 values) of row r at 32+16s+r
//	[288, 2336)   low nibbles: for sub-block s and p = 0, 1, 64 bytes at
//	              288+64(2s+p); byte i of row r's dword holds elements
//	              16s+8p+i (low nibble) and 16s+8p+4+i (high nibble)
//	[2336, 3360)  high 2 bits: 64 bytes at 2336+64s; byte i of row r's
//	              dword holds element 16s+4k+i's bits 4-5 at bits 2k, 2k+1
//
// An activation block for Q6_K, q6KActBlock bytes: the 256 int8 q, the 16
// int32 -32*bsums[s], the float32 d, 4 bytes of padding.
const q6KActBlock = BlockKLen + 64 + 8

func putQ6_K(o []byte, r int, b []byte) {
	var q [BlockKLen]int32
	q6_K(b, &q)
	o[2*r], o[2*r+1] = b[208], b[209]
	for s := 0; s < 16; s++ {
		o[32+16*s+r] = b[192+s]
		for p := 0; p < 2; p++ {
			for i := 0; i < 4; i++ {
				lo, hi := q[16*s+8*p+i]+32, q[16*s+8*p+4+i]+32
				o[288+64*(2*s+p)+4*r+i] = byte(lo&0xf | (hi&0xf)<<4)
			}
		}
		for i := 0; i < 4; i++ {
			var h byte
			for k := 0; k < 4; k++ {
				h |= byte((q[16*s+4*k+i]+32)>>4&3) << (2 * k)
			}
			o[2336+64*s+4*r+i] = h
		}
	}
}

// q6KActs quantizes x with QuantizeQ8K and lays the blocks out for Q6_K.
func q6KActs(out []byte, x []float32) {
	q8KLayout(out, x, q6KActBlock, func(o []byte, bsums [16]int32) {
		for s, v := range bsums {
			putU32(o[4*s:], uint32(-32*v))
		}
	})
}

func putQ4_K(o []byte, r int, b []byte) {
	o[2*r], o[2*r+1] = b[0], b[1]
	o[32+2*r], o[33+2*r] = b[2], b[3]
	for s := 0; s < 8; s++ {
		sc, mn := scaleMinK4(s, b[4:16])
		o[64+16*s+r], o[192+32*(s/2)+2*r+s%2] = byte(sc), byte(mn)
	}
	for g := 0; g < 4; g++ {
		for j := 0; j < 8; j++ {
			copy(o[320+64*(8*g+j)+4*r:320+64*(8*g+j)+4*r+4], b[16+32*g+4*j:])
		}
	}
}

// q8KActs quantizes x with QuantizeQ8K and lays the blocks out for Q4_K.
func q8KActs(out []byte, x []float32) {
	q8KLayout(out, x, q8KActBlock, func(o []byte, bsums [16]int32) {
		for s := 0; s < 8; s++ {
			v := uint16(bsums[2*s] + bsums[2*s+1])
			o[2*s], o[2*s+1] = byte(v), byte(v>>8)
		}
		clear(o[16:32])
	})
}

// q8KLayout quantizes x with QuantizeQ8K into blocks of blk bytes: the
// 256 q, then what sums writes from the block's 16 bsums, then at blk-8
// the float32 d. The installed version must equal q8KLayoutGeneric bit
// for bit.
var q8KLayout = q8KLayoutGeneric

func q8KLayoutGeneric(out []byte, x []float32, blk int, sums func(o []byte, bsums [16]int32)) {
	var tmp [BlockQ8KSize]byte
	var bs [16]int32
	for k := 0; k < len(x)/BlockKLen; k++ {
		QuantizeQ8K(tmp[:], x[k*BlockKLen:(k+1)*BlockKLen])
		o := out[k*blk : (k+1)*blk]
		copy(o[:BlockKLen], tmp[4:4+BlockKLen])
		for i := range bs {
			bs[i] = int32(i16At(tmp[4+BlockKLen+2*i:]))
		}
		sums(o[BlockKLen:blk-8], bs)
		copy(o[blk-8:blk-4], tmp[0:4])
	}
}

func i16At(b []byte) int16 { return int16(uint16(b[0]) | uint16(b[1])<<8) }

func putQ8_0(o []byte, r int, b []byte) {
	o[2*r], o[2*r+1] = b[0], b[1]
	for g := 0; g < BlockQ8Len/4; g++ {
		for j := 0; j < 4; j++ {
			o[32+64*g+4*r+j] = b[2+4*g+j] ^ 0x80
		}
	}
}

// q8PanelSigned reports that the installed Q8_0 layout stores the
// weights signed (putQ8_0Signed) rather than as w+128 (putQ8_0).
var q8PanelSigned bool

// putQ8_0Signed is putQ8_0 with the weights kept signed (the AVX2
// kernels' layout, gemm_avx2_amd64.s).
func putQ8_0Signed(o []byte, r int, b []byte) {
	o[2*r], o[2*r+1] = b[0], b[1]
	for g := 0; g < BlockQ8Len/4; g++ {
		copy(o[32+64*g+4*r:32+64*g+4*r+4], b[2+4*g:2+4*g+4])
	}
}

func putQ4_0(o []byte, r int, b []byte) {
	o[2*r], o[2*r+1] = b[0], b[1]
	for g := 0; g < 4; g++ {
		copy(o[32+64*g+4*r:32+64*g+4*r+4], b[2+4*g:])
	}
}

// putQ4_1: the 16 rows' d, then their m (fp16), then the nibbles as Q4_0.
func putQ4_1(o []byte, r int, b []byte) {
	o[2*r], o[2*r+1] = b[0], b[1]
	o[32+2*r], o[33+2*r] = b[2], b[3]
	for g := 0; g < 4; g++ {
		copy(o[64+64*g+4*r:64+64*g+4*r+4], b[4+4*g:])
	}
}

// q81Acts quantizes x with QuantizeQ8_1 for Q4_1: per block the q in the
// nibble order, the widened d, and in place of the offset term the
// widened s (the Q4_1 kernel's m_w*s_x). The installed version must equal
// q81ActsGeneric bit for bit.
var q81Acts = q81ActsGeneric

func q81ActsGeneric(out []byte, x []float32) {
	var tmp [BlockQ8_1Size]byte
	for k := 0; k < len(x)/BlockQ8Len; k++ {
		QuantizeQ8_1(tmp[:], x[k*BlockQ8Len:(k+1)*BlockQ8Len])
		o := out[k*q8ActBlock : (k+1)*q8ActBlock]
		for j := range BlockQ8Len {
			o[j] = tmp[4+nibbleOrder[j]]
		}
		putU32(o[BlockQ8Len:], math.Float32bits(f16At(tmp[0:])))
		putU32(o[BlockQ8Len+4:], math.Float32bits(f16At(tmp[2:])))
	}
}

func putQ5_0(o []byte, r int, b []byte) {
	o[2*r], o[2*r+1] = b[0], b[1]
	for g := 0; g < 4; g++ {
		copy(o[32+64*g+4*r:32+64*g+4*r+4], b[6+4*g:])
	}
	copy(o[288+4*r:288+4*r+4], b[2:6])
}

// Pack lays the matrix out for the installed panel MatMul kernel, when
// there is one for its type (Q8_0, Q4_0, Q4_1, Q5_0, Q4_K and Q6_K with
// AVX-512 VNNI), and
// reports whether it did. The packed copy is the size of Data (plus rows
// padding the last panel); after Pack, MatMul reads only the copy and
// Data is read only by Row, so a caller whose Data is a file mapping may
// let the system drop those pages. The results of MatMul do not change.
// Pack is meant for load time: it must not run while the matrix is in use
// by MatMul in another goroutine.
func (m *Matrix) Pack() bool {
	if m.packed != nil {
		return true
	}
	f := panelFormats[m.Type]
	if f == nil {
		return false
	}
	m.packed, m.chunk = f.pack(m.Data, m.Rows, m.rowSize/f.blockIn)
	return true
}

// Packed reports whether m has been laid out in panels by Pack.
func (m *Matrix) Packed() bool { return m.packed != nil }

// pack repacks rows rows of nb blocks into the panel layout, in memory
// from allocPanels (and the chunk that holds it).
func (f *panelFormat) pack(data []byte, rows, nb int) ([]byte, *panelChunk) {
	panels := (rows + panelRows - 1) / panelRows
	rs := nb * f.blockIn
	out, chunk := allocPanels(panels * nb * f.block)
	for row := 0; row < rows; row++ {
		p, r := row/panelRows, row%panelRows
		for k := 0; k < nb; k++ {
			f.put(out[(p*nb+k)*f.block:(p*nb+k+1)*f.block], r, data[row*rs+k*f.blockIn:])
		}
	}
	return out, chunk
}

// nibbleOrder[j] is the element at byte j of a permuted activation block.
var nibbleOrder = func() (p [BlockQ8Len]int) {
	for j := range p {
		p[j] = j/8*4 + j%4 + 16*(j/4%2)
	}
	return p
}()

// q8ActQuant writes the activation blocks of x (len a multiple of 32)
// into out, for weights of offset off, permuted or not; the installed
// version must equal q8ActQuantGeneric bit for bit.
var q8ActQuant = q8ActQuantGeneric

// q8ActQuantGeneric is QuantizeQ8, block by block, then the sum.
func q8ActQuantGeneric(out []byte, x []float32, off int32, permuted bool) {
	var tmp [BlockQ8Size]byte
	for k := 0; k < len(x)/BlockQ8Len; k++ {
		QuantizeQ8(tmp[:], x[k*BlockQ8Len:(k+1)*BlockQ8Len])
		o := out[k*q8ActBlock : (k+1)*q8ActBlock]
		var sum int32
		for j := range BlockQ8Len {
			e := j
			if permuted {
				e = nibbleOrder[j]
			}
			o[j] = tmp[2+e]
			sum += int32(int8(tmp[2+j]))
		}
		putU32(o[BlockQ8Len:], math.Float32bits(f16Table[uint16(tmp[0])|uint16(tmp[1])<<8]))
		putU32(o[BlockQ8Len+4:], uint32(-off*sum))
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

// actPool recycles the activation buffers of matMulPacked.
var actPool = sync.Pool{New: func() any { return new([]byte) }}

// matMulPacked is MatMul for a packed matrix. Threads take ranges of
// panels (rows); each thread goes through the batch in chunks of columns
// whose activations fit q8ChunkBytes, and within a chunk reuses each
// panel block for a tile of columns.
func matMulPacked(dst []float32, m *Matrix, x []float32, batch, threads int) {
	buf, xa := packedActs(m, x, batch, threads)
	defer actPool.Put(buf)
	ParallelFor(m.panels(), threads, func(lo, hi int) { packedPanels(dst, m, xa, batch, lo, hi) })
}

// panels returns the number of panels of a packed matrix.
func (m *Matrix) panels() int { return (m.Rows + panelRows - 1) / panelRows }

// actParMin is the least number of activation values packedActs
// quantizes on several threads (fewer: on one, cheaper than a handoff).
const actParMin = 16384

// packedActs quantizes the batch columns of x to m's panel activation
// format, columns split across threads (each column's blocks are its
// own). The buffer goes back to actPool when the caller is done with xa.
func packedActs(m *Matrix, x []float32, batch, threads int) (buf *[]byte, xa []byte) {
	f := panelFormats[m.Type]
	xstride := m.Cols / f.actLen * f.actBlock
	buf = actPool.Get().(*[]byte)
	if cap(*buf) < batch*xstride {
		*buf = make([]byte, batch*xstride)
	}
	xa = (*buf)[:batch*xstride]
	if batch*m.Cols < actParMin {
		threads = 1
	}
	// Writes every byte the kernels read.
	ParallelFor(batch, threads, func(lo, hi int) { f.acts(xa[lo*xstride:hi*xstride], x[lo*m.Cols:hi*m.Cols]) })
	return buf, xa
}

// packedPanels computes the outputs of panels lo..hi-1 of m for the batch
// columns of xa (packedActs) into dst (column-major, m.Rows per column).
func packedPanels(dst []float32, m *Matrix, xa []byte, batch, lo, hi int) {
	f := panelFormats[m.Type]
	nb := m.Cols / f.actLen
	xstride := nb * f.actBlock
	widest := f.kernels[0].cols
	chunk := max(widest, q8ChunkBytes/xstride/widest*widest)
	dstride := 4 * m.Rows
	// The partial last panel's outputs, allocated only when it is in
	// [lo, hi): the kernels are called through func values, so a local
	// array would escape to the heap at every call (garbage that, next to
	// the weights' live heap, stays resident).
	var tmp []float32
	for c0 := 0; c0 < batch; c0 += chunk {
		c1 := min(batch, c0+chunk)
		for p := lo; p < hi; p++ {
			w := &m.packed[p*nb*f.block]
			r0 := p * panelRows
			for c := c0; c < c1; {
				k := f.kernels[len(f.kernels)-1]
				for _, kk := range f.kernels {
					if kk.cols <= c1-c {
						k = kk
						break
					}
				}
				if r0+panelRows <= m.Rows {
					k.kernel(w, nb, &xa[c*xstride], xstride, &dst[c*m.Rows+r0], dstride)
				} else {
					if tmp == nil {
						tmp = make([]float32, panelRows*8)
					}
					k.kernel(w, nb, &xa[c*xstride], xstride, &tmp[0], 4*panelRows)
					for j := 0; j < k.cols; j++ {
						copy(dst[(c+j)*m.Rows+r0:(c+j+1)*m.Rows], tmp[j*panelRows:j*panelRows+m.Rows-r0])
					}
				}
				c += k.cols
			}
		}
	}
}
