package bench

import (
	"errors"
	"slices"
	"strconv"
)

// Merge joins reports of separate runs (for example the one-cell runs of
// scripts/real-llm-cells.sh) into one report. Rows are kept in order; a
// row with the key (set, group, method, variant, scope) of an earlier row
// is the same measurement of the same data and is dropped. Sets are joined
// by name, models and skipped codecs are joined, Seconds are summed, and
// the result is Complete only when every input is. The Config of the
// first report is kept, with the models of all.
func Merge(reps []*Report) (*Report, error) {
	if len(reps) == 0 {
		return nil, errors.New("bench: merge: no reports")
	}
	out := &Report{Started: reps[0].Started, Config: reps[0].Config, Complete: true}
	out.Config.Models = nil
	type key struct{ set, group, method, variant, scope string }
	seen := map[key]bool{}
	sets := map[string]bool{}
	for _, r := range reps {
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		out.Seconds += r.Seconds
		out.Complete = out.Complete && r.Complete
		for _, m := range r.Config.Models {
			if !slices.Contains(out.Config.Models, m) {
				out.Config.Models = append(out.Config.Models, m)
			}
		}
		for _, s := range r.Skipped {
			if !slices.Contains(out.Skipped, s) {
				out.Skipped = append(out.Skipped, s)
			}
		}
		for _, s := range r.Sets {
			if !sets[s.Name] {
				sets[s.Name] = true
				out.Sets = append(out.Sets, s)
			}
		}
		for _, row := range r.Rows {
			k := key{row.Set, row.Group, row.Method, row.Variant, row.Scope}
			if !seen[k] {
				seen[k] = true
				out.Rows = append(out.Rows, row)
			}
		}
	}
	out.Command = "merged from " + strconv.Itoa(len(reps)) + " reports"
	return out, nil
}
