//go:build amd64 && !noasm

#include "textflag.h"

// Panel kernels (AVX2) for Q4_1, Q8_0 and Q4_0 weights, hand-written, for CPUs with AVX2
// and F16C but no AVX-512 VNNI. They read the same panel layout as the
// AVX-512 kernels (gemm.go, putQ4_1: 16 fp16 d, 16 fp16 m, then 4 groups
// of 64 bytes, row r's nibble bytes qs[4G..4G+3] in dword r of group G)
// and the same activation blocks (q81Acts). A ymm register holds 8 rows'
// dwords, so a kernel makes two passes over the blocks: rows 0-7, then
// rows 8-15 (weights at +32 bytes in each group, scales at +16 bytes).
//
// Per block, column and row: VPMADDUBSW multiplies the unsigned nibbles
// (0..15) by the signed activation bytes (-128..127) and adds pairs into
// int16: |pair| <= 2*15*128 = 3840; the 8 registers' results are added
// with VPADDW: |sum| <= 8*3840 = 30720 < 32767, so there is neither
// saturation nor wrap-around; VPMADDWD with ones adds the int16 pairs
// into int32: the exact sum s of q_w*q_x of the row (|s| <= 61440 < 2^24,
// so VCVTDQ2PS is exact). Then, lane by lane and in this order,
// accD = accD + float32(float32(d_w*d_x) * float32(s)) and
// accM = accM + float32(m_w * s_x) (VMULPS, VMULPS, VADDPS; VMULPS,
// VADDPS: no FMA), and the result accD + accM: dotQ4_1Ref's order.
//
// func q41PanelAVX2x2(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)
// func q41PanelAVX2x1(...)

// Group G (at off(R10)) low nibbles to lo, high nibbles to hi; Y12 scratch.
#define NIB2(off, lo, hi) \
	VMOVDQU off(R10), Y12; \
	VPAND   a2mask<>(SB), Y12, lo; \
	VPSRLW  $4, Y12, Y12; \
	VPAND   a2mask<>(SB), Y12, hi

#define LOAD41A2 \
	VCVTPH2PS (SI), Y14; \
	VCVTPH2PS 32(SI), Y15; \
	NIB2(0, Y0, Y1); \
	NIB2(64, Y2, Y3); \
	NIB2(128, Y4, Y5); \
	NIB2(192, Y6, Y7)

// Y12 += the int16 pair sums of weights W with activation bytes at off(P).
#define MADD(P, off, W) \
	VPBROADCASTD off(P), Y13; \
	VPMADDUBSW   Y13, W, Y13; \
	VPADDW       Y13, Y12, Y12

// The column at P: ACCD and ACCM updated as described above.
#define COL41A2(P, ACCD, ACCM) \
	VPBROADCASTD 0(P), Y13; \
	VPMADDUBSW   Y13, Y0, Y12; \
	MADD(P, 4, Y1); \
	MADD(P, 8, Y2); \
	MADD(P, 12, Y3); \
	MADD(P, 16, Y4); \
	MADD(P, 20, Y5); \
	MADD(P, 24, Y6); \
	MADD(P, 28, Y7); \
	VPMADDWD     a2ones<>(SB), Y12, Y12; \
	VCVTDQ2PS    Y12, Y12; \
	VBROADCASTSS 32(P), Y13; \
	VMULPS       Y13, Y14, Y13; \
	VMULPS       Y13, Y12, Y12; \
	VADDPS       Y12, ACCD, ACCD; \
	VBROADCASTSS 36(P), Y13; \
	VMULPS       Y13, Y15, Y13; \
	VADDPS       Y13, ACCM, ACCM

// Start of half R9 (0, 1): SI = scales, R10 = weights, CX = nb, AX = x.
#define HALF41A2 \
	MOVQ w+0(FP), SI; \
	MOVQ R9, R11; \
	SHLQ $4, R11; \
	ADDQ R11, SI; \
	LEAQ 64(SI)(R11*1), R10; \
	MOVQ nb+8(FP), CX; \
	MOVQ x+16(FP), AX

TEXT ·q41PanelAVX2x2(SB), NOSPLIT, $0-48
	XORQ R9, R9

q41A2x2half:
	HALF41A2
	MOVQ  xstride+24(FP), DX
	LEAQ  (AX)(DX*1), BX
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	TESTQ CX, CX
	JZ    q41A2x2done

q41A2x2loop:
	LOAD41A2
	COL41A2(AX, Y8, Y10)
	COL41A2(BX, Y9, Y11)
	ADDQ $320, SI
	ADDQ $320, R10
	ADDQ $40, AX
	ADDQ $40, BX
	DECQ CX
	JNZ  q41A2x2loop

q41A2x2done:
	VADDPS  Y10, Y8, Y8
	VADDPS  Y11, Y9, Y9
	MOVQ    dst+32(FP), DI
	MOVQ    R9, R11
	SHLQ    $5, R11
	ADDQ    R11, DI
	MOVQ    dstride+40(FP), DX
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(DX*1)
	INCQ    R9
	CMPQ    R9, $2
	JLT     q41A2x2half
	VZEROUPPER
	RET

TEXT ·q41PanelAVX2x1(SB), NOSPLIT, $0-48
	XORQ R9, R9

q41A2x1half:
	HALF41A2
	VPXOR Y8, Y8, Y8
	VPXOR Y10, Y10, Y10
	TESTQ CX, CX
	JZ    q41A2x1done

q41A2x1loop:
	LOAD41A2
	COL41A2(AX, Y8, Y10)
	ADDQ $320, SI
	ADDQ $320, R10
	ADDQ $40, AX
	DECQ CX
	JNZ  q41A2x1loop

q41A2x1done:
	VADDPS  Y10, Y8, Y8
	MOVQ    dst+32(FP), DI
	MOVQ    R9, R11
	SHLQ    $5, R11
	ADDQ    R11, DI
	VMOVUPS Y8, (DI)
	INCQ    R9
	CMPQ    R9, $2
	JLT     q41A2x1half
	VZEROUPPER
	RET

// Q8_0 (AVX2 layout, putQ8_0Signed: as the AVX-512 one but the weights
// stored as the file's signed bytes; activation blocks with offset 0).
// Per group of 4 weights and column, the sign trick: VPABSB |w| (0..128,
// unsigned), VPSIGNB q_x*sign(w) (QuantizeQ8's q_x lie in -127..127, so
// the product fits int8), VPMADDUBSW: |pair| <= 2*128*127 = 32512 < 32767,
// no saturation; VPMADDWD with ones and VPADDD: the exact int32 sum s of
// w*q_x. Then acc = acc + float32(float32(d_w*d_x) * float32(s)) lane by
// lane (VCVTDQ2PS exact, |s| < 2^24; VMULPS, VMULPS, VADDPS, no FMA):
// dotQ8Ref's order. Two passes, rows 0-7 and 8-15, as the Q4_1 kernels.
//
// func q8PanelAVX2x4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)
// func q8PanelAVX2x1(...)

// T += the exact int32 sums of |w| (Y9, sign in Y8) with bytes off(P).
#define SDOT(P, off, T) \
	VPBROADCASTD off(P), Y10; \
	VPSIGNB      Y8, Y10, Y10; \
	VPMADDUBSW   Y10, Y9, Y10; \
	VPMADDWD     Y11, Y10, Y10; \
	VPADDD       Y10, T, T

// ACC = ACC + float32(float32(d_w*d_x) * float32(T)), d_w in Y12.
#define FUPDA2(P, T, ACC) \
	VCVTDQ2PS    T, T; \
	VBROADCASTSS 32(P), Y10; \
	VMULPS       Y10, Y12, Y10; \
	VMULPS       Y10, T, T; \
	VADDPS       T, ACC, ACC

TEXT ·q8PanelAVX2x4(SB), NOSPLIT, $0-48
	VMOVDQU a2ones<>(SB), Y11
	XORQ R9, R9

q8PanelAVX2x4half:
	MOVQ w+0(FP), SI
	MOVQ R9, R11
	SHLQ $4, R11
	ADDQ R11, SI
	LEAQ 32(SI)(R11*1), R10
	MOVQ nb+8(FP), CX
	MOVQ x+16(FP), AX
	MOVQ xstride+24(FP), DX
	LEAQ (AX)(DX*1), BX
	LEAQ (BX)(DX*1), DI
	LEAQ (DI)(DX*1), R8
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	TESTQ CX, CX
	JZ    q8PanelAVX2x4done

q8PanelAVX2x4loop:
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VMOVDQU 0(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 0, Y4)
	SDOT(BX, 0, Y5)
	SDOT(DI, 0, Y6)
	SDOT(R8, 0, Y7)
	VMOVDQU 64(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 4, Y4)
	SDOT(BX, 4, Y5)
	SDOT(DI, 4, Y6)
	SDOT(R8, 4, Y7)
	VMOVDQU 128(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 8, Y4)
	SDOT(BX, 8, Y5)
	SDOT(DI, 8, Y6)
	SDOT(R8, 8, Y7)
	VMOVDQU 192(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 12, Y4)
	SDOT(BX, 12, Y5)
	SDOT(DI, 12, Y6)
	SDOT(R8, 12, Y7)
	VMOVDQU 256(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 16, Y4)
	SDOT(BX, 16, Y5)
	SDOT(DI, 16, Y6)
	SDOT(R8, 16, Y7)
	VMOVDQU 320(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 20, Y4)
	SDOT(BX, 20, Y5)
	SDOT(DI, 20, Y6)
	SDOT(R8, 20, Y7)
	VMOVDQU 384(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 24, Y4)
	SDOT(BX, 24, Y5)
	SDOT(DI, 24, Y6)
	SDOT(R8, 24, Y7)
	VMOVDQU 448(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 28, Y4)
	SDOT(BX, 28, Y5)
	SDOT(DI, 28, Y6)
	SDOT(R8, 28, Y7)
	VCVTPH2PS (SI), Y12
	FUPDA2(AX, Y4, Y0)
	FUPDA2(BX, Y5, Y1)
	FUPDA2(DI, Y6, Y2)
	FUPDA2(R8, Y7, Y3)
	ADDQ $544, SI
	ADDQ $544, R10
	ADDQ $40, AX
	ADDQ $40, BX
	ADDQ $40, DI
	ADDQ $40, R8
	DECQ CX
	JNZ  q8PanelAVX2x4loop

q8PanelAVX2x4done:
	MOVQ dst+32(FP), DI
	MOVQ R9, R11
	SHLQ $5, R11
	ADDQ R11, DI
	MOVQ dstride+40(FP), DX
	VMOVUPS Y0, (DI)
	ADDQ DX, DI
	VMOVUPS Y1, (DI)
	ADDQ DX, DI
	VMOVUPS Y2, (DI)
	ADDQ DX, DI
	VMOVUPS Y3, (DI)
	INCQ R9
	CMPQ R9, $2
	JLT  q8PanelAVX2x4half
	VZEROUPPER
	RET

TEXT ·q8PanelAVX2x1(SB), NOSPLIT, $0-48
	VMOVDQU a2ones<>(SB), Y11
	XORQ R9, R9

q8PanelAVX2x1half:
	MOVQ w+0(FP), SI
	MOVQ R9, R11
	SHLQ $4, R11
	ADDQ R11, SI
	LEAQ 32(SI)(R11*1), R10
	MOVQ nb+8(FP), CX
	MOVQ x+16(FP), AX
	VPXOR Y0, Y0, Y0
	TESTQ CX, CX
	JZ    q8PanelAVX2x1done

q8PanelAVX2x1loop:
	VPXOR Y4, Y4, Y4
	VMOVDQU 0(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 0, Y4)
	VMOVDQU 64(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 4, Y4)
	VMOVDQU 128(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 8, Y4)
	VMOVDQU 192(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 12, Y4)
	VMOVDQU 256(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 16, Y4)
	VMOVDQU 320(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 20, Y4)
	VMOVDQU 384(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 24, Y4)
	VMOVDQU 448(R10), Y8
	VPABSB  Y8, Y9
	SDOT(AX, 28, Y4)
	VCVTPH2PS (SI), Y12
	FUPDA2(AX, Y4, Y0)
	ADDQ $544, SI
	ADDQ $544, R10
	ADDQ $40, AX
	DECQ CX
	JNZ  q8PanelAVX2x1loop

q8PanelAVX2x1done:
	MOVQ dst+32(FP), DI
	MOVQ R9, R11
	SHLQ $5, R11
	ADDQ R11, DI
	VMOVUPS Y0, (DI)
	INCQ R9
	CMPQ R9, $2
	JLT  q8PanelAVX2x1half
	VZEROUPPER
	RET

// Q4_0 (the AVX-512 layout: 16 fp16 d, then the nibbles as Q4_1's at
// offset 32; activation blocks with -8*sum(q) at 36): the int16 pair sums
// and their bound as Q4_1's (nibbles 0..15), VPMADDWD with ones, then the
// block's -8*sum(q) added: the exact sum s of (q_w-8)*q_x; then
// acc = acc + float32(float32(d_w*d_x) * float32(s)) lane by lane (no
// FMA): dotQ4_0Ref's order.
//
// func q4PanelAVX2x4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)
// func q4PanelAVX2x1(...)

#define LOAD4A2 \
	VCVTPH2PS (SI), Y14; \
	NIB2(0, Y0, Y1); \
	NIB2(64, Y2, Y3); \
	NIB2(128, Y4, Y5); \
	NIB2(192, Y6, Y7)

#define COL4A2(P, ACC) \
	VPBROADCASTD 0(P), Y13; \
	VPMADDUBSW   Y13, Y0, Y12; \
	MADD(P, 4, Y1); \
	MADD(P, 8, Y2); \
	MADD(P, 12, Y3); \
	MADD(P, 16, Y4); \
	MADD(P, 20, Y5); \
	MADD(P, 24, Y6); \
	MADD(P, 28, Y7); \
	VPMADDWD     a2ones<>(SB), Y12, Y12; \
	VPBROADCASTD 36(P), Y13; \
	VPADDD       Y13, Y12, Y12; \
	VCVTDQ2PS    Y12, Y12; \
	VBROADCASTSS 32(P), Y13; \
	VMULPS       Y13, Y14, Y13; \
	VMULPS       Y13, Y12, Y12; \
	VADDPS       Y12, ACC, ACC

TEXT ·q4PanelAVX2x4(SB), NOSPLIT, $0-48
	XORQ R9, R9

q4PanelAVX2x4half:
	MOVQ w+0(FP), SI
	MOVQ R9, R11
	SHLQ $4, R11
	ADDQ R11, SI
	LEAQ 32(SI)(R11*1), R10
	MOVQ nb+8(FP), CX
	MOVQ x+16(FP), AX
	MOVQ xstride+24(FP), DX
	LEAQ (AX)(DX*1), BX
	LEAQ (BX)(DX*1), DI
	LEAQ (DI)(DX*1), R8
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	TESTQ CX, CX
	JZ    q4PanelAVX2x4done

q4PanelAVX2x4loop:
	LOAD4A2
	COL4A2(AX, Y8)
	COL4A2(BX, Y9)
	COL4A2(DI, Y10)
	COL4A2(R8, Y11)
	ADDQ $288, SI
	ADDQ $288, R10
	ADDQ $40, AX
	ADDQ $40, BX
	ADDQ $40, DI
	ADDQ $40, R8
	DECQ CX
	JNZ  q4PanelAVX2x4loop

q4PanelAVX2x4done:
	MOVQ dst+32(FP), DI
	MOVQ R9, R11
	SHLQ $5, R11
	ADDQ R11, DI
	MOVQ dstride+40(FP), DX
	VMOVUPS Y8, (DI)
	ADDQ DX, DI
	VMOVUPS Y9, (DI)
	ADDQ DX, DI
	VMOVUPS Y10, (DI)
	ADDQ DX, DI
	VMOVUPS Y11, (DI)
	INCQ R9
	CMPQ R9, $2
	JLT  q4PanelAVX2x4half
	VZEROUPPER
	RET

TEXT ·q4PanelAVX2x1(SB), NOSPLIT, $0-48
	XORQ R9, R9

q4PanelAVX2x1half:
	MOVQ w+0(FP), SI
	MOVQ R9, R11
	SHLQ $4, R11
	ADDQ R11, SI
	LEAQ 32(SI)(R11*1), R10
	MOVQ nb+8(FP), CX
	MOVQ x+16(FP), AX
	VPXOR Y8, Y8, Y8
	TESTQ CX, CX
	JZ    q4PanelAVX2x1done

q4PanelAVX2x1loop:
	LOAD4A2
	COL4A2(AX, Y8)
	ADDQ $288, SI
	ADDQ $288, R10
	ADDQ $40, AX
	DECQ CX
	JNZ  q4PanelAVX2x1loop

q4PanelAVX2x1done:
	MOVQ dst+32(FP), DI
	MOVQ R9, R11
	SHLQ $5, R11
	ADDQ R11, DI
	VMOVUPS Y8, (DI)
	INCQ R9
	CMPQ R9, $2
	JLT  q4PanelAVX2x1half
	VZEROUPPER
	RET

// a2mask: 0x0f in every byte; a2ones: int16 ones.
DATA a2mask<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA a2mask<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA a2mask<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA a2mask<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL a2mask<>(SB), RODATA|NOPTR, $32

DATA a2ones<>+0(SB)/8, $0x0001000100010001
DATA a2ones<>+8(SB)/8, $0x0001000100010001
DATA a2ones<>+16(SB)/8, $0x0001000100010001
DATA a2ones<>+24(SB)/8, $0x0001000100010001
GLOBL a2ones<>(SB), RODATA|NOPTR, $32
