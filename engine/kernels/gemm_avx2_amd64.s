//go:build amd64 && !noasm

#include "textflag.h"

// Panel kernels (AVX2) for Q4_1 weights, hand-written, for CPUs with AVX2
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
