package kernels

import (
	"runtime"
	"testing"
)

// TestHugeMem checks KV-cache buffers: zeroed and writable at every size,
// large ones outside the Go heap (the heap does not grow by them), Free
// idempotent and leaving no bytes behind.
func TestHugeMem(t *testing.T) {
	for _, n := range []int{0, 100, hugeMemMin - 1, hugeMemMin, 24<<20 + 6} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		h := NewHugeMem(n)
		runtime.ReadMemStats(&after)
		b := h.Bytes()
		if len(b) != n {
			t.Fatalf("NewHugeMem(%d): %d bytes", n, len(b))
		}
		for i := 0; i < n; i += 4093 {
			if b[i] != 0 {
				t.Fatalf("NewHugeMem(%d): byte %d is %d", n, i, b[i])
			}
			b[i] = 0xa5
		}
		grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		if n >= hugeMemMin && (!h.mapped || grew > 1<<20) {
			t.Errorf("NewHugeMem(%d): mapped %v, heap grew %d bytes", n, h.mapped, grew)
		}
		if n < hugeMemMin && h.mapped {
			t.Errorf("NewHugeMem(%d): mapped below %d bytes", n, hugeMemMin)
		}
		h.Free()
		h.Free()
		if h.Bytes() != nil || h.mapped {
			t.Errorf("NewHugeMem(%d): after Free: %d bytes, mapped %v", n, len(h.Bytes()), h.mapped)
		}
	}
}
