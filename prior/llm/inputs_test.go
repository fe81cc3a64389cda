package llm

import (
	"slices"

	"github.com/lmgc/lmgc/coder"
	"testing"
)

// TestModelInputs checks ModelInputs against what a Batch actually feeds
// the engine, step by step, while coding the same data (the positions a
// benchmark hands to llama.cpp must be those lmgc evaluates), in both
// modes; in constrained mode hex-space text has 9 positions per float, one
// fewer per window (its last digit predicts nothing).
func TestModelInputs(t *testing.T) {
	path := genModel(t, "tiny-llama", "q8_0")
	data := gradientSlice(t, 4*100)
	for _, mode := range []string{Constrained, Paper} {
		p, err := Open(path, Config{Mode: mode, Window: 64, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.ModelInputs(data)
		if err != nil {
			t.Fatal(err)
		}
		windows, _, err := p.Symbolize(data, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(windows) || len(windows) < 3 {
			t.Fatalf("%s: %d windows of inputs, %d of symbols (want 3 or more)", mode, len(got), len(windows))
		}
		bb, err := p.NewBatch(len(windows))
		if err != nil {
			t.Fatal(err)
		}
		b := bb.(*batch)
		fed := make([][]int32, len(windows))
		lockstep(windows, func(act, syms []int) {
			for _, i := range act {
				fed[i] = append(fed[i], b.pending[i]...)
			}
			if err := b.Predict(act, make([]coder.Dist, len(act))); err != nil {
				t.Fatal(err)
			}
			if err := b.Push(act, syms); err != nil {
				t.Fatal(err)
			}
		})
		positions := 0
		for i := range windows {
			if !slices.Equal(got[i], fed[i]) {
				t.Fatalf("%s, window %d: ModelInputs %v, the batch fed %v", mode, i, got[i], fed[i])
			}
			if len(got[i]) > 64 {
				t.Errorf("%s, window %d: %d positions in a window of 64", mode, i, len(got[i]))
			}
			positions += len(got[i])
		}
		if want := 9*len(data)/4 - len(windows); mode == Constrained && positions != want {
			t.Errorf("constrained: %d positions, want %d", positions, want)
		}
		p.Close()
	}
}
