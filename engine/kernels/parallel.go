package kernels

import (
	"sync"
	"sync/atomic"
	"time"
)

// ParallelFor calls fn(lo, hi) on contiguous ranges that together cover
// [0, n), on up to threads goroutines, the calling one included (threads
// <= 1: one call on the calling goroutine). It is meant to split
// independent outputs (rows): which goroutine computes a range, and where
// the ranges end, does not change a deterministic fn's results. With
// threads > 1 the ranges are min(n, threads*piecesPerThread) pieces of
// about equal length, piece k = [n*k/P, n*(k+1)/P), claimed in turn by
// the goroutines that are ready.
func ParallelFor(n, threads int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if threads <= 1 || n == 1 {
		fn(0, n)
		return
	}
	run(threads, n, min(n, threads*piecesPerThread), nil, fn)
}

// ParallelForCost is ParallelFor with pieces of about equal cost instead
// of equal length: item i costs cost(i) >= 0, and piece k ends where the
// running sum of the costs first reaches k+1 P-ths of the total (empty
// pieces are skipped).
func ParallelForCost(n, threads int, cost func(i int) int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if threads <= 1 || n == 1 {
		fn(0, n)
		return
	}
	run(threads, n, min(n, threads*piecesPerThread, maxPieces), cost, fn)
}

// maxPieces bounds the pieces of ParallelForCost.
const maxPieces = 64

// splitByCost writes into ends the end of each of len(ends) ranges of
// [0, n) of about equal total cost (ends[len-1] = n).
func splitByCost(ends []int, n int, cost func(i int) int) {
	total := 0
	for i := 0; i < n; i++ {
		total += cost(i)
	}
	P, sum, i := len(ends), 0, 0
	for k := 0; k < P-1; k++ {
		goal := total * (k + 1) / P
		for i < n && sum < goal {
			sum += cost(i)
			i++
		}
		ends[k] = i
	}
	ends[P-1] = n
}

// The worker pool behind ParallelFor: persistent goroutines that poll for
// a while (poolSpin) after each job before they sleep, so that the many
// short kernels of a forward pass (a decode step of a small model runs
// hundreds of them, some of a few microseconds) do not each pay a
// goroutine start and an OS thread wake-up. A job is cut into pieces that
// the caller and the workers claim in turn: a worker slow to wake (asleep,
// or its CPU taken by another process) costs nothing, the caller takes
// its pieces, and the caller waits only for pieces already started. One
// ParallelFor uses the pool at a time; a concurrent or nested one runs on
// fresh goroutines.
var (
	poolMu      sync.Mutex
	poolWorkers []*worker
	poolJob     = &job{ch: make(chan struct{}, 1)}
	// poolSpin is how long a worker (and a caller waiting for pieces
	// being computed) polls before it blocks.
	poolSpin = 50 * time.Microsecond
	poolBusy = 10 * time.Microsecond
)

const piecesPerThread = 4

type worker struct {
	parked atomic.Bool
	wake   chan struct{}
}

// job is the pool's current call. state packs the call's number (gen,
// 32 bits), its pieces (16 bits) and the next piece to claim (16 bits),
// so that a worker still busy with an earlier call can never claim a
// piece of a later one.
type job struct {
	state   atomic.Uint64
	fn      func(lo, hi int)
	n       int
	byCost  bool           // pieces end at ends, else equal
	ends    [maxPieces]int // splitByCost's ends
	done    atomic.Int32   // pieces finished
	waiting atomic.Bool    // the caller sleeps on ch
	ch      chan struct{}
}

// piece returns the range of piece k of p.
func (j *job) piece(k, p int) (lo, hi int) {
	if !j.byCost {
		return j.n * k / p, j.n * (k + 1) / p
	}
	if k > 0 {
		lo = j.ends[k-1]
	}
	return lo, j.ends[k]
}

// work claims and computes pieces of call gen until none is left.
func (j *job) work(gen uint32) {
	for {
		v := j.state.Load()
		p, k := int(v>>16&0xffff), int(v&0xffff)
		if uint32(v>>32) != gen || k >= p {
			return
		}
		if !j.state.CompareAndSwap(v, v+1) {
			continue
		}
		if lo, hi := j.piece(k, p); lo < hi {
			j.fn(lo, hi)
		}
		if j.done.Add(1) == int32(p) && j.waiting.Load() {
			select {
			case j.ch <- struct{}{}:
			default:
			}
		}
	}
}

// run calls fn on the p pieces of [0, n) (of equal length, or of equal
// cost with cost) on up to threads goroutines, the calling one included,
// and returns when all have returned.
func run(threads, n, p int, cost func(i int) int, fn func(lo, hi int)) {
	if !poolMu.TryLock() {
		runGoroutines(threads, n, p, cost, fn)
		return
	}
	defer poolMu.Unlock()
	for len(poolWorkers) < threads-1 {
		w := &worker{wake: make(chan struct{}, 1)}
		poolWorkers = append(poolWorkers, w)
		go w.loop()
	}
	j := poolJob
	gen := uint32(j.state.Load()>>32) + 1
	j.fn, j.n, j.byCost = fn, n, cost != nil
	if cost != nil {
		splitByCost(j.ends[:p], n, cost)
	}
	j.done.Store(0)
	j.state.Store(uint64(gen)<<32 | uint64(p)<<16)
	for _, w := range poolWorkers[:threads-1] {
		if w.parked.Load() {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	j.work(gen)
	j.wait(int32(p))
	j.fn = nil
}

// runGoroutines is run on fresh goroutines, each a contiguous run of
// pieces.
func runGoroutines(threads, n, p int, cost func(i int) int, fn func(lo, hi int)) {
	threads = min(threads, p)
	j := &job{n: n, byCost: cost != nil}
	if cost != nil {
		splitByCost(j.ends[:p], n, cost)
	}
	part := func(t int) {
		for k := p * t / threads; k < p*(t+1)/threads; k++ {
			if lo, hi := j.piece(k, p); lo < hi {
				fn(lo, hi)
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(threads - 1)
	for t := 0; t < threads-1; t++ {
		go func() {
			defer wg.Done()
			part(t)
		}()
	}
	part(threads - 1)
	wg.Wait()
}

// spinUntil polls ok for up to poolSpin and reports whether it became
// true: busily for the first poolBusy, then yielding the CPU
// (sched_yield) between polls. On a machine whose CPUs are all taken (the
// pool's goroutines outnumbering the CPUs it gets) a yielding poller gives
// its time slice to the thread it waits for instead of taking it; but a
// yield may also hand the CPU to another process for a whole time slice,
// so the short waits (most of them: a kernel's last piece) do not yield.
func spinUntil(ok func() bool) bool {
	var start time.Time
	for i := 0; ; i++ {
		if ok() {
			return true
		}
		if i < 64 || i&63 != 0 {
			continue
		}
		if start.IsZero() {
			start = time.Now()
			continue
		}
		d := time.Since(start)
		if d > poolSpin {
			return false
		}
		if d > poolBusy {
			osYield()
		}
	}
}

func (w *worker) loop() {
	j := poolJob
	seen := uint32(0)
	ready := func() bool { return uint32(j.state.Load()>>32) != seen }
	for {
		if !spinUntil(ready) {
			// Sleep. parked is set before the state is read again and run
			// sets the state before it reads parked, so one of the two
			// sees the other: no wake-up is lost (a spare one only loops).
			w.parked.Store(true)
			for !ready() {
				<-w.wake
			}
			w.parked.Store(false)
		}
		seen = uint32(j.state.Load() >> 32)
		j.work(seen)
	}
}

// wait returns when all n pieces are done.
func (j *job) wait(n int32) {
	ready := func() bool { return j.done.Load() == n }
	if spinUntil(ready) {
		return
	}
	j.waiting.Store(true)
	for !ready() {
		<-j.ch
	}
	j.waiting.Store(false)
}
