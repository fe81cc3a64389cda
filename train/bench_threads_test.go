package train

import (
	"os"
	"strconv"
)

// Benchmark settings from the environment: LMGC_THREADS goroutines
// (default 1) and LMGC_BATCH images per step (default 128).
var (
	benchThreads = envInt("LMGC_THREADS", 1)
	benchBatch   = envInt("LMGC_BATCH", 128)
)

// envInt is the positive integer in the environment variable name, or def.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
