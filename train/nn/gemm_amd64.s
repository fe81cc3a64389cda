//go:build amd64 && !purego

#include "textflag.h"

// KSTEP is one k step: load the packed B row at boff(DI) into Y12, Y13;
// for each of the 6 rows broadcast A (aoff+4r)(SI) into Y14, multiply
// with VMULPS into Y15 and add into the row's accumulators with VADDPS.
#define KSTEP(boff, aoff) \
	VMOVUPS boff(DI), Y12; \
	VMOVUPS boff+32(DI), Y13; \
	VBROADCASTSS aoff+0(SI), Y14; \
	VMULPS Y12, Y14, Y15; \
	VADDPS Y15, Y0, Y0; \
	VMULPS Y13, Y14, Y15; \
	VADDPS Y15, Y1, Y1; \
	VBROADCASTSS aoff+4(SI), Y14; \
	VMULPS Y12, Y14, Y15; \
	VADDPS Y15, Y2, Y2; \
	VMULPS Y13, Y14, Y15; \
	VADDPS Y15, Y3, Y3; \
	VBROADCASTSS aoff+8(SI), Y14; \
	VMULPS Y12, Y14, Y15; \
	VADDPS Y15, Y4, Y4; \
	VMULPS Y13, Y14, Y15; \
	VADDPS Y15, Y5, Y5; \
	VBROADCASTSS aoff+12(SI), Y14; \
	VMULPS Y12, Y14, Y15; \
	VADDPS Y15, Y6, Y6; \
	VMULPS Y13, Y14, Y15; \
	VADDPS Y15, Y7, Y7; \
	VBROADCASTSS aoff+16(SI), Y14; \
	VMULPS Y12, Y14, Y15; \
	VADDPS Y15, Y8, Y8; \
	VMULPS Y13, Y14, Y15; \
	VADDPS Y15, Y9, Y9; \
	VBROADCASTSS aoff+20(SI), Y14; \
	VMULPS Y12, Y14, Y15; \
	VADDPS Y15, Y10, Y10; \
	VMULPS Y13, Y14, Y15; \
	VADDPS Y15, Y11, Y11

// func kern6x16AVX2(kc int, ap, bp, c *float32, ldc int, load bool)
//
// Y0..Y11 hold the 6×16 block of C (row r in Y(2r), Y(2r+1)). Each k step
// (KSTEP) multiplies and adds separately: two roundings, the same as
// float32(a*b)+s in Go. The loop runs two k steps per iteration, then
// one more if kc is odd.
TEXT ·kern6x16AVX2(SB), NOSPLIT, $0-41
	MOVQ kc+0(FP), CX
	MOVQ ap+8(FP), SI
	MOVQ bp+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R9
	SHLQ $2, R9
	MOVBLZX load+40(FP), AX
	LEAQ (DX)(R9*1), R10
	LEAQ (R10)(R9*1), R11
	LEAQ (R11)(R9*1), R12
	LEAQ (R12)(R9*1), R13
	LEAQ (R13)(R9*1), R14
	TESTQ AX, AX
	JZ    zero
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS (R10), Y2
	VMOVUPS 32(R10), Y3
	VMOVUPS (R11), Y4
	VMOVUPS 32(R11), Y5
	VMOVUPS (R12), Y6
	VMOVUPS 32(R12), Y7
	VMOVUPS (R13), Y8
	VMOVUPS 32(R13), Y9
	VMOVUPS (R14), Y10
	VMOVUPS 32(R14), Y11
	JMP   start

zero:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

start:
	MOVQ CX, BX
	SHRQ $1, BX
	JZ   tail

pair:
	KSTEP(0, 0)
	KSTEP(64, 24)
	ADDQ $48, SI
	ADDQ $128, DI
	DECQ BX
	JNZ  pair

tail:
	TESTQ $1, CX
	JZ    done
	KSTEP(0, 0)

done:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, (R10)
	VMOVUPS Y3, 32(R10)
	VMOVUPS Y4, (R11)
	VMOVUPS Y5, 32(R11)
	VMOVUPS Y6, (R12)
	VMOVUPS Y7, 32(R12)
	VMOVUPS Y8, (R13)
	VMOVUPS Y9, 32(R13)
	VMOVUPS Y10, (R14)
	VMOVUPS Y11, 32(R14)
	VZEROUPPER
	RET
