package kernels

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"
)

// goldenKernels is the SHA-256 of kernelTrace(). Any change in the bits of
// Exp, RopeAngles, Softmax, RMSNorm, SiLU, Dot, DotQ8 or Quantize changes
// it. Such a change breaks every file compressed with an LLM prior, so it
// must be deliberate: then run
//
//	go test ./engine/kernels -run TestGoldenKernels -v
//
// copy the printed hash here, and note the change in docs/DETERMINISM.md.
const goldenKernels = "0252590c27714be911ef80bdc73da5bf646356fde42ff77a5f836fa3e4c1634a"

// kernelTrace runs every kernel on fixed inputs and returns their output
// bits. The inputs come from a fixed integer recurrence, not math/rand, so
// they cannot change with the Go version.
func kernelTrace() []byte {
	var out []byte
	put := func(f float32) { out = binary.LittleEndian.AppendUint32(out, math.Float32bits(f)) }
	state := uint64(0x9e3779b97f4a7c15)
	next := func() float32 { // uniform in [-1, 1)
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return float32(int32(state>>32)) / (1 << 31)
	}
	vec := func(n int, scale float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = next() * scale
		}
		return v
	}
	for x := float32(-104); x < 89; x += 0.01 {
		put(Exp(x))
	}
	cos, sin := make([]float32, 64), make([]float32, 64)
	for _, pos := range []int{0, 1, 2, 100, 2047, 32767} {
		for _, base := range []float32{10000, 1000000} {
			RopeAngles(cos, sin, pos, 128, base)
			for i := range cos {
				put(cos[i])
				put(sin[i])
			}
		}
	}
	x := vec(1000, 8)
	Softmax(x)
	for _, v := range x {
		put(v)
	}
	a, w := vec(333, 3), vec(333, 1)
	RMSNorm(a, a, w, 1e-6)
	for _, v := range a {
		put(v)
		put(SiLU(v * 4))
	}
	for n := 0; n < 300; n += 7 {
		put(Dot(vec(n, 1), vec(n, 1)))
	}
	qa, qb := make([]byte, 8*34), make([]byte, 8*34)
	QuantizeQ8(qa, vec(256, 1))
	QuantizeQ8(qb, vec(256, 2))
	out = append(out, qa...)
	put(DotQ8(qa, qb))
	logits := vec(32000, 10)
	freq := make([]uint32, len(logits))
	if err := Quantize(logits, 31, freq); err != nil {
		panic(err)
	}
	for _, f := range freq {
		out = binary.LittleEndian.AppendUint32(out, f)
	}
	return out
}

func TestGoldenKernels(t *testing.T) {
	sum := sha256.Sum256(kernelTrace())
	got := hex.EncodeToString(sum[:])
	t.Logf("kernel trace hash: %s", got)
	if got != goldenKernels {
		t.Errorf("kernel results changed: hash %s, golden %s (see the comment at goldenKernels)", got, goldenKernels)
	}
}
