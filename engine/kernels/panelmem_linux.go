//go:build linux

package kernels

import (
	"runtime"
	"sync"
)

// Packed matrices live outside the Go heap on Linux, carved one after
// another from anonymous mappings marked for transparent huge pages
// (MADV_HUGEPAGE). A decode step streams every weight panel from memory
// once for a few columns; on 4 KiB pages that is a TLB miss and a cold
// hardware prefetcher every 4 KiB. BenchmarkMatMulStream's shape (96 FFN
// matrices, 90 MB) streamed 15-19 GB/s on the heap and 26-27 GB/s so at 3
// columns, Zen 4, 2 threads. Only the bytes written (every packed byte)
// become resident, as on the heap; a chunk is unmapped once no matrix
// holds it (runtime.AddCleanup). The collector does not count these bytes
// when it paces itself, so a process that loads model after model keeps
// the dropped ones' chunks until its heap next triggers a collection; the
// usual process (one model, loaded once) never does. KV caches are
// HugeMem buffers (hugemem_linux.go), freed by their State's Close.

// panelAlign is the alignment of a packed matrix in a chunk (a cache
// line).
const panelAlign = 64

// panelChunk is one mapping; used bytes of it are handed out.
type panelChunk struct {
	mem  []byte
	used int
}

const (
	panelChunkBytes = 64 << 20 // a mapping, unless one matrix needs more
	panelHeapMax    = 64 << 10 // smaller packed matrices stay on the heap
)

var panelMem struct {
	sync.Mutex
	cur *panelChunk
}

// allocPanels returns n zeroed bytes for a packed matrix and the chunk
// that must stay reachable while they are used (nil: a heap slice).
func allocPanels(n int) ([]byte, *panelChunk) {
	if n < panelHeapMax {
		return make([]byte, n), nil
	}
	panelMem.Lock()
	defer panelMem.Unlock()
	c := panelMem.cur
	if c == nil || len(c.mem)-(c.used+panelAlign-1)&^(panelAlign-1) < n {
		size := max(panelChunkBytes, (n+(2<<20)-1)&^(2<<20-1))
		mem, err := mapHuge(size)
		if err != nil {
			return make([]byte, n), nil
		}
		c = &panelChunk{mem: mem}
		runtime.AddCleanup(c, unmap, mem)
		if size == panelChunkBytes {
			panelMem.cur = c // later matrices fill the rest
		}
	}
	off := (c.used + panelAlign - 1) &^ (panelAlign - 1)
	c.used = off + n
	return c.mem[off : off+n : off+n], c
}
