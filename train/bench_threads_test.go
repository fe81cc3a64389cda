package train

import (
	"os"
	"strconv"
)

// benchThreads is the goroutine count for benchmarks (LMGC_THREADS, default 1).
var benchThreads = func() int {
	n, _ := strconv.Atoi(os.Getenv("LMGC_THREADS"))
	return max(n, 1)
}()

// benchBatch is the batch size for BenchmarkStep (LMGC_BATCH, default 128).
var benchBatch = func() int {
	n, _ := strconv.Atoi(os.Getenv("LMGC_BATCH"))
	if n <= 0 {
		return 128
	}
	return n
}()
