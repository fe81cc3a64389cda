//go:build amd64 && !noasm

#include "textflag.h"

// The softmax's maximum and scale in AVX-512 (softmax_amd64.go), the
// same results as the Go loops of ops.go; its Exp(x - m) is
// expSubBlocksAVX512 (exp_amd64.s).

// func maxBlocksAVX512(x []float32) float32
//
// The largest of x[0] and the non-NaN elements of x[:len(x)-len(x)%16]
// (a NaN lane keeps the running maximum: VMAXPS returns its second
// source), len(x) >= 16. Which zero it returns when the maximum is a zero
// is unspecified.
TEXT ·maxBlocksAVX512(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	SHRQ $4, CX
	VBROADCASTSS (SI), Z0
	VMOVAPS Z0, Z1

maxloop:
	VMOVUPS (SI), Z2
	VMAXPS  Z0, Z2, Z0
	ADDQ    $64, SI
	DECQ    CX
	JNZ     maxloop
	VEXTRACTF32X8 $1, Z0, Y1
	VMAXPS  Y0, Y1, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS  X0, X1, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS  X0, X1, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS  X0, X1, X0
	VZEROUPPER
	MOVSS   X0, ret+24(FP)
	RET

// func scaleBlocksAVX512(x []float32, s float32)
//
// x[i] = x[i] * s for i < len(x) - len(x)%16.
TEXT ·scaleBlocksAVX512(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	SHRQ $4, CX
	JZ   scaledone
	VBROADCASTSS s+24(FP), Z1

scaleloop:
	VMOVUPS (SI), Z0
	VMULPS  Z1, Z0, Z0
	VMOVUPS Z0, (SI)
	ADDQ    $64, SI
	DECQ    CX
	JNZ     scaleloop

scaledone:
	VZEROUPPER
	RET
