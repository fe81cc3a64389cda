//go:build linux

package kernels

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// mapHuge maps n bytes of zeroed anonymous memory outside the Go heap and
// asks for transparent huge pages (MADV_HUGEPAGE; a hint, 4 KiB pages
// where the kernel refuses). Only the pages written become resident.
func mapHuge(n int) ([]byte, error) {
	mem, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, err
	}
	_ = unix.Madvise(mem, unix.MADV_HUGEPAGE)
	return mem, nil
}

func unmap(mem []byte) { _ = unix.Munmap(mem) }

// hugeMemMin is the smallest HugeMem mapped outside the heap (one huge
// page); smaller ones are heap slices.
const hugeMemMin = 2 << 20

// HugeMem is a buffer outside the Go heap on transparent huge pages (on
// Linux, from hugeMemMin bytes; a heap slice otherwise), for large
// buffers that are streamed from memory again and again, such as KV
// caches: on 4 KiB pages every 4 KiB of such a stream is a TLB miss and a
// cold hardware prefetcher. Free returns it to the system at once, which
// is what its owner should do: the collector does not count these bytes
// when it paces itself, so a dropped HugeMem waits for a collection that
// the heap alone triggers (a cleanup unmaps it then).
type HugeMem struct {
	b       []byte
	mapped  bool
	cleanup runtime.Cleanup
}

// NewHugeMem returns a zeroed buffer of n bytes.
func NewHugeMem(n int) *HugeMem {
	h := &HugeMem{}
	if n >= hugeMemMin {
		if mem, err := mapHuge(n); err == nil {
			h.b, h.mapped = mem, true
			// mem points outside the heap: it does not keep h reachable.
			h.cleanup = runtime.AddCleanup(h, unmap, mem)
			return h
		}
	}
	h.b = make([]byte, n)
	return h
}

// Bytes returns the buffer (nil after Free). Its memory stays valid only
// while h is reachable and not freed: keep h alive (runtime.KeepAlive)
// while the bytes are used.
func (h *HugeMem) Bytes() []byte { return h.b }

// Free releases the buffer; using bytes taken from it before is then an
// error (a fault). Free twice is a no-op.
func (h *HugeMem) Free() {
	if h.mapped {
		h.cleanup.Stop()
		unmap(h.b)
		h.mapped = false
	}
	h.b = nil
}
