package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Type is the encoding of a weight matrix's elements.
type Type uint8

// The supported weight encodings.
const (
	F32  Type = iota // IEEE float32, little endian
	F16              // IEEE binary16, little endian
	BF16             // bfloat16, little endian
	Q8_0             // blocks of 32 int8 with an fp16 scale (see QuantizeQ8)
	Q4_1             // llama.cpp's Q4_1 (see quant.go)
	Q5_0             // llama.cpp's Q5_0
	Q4_K             // llama.cpp's Q4_K
	Q6_K             // llama.cpp's Q6_K
	Q4_0             // llama.cpp's Q4_0
)

func (t Type) String() string {
	switch t {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case BF16:
		return "BF16"
	case Q8_0:
		return "Q8_0"
	}
	if tr, ok := traits[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// RowSize returns the number of bytes of a row of cols elements of type t,
// or an error if t is unknown or cols does not fit its block size.
func RowSize(t Type, cols int) (int, error) {
	if cols <= 0 {
		return 0, fmt.Errorf("kernels: row length %d", cols)
	}
	switch t {
	case F32:
		return 4 * cols, nil
	case F16, BF16:
		return 2 * cols, nil
	case Q8_0:
		if cols%BlockQ8Len != 0 {
			return 0, fmt.Errorf("kernels: Q8_0 row length %d is not a multiple of %d", cols, BlockQ8Len)
		}
		return cols / BlockQ8Len * BlockQ8Size, nil
	}
	if tr, ok := traits[t]; ok {
		if cols%tr.blockLen != 0 {
			return 0, fmt.Errorf("kernels: %v row length %d is not a multiple of %d", t, cols, tr.blockLen)
		}
		return cols / tr.blockLen * tr.blockSize, nil
	}
	return 0, fmt.Errorf("kernels: unsupported type %v", t)
}

// Matrix is a row-major matrix of Rows rows of Cols elements, stored in
// Data in encoding Type (typically memory-mapped from a model file).
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte
	rowSize    int
	packed     []byte      // Data in the panel layout, when Pack made it (gemm.go)
	chunk      *panelChunk // the mapping packed is in (nil: the heap); kept reachable with m
}

// NewMatrix checks that data holds exactly rows rows of cols elements of
// type t and returns the matrix over it (data is not copied).
func NewMatrix(t Type, rows, cols int, data []byte) (*Matrix, error) {
	rs, err := RowSize(t, cols)
	if err != nil {
		return nil, err
	}
	if rows <= 0 || rows > math.MaxInt/rs {
		return nil, fmt.Errorf("kernels: %d rows of %d bytes", rows, rs)
	}
	if len(data) != rows*rs {
		return nil, fmt.Errorf("kernels: %v matrix %dx%d needs %d bytes, have %d", t, rows, cols, rows*rs, len(data))
	}
	return &Matrix{Type: t, Rows: rows, Cols: cols, Data: data, rowSize: rs}, nil
}

// Row writes row i, widened to float32, into dst (len Cols). The widening
// is exact for F32, F16 and BF16; for Q8_0 it is float32(d*q); for the
// types of quant.go it is the widening documented there (as ggml's
// dequantize_row_* routines).
func (m *Matrix) Row(dst []float32, i int) {
	r := m.Data[i*m.rowSize : (i+1)*m.rowSize]
	dst = dst[:m.Cols]
	switch m.Type {
	case F32:
		for j := range dst {
			dst[j] = math.Float32frombits(binary.LittleEndian.Uint32(r[4*j:]))
		}
	case F16:
		f16Row(dst, bytesU16(r))
	case BF16:
		bf16Row(dst, bytesU16(r))
	case Q8_0:
		DequantizeQ8(dst, r)
	default:
		tr := traits[m.Type]
		for b := 0; b < m.Cols/tr.blockLen; b++ {
			tr.widen(dst[b*tr.blockLen:(b+1)*tr.blockLen], r[b*tr.blockSize:(b+1)*tr.blockSize])
		}
	}
}

// MatMul computes, for every batch column b < batch and row r < m.Rows,
//
//	dst[b*m.Rows+r] = dot(row r of m, x[b*m.Cols:(b+1)*m.Cols])
//
// where the activations are first converted to the weights' dot type, as
// llama.cpp's CPU backend does: F32 weights use x as is; F16 (BF16)
// weights use x rounded to binary16 (bfloat16), and the dot product is
// Dot of the exactly widened weights with the rounded activations (every
// product is then exact); Q8_0 weights use x quantized with QuantizeQ8 and
// DotQ8; the types of quant.go use x quantized to their activation format
// (Q8_0, Q8_1 or Q8_K, as llama.cpp) and their integer dot kernels. Each output depends only on its own row and its own column, so
// the result does not depend on batch or threads; threads (>= 1) split the
// rows into contiguous ranges.
func MatMul(dst []float32, m *Matrix, x []float32, batch, threads int) {
	if batch < 0 || len(x) < batch*m.Cols || len(dst) < batch*m.Rows {
		panic(fmt.Sprintf("kernels: MatMul %dx%d, batch %d, len(x)=%d, len(dst)=%d", m.Rows, m.Cols, batch, len(x), len(dst)))
	}
	if batch == 0 {
		return
	}
	x = x[:batch*m.Cols]
	if m.packed != nil {
		matMulPacked(dst, m, x, batch, threads)
		return
	}
	switch m.Type {
	case F32:
		ParallelFor(m.Rows, threads, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				w := bytesF32(m.Data[r*m.rowSize : (r+1)*m.rowSize])
				for b := 0; b < batch; b++ {
					dst[b*m.Rows+r] = dotF32(w, x[b*m.Cols:(b+1)*m.Cols])
				}
			}
		})
	case F16, BF16:
		xr := make([]float32, len(x))
		copy(xr, x)
		if m.Type == F16 {
			RoundF16(xr)
		} else {
			RoundBF16(xr)
		}
		ParallelFor(m.Rows, threads, func(lo, hi int) {
			w := make([]float32, m.Cols)
			for r := lo; r < hi; r++ {
				m.Row(w, r)
				for b := 0; b < batch; b++ {
					dst[b*m.Rows+r] = dotF32(w, xr[b*m.Cols:(b+1)*m.Cols])
				}
			}
		})
	case Q8_0:
		rs := m.rowSize
		xq := make([]byte, batch*rs)
		for b := 0; b < batch; b++ {
			QuantizeQ8(xq[b*rs:(b+1)*rs], x[b*m.Cols:(b+1)*m.Cols])
		}
		ParallelFor(m.Rows, threads, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				w := m.Data[r*rs : (r+1)*rs]
				for b := 0; b < batch; b++ {
					dst[b*m.Rows+r] = dotQ8(w, xq[b*rs:(b+1)*rs])
				}
			}
		})
	default:
		tr := traits[m.Type]
		if tr.matMul != nil {
			tr.matMul(dst, m, x, batch, threads)
			return
		}
		rs, xs := m.rowSize, m.Cols/tr.act.blockLen*tr.act.blockSize
		xq := make([]byte, batch*xs)
		for b := 0; b < batch; b++ {
			tr.act.quantize(xq[b*xs:(b+1)*xs], x[b*m.Cols:(b+1)*m.Cols])
		}
		dot := tr.dot
		ParallelFor(m.Rows, threads, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				w := m.Data[r*rs : (r+1)*rs]
				for b := 0; b < batch; b++ {
					dst[b*m.Rows+r] = dot(w, xq[b*xs:(b+1)*xs])
				}
			}
		})
	}
}
