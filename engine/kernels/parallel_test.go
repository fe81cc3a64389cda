package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestParallelFor checks that ParallelFor and ParallelForCost call fn on
// ranges that cover [0, n) exactly once, for many sizes and thread
// counts, from one goroutine (the pool), from several at once and nested
// (fresh goroutines), and that ParallelForCost's pieces follow the costs.
func TestParallelFor(t *testing.T) {
	check := func(t *testing.T, n, threads int, byCost bool) {
		hits := make([]atomic.Int32, n)
		fn := func(lo, hi int) {
			if lo >= hi || lo < 0 || hi > n {
				t.Errorf("n %d threads %d: range [%d, %d)", n, threads, lo, hi)
				return
			}
			for i := lo; i < hi; i++ {
				hits[i].Add(1)
			}
		}
		if byCost {
			ParallelForCost(n, threads, func(i int) int { return i % 7 }, fn)
		} else {
			ParallelFor(n, threads, fn)
		}
		for i := range hits {
			if h := hits[i].Load(); h != 1 {
				t.Fatalf("n %d threads %d cost %v: item %d done %d times", n, threads, byCost, i, h)
			}
		}
	}
	for _, byCost := range []bool{false, true} {
		for _, threads := range []int{0, 1, 2, 3, 4, 7, 40} {
			for _, n := range []int{0, 1, 2, 3, 5, 8, 17, 100, 1000} {
				check(t, n, threads, byCost)
			}
		}
	}
	// Concurrent callers (one gets the pool, the others fresh goroutines)
	// and nested calls.
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 200; r++ {
				check(t, 37+g, 2+g%2, r%2 == 0)
			}
		}()
	}
	wg.Wait()
	var total atomic.Int64
	ParallelFor(10, 2, func(lo, hi int) {
		ParallelFor(100, 2, func(a, b int) { total.Add(int64((b - a) * (hi - lo))) })
	})
	if total.Load() != 1000 {
		t.Fatalf("nested: %d, want 1000", total.Load())
	}

	// Equal-cost pieces: items 0..99 of cost i, 4 pieces: each about a
	// quarter of the total 4950.
	ends := make([]int, 4)
	splitByCost(ends, 100, func(i int) int { return i })
	want := []int{51, 71, 87, 100} // 0..50 sums to 1275 >= 4950/4, 0..70 to 2485 >= 2475, ...
	for k := range ends {
		if ends[k] != want[k] {
			t.Fatalf("splitByCost ends %v, want %v", ends, want)
		}
	}
}
