package prior

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// arena is memory for the context tables, backed where the system allows by
// transparent huge pages: the tables are read at random, and with 4 KiB
// pages nearly every read would also miss the TLB.
type arena struct{ mem []byte }

func newArena(nCounters int) (*arena, []counter) {
	const huge = 2 << 20
	size := (nCounters*int(unsafe.Sizeof(counter(0))) + huge - 1) &^ (huge - 1)
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, make([]counter, nCounters)
	}
	_ = unix.Madvise(mem, unix.MADV_HUGEPAGE)
	a := &arena{mem: mem}
	runtime.SetFinalizer(a, func(a *arena) { _ = unix.Munmap(a.mem) })
	return a, unsafe.Slice((*counter)(unsafe.Pointer(&mem[0])), nCounters)
}
