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
