package kernels

import (
	"sync"
)

// ParallelFor calls fn(lo, hi) on contiguous ranges that together cover
// [0, n), using up to threads goroutines (threads <= 1: one call on the
// calling goroutine). It is meant to split independent outputs (rows);
// the result of a deterministic fn does not depend on threads.
func ParallelFor(n, threads int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if threads > n {
		threads = n
	}
	if threads <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		lo, hi := n*t/threads, n*(t+1)/threads
		if t == threads-1 {
			fn(lo, hi) // the last range on the calling goroutine
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
