package kernels

import (
	"fmt"
	"math"
)

// Block-quantized weight types beyond Q8_0. Each is described once, in the
// traits table below: its block layout, the activation format the
// activations are quantized to before a dot product (llama.cpp's
// vec_dot_type for the type), the block widening used by Matrix.Row, and
// the dot-product kernel. The dot products are integer dots: for every
// block (or sub-block) the products of the weight and activation integers
// are summed exactly in int32, and only then combined with the blocks'
// scales, in the float order documented at each reference kernel
// (quant_ref.go). The integers are the ones llama.cpp's CPU backend
// multiplies, so the only difference from llama.cpp is the order of the
// few float operations per block.
//
// Block layouts (ggml-common.h), all little endian, f16 = IEEE binary16:
//
//	Q4_0 (32 values, 18 bytes): d f16, qs[16]; value j = (q-8)*d with q the
//	     low nibble of qs[j] (j < 16) or the high nibble of qs[j-16].
//	Q4_1 (32 values, 20 bytes): d f16, m f16, qs[16]; value j = q*d + m with
//	     q the low nibble of qs[j] (j < 16) or the high nibble of qs[j-16].
//	Q5_0 (32 values, 22 bytes): d f16, qh u32, qs[16]; q as Q4_1 plus bit j
//	     of qh as a fifth bit; value = (q-16)*d.
//	Q4_K (256 values, 144 bytes): d f16, dmin f16, scales[12] (eight 6-bit
//	     scales sc and mins mn), qs[128]; sub-block s (32 values) has
//	     value = d*sc[s]*q - dmin*mn[s]; qs[32g..32g+32] hold sub-block 2g
//	     in the low nibbles and 2g+1 in the high nibbles.
//	Q6_K (256 values, 210 bytes): ql[128], qh[64], scales[16] int8, d f16;
//	     6-bit q (4 bits from ql, 2 from qh) minus 32; sub-block s (16 values)
//	     has value = d*scales[s]*q.
const (
	BlockQ4_0Size = 18
	BlockQ4_1Size = 20
	BlockQ5_0Size = 22
	BlockQ4_KSize = 144
	BlockQ6_KSize = 210
	// BlockKLen is the number of values of a K-quant super-block (and of a
	// Q8_K activation block).
	BlockKLen = 256
)

// Activation formats (llama.cpp's vec_dot_type):
//
//	Q8_0: see QuantizeQ8.
//	Q8_1 (32 values, 36 bytes): d f16, s f16, qs[32] int8; s = d*sum(qs)
//	     (see QuantizeQ8_1).
//	Q8_K (256 values, 292 bytes): d float32, qs[256] int8, bsums[16] int16,
//	     bsums[i] = sum of qs[16i..16i+16] (see QuantizeQ8K).
const (
	BlockQ8_1Size = 36
	BlockQ8KSize  = 4 + BlockKLen + 2*BlockKLen/16
)

// actFormat is a format activations are quantized to.
type actFormat struct {
	name      string
	blockLen  int // values per block
	blockSize int // bytes per block
	quantize  func(dst []byte, x []float32)
}

var (
	actQ8_0 = &actFormat{"Q8_0", BlockQ8Len, BlockQ8Size, QuantizeQ8}
	actQ8_1 = &actFormat{"Q8_1", BlockQ8Len, BlockQ8_1Size, QuantizeQ8_1}
	actQ8_K = &actFormat{"Q8_K", BlockKLen, BlockQ8KSize, QuantizeQ8K}
)

// quantTraits describes one block-quantized weight type.
type quantTraits struct {
	name      string
	blockLen  int // values per block
	blockSize int // bytes per block
	act       *actFormat
	// widen writes the float32 values of one block.
	widen func(dst []float32, blk []byte)
	// dotRef is the reference dot product of a row of weight blocks with a
	// row of activation blocks (in act) of the same length.
	dotRef func(w, x []byte) float32
	// dot is the installed kernel; it must equal dotRef bit for bit.
	dot func(w, x []byte) float32
	// matMul, when set, is a faster MatMul for the type (quant_fast.go);
	// it must equal the dot-by-dot product bit for bit.
	matMul func(dst []float32, m *Matrix, x []float32, batch, threads int)
}

// traits holds the types whose dot products go through the table (Q8_0
// keeps its own path in MatMul).
var traits = map[Type]*quantTraits{
	Q4_0: {name: "Q4_0", blockLen: 32, blockSize: BlockQ4_0Size, act: actQ8_0, widen: widenQ4_0, dotRef: dotQ4_0Ref},
	Q4_1: {name: "Q4_1", blockLen: 32, blockSize: BlockQ4_1Size, act: actQ8_1, widen: widenQ4_1, dotRef: dotQ4_1Ref},
	Q5_0: {name: "Q5_0", blockLen: 32, blockSize: BlockQ5_0Size, act: actQ8_0, widen: widenQ5_0, dotRef: dotQ5_0Ref},
	Q4_K: {name: "Q4_K", blockLen: BlockKLen, blockSize: BlockQ4_KSize, act: actQ8_K, widen: widenQ4_K, dotRef: dotQ4_KRef},
	Q6_K: {name: "Q6_K", blockLen: BlockKLen, blockSize: BlockQ6_KSize, act: actQ8_K, widen: widenQ6_K, dotRef: dotQ6_KRef},
}

func init() {
	for _, tr := range traits {
		if tr.dot == nil {
			tr.dot = tr.dotRef
		}
	}
}

// ActivationFormat returns the name of the format activations are quantized
// to before a dot product with weights of type t ("F32", "F16", "BF16",
// "Q8_0", "Q8_1" or "Q8_K").
func ActivationFormat(t Type) string {
	if tr, ok := traits[t]; ok {
		return tr.act.name
	}
	return t.String()
}

// checkAct panics unless x holds whole blocks of blockLen values and dst
// room for them.
func checkAct(name string, blockLen, blockSize int, dst []byte, x []float32) {
	if len(x)%blockLen != 0 || len(dst) < len(x)/blockLen*blockSize {
		panic(fmt.Sprintf("kernels: quantize %d values to %s into %d bytes", len(x), name, len(dst)))
	}
}

// QuantizeQ8_1 quantizes x (len a multiple of 32) into Q8_1 blocks in dst
// (len(x)/32*36 bytes): d and the int8 values exactly as QuantizeQ8
// (llama.cpp's x86 quantize_row_q8_1), and
//
//	s = fp16(float32(d * float32(sum of the 32 int8 values)))
//
// with d the unrounded float32 amax/127.
func QuantizeQ8_1(dst []byte, x []float32) {
	checkAct("Q8_1", BlockQ8Len, BlockQ8_1Size, dst, x)
	var tmp [BlockQ8Size]byte
	for b := 0; b < len(x)/BlockQ8Len; b++ {
		v := x[b*BlockQ8Len : (b+1)*BlockQ8Len]
		o := dst[b*BlockQ8_1Size : (b+1)*BlockQ8_1Size]
		QuantizeQ8(tmp[:], v)
		var amax float32
		for _, f := range v {
			if f < 0 {
				f = -f
			}
			if f > amax {
				amax = f
			}
		}
		d := amax / 127
		var sum int32
		for _, q := range tmp[2:] {
			sum += int32(int8(q))
		}
		s := F32ToF16(float32(d * float32(sum)))
		o[0], o[1] = tmp[0], tmp[1]
		o[2], o[3] = byte(s), byte(s>>8)
		copy(o[4:], tmp[2:])
	}
}

// QuantizeQ8K quantizes x (len a multiple of 256) into Q8_K blocks in dst
// (len(x)/256*292 bytes), as llama.cpp's quantize_row_q8_K_ref (which its
// x86 backend uses):
//
//	mx     = the first x[j] of largest |x[j]|; if it is 0, d = 0 and all q = 0
//	iscale = -127 / mx                       (float32)
//	q[j]   = min(127, round(float32(iscale * x[j])))   ties to even
//	d      = 1 / iscale                      (float32, stored as float32)
//	bsums[i] = sum of q[16i..16i+16]
func QuantizeQ8K(dst []byte, x []float32) {
	checkAct("Q8_K", BlockKLen, BlockQ8KSize, dst, x)
	for b := 0; b < len(x)/BlockKLen; b++ {
		v := x[b*BlockKLen : (b+1)*BlockKLen]
		o := dst[b*BlockQ8KSize : (b+1)*BlockQ8KSize]
		var amax, mx float32
		for _, f := range v {
			a := f
			if a < 0 {
				a = -a
			}
			if a > amax { // NaN never wins
				amax, mx = a, f
			}
		}
		qs := o[4 : 4+BlockKLen]
		if amax == 0 {
			clear(o)
			continue
		}
		iscale := -127 / mx
		for j, f := range v {
			qs[j] = byte(int8(min(127, roundEven(float32(iscale*f)))))
		}
		d := 1 / iscale
		bits := math.Float32bits(d)
		o[0], o[1], o[2], o[3] = byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24)
		for i := 0; i < BlockKLen/16; i++ {
			var s int32
			for _, q := range qs[16*i : 16*i+16] {
				s += int32(int8(q))
			}
			o[4+BlockKLen+2*i], o[4+BlockKLen+2*i+1] = byte(s), byte(s>>8)
		}
	}
}
