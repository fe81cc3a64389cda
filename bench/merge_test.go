package bench

import (
	"testing"
	"time"
)

func TestMergeJoinsCellsAndDropsRepeatedMeasurements(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	ref := Row{Set: "a@f1", Group: GroupLLMRef, Method: "lmgc cm", Variant: "raw", Scope: "first 4096 floats of 1 files", Rate: 90}
	a := &Report{Started: t0.Add(time.Hour), Seconds: 10, Complete: true,
		Config: Settings{LLMFloats: 4096, Models: []string{"m.gguf"}},
		Sets:   []Set{{Name: "a@f1", Files: 1}},
		Rows: []Row{ref, {Set: "a@f1", Group: GroupLLM, Method: "m constrained", Variant: "hs",
			Scope: "first 4096 floats of 1 files, window 512", Rate: 80}}}
	b := &Report{Started: t0, Seconds: 5, Complete: true,
		Config: Settings{LLMFloats: 4096, Models: []string{"m.random.gguf"}},
		Sets:   []Set{{Name: "a@f1", Files: 1}, {Name: "b@f1", Files: 1}},
		Rows: []Row{ref, {Set: "a@f1", Group: GroupLLM, Method: "m.random constrained", Variant: "hs",
			Scope: "first 4096 floats of 1 files, window 512", Rate: 99}}}
	got, err := Merge([]*Report{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 3 || got.Rows[0] != ref || got.Rows[2].Method != "m.random constrained" {
		t.Errorf("rows = %+v, want the reference once and both LLM rows", got.Rows)
	}
	if len(got.Sets) != 2 || got.Sets[1].Name != "b@f1" {
		t.Errorf("sets = %+v, want a@f1 and b@f1", got.Sets)
	}
	if len(got.Config.Models) != 2 || got.Seconds != 15 || !got.Started.Equal(t0) || !got.Complete {
		t.Errorf("merged report = %+v", got)
	}
	b.Complete = false
	if got, _ := Merge([]*Report{a, b}); got.Complete {
		t.Error("a merge with an incomplete report is complete")
	}
	if _, err := Merge(nil); err == nil {
		t.Error("merging no reports: no error")
	}
}
