package kernels

// The dispatch points. An assembly kernel for a CPU feature is installed by
// an init function in a file built with the architecture's tag and !noasm;
// it must match the reference kernel bit for bit (kernels_test.go checks
// every installed kernel against ref.go).
var (
	dotF32  = dotGeneric
	dotQ8   = dotQ8Generic
	f16Row  = f16RowGeneric  // widen binary16 to float32 (exact)
	bf16Row = bf16RowGeneric // widen bfloat16 to float32 (exact)
)

func f16RowGeneric(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = f16Table[h]
	}
}

func bf16RowGeneric(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, h := range src {
		dst[i] = BF16ToF32(h)
	}
}

// Dot returns the dot product of a and b (len(b) >= len(a)) in the fixed
// order documented at dotRef: 16 lane partial sums, a pairwise tree, then
// the tail.
func Dot(a, b []float32) float32 { return dotF32(a, b[:len(a)]) }

// DotQ8 returns the dot product of two Q8_0 rows of the same length, in
// the order documented at dotQ8Ref.
func DotQ8(w, x []byte) float32 { return dotQ8(w, x[:len(w)]) }
