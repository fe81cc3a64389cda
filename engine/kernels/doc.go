// Package kernels holds the numeric kernels of the deterministic transformer
// engine: dot products and matrix products over F32, F16, BF16 and Q8_0
// weights and the block types of quant.go (Q4_0, Q4_1, Q5_0, Q4_K, Q6_K),
// RMSNorm, softmax, SiLU, RoPE, a float32 exp, and the step that turns
// logits into integer frequency tables for the range coder.
//
// Every kernel has one documented order of floating-point operations (see
// docs/DETERMINISM.md), uses only IEEE float32/float64 arithmetic with
// explicit rounding (float32(a*b)+c, so that no compiler fuses a multiply
// and an add), and calls no platform math routine whose result may differ
// between machines. Results are therefore bit-identical on every machine,
// for every thread count and every batch shape.
//
// The structure follows klauspost/compress: each hot kernel has a plain
// reference implementation (ref.go), a generic unrolled implementation
// (generic.go) that must match it bit for bit, and a dispatch variable
// through which an assembly kernel can be installed later (under a build
// tag, with a noasm tag to turn it off) without changing any result.
// Threads always split output rows, never a sum.
package kernels
