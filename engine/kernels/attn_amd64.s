//go:build amd64 && !noasm

#include "textflag.h"

// func scoreRowsAVX2(out, q, k *float32, rows, hd, stride int, scale float32)
//
// out[t] = Dot(q, k[t*stride:][:hd]) * scale for t < rows, hd a positive
// multiple of 16: lanes 0-7 of Dot in Y0, 8-15 in Y1, each product rounded
// (VMULPS) before its add (VADDPS); then Dot's tree: lane j += lane j+w
// for w = 8 (Y0+Y1), 4 (low+high half), 2, 1; no tail; then the scale.
TEXT ·scoreRowsAVX2(SB), NOSPLIT, $0-52
	MOVQ   out+0(FP), DI
	MOVQ   q+8(FP), SI
	MOVQ   k+16(FP), BX
	MOVQ   rows+24(FP), CX
	MOVQ   hd+32(FP), R8
	MOVQ   stride+40(FP), R9
	MOVSS  scale+48(FP), X7
	SHLQ   $2, R9
	SHRQ   $4, R8

row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   SI, AX
	MOVQ   BX, DX
	MOVQ   R8, R10

col:
	VMOVUPS (AX), Y2
	VMOVUPS 32(AX), Y3
	VMULPS  (DX), Y2, Y2
	VMULPS  32(DX), Y3, Y3
	VADDPS  Y2, Y0, Y0
	VADDPS  Y3, Y1, Y1
	ADDQ    $64, AX
	ADDQ    $64, DX
	DECQ    R10
	JNZ     col

	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMULSS       X7, X0, X0
	VMOVSS       X0, (DI)
	ADDQ         $4, DI
	ADDQ         R9, BX
	DECQ         CX
	JNZ          row
	VZEROUPPER
	RET

// func weightedLanesAVX2(acc, p, v *float32, rows, hd, stride int)
//
// Lane t%16 (acc[lane*hd:][:hd]) accumulates p[t]*v[t*stride:][:hd] for
// t < rows, in increasing t, hd a positive multiple of 8: the product is
// rounded (VMULPS) before the add (VADDPS, the lane first): no FMA.
TEXT ·weightedLanesAVX2(SB), NOSPLIT, $0-48
	MOVQ acc+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ v+16(FP), BX
	MOVQ rows+24(FP), CX
	MOVQ hd+32(FP), R8
	MOVQ stride+40(FP), R9
	SHLQ $2, R9
	MOVQ R8, R10
	SHLQ $2, R10
	MOVQ R10, R11
	SHLQ $4, R11
	XORQ R12, R12

wrow:
	VBROADCASTSS (SI), Y0
	LEAQ         (DI)(R12*1), AX
	MOVQ         BX, DX
	MOVQ         R8, R13

wcol:
	VMOVUPS (DX), Y1
	VMULPS  Y0, Y1, Y1
	VMOVUPS (AX), Y2
	VADDPS  Y1, Y2, Y2
	VMOVUPS Y2, (AX)
	ADDQ    $32, AX
	ADDQ    $32, DX
	SUBQ    $8, R13
	JNZ     wcol

	ADDQ $4, SI
	ADDQ R9, BX
	ADDQ R10, R12
	CMPQ R12, R11
	JNE  wnext
	XORQ R12, R12

wnext:
	DECQ CX
	JNZ  wrow
	VZEROUPPER
	RET

// func scoreRowsF16AVX2(out, q *float32, k *uint16, rows, hd, stride int, scale float32)
//
// scoreRowsAVX2 with binary16 keys: each 8 keys are widened exactly
// (VCVTPH2PS) before the same product and add; stride counts halves.
TEXT ·scoreRowsF16AVX2(SB), NOSPLIT, $0-52
	MOVQ  out+0(FP), DI
	MOVQ  q+8(FP), SI
	MOVQ  k+16(FP), BX
	MOVQ  rows+24(FP), CX
	MOVQ  hd+32(FP), R8
	MOVQ  stride+40(FP), R9
	MOVSS scale+48(FP), X7
	SHLQ  $1, R9
	SHRQ  $4, R8

hrow:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   SI, AX
	MOVQ   BX, DX
	MOVQ   R8, R10

hcol:
	VCVTPH2PS (DX), Y4
	VCVTPH2PS 16(DX), Y5
	VMOVUPS   (AX), Y2
	VMOVUPS   32(AX), Y3
	VMULPS    Y4, Y2, Y2
	VMULPS    Y5, Y3, Y3
	VADDPS    Y2, Y0, Y0
	VADDPS    Y3, Y1, Y1
	ADDQ      $64, AX
	ADDQ      $32, DX
	DECQ      R10
	JNZ       hcol

	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMULSS       X7, X0, X0
	VMOVSS       X0, (DI)
	ADDQ         $4, DI
	ADDQ         R9, BX
	DECQ         CX
	JNZ          hrow
	VZEROUPPER
	RET

// func weightedLanesF16AVX2(acc, p *float32, v *uint16, rows, hd, stride int)
//
// weightedLanesAVX2 with binary16 values: each 8 values are widened
// exactly (VCVTPH2PS) before the same product and add; stride counts halves.
TEXT ·weightedLanesF16AVX2(SB), NOSPLIT, $0-48
	MOVQ acc+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ v+16(FP), BX
	MOVQ rows+24(FP), CX
	MOVQ hd+32(FP), R8
	MOVQ stride+40(FP), R9
	SHLQ $1, R9
	MOVQ R8, R10
	SHLQ $2, R10
	MOVQ R10, R11
	SHLQ $4, R11
	XORQ R12, R12

hwrow:
	VBROADCASTSS (SI), Y0
	LEAQ         (DI)(R12*1), AX
	MOVQ         BX, DX
	MOVQ         R8, R13

hwcol:
	VCVTPH2PS (DX), Y1
	VMULPS    Y0, Y1, Y1
	VMOVUPS   (AX), Y2
	VADDPS    Y1, Y2, Y2
	VMOVUPS   Y2, (AX)
	ADDQ      $32, AX
	ADDQ      $16, DX
	SUBQ      $8, R13
	JNZ       hwcol

	ADDQ $4, SI
	ADDQ R9, BX
	ADDQ R10, R12
	CMPQ R12, R11
	JNE  hwnext
	XORQ R12, R12

hwnext:
	DECQ CX
	JNZ  hwrow
	VZEROUPPER
	RET

// The GQA-fused forms (written by hand like the above; attn_heads_test.go
// checks them against the per-head references).

// func scoreRowsF16x2AVX2(out, q *float32, k *uint16, rows, hd, stride, ostride int, scale float32)
//
// scoreRowsF16AVX2 for the 2 heads j < 2 (query j at q + j*hd, its scores
// at out + j*ostride) on the same keys, each 16 keys widened once
// (VCVTPH2PS) for the 2 heads: head j's lanes 0-7 in Y(2j), 8-15 in
// Y(2j+1), the same products, adds and tree as scoreRowsF16AVX2.
TEXT ·scoreRowsF16x2AVX2(SB), NOSPLIT, $0-60
	MOVQ  out+0(FP), DI
	MOVQ  q+8(FP), SI
	MOVQ  k+16(FP), BX
	MOVQ  rows+24(FP), CX
	MOVQ  hd+32(FP), R8
	MOVQ  stride+40(FP), R9
	MOVQ  ostride+48(FP), R13
	MOVSS scale+56(FP), X15
	MOVQ  R8, R14
	SHLQ  $2, R14
	SHLQ  $2, R13
	SHLQ  $1, R9
	SHRQ  $4, R8

scoreRowsF16x2AVX2_row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   SI, AX
	MOVQ   BX, DX
	MOVQ   R8, R10

scoreRowsF16x2AVX2_col:
	VCVTPH2PS (DX), Y12
	VCVTPH2PS 16(DX), Y13
	VMOVUPS   (AX), Y6
	VMOVUPS   32(AX), Y7
	VMULPS    Y12, Y6, Y6
	VMULPS    Y13, Y7, Y7
	VADDPS    Y6, Y0, Y0
	VADDPS    Y7, Y1, Y1
	VMOVUPS   (AX)(R14*1), Y6
	VMOVUPS   32(AX)(R14*1), Y7
	VMULPS    Y12, Y6, Y6
	VMULPS    Y13, Y7, Y7
	VADDPS    Y6, Y2, Y2
	VADDPS    Y7, Y3, Y3
	ADDQ      $64, AX
	ADDQ      $32, DX
	DECQ      R10
	JNZ       scoreRowsF16x2AVX2_col

	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMULSS       X15, X0, X0
	VMOVSS       X0, (DI)
	VADDPS       Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPS       X3, X2, X2
	VMOVHLPS     X2, X2, X3
	VADDPS       X3, X2, X2
	VMOVSHDUP    X2, X3
	VADDSS       X3, X2, X2
	VMULSS       X15, X2, X2
	VMOVSS       X2, (DI)(R13*1)
	ADDQ         $4, DI
	ADDQ         R9, BX
	DECQ         CX
	JNZ          scoreRowsF16x2AVX2_row
	VZEROUPPER
	RET

// func weightedLanesF16x2AVX2(acc, p *float32, v *uint16, rows, hd, stride, pstride, hstride int)
//
// weightedLanesF16AVX2 for the 2 heads j < 2 (weights p_j at p + j*pstride,
// lanes at acc + j*hstride elements) on the same values, each 8 values widened once
// (VCVTPH2PS) for the 2 heads; the same product and add per head.
TEXT ·weightedLanesF16x2AVX2(SB), NOSPLIT, $0-64
	MOVQ acc+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ v+16(FP), BX
	MOVQ rows+24(FP), CX
	MOVQ hd+32(FP), R8
	MOVQ stride+40(FP), R9
	MOVQ pstride+48(FP), R14
	MOVQ hstride+56(FP), R15
	SHLQ $2, R15
	SHLQ $2, R14
	SHLQ $1, R9
	MOVQ R8, R10
	SHLQ $2, R10
	MOVQ R10, R11
	SHLQ $4, R11
	XORQ R12, R12

weightedLanesF16x2AVX2_row:
	VBROADCASTSS (SI), Y8
	VBROADCASTSS (SI)(R14*1), Y9
	LEAQ         (DI)(R12*1), AX
	MOVQ         BX, DX
	MOVQ         R8, R13

weightedLanesF16x2AVX2_col:
	VCVTPH2PS (DX), Y1
	VMULPS    Y8, Y1, Y2
	VMOVUPS   (AX), Y3
	VADDPS    Y2, Y3, Y3
	VMOVUPS   Y3, (AX)
	VMULPS    Y9, Y1, Y2
	VMOVUPS   (AX)(R15*1), Y3
	VADDPS    Y2, Y3, Y3
	VMOVUPS   Y3, (AX)(R15*1)
	ADDQ      $32, AX
	ADDQ      $16, DX
	SUBQ      $8, R13
	JNZ       weightedLanesF16x2AVX2_col

	ADDQ $4, SI
	ADDQ R9, BX
	ADDQ R10, R12
	CMPQ R12, R11
	JNE  weightedLanesF16x2AVX2_next
	XORQ R12, R12

weightedLanesF16x2AVX2_next:
	DECQ CX
	JNZ  weightedLanesF16x2AVX2_row
	VZEROUPPER
	RET

// func scoreRowsF16x3AVX2(out, q *float32, k *uint16, rows, hd, stride, ostride int, scale float32)
//
// scoreRowsF16AVX2 for the 3 heads j < 3 (query j at q + j*hd, its scores
// at out + j*ostride) on the same keys, each 16 keys widened once
// (VCVTPH2PS) for the 3 heads: head j's lanes 0-7 in Y(2j), 8-15 in
// Y(2j+1), the same products, adds and tree as scoreRowsF16AVX2.
TEXT ·scoreRowsF16x3AVX2(SB), NOSPLIT, $0-60
	MOVQ  out+0(FP), DI
	MOVQ  q+8(FP), SI
	MOVQ  k+16(FP), BX
	MOVQ  rows+24(FP), CX
	MOVQ  hd+32(FP), R8
	MOVQ  stride+40(FP), R9
	MOVQ  ostride+48(FP), R13
	MOVSS scale+56(FP), X15
	MOVQ  R8, R14
	SHLQ  $2, R14
	SHLQ  $2, R13
	SHLQ  $1, R9
	SHRQ  $4, R8

scoreRowsF16x3AVX2_row:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	MOVQ   SI, AX
	MOVQ   BX, DX
	MOVQ   R8, R10

scoreRowsF16x3AVX2_col:
	VCVTPH2PS (DX), Y12
	VCVTPH2PS 16(DX), Y13
	VMOVUPS   (AX), Y6
	VMOVUPS   32(AX), Y7
	VMULPS    Y12, Y6, Y6
	VMULPS    Y13, Y7, Y7
	VADDPS    Y6, Y0, Y0
	VADDPS    Y7, Y1, Y1
	VMOVUPS   (AX)(R14*1), Y6
	VMOVUPS   32(AX)(R14*1), Y7
	VMULPS    Y12, Y6, Y6
	VMULPS    Y13, Y7, Y7
	VADDPS    Y6, Y2, Y2
	VADDPS    Y7, Y3, Y3
	VMOVUPS   (AX)(R14*2), Y6
	VMOVUPS   32(AX)(R14*2), Y7
	VMULPS    Y12, Y6, Y6
	VMULPS    Y13, Y7, Y7
	VADDPS    Y6, Y4, Y4
	VADDPS    Y7, Y5, Y5
	ADDQ      $64, AX
	ADDQ      $32, DX
	DECQ      R10
	JNZ       scoreRowsF16x3AVX2_col

	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMULSS       X15, X0, X0
	VMOVSS       X0, (DI)
	VADDPS       Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPS       X3, X2, X2
	VMOVHLPS     X2, X2, X3
	VADDPS       X3, X2, X2
	VMOVSHDUP    X2, X3
	VADDSS       X3, X2, X2
	VMULSS       X15, X2, X2
	VMOVSS       X2, (DI)(R13*1)
	VADDPS       Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPS       X5, X4, X4
	VMOVHLPS     X4, X4, X5
	VADDPS       X5, X4, X4
	VMOVSHDUP    X4, X5
	VADDSS       X5, X4, X4
	VMULSS       X15, X4, X4
	VMOVSS       X4, (DI)(R13*2)
	ADDQ         $4, DI
	ADDQ         R9, BX
	DECQ         CX
	JNZ          scoreRowsF16x3AVX2_row
	VZEROUPPER
	RET

// func weightedLanesF16x3AVX2(acc, p *float32, v *uint16, rows, hd, stride, pstride, hstride int)
//
// weightedLanesF16AVX2 for the 3 heads j < 3 (weights p_j at p + j*pstride,
// lanes at acc + j*hstride elements) on the same values, each 8 values widened once
// (VCVTPH2PS) for the 3 heads; the same product and add per head.
TEXT ·weightedLanesF16x3AVX2(SB), NOSPLIT, $0-64
	MOVQ acc+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ v+16(FP), BX
	MOVQ rows+24(FP), CX
	MOVQ hd+32(FP), R8
	MOVQ stride+40(FP), R9
	MOVQ pstride+48(FP), R14
	MOVQ hstride+56(FP), R15
	SHLQ $2, R15
	SHLQ $2, R14
	SHLQ $1, R9
	MOVQ R8, R10
	SHLQ $2, R10
	MOVQ R10, R11
	SHLQ $4, R11
	XORQ R12, R12

weightedLanesF16x3AVX2_row:
	VBROADCASTSS (SI), Y8
	VBROADCASTSS (SI)(R14*1), Y9
	VBROADCASTSS (SI)(R14*2), Y10
	LEAQ         (DI)(R12*1), AX
	MOVQ         BX, DX
	MOVQ         R8, R13

weightedLanesF16x3AVX2_col:
	VCVTPH2PS (DX), Y1
	VMULPS    Y8, Y1, Y2
	VMOVUPS   (AX), Y3
	VADDPS    Y2, Y3, Y3
	VMOVUPS   Y3, (AX)
	VMULPS    Y9, Y1, Y2
	VMOVUPS   (AX)(R15*1), Y3
	VADDPS    Y2, Y3, Y3
	VMOVUPS   Y3, (AX)(R15*1)
	VMULPS    Y10, Y1, Y2
	VMOVUPS   (AX)(R15*2), Y3
	VADDPS    Y2, Y3, Y3
	VMOVUPS   Y3, (AX)(R15*2)
	ADDQ      $32, AX
	ADDQ      $16, DX
	SUBQ      $8, R13
	JNZ       weightedLanesF16x3AVX2_col

	ADDQ $4, SI
	ADDQ R9, BX
	ADDQ R10, R12
	CMPQ R12, R11
	JNE  weightedLanesF16x3AVX2_next
	XORQ R12, R12

weightedLanesF16x3AVX2_next:
	DECQ CX
	JNZ  weightedLanesF16x3AVX2_row
	VZEROUPPER
	RET
