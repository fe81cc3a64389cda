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
