//go:build linux

package llama

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// kvHugeMin is the smallest KV cache (bytes) newKV maps outside the heap.
const kvHugeMin = 4 << 20

// newKV returns zeroed room for count binary16 values of KV cache. A large
// cache is an anonymous mapping outside the Go heap marked for transparent
// huge pages (MADV_HUGEPAGE): decode reads every window's K and V from
// memory at each step, and on 4 KiB pages that is a TLB miss and a cold
// start of the hardware prefetcher every 32 rows of one head (measured
// with BenchmarkAttentionHeadsCold's layout: ~12 % of the attention's
// time). release unmaps it (nil for a heap slice). Only whole 2 MiB ranges
// inside the mapping become huge pages, so the resident size is what is
// touched, as on the heap.
func newKV(count int) (kv []uint16, release func()) {
	size := 2 * count
	if size < kvHugeMin {
		return make([]uint16, count), nil
	}
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return make([]uint16, count), nil
	}
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // a hint: 4 KiB pages where refused
	return unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), count), func() { _ = unix.Munmap(b) }
}
