//go:build amd64 && !noasm

#include "textflag.h"

// F32ToF16 on 16 values at a time (AVX-512): VCVTPS2PH rounds to nearest,
// ties to even, with F32ToF16's results for normals, subnormals, zeros,
// overflow and infinities; a NaN is first replaced by the quiet NaN of its
// sign with no payload (F32ToF16 returns sign|0x7e00 for every NaN,
// VCVTPS2PH would keep payload bits).
#define CANON(X) \
	VCMPPS  $3, X, X, K1; \
	VPANDD  Z30, X, Z29; \
	VPORD   Z31, Z29, K1, X

#define CONSTS \
	MOVL         $0x80000000, AX; \
	VPBROADCASTD AX, Z30; \
	MOVL         $0x7fc00000, AX; \
	VPBROADCASTD AX, Z31

// func f32ToF16AVX512(dst *uint16, src *float32, n int)
// n a positive multiple of 16.
TEXT ·f32ToF16AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	CONSTS

h16loop:
	VMOVUPS   (SI), Z0
	CANON(Z0)
	VCVTPS2PH $0, Z0, (DI)
	ADDQ      $64, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       h16loop
	VZEROUPPER
	RET

// func roundF16AVX512(x *float32, n int)
// x[i] = F16ToF32(F32ToF16(x[i])) in place, n a positive multiple of 16.
TEXT ·roundF16AVX512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $4, CX
	CONSTS

r16loop:
	VMOVUPS   (SI), Z0
	CANON(Z0)
	VCVTPS2PH $0, Z0, Y1
	VCVTPH2PS Y1, Z0
	VMOVUPS   Z0, (SI)
	ADDQ      $64, SI
	DECQ      CX
	JNZ       r16loop
	VZEROUPPER
	RET
