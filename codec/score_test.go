package codec

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/lmgc/lmgc/prior/llm"
)

// TestScoreMatchesLockStep checks that encoding through the llm prior's
// Score (whole windows in wide forward calls, several windows per call,
// only the digit rows of the output projection in constrained mode) writes
// exactly the bytes of the lock-step path (windows of 100 positions: one
// forward call spans several windows, whose caches are reused), and that
// the files decode, whatever the number of windows decoded in lock step.
func TestScoreMatchesLockStep(t *testing.T) {
	model := tinyModel(t, 1)
	data := sampleFloats(t, 800)
	for _, mode := range []string{llm.Constrained, llm.Paper} {
		for _, batch := range []int{1, 8} {
			name := fmt.Sprintf("%s/batch %d", mode, batch)
			opt := Options{Prior: "llm", Model: model, Window: 100, LLM: llm.Config{Mode: mode, Batch: batch, Prompt: "x"}}
			if mode == llm.Paper {
				opt.LLM.Prompt = ""
			}
			var scored, stepped bytes.Buffer
			st, err := Compress(&scored, data, "g.f32", opt)
			if err != nil {
				t.Fatal(err)
			}
			lock := opt
			lock.lockStep = true
			_, err = Compress(&stepped, data, "g.f32", lock)
			if err != nil {
				t.Fatal(err)
			}
			if st.Windows < 3 {
				t.Fatalf("%s: only %d windows", name, st.Windows)
			}
			if !bytes.Equal(scored.Bytes(), stepped.Bytes()) {
				t.Fatalf("%s: Score's file (%d bytes) differs from the lock-step file (%d bytes)", name, scored.Len(), stepped.Len())
			}
			// Decoding: the default budget takes all windows in one
			// batch; a budget of one byte falls back to Batch windows.
			for _, mem := range []int64{0, 1} {
				got, _, err := Decompress(scored.Bytes(), Options{Model: model, BatchMemory: mem, LLM: llm.Config{Batch: batch}})
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("%s: decode with BatchMemory %d: %v", name, mem, err)
				}
			}
		}
	}
}

func TestDecodeSchedule(t *testing.T) {
	model := tinyModel(t, 1)
	enc, err := NewEncoder(Options{Prior: "llm", Model: model, Window: 300, LLM: llm.Config{Batch: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	per := enc.p.(interface{ WindowBytes() int64 }).WindowBytes()
	if per <= 0 {
		t.Fatalf("WindowBytes %d", per)
	}
	for _, c := range []struct {
		mem           int64
		streams, want int
	}{
		{0, 5, 5},          // the default budget holds them all
		{per * 3, 10, 3},   // three fit
		{per*3 - 1, 10, 2}, // two fit, fewer than Batch: Batch
		{1, 10, 2},         // none fit: Batch
		{per * 100, 7, 7},  // never more than the file's streams
	} {
		batch, workers := decodeSchedule(enc.p, Options{BatchMemory: c.mem}, c.streams)
		if batch != c.want || workers != 1 {
			t.Errorf("budget %d, %d streams: batch %d, %d workers; want %d, 1", c.mem, c.streams, batch, workers, c.want)
		}
	}
	// Priors without a size keep their schedule.
	o2, _ := NewEncoder(Options{})
	if b, _ := decodeSchedule(o2.p, Options{BatchMemory: 1 << 40}, 9); b != 1 {
		t.Errorf("order2: batch %d", b)
	}
}
