//go:build amd64 && !noasm

#include "textflag.h"

// Q8_0 panel kernels (AVX-512 VNNI). See gemm.go for the layouts:
//
//	panel block (544 bytes): 16 fp16 row scales, then 8 groups of 64 bytes;
//	    group g holds bytes 4g..4g+3 of rows 0..15 (row r in dword r), each
//	    weight stored as w+128 (unsigned);
//	activation block (40 bytes): 32 int8 q, float32 dx, int32 -128*sum(q).
//
// Per block and column, lane r of an int32 vector starts at -128*sum(q)
// and VPDPBUSD adds the 32 products (w+128)*q: the exact sum s of w*q of
// row r (integer, no saturation). Then, lane by lane and in this order,
// acc = acc + float32(float32(dw*dx) * float32(s)): VCVTDQ2PS (exact,
// |s| < 2^24), VMULPS, VMULPS, VADDPS, no FMA: dotQ8Ref's order.
//
// func q8PanelVNNI8(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)
// func q8PanelVNNI4(...), q8PanelVNNI1(...): the same for 4 and 1 columns.
// x points at column 0's first block; column c starts at x + c*xstride;
// the 16 results of column c go to dst + c*dstride (bytes).

// Load one panel block's scales (Z8) and weights (Z0-Z7).
#define LOADW \
	VCVTPH2PS (SI), Z8; \
	VMOVDQU32 32(SI), Z0; \
	VMOVDQU32 96(SI), Z1; \
	VMOVDQU32 160(SI), Z2; \
	VMOVDQU32 224(SI), Z3; \
	VMOVDQU32 288(SI), Z4; \
	VMOVDQU32 352(SI), Z5; \
	VMOVDQU32 416(SI), Z6; \
	VMOVDQU32 480(SI), Z7

// T = exact int32 block sums of the 16 rows with the column at P.
#define DOTC(P, T) \
	VPBROADCASTD 36(P), T; \
	VPDPBUSD.BCST 0(P), Z0, T; \
	VPDPBUSD.BCST 4(P), Z1, T; \
	VPDPBUSD.BCST 8(P), Z2, T; \
	VPDPBUSD.BCST 12(P), Z3, T; \
	VPDPBUSD.BCST 16(P), Z4, T; \
	VPDPBUSD.BCST 20(P), Z5, T; \
	VPDPBUSD.BCST 24(P), Z6, T; \
	VPDPBUSD.BCST 28(P), Z7, T

// ACC = ACC + float32(float32(dw*dx) * float32(T)); S is scratch.
#define FUPD(P, T, S, ACC) \
	VCVTDQ2PS T, T; \
	VMULPS.BCST 32(P), Z8, S; \
	VMULPS S, T, T; \
	VADDPS T, ACC, ACC

TEXT ·q8PanelVNNI8(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ x+16(FP), AX
	MOVQ xstride+24(FP), DX
	LEAQ (AX)(DX*1), BX
	LEAQ (BX)(DX*1), DI
	LEAQ (DI)(DX*1), R8
	LEAQ (R8)(DX*1), R9
	LEAQ (R9)(DX*1), R10
	LEAQ (R10)(DX*1), R11
	LEAQ (R11)(DX*1), R12
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	TESTQ CX, CX
	JZ    done8

loop8:
	LOADW
	DOTC(AX, Z10)
	DOTC(BX, Z11)
	DOTC(DI, Z12)
	DOTC(R8, Z13)
	DOTC(R9, Z14)
	DOTC(R10, Z15)
	DOTC(R11, Z16)
	DOTC(R12, Z17)
	FUPD(AX, Z10, Z9, Z18)
	FUPD(BX, Z11, Z26, Z19)
	FUPD(DI, Z12, Z27, Z20)
	FUPD(R8, Z13, Z28, Z21)
	FUPD(R9, Z14, Z29, Z22)
	FUPD(R10, Z15, Z30, Z23)
	FUPD(R11, Z16, Z31, Z24)
	FUPD(R12, Z17, Z9, Z25)
	ADDQ $544, SI
	ADDQ $40, AX
	ADDQ $40, BX
	ADDQ $40, DI
	ADDQ $40, R8
	ADDQ $40, R9
	ADDQ $40, R10
	ADDQ $40, R11
	ADDQ $40, R12
	DECQ CX
	JNZ  loop8

done8:
	MOVQ dst+32(FP), DI
	MOVQ dstride+40(FP), DX
	VMOVUPS Z18, (DI)
	ADDQ    DX, DI
	VMOVUPS Z19, (DI)
	ADDQ    DX, DI
	VMOVUPS Z20, (DI)
	ADDQ    DX, DI
	VMOVUPS Z21, (DI)
	ADDQ    DX, DI
	VMOVUPS Z22, (DI)
	ADDQ    DX, DI
	VMOVUPS Z23, (DI)
	ADDQ    DX, DI
	VMOVUPS Z24, (DI)
	ADDQ    DX, DI
	VMOVUPS Z25, (DI)
	VZEROUPPER
	RET

TEXT ·q8PanelVNNI4(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ x+16(FP), AX
	MOVQ xstride+24(FP), DX
	LEAQ (AX)(DX*1), BX
	LEAQ (BX)(DX*1), DI
	LEAQ (DI)(DX*1), R8
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	TESTQ CX, CX
	JZ    done4

loop4:
	LOADW
	DOTC(AX, Z10)
	DOTC(BX, Z11)
	DOTC(DI, Z12)
	DOTC(R8, Z13)
	FUPD(AX, Z10, Z9, Z18)
	FUPD(BX, Z11, Z26, Z19)
	FUPD(DI, Z12, Z27, Z20)
	FUPD(R8, Z13, Z28, Z21)
	ADDQ $544, SI
	ADDQ $40, AX
	ADDQ $40, BX
	ADDQ $40, DI
	ADDQ $40, R8
	DECQ CX
	JNZ  loop4

done4:
	MOVQ dst+32(FP), DI
	MOVQ dstride+40(FP), DX
	VMOVUPS Z18, (DI)
	ADDQ    DX, DI
	VMOVUPS Z19, (DI)
	ADDQ    DX, DI
	VMOVUPS Z20, (DI)
	ADDQ    DX, DI
	VMOVUPS Z21, (DI)
	VZEROUPPER
	RET

TEXT ·q8PanelVNNI1(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ x+16(FP), AX
	VPXORD Z18, Z18, Z18
	TESTQ CX, CX
	JZ    done1

loop1:
	LOADW
	DOTC(AX, Z10)
	FUPD(AX, Z10, Z9, Z18)
	ADDQ $544, SI
	ADDQ $40, AX
	DECQ CX
	JNZ  loop1

done1:
	MOVQ dst+32(FP), DI
	VMOVUPS Z18, (DI)
	VZEROUPPER
	RET

// func q8AmaxAVX512(x *float32, nb int, amax *float32)
//
// amax[k] = max |x[32k+j]| over j, for k < nb, as QuantizeQ8: the maximum
// of the absolute values where a NaN never wins (VMAXPS returns its
// second source, the running maximum, when the first is a NaN). Maxima
// are exact, so the lane order does not matter.
TEXT ·q8AmaxAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ amax+16(FP), DI
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z31
	TESTQ CX, CX
	JZ    amaxdone

amaxloop:
	VPXORD     Z0, Z0, Z0
	VPANDD     (SI), Z31, Z1
	VPANDD     64(SI), Z31, Z2
	VMAXPS     Z0, Z1, Z0
	VMAXPS     Z0, Z2, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS     Y0, Y1, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS     X0, X1, X0
	VPSHUFD    $0x4e, X0, X1
	VMAXPS     X0, X1, X0
	VPSHUFD    $0xb1, X0, X1
	VMAXPS     X0, X1, X0
	VMOVSS     X0, (DI)
	ADDQ       $128, SI
	ADDQ       $4, DI
	DECQ       CX
	JNZ        amaxloop

amaxdone:
	VZEROUPPER
	RET

// func q8QuantAVX512(x *float32, nb int, id *float32, out *byte)
//
// For k < nb: the 32 values q[j] = roundEven(float32(x[32k+j] * id[k]))
// of QuantizeQ8 (NaN to 0, clamped to [-128, 127], ties to even: VMULPS,
// then a clamp in float32, then VCVTPS2DQ in the default round-to-even
// mode, NaN lanes zeroed by a mask) go to out[40k:40k+32], and
// -128*sum(q) to out[40k+36:40k+40] (the panel kernels' activation
// block; bytes 32..35, the scale, are left alone).
TEXT ·q8QuantAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ id+16(FP), BX
	MOVQ out+24(FP), DI
	MOVL $0x42fe0000, AX // 127.0
	VPBROADCASTD AX, Z30
	MOVL $0xc3000000, AX // -128.0
	VPBROADCASTD AX, Z29
	TESTQ CX, CX
	JZ    qdone

qloop:
	VBROADCASTSS (BX), Z0
	VMULPS       (SI), Z0, Z1
	VMULPS       64(SI), Z0, Z2
	VCMPPS       $7, Z1, Z1, K1 // ordered: not NaN
	VCMPPS       $7, Z2, Z2, K2
	VMAXPS       Z29, Z1, Z1
	VMAXPS       Z29, Z2, Z2
	VMINPS       Z30, Z1, Z1
	VMINPS       Z30, Z2, Z2
	VCVTPS2DQ.Z  Z1, K1, Z1
	VCVTPS2DQ.Z  Z2, K2, Z2
	VPMOVDB      Z1, (DI)
	VPMOVDB      Z2, 16(DI)
	VPADDD       Z1, Z2, Z1
	VEXTRACTI64X4 $1, Z1, Y2
	VPADDD       Y1, Y2, Y1
	VEXTRACTI128 $1, Y1, X2
	VPADDD       X1, X2, X1
	VPSHUFD      $0x4e, X1, X2
	VPADDD       X1, X2, X1
	VPSHUFD      $0xb1, X1, X2
	VPADDD       X1, X2, X1
	VMOVD        X1, AX
	IMULL        $-128, AX
	MOVL         AX, 36(DI)
	ADDQ         $128, SI
	ADDQ         $4, BX
	ADDQ         $40, DI
	DECQ         CX
	JNZ          qloop

qdone:
	VZEROUPPER
	RET
