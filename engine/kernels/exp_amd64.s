//go:build amd64 && !noasm

#include "textflag.h"

// func expSubBlocksAVX512(dst, src []float32, m float32) int
//
// Exp(src[i] - m) (one float32 subtraction, then exactly Exp's float32
// operations, exp.go, no fused multiply-add) into dst[i], 16 lanes at a
// time; with m = 0 it is Exp(src[i]) (x - 0 is x, signed zeros
// included). A lane below expMin gets Exp's 0. The kernel stops at the
// first block of 16 with a lane neither in [-87, 88] nor below expMin (or
// NaN), where Exp may leave the normal range of 2^n, and returns the
// number of elements done (a multiple of 16); the caller does the rest
// with Exp.
TEXT ·expSubBlocksAVX512(SB), NOSPLIT, $0-64
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	SHRQ $4, CX
	XORQ AX, AX
	VBROADCASTSS m+48(FP), Z16
	MOVL $0xc2cff1b5, DX // expMin
	VPBROADCASTD DX, Z15

	MOVL $0xc2ae0000, DX // -87
	VPBROADCASTD DX, Z20
	MOVL $0x42b00000, DX // 88
	VPBROADCASTD DX, Z21
	MOVL $0x3fb8aa3b, DX // log2e
	VPBROADCASTD DX, Z22
	MOVL $0x7fffffff, DX // |.| mask
	VPBROADCASTD DX, Z23
	MOVL $0x3f000000, DX // 0.5
	VPBROADCASTD DX, Z24
	MOVL $0x3f318000, DX // ln2Hi
	VPBROADCASTD DX, Z25
	MOVL $0xb95e8083, DX // ln2Lo
	VPBROADCASTD DX, Z26
	MOVL $0x39506967, DX // c5
	VPBROADCASTD DX, Z27
	MOVL $0x3ab743ce, DX // c4
	VPBROADCASTD DX, Z28
	MOVL $0x3c088908, DX // c3
	VPBROADCASTD DX, Z29
	MOVL $0x3d2aa9c1, DX // c2
	VPBROADCASTD DX, Z30
	MOVL $0x3e2aaaaa, DX // c1
	VPBROADCASTD DX, Z31
	MOVL $0x3f800000, DX // 1
	VPBROADCASTD DX, Z19
	MOVL $127, DX
	VPBROADCASTD DX, Z18
	VPXORD Z17, Z17, Z17 // 0

esloop:
	CMPQ CX, $0
	JE   esdone
	VMOVUPS (SI)(AX*4), Z0
	VSUBPS Z16, Z0, Z0            // x = src - m
	VCMPPS $0x1d, Z20, Z0, K1     // x >= -87 (ordered)
	VCMPPS $0x12, Z21, Z0, K1, K2 // and x <= 88
	VCMPPS $0x11, Z15, Z0, K4     // x < expMin (ordered): Exp is 0
	KORW K2, K4, K5
	KMOVW K5, DX
	CMPL DX, $0xffff
	JNE  esdone

	VMULPS Z22, Z0, Z1     // k = x*log2e
	VPANDD Z23, Z1, Z2     // |k|
	VADDPS Z24, Z2, Z2     // |k| + 0.5 (= k+0.5 or 0.5-k)
	VCVTTPS2DQ Z2, Z2      // truncated
	VCMPPS $0x11, Z17, Z1, K3 // k < 0
	VPSUBD Z2, Z17, K3, Z2 // n = -t where k < 0
	VCVTDQ2PS Z2, Z3       // nf
	VMULPS Z25, Z3, Z4     // nf*ln2Hi
	VSUBPS Z4, Z0, Z5      // r = x - nf*ln2Hi
	VMULPS Z26, Z3, Z4     // nf*ln2Lo
	VSUBPS Z4, Z5, Z5      // r = r - nf*ln2Lo
	VMULPS Z5, Z27, Z6     // p = c5*r
	VADDPS Z28, Z6, Z6     // + c4
	VMULPS Z5, Z6, Z6
	VADDPS Z29, Z6, Z6     // + c3
	VMULPS Z5, Z6, Z6
	VADDPS Z30, Z6, Z6     // + c2
	VMULPS Z5, Z6, Z6
	VADDPS Z31, Z6, Z6     // + c1
	VMULPS Z5, Z6, Z6
	VADDPS Z24, Z6, Z6     // + c0 (= 0.5 in float32)
	VMULPS Z5, Z5, Z7      // r*r
	VMULPS Z6, Z7, Z7      // (r*r)*p
	VADDPS Z5, Z7, Z7      // + r
	VADDPS Z19, Z7, Z7     // + 1
	VPADDD Z18, Z2, Z2     // n + 127
	VPSLLD $23, Z2, Z2     // 2^n
	VMULPS.Z Z2, Z7, K2, Z7 // 0 in the lanes below expMin
	VMOVUPS Z7, (DI)(AX*4)
	ADDQ $16, AX
	DECQ CX
	JMP  esloop

esdone:
	VZEROUPPER
	MOVQ AX, ret+56(FP)
	RET
