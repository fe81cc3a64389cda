package llm

import (
	"runtime/debug"
	"testing"
)

// TestLowerGCPercent: loading a model lowers GOGC to modelGCPercent, and
// leaves a lower setting (or GC off) as it is.
func TestLowerGCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, c := range []struct{ before, want int }{{100, modelGCPercent}, {400, modelGCPercent}, {10, 10}, {-1, -1}} {
		debug.SetGCPercent(c.before)
		lowerGCPercent()
		if got := debug.SetGCPercent(100); got != c.want {
			t.Errorf("GOGC %d: %d after lowerGCPercent, want %d", c.before, got, c.want)
		}
	}
}
