package kernels

import (
	"testing"
	"unsafe"
)

// TestAllocPanels checks the packed matrices' allocator: zeroed bytes of
// the asked length, large ones on 64-byte boundaries, no two overlapping,
// a chunk kept for each (nil only for heap slices), a matrix bigger than a
// chunk served too.
func TestAllocPanels(t *testing.T) {
	type span struct{ lo, hi uintptr }
	var spans []span
	var keep [][]byte
	for i, n := range []int{100, 70 << 10, 1 << 20, 3<<20 + 5, 17, 40 << 20, 70 << 20, 1 << 20} {
		b, c := allocPanels(n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("allocPanels(%d): len %d cap %d", n, len(b), cap(b))
		}
		for j, x := range b {
			if x != 0 {
				t.Fatalf("allocPanels(%d): byte %d is %d", n, j, x)
			}
		}
		p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		if c != nil && p%panelAlign != 0 {
			t.Errorf("allocPanels(%d) at %#x: not %d-byte aligned", n, p, panelAlign)
		}
		for _, s := range spans {
			if p < s.hi && s.lo < p+uintptr(n) {
				t.Fatalf("allocation %d (%d bytes at %#x) overlaps [%#x, %#x)", i, n, p, s.lo, s.hi)
			}
		}
		spans = append(spans, span{p, p + uintptr(n)})
		for j := range b {
			b[j] = byte(i + 1) // written: a later allocation must not see it
		}
		keep = append(keep, b)
	}
	for i, b := range keep {
		for j, x := range b {
			if x != byte(i+1) {
				t.Fatalf("allocation %d byte %d changed to %d", i, j, x)
			}
		}
	}
}
