package llama

import (
	"bytes"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

// FuzzLoad feeds damaged model files to Load and, when one loads, runs a
// few positions: any problem must be an error, never a panic or a huge
// allocation.
func FuzzLoad(f *testing.F) {
	small := func(arch string, typ gguf.Type) tinySpec {
		s := tiny(arch, typ)
		s.dim, s.heads, s.kvHeads, s.ff, s.vocab, s.layers = 32, 2, 1, 32, 8, 1
		return s
	}
	f.Add(buildModelBytes(f, small("llama", gguf.F32)))
	f.Add(buildModelBytes(f, small("qwen2", gguf.Q8_0)))
	f.Add(buildModelBytes(f, small("llama", gguf.Q4_0)))
	f.Fuzz(func(t *testing.T, data []byte) {
		gf, err := gguf.Parse(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		// One thread: with worker goroutines the fuzzing engine stalls
		// (go1.26; -fuzz makes no progress). Thread independence is
		// TestDeterminism's job.
		m, err := Load(gf, WithThreads(1))
		if err != nil {
			return
		}
		st, err := m.NewState(2, 3)
		if err != nil {
			return
		}
		v := m.VocabSize()
		lg := [][]float32{make([]float32, v), nil, make([]float32, v)}
		if err := st.Forward([]int{0, 1, 0}, []int32{0, int32(v - 1), int32(v / 2)}, lg); err != nil {
			t.Fatalf("Forward on a loaded model: %v", err)
		}
	})
}
