package llama

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/kernels"
)

// goldenFreqs is the SHA-256 of the frequency tables (kernels.Quantize,
// 24 bits) of every position of a fixed 24-token window through fixed
// random tiny models (goldenSpecs, weights from a fixed xorshift seed).
// Any change to the engine's results changes it; since that breaks every
// file compressed with an LLM prior, a change must be deliberate: then run
//
//	go test ./engine/llama -run TestGoldenFreqs -v
//
// copy the printed hash here, and record the change in docs/DETERMINISM.md.
const goldenFreqs = "fc1f58580429b1217ecc17f8d7cdd63f02f227d3d3fb13d72ae424ed6fcb1881"

func goldenSpecs() []tinySpec {
	a := tiny("llama", gguf.F16)
	b := tiny("qwen2", gguf.Q8_0)
	c := tiny("llama", gguf.BF16)
	d := tiny("llama", gguf.F32)
	d.tied = true
	return []tinySpec{a, b, c, d}
}

func TestGoldenFreqs(t *testing.T) {
	h := sha256.New()
	for _, spec := range goldenSpecs() {
		m := loadTiny(t, spec, WithThreads(2))
		toks := tokenWindow(42, 24, spec.vocab)
		freq := make([]uint32, spec.vocab)
		for _, lg := range forwardAll(t, m, toks, []int{24}) {
			if err := kernels.Quantize(lg, 24, freq); err != nil {
				t.Fatal(err)
			}
			for _, f := range freq {
				h.Write(binary.LittleEndian.AppendUint32(nil, f))
			}
		}
	}
	got := hex.EncodeToString(h.Sum(nil))
	t.Logf("frequency tables hash: %s", got)
	if got != goldenFreqs {
		t.Errorf("engine results changed: hash %s, golden %s (see the comment at goldenFreqs)", got, goldenFreqs)
	}
}
