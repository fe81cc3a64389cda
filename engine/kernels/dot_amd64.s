//go:build amd64 && !noasm

#include "textflag.h"

// func dotLanesAVX2(a, b []float32, lanes *[16]float32)
//
// The lane phase of the dot-product order (see dotRef): lane j (0..15)
// accumulates float32(a[i]*b[i]) for i = j, j+16, ... < len(a), which must
// be a multiple of 16; len(b) >= len(a). Lanes 0-7 live in Y0, 8-15 in Y1.
// The product is rounded (VMULPS) before the add (VADDPS): no FMA.
TEXT ·dotLanesAVX2(SB), NOSPLIT, $0-56
	MOVQ   a_base+0(FP), SI
	MOVQ   a_len+8(FP), CX
	MOVQ   b_base+24(FP), DI
	MOVQ   lanes+48(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	SHRQ   $4, CX
	JZ     done

loop:
	VMOVUPS (SI), Y2
	VMOVUPS 32(SI), Y3
	VMULPS  (DI), Y2, Y2
	VMULPS  32(DI), Y3, Y3
	VADDPS  Y2, Y0, Y0
	VADDPS  Y3, Y1, Y1
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     loop

done:
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VZEROUPPER
	RET

// func dotQ8AVX2(w, x []byte, table *[65536]float32) float32
//
// dotQ8Ref in AVX2: per 34-byte block, the exact int32 sum of the 32
// products qw*qx (sign-extended to int16, VPMADDWD, then a fixed add
// tree: all integer, so exact), the fp16 scales widened through table,
// then acc = acc + float32(float32(dw*dx) * float32(s)) in scalar SSE.
// len(w) must be a multiple of 34 and len(x) >= len(w).
TEXT ·dotQ8AVX2(SB), NOSPLIT, $0-60
	MOVQ   w_base+0(FP), SI
	MOVQ   w_len+8(FP), CX
	MOVQ   x_base+24(FP), DI
	MOVQ   table+48(FP), R8
	VXORPS X0, X0, X0
	TESTQ  CX, CX
	JZ     q8done

q8loop:
	MOVWLZX   (SI), AX
	MOVWLZX   (DI), BX
	VMOVSS    (R8)(AX*4), X1
	VMOVSS    (R8)(BX*4), X2
	VMULSS    X2, X1, X1
	VPMOVSXBW 2(SI), Y3
	VPMOVSXBW 2(DI), Y4
	VPMADDWD  Y4, Y3, Y3
	VPMOVSXBW 18(SI), Y5
	VPMOVSXBW 18(DI), Y6
	VPMADDWD  Y6, Y5, Y5
	VPADDD    Y5, Y3, Y3
	VEXTRACTI128 $1, Y3, X5
	VPADDD    X5, X3, X3
	VPSHUFD   $0x4e, X3, X5
	VPADDD    X5, X3, X3
	VPSHUFD   $0xb1, X3, X5
	VPADDD    X5, X3, X3
	VCVTDQ2PS X3, X3
	VMULSS    X3, X1, X1
	VADDSS    X1, X0, X0
	ADDQ      $34, SI
	ADDQ      $34, DI
	SUBQ      $34, CX
	JNZ       q8loop

q8done:
	VMOVSS X0, ret+56(FP)
	VZEROUPPER
	RET

// func f16RowF16C(dst []float32, src []uint16)
// dst[i] = binary16 src[i] widened (VCVTPH2PS, exact); len(src) a multiple
// of 8, len(dst) >= len(src).
TEXT ·f16RowF16C(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	SHRQ $3, CX
	JZ   f16done

f16loop:
	VCVTPH2PS (SI), Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       f16loop

f16done:
	VZEROUPPER
	RET

// func bf16RowAVX2(dst []float32, src []uint16)
// dst[i] = bfloat16 src[i] widened (src[i] << 16); len(src) a multiple of
// 8, len(dst) >= len(src).
TEXT ·bf16RowAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	SHRQ $3, CX
	JZ   bf16done

bf16loop:
	VPMOVZXWD (SI), Y0
	VPSLLD    $16, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       bf16loop

bf16done:
	VZEROUPPER
	RET

// func dotQ4_1DAVX2(w []byte, x []byte, nb int, table *[1 << 16]float32) float32
//
// The d part of dotQ4_1Ref against Q8_0-laid-out activations (34-byte
// blocks: fp16 d_x, 32 int8): per block, the exact int32 sum s of the 16
// low nibbles times x[0:16] and the 16 high nibbles times x[16:32]
// (zero-extended to int16, VPMADDWD, a fixed add tree: all integer, so
// exact), then acc = acc + float32(float32(d_w*d_x) * float32(s)) in
// scalar SSE: dotQ8AVX2 on the unpacked row, without the unpacking. w
// holds nb 20-byte Q4_1 blocks.
TEXT ·dotQ4_1DAVX2(SB), NOSPLIT, $0-68
	MOVQ         w_base+0(FP), SI
	MOVQ         x_base+24(FP), DI
	MOVQ         nb+48(FP), CX
	MOVQ         table+56(FP), R8
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X7
	VPBROADCASTD X7, X7
	VXORPS       X0, X0, X0
	TESTQ        CX, CX
	JZ           q41done

q41loop:
	MOVWLZX      (SI), AX
	MOVWLZX      (DI), BX
	VMOVSS       (R8)(AX*4), X1
	VMOVSS       (R8)(BX*4), X2
	VMULSS       X2, X1, X1
	VMOVDQU      4(SI), X3
	VPSRLW       $4, X3, X4
	VPAND        X7, X3, X3
	VPAND        X7, X4, X4
	VPMOVZXBW    X3, Y3
	VPMOVZXBW    X4, Y4
	VPMOVSXBW    2(DI), Y5
	VPMOVSXBW    18(DI), Y6
	VPMADDWD     Y5, Y3, Y3
	VPMADDWD     Y6, Y4, Y4
	VPADDD       Y4, Y3, Y3
	VEXTRACTI128 $1, Y3, X5
	VPADDD       X5, X3, X3
	VPSHUFD      $0x4e, X3, X5
	VPADDD       X5, X3, X3
	VPSHUFD      $0xb1, X3, X5
	VPADDD       X5, X3, X3
	VCVTDQ2PS    X3, X3
	VMULSS       X3, X1, X1
	VADDSS       X1, X0, X0
	ADDQ         $20, SI
	ADDQ         $34, DI
	DECQ         CX
	JNZ          q41loop

q41done:
	VMOVSS X0, ret+64(FP)
	VZEROUPPER
	RET
