//go:build amd64 && !noasm

#include "textflag.h"

// Panel kernels (AVX-512 VNNI) for Q8_0, Q4_0 and Q5_0 weights. See
// gemm.go for the layouts. A panel block holds one block of 16 rows:
//
//	[0, 32)  the 16 rows' fp16 scales
//	Q8_0: 8 groups of 64 bytes; group g holds weights 4g..4g+3 of rows
//	      0..15 (row r in dword r), each stored as w+128 (unsigned);
//	Q4_0: 4 groups of 64 bytes; group G holds the file's bytes qs[4G..4G+3]
//	      of rows 0..15: low nibbles are weights 4G..4G+3, high nibbles
//	      weights 16+4G..16+4G+3 (unsigned q, value q-8);
//	Q5_0: as Q4_0, then the 16 rows' 32-bit qh (bit j: fifth bit of
//	      weight j; unsigned q, value q-16).
//
// An activation block (40 bytes) holds the column's 32 int8 q (for Q4_0
// and Q5_0 in the nibble order 0-3, 16-19, 4-7, 20-23, ..., so that
// weight register k always meets activation bytes 4k..4k+3), the float32
// scale dx and the int32 -off*sum(q), off the weights' offset (128, 8,
// 16). Per block and column, lane r of an int32 vector starts at
// -off*sum(q) and VPDPBUSD adds the 32 products of the unsigned weights
// with q: the exact sum s of (w-off)*q of row r (integer, no
// saturation). Then, lane by lane and in this order,
// acc = acc + float32(float32(dw*dx) * float32(s)): VCVTDQ2PS (exact,
// |s| < 2^24), VMULPS, VMULPS, VADDPS, no FMA: the reference order of
// dotQ8Ref, dotQ4_0Ref and dotQ5_0Ref.
//
// func qNPanelVNNIW(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)
//
// computes one panel (16 rows) against W columns (8, 4 or 1); x points at
// column 0's first block, column c starts at x + c*xstride, and the 16
// results of column c go to dst + c*dstride (bytes).

// Q8_0: scales to Z8, weights to Z0-Z7.
#define LOADQ8 \
	VCVTPH2PS (SI), Z8; \
	VMOVDQU32 32(SI), Z0; \
	VMOVDQU32 96(SI), Z1; \
	VMOVDQU32 160(SI), Z2; \
	VMOVDQU32 224(SI), Z3; \
	VMOVDQU32 288(SI), Z4; \
	VMOVDQU32 352(SI), Z5; \
	VMOVDQU32 416(SI), Z6; \
	VMOVDQU32 480(SI), Z7

// Q4_0: group G's low nibbles to Z(2G), high nibbles to Z(2G+1); Z31
// holds 0x0f in every byte.
#define NIBBLES(off, lo, hi) \
	VMOVDQU32 off(SI), Z9; \
	VPANDD    Z31, Z9, lo; \
	VPSRLD    $4, Z9, Z9; \
	VPANDD    Z31, Z9, hi

#define LOADQ4 \
	VCVTPH2PS (SI), Z8; \
	NIBBLES(32, Z0, Z1); \
	NIBBLES(96, Z2, Z3); \
	NIBBLES(160, Z4, Z5); \
	NIBBLES(224, Z6, Z7)

// Q5_0: Q4_0's nibbles, then 16 added where the fifth bit is set: the
// byte of qh holding the bits of a register's 4 weights is copied into
// their 4 bytes (VPSHUFB with q5ctl), VPTESTMB with q5bit selects each
// weight's bit, and a masked VPADDB adds 16.
#define HIBIT(ctl, bit, reg) \
	VPSHUFB  ctl(SB), Z30, Z26; \
	VPTESTMB bit(SB), Z26, K1; \
	VPADDB   q5c16<>(SB), reg, K1, reg

#define LOADQ5 \
	LOADQ4; \
	VMOVDQU32 288(SI), Z30; \
	HIBIT(q5ctl<>+0, q5bit<>+0, Z0); \
	HIBIT(q5ctl<>+128, q5bit<>+0, Z1); \
	HIBIT(q5ctl<>+0, q5bit<>+64, Z2); \
	HIBIT(q5ctl<>+128, q5bit<>+64, Z3); \
	HIBIT(q5ctl<>+64, q5bit<>+0, Z4); \
	HIBIT(q5ctl<>+192, q5bit<>+0, Z5); \
	HIBIT(q5ctl<>+64, q5bit<>+64, Z6); \
	HIBIT(q5ctl<>+192, q5bit<>+64, Z7)

// T = the exact int32 block sums of the 16 rows with the column at P.
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

// q5ctl<>+64b: VPSHUFB control copying byte b of each dword to its 4 bytes.
DATA q5ctl<>+0(SB)/8, $0x0404040400000000
DATA q5ctl<>+8(SB)/8, $0x0c0c0c0c08080808
DATA q5ctl<>+16(SB)/8, $0x0404040400000000
DATA q5ctl<>+24(SB)/8, $0x0c0c0c0c08080808
DATA q5ctl<>+32(SB)/8, $0x0404040400000000
DATA q5ctl<>+40(SB)/8, $0x0c0c0c0c08080808
DATA q5ctl<>+48(SB)/8, $0x0404040400000000
DATA q5ctl<>+56(SB)/8, $0x0c0c0c0c08080808
DATA q5ctl<>+64(SB)/8, $0x0505050501010101
DATA q5ctl<>+72(SB)/8, $0x0d0d0d0d09090909
DATA q5ctl<>+80(SB)/8, $0x0505050501010101
DATA q5ctl<>+88(SB)/8, $0x0d0d0d0d09090909
DATA q5ctl<>+96(SB)/8, $0x0505050501010101
DATA q5ctl<>+104(SB)/8, $0x0d0d0d0d09090909
DATA q5ctl<>+112(SB)/8, $0x0505050501010101
DATA q5ctl<>+120(SB)/8, $0x0d0d0d0d09090909
DATA q5ctl<>+128(SB)/8, $0x0606060602020202
DATA q5ctl<>+136(SB)/8, $0x0e0e0e0e0a0a0a0a
DATA q5ctl<>+144(SB)/8, $0x0606060602020202
DATA q5ctl<>+152(SB)/8, $0x0e0e0e0e0a0a0a0a
DATA q5ctl<>+160(SB)/8, $0x0606060602020202
DATA q5ctl<>+168(SB)/8, $0x0e0e0e0e0a0a0a0a
DATA q5ctl<>+176(SB)/8, $0x0606060602020202
DATA q5ctl<>+184(SB)/8, $0x0e0e0e0e0a0a0a0a
DATA q5ctl<>+192(SB)/8, $0x0707070703030303
DATA q5ctl<>+200(SB)/8, $0x0f0f0f0f0b0b0b0b
DATA q5ctl<>+208(SB)/8, $0x0707070703030303
DATA q5ctl<>+216(SB)/8, $0x0f0f0f0f0b0b0b0b
DATA q5ctl<>+224(SB)/8, $0x0707070703030303
DATA q5ctl<>+232(SB)/8, $0x0f0f0f0f0b0b0b0b
DATA q5ctl<>+240(SB)/8, $0x0707070703030303
DATA q5ctl<>+248(SB)/8, $0x0f0f0f0f0b0b0b0b
GLOBL q5ctl<>(SB), RODATA|NOPTR, $256
// q5bit<>+64e: byte i of each dword = 1 << (4e+i).
DATA q5bit<>+0(SB)/8, $0x0804020108040201
DATA q5bit<>+8(SB)/8, $0x0804020108040201
DATA q5bit<>+16(SB)/8, $0x0804020108040201
DATA q5bit<>+24(SB)/8, $0x0804020108040201
DATA q5bit<>+32(SB)/8, $0x0804020108040201
DATA q5bit<>+40(SB)/8, $0x0804020108040201
DATA q5bit<>+48(SB)/8, $0x0804020108040201
DATA q5bit<>+56(SB)/8, $0x0804020108040201
DATA q5bit<>+64(SB)/8, $0x8040201080402010
DATA q5bit<>+72(SB)/8, $0x8040201080402010
DATA q5bit<>+80(SB)/8, $0x8040201080402010
DATA q5bit<>+88(SB)/8, $0x8040201080402010
DATA q5bit<>+96(SB)/8, $0x8040201080402010
DATA q5bit<>+104(SB)/8, $0x8040201080402010
DATA q5bit<>+112(SB)/8, $0x8040201080402010
DATA q5bit<>+120(SB)/8, $0x8040201080402010
GLOBL q5bit<>(SB), RODATA|NOPTR, $128
DATA q5c16<>+0(SB)/8, $0x1010101010101010
DATA q5c16<>+8(SB)/8, $0x1010101010101010
DATA q5c16<>+16(SB)/8, $0x1010101010101010
DATA q5c16<>+24(SB)/8, $0x1010101010101010
DATA q5c16<>+32(SB)/8, $0x1010101010101010
DATA q5c16<>+40(SB)/8, $0x1010101010101010
DATA q5c16<>+48(SB)/8, $0x1010101010101010
DATA q5c16<>+56(SB)/8, $0x1010101010101010
GLOBL q5c16<>(SB), RODATA|NOPTR, $64

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
	JZ    q8PanelVNNI8done

q8PanelVNNI8loop:
	LOADQ8
	DOTC(AX, Z10)
	DOTC(BX, Z11)
	DOTC(DI, Z12)
	DOTC(R8, Z13)
	DOTC(R9, Z14)
	DOTC(R10, Z15)
	DOTC(R11, Z16)
	DOTC(R12, Z17)
	FUPD(AX, Z10, Z9, Z18)
	FUPD(BX, Z11, Z9, Z19)
	FUPD(DI, Z12, Z9, Z20)
	FUPD(R8, Z13, Z9, Z21)
	FUPD(R9, Z14, Z9, Z22)
	FUPD(R10, Z15, Z9, Z23)
	FUPD(R11, Z16, Z9, Z24)
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
	JNZ  q8PanelVNNI8loop

q8PanelVNNI8done:
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
	JZ    q8PanelVNNI4done

q8PanelVNNI4loop:
	LOADQ8
	DOTC(AX, Z10)
	DOTC(BX, Z11)
	DOTC(DI, Z12)
	DOTC(R8, Z13)
	FUPD(AX, Z10, Z9, Z18)
	FUPD(BX, Z11, Z9, Z19)
	FUPD(DI, Z12, Z9, Z20)
	FUPD(R8, Z13, Z9, Z21)
	ADDQ $544, SI
	ADDQ $40, AX
	ADDQ $40, BX
	ADDQ $40, DI
	ADDQ $40, R8
	DECQ CX
	JNZ  q8PanelVNNI4loop

q8PanelVNNI4done:
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
	JZ    q8PanelVNNI1done

q8PanelVNNI1loop:
	LOADQ8
	DOTC(AX, Z10)
	FUPD(AX, Z10, Z9, Z18)
	ADDQ $544, SI
	ADDQ $40, AX
	DECQ CX
	JNZ  q8PanelVNNI1loop

q8PanelVNNI1done:
	MOVQ dst+32(FP), DI
	VMOVUPS Z18, (DI)
	VZEROUPPER
	RET

TEXT ·q4PanelVNNI8(SB), NOSPLIT, $0-48
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
	MOVL $0x0f0f0f0f, R13
	VPBROADCASTD R13, Z31
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	TESTQ CX, CX
	JZ    q4PanelVNNI8done

q4PanelVNNI8loop:
	LOADQ4
	DOTC(AX, Z10)
	DOTC(BX, Z11)
	DOTC(DI, Z12)
	DOTC(R8, Z13)
	DOTC(R9, Z14)
	DOTC(R10, Z15)
	DOTC(R11, Z16)
	DOTC(R12, Z17)
	FUPD(AX, Z10, Z9, Z18)
	FUPD(BX, Z11, Z9, Z19)
	FUPD(DI, Z12, Z9, Z20)
	FUPD(R8, Z13, Z9, Z21)
	FUPD(R9, Z14, Z9, Z22)
	FUPD(R10, Z15, Z9, Z23)
	FUPD(R11, Z16, Z9, Z24)
	FUPD(R12, Z17, Z9, Z25)
	ADDQ $288, SI
	ADDQ $40, AX
	ADDQ $40, BX
	ADDQ $40, DI
	ADDQ $40, R8
	ADDQ $40, R9
	ADDQ $40, R10
	ADDQ $40, R11
	ADDQ $40, R12
	DECQ CX
	JNZ  q4PanelVNNI8loop

q4PanelVNNI8done:
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

TEXT ·q4PanelVNNI4(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ x+16(FP), AX
	MOVQ xstride+24(FP), DX
	LEAQ (AX)(DX*1), BX
	LEAQ (BX)(DX*1), DI
	LEAQ (DI)(DX*1), R8
	MOVL $0x0f0f0f0f, R13
	VPBROADCASTD R13, Z31
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	TESTQ CX, CX
	JZ    q4PanelVNNI4done

q4PanelVNNI4loop:
	LOADQ4
	DOTC(AX, Z10)
	DOTC(BX, Z11)
	DOTC(DI, Z12)
	DOTC(R8, Z13)
	FUPD(AX, Z10, Z9, Z18)
	FUPD(BX, Z11, Z9, Z19)
	FUPD(DI, Z12, Z9, Z20)
	FUPD(R8, Z13, Z9, Z21)
	ADDQ $288, SI
	ADDQ $40, AX
	ADDQ $40, BX
	ADDQ $40, DI
	ADDQ $40, R8
	DECQ CX
	JNZ  q4PanelVNNI4loop

q4PanelVNNI4done:
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

TEXT ·q4PanelVNNI1(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ x+16(FP), AX
	MOVL $0x0f0f0f0f, R13
	VPBROADCASTD R13, Z31
	VPXORD Z18, Z18, Z18
	TESTQ CX, CX
	JZ    q4PanelVNNI1done

q4PanelVNNI1loop:
	LOADQ4
	DOTC(AX, Z10)
	FUPD(AX, Z10, Z9, Z18)
	ADDQ $288, SI
	ADDQ $40, AX
	DECQ CX
	JNZ  q4PanelVNNI1loop

q4PanelVNNI1done:
	MOVQ dst+32(FP), DI
	VMOVUPS Z18, (DI)
	VZEROUPPER
	RET

TEXT ·q5PanelVNNI8(SB), NOSPLIT, $0-48
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
	MOVL $0x0f0f0f0f, R13
	VPBROADCASTD R13, Z31
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	TESTQ CX, CX
	JZ    q5PanelVNNI8done

q5PanelVNNI8loop:
	LOADQ5
	DOTC(AX, Z10)
	DOTC(BX, Z11)
	DOTC(DI, Z12)
	DOTC(R8, Z13)
	DOTC(R9, Z14)
	DOTC(R10, Z15)
	DOTC(R11, Z16)
	DOTC(R12, Z17)
	FUPD(AX, Z10, Z9, Z18)
	FUPD(BX, Z11, Z9, Z19)
	FUPD(DI, Z12, Z9, Z20)
	FUPD(R8, Z13, Z9, Z21)
	FUPD(R9, Z14, Z9, Z22)
	FUPD(R10, Z15, Z9, Z23)
	FUPD(R11, Z16, Z9, Z24)
	FUPD(R12, Z17, Z9, Z25)
	ADDQ $352, SI
	ADDQ $40, AX
	ADDQ $40, BX
	ADDQ $40, DI
	ADDQ $40, R8
	ADDQ $40, R9
	ADDQ $40, R10
	ADDQ $40, R11
	ADDQ $40, R12
	DECQ CX
	JNZ  q5PanelVNNI8loop

q5PanelVNNI8done:
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

TEXT ·q5PanelVNNI4(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ x+16(FP), AX
	MOVQ xstride+24(FP), DX
	LEAQ (AX)(DX*1), BX
	LEAQ (BX)(DX*1), DI
	LEAQ (DI)(DX*1), R8
	MOVL $0x0f0f0f0f, R13
	VPBROADCASTD R13, Z31
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	TESTQ CX, CX
	JZ    q5PanelVNNI4done

q5PanelVNNI4loop:
	LOADQ5
	DOTC(AX, Z10)
	DOTC(BX, Z11)
	DOTC(DI, Z12)
	DOTC(R8, Z13)
	FUPD(AX, Z10, Z9, Z18)
	FUPD(BX, Z11, Z9, Z19)
	FUPD(DI, Z12, Z9, Z20)
	FUPD(R8, Z13, Z9, Z21)
	ADDQ $352, SI
	ADDQ $40, AX
	ADDQ $40, BX
	ADDQ $40, DI
	ADDQ $40, R8
	DECQ CX
	JNZ  q5PanelVNNI4loop

q5PanelVNNI4done:
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

TEXT ·q5PanelVNNI1(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ x+16(FP), AX
	MOVL $0x0f0f0f0f, R13
	VPBROADCASTD R13, Z31
	VPXORD Z18, Z18, Z18
	TESTQ CX, CX
	JZ    q5PanelVNNI1done

q5PanelVNNI1loop:
	LOADQ5
	DOTC(AX, Z10)
	FUPD(AX, Z10, Z9, Z18)
	ADDQ $352, SI
	ADDQ $40, AX
	DECQ CX
	JNZ  q5PanelVNNI1loop

q5PanelVNNI1done:
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

// func q8QuantAVX512(x *float32, nb int, id *float32, out *byte, mul int, perm int)
//
// For k < nb: the 32 values q[j] = roundEven(float32(x[32k+j] * id[k]))
// of QuantizeQ8 (NaN to 0, clamped to [-128, 127], ties to even: VMULPS,
// then a clamp in float32, then VCVTPS2DQ in the default round-to-even
// mode, NaN lanes zeroed by a mask) go to out[40k:40k+32], in the
// nibble order when perm != 0, and mul*sum(q) to out[40k+36:40k+40]
// (the panel kernels' activation block; bytes 32..35, the scale, are
// left alone).
TEXT ·q8QuantAVX512(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ nb+8(FP), CX
	MOVQ id+16(FP), BX
	MOVQ out+24(FP), DI
	MOVQ mul+32(FP), R8
	MOVQ perm+40(FP), R9
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
	TESTQ        R9, R9
	JNZ          qperm
	VPMOVDB      Z1, (DI)
	VPMOVDB      Z2, 16(DI)
	JMP          qsum

qperm:
	VPMOVDB      Z1, X3
	VPMOVDB      Z2, X4
	VPUNPCKLDQ   X4, X3, X5
	VPUNPCKHDQ   X4, X3, X6
	VMOVDQU      X5, (DI)
	VMOVDQU      X6, 16(DI)

qsum:
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
	IMULL        R8, AX
	MOVL         AX, 36(DI)
	ADDQ         $128, SI
	ADDQ         $4, BX
	ADDQ         $40, DI
	DECQ         CX
	JNZ          qloop

qdone:
	VZEROUPPER
	RET
