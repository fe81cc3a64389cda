package nn

import "sync"

// parallel splits [0,n) into at most threads contiguous ranges and runs f
// on each, one goroutine per range. Callers only ever split outputs, so
// the result does not depend on threads.
func parallel(n, threads int, f func(lo, hi int)) {
	if threads <= 1 || n <= 1 {
		f(0, n)
		return
	}
	if threads > n {
		threads = n
	}
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		lo, hi := n*t/threads, n*(t+1)/threads
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}
