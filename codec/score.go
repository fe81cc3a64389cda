package codec

import (
	"github.com/lmgc/lmgc/coder"
	"github.com/lmgc/lmgc/prior"
)

// scoreGroup codes a batch of windows whose symbols are all known with one
// Score call: the prior sees whole windows (an LLM runs them through the
// model in wide batched forwards) and gives the distributions a Batch
// would, so the coded bytes are those of the lock-step path.
func scoreGroup(sc prior.Scorer, g windowGroup, estimate bool, prog *progress) (codedGroup, error) {
	syms := make([][]int32, len(g.w))
	for k, w := range g.w {
		if syms[k] = w.t; w.t == nil {
			syms[k] = make([]int32, len(w.b))
			for i, b := range w.b {
				syms[k][i] = int32(b)
			}
		}
	}
	gc := newGroupCoder(g, estimate, prog)
	err := sc.Score(syms, func(k, t int, d coder.Dist) error {
		return gc.code(k, t, int(syms[k][t]), d)
	})
	if err != nil {
		return gc.out, err
	}
	return gc.finish()
}

// decodeSchedule is schedule for decoding: a batched prior whose windows
// have a known size (prior.Sized) advances as many windows in lock step as
// Options.BatchMemory holds, up to all streams of the file, so that each
// decoding step's matrix products are as wide as the file allows.
func decodeSchedule(p prior.Prior, opt Options, streams int) (batch, workers int) {
	batch, workers = schedule(p, opt.Threads)
	sz, ok := p.(prior.Sized)
	if _, batched := p.(prior.Batched); !ok || !batched || sz.WindowBytes() <= 0 {
		return batch, workers
	}
	budget := opt.BatchMemory
	if budget <= 0 {
		budget = DefaultBatchMemory
	}
	fit := int(min(budget/sz.WindowBytes(), int64(streams)))
	return max(batch, fit), workers
}
