package llama

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

// liveHeap returns the live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestLoadHoldsOneCopy checks that a Model loaded from a mapped file holds
// at most one copy of its weights on the heap: the packed layouts (or, for
// a type converted at load, the Q8_0 conversion) replace the file's
// matrices, which stay in the mapping; the file's original is not read
// into the heap next to them. Unpacked (or of a type without a panel
// layout), the heap holds only the norms.
func TestLoadHoldsOneCopy(t *testing.T) {
	for _, c := range []struct {
		typ    gguf.Type
		noPack bool
	}{{gguf.Q8_0, false}, {gguf.Q4_0, false}, {gguf.Q5_0, false}, {gguf.F16, false}, {gguf.Q8_0, true}} {
		spec := tinySpec{arch: "llama", dim: 256, layers: 2, heads: 4, kvHeads: 2, ff: 704, vocab: 4000, wtype: c.typ, seed: 5}
		path := filepath.Join(t.TempDir(), "m.gguf")
		if err := os.WriteFile(path, buildModelBytes(t, spec), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var weights int64 // the matrices' bytes in the file
		for _, ti := range f.Tensors {
			if len(ti.Shape) == 2 {
				weights += ti.Size
			}
		}
		var opts []Option
		if c.noPack {
			opts = append(opts, withoutPacking())
		}
		before := liveHeap()
		m, err := Load(f, opts...)
		if err != nil {
			t.Fatal(err)
		}
		held := int64(liveHeap()) - int64(before)
		limit := weights*21/20 + 256<<10   // 5% for padded panels, and the norms and bookkeeping
		if c.noPack || c.typ == gguf.F16 { // no panel layout: all in the mapping
			limit = 256 << 10
		}
		t.Logf("%v (unpacked %v): matrices %d bytes, heap held by the model %d", c.typ, c.noPack, weights, held)
		if held > limit {
			t.Errorf("%v (unpacked %v): the model holds %d heap bytes for %d bytes of matrices, want at most %d", c.typ, c.noPack, held, weights, limit)
		}
		runtime.KeepAlive(m)
		f.Close()
	}
}

// TestStateClose checks the KV caches' life: a State whose caches are
// large enough to live outside the heap (kernels.HugeMem) does not grow
// the heap by them and gives the logits of one whose caches are on the
// heap, bit for bit; after Close, Forward fails with an error (no fault)
// and a second Close does nothing.
func TestStateClose(t *testing.T) {
	m := loadTiny(t, tiny("llama", gguf.Q8_0))
	toks := tokenWindow(3, 40, m.VocabSize())
	want := forwardAll(t, m, toks, []int{7}) // 40 positions: caches on the heap
	big := 16384                             // 2 layers x (K, V) x 16384 positions x 32 x 2 bytes: 4 MiB
	if kv := m.KVBytes(1, big); kv < 4<<20 {
		t.Fatalf("KVBytes(1, %d) = %d: too small for the mapped path", big, kv)
	}
	before := liveHeap()
	st, err := m.NewState(1, big)
	if err != nil {
		t.Fatal(err)
	}
	if grew := int64(liveHeap()) - int64(before); grew > m.KVBytes(1, big)/4 {
		t.Errorf("NewState(1, %d): heap grew %d bytes for %d bytes of KV cache", big, grew, m.KVBytes(1, big))
	}
	got := make([][]float32, len(toks))
	for i := range got {
		got[i] = make([]float32, m.VocabSize())
	}
	for i := 0; i < len(toks); i += 7 {
		n := min(7, len(toks)-i)
		if err := st.Forward(make([]int, n), toks[i:i+n], got[i:i+n]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range want {
		if d := sameBits(want[i], got[i]); d >= 0 {
			t.Fatalf("position %d logit %d: %v (heap caches) vs %v (mapped caches)", i, d, want[i][d], got[i][d])
		}
	}
	st.Close()
	st.Close()
	if err := st.Forward([]int{0}, toks[:1], got[:1]); err == nil {
		t.Error("Forward after Close: no error")
	}
}
