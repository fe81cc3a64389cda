package llm

import (
	"fmt"

	"github.com/lmgc/lmgc/coder"
	"github.com/lmgc/lmgc/engine/kernels"
)

// Sizes of Score's forward calls.
const (
	// scoreChunk is the number of positions one Forward call of Score
	// takes (tokens of one or several windows): as wide as llama.cpp's
	// prompt batches, so every weight block is reused across many columns.
	scoreChunk = 512
	// scoreLogitsMax bounds the logits one call keeps (floats): in paper
	// mode every position needs the whole vocabulary.
	scoreLogitsMax = 16 << 20
)

// scoreEntry is one model position of Score: a token of window w and,
// when t >= 0, the symbol t whose distribution its logits give.
type scoreEntry struct {
	w, t int
	tok  int32
}

// tokens returns the model input of a window whose symbols are syms, as a
// Batch feeds it (BOS, the prompt, then the symbols' tokens with the
// separators of constrained mode), up to the last position that predicts
// a symbol, and appends each position to dst with the symbol it predicts
// (-1 for none).
func (p *Prior) tokens(dst []scoreEntry, w int, syms []int32) ([]scoreEntry, error) {
	if len(syms) == 0 {
		return dst, nil
	}
	dst = append(dst, scoreEntry{w: w, t: -1, tok: p.bos})
	for _, tok := range p.prompt {
		dst = append(dst, scoreEntry{w: w, t: -1, tok: tok})
	}
	for t, s := range syms {
		dst[len(dst)-1].t = t // the last position fed predicts symbol t
		if t == len(syms)-1 {
			break
		}
		if p.cfg.Mode == Paper {
			if s < 0 || int(s) >= p.vocab {
				return dst, fmt.Errorf("llm prior: token %d outside the vocabulary", s)
			}
			dst = append(dst, scoreEntry{w: w, t: -1, tok: s})
			continue
		}
		if s < 0 || s > 15 {
			return dst, fmt.Errorf("llm prior: symbol %d is not a hex digit", s)
		}
		dst = append(dst, scoreEntry{w: w, t: -1, tok: p.digit[s]})
		if (t+1)%(2*p.cfg.BytesPerGroup) == 0 {
			for _, tok := range p.sep {
				dst = append(dst, scoreEntry{w: w, t: -1, tok: tok})
			}
		}
	}
	return dst, nil
}

// Score implements prior.Scorer: the windows' positions go through the
// model in Forward calls of scoreChunk positions, filled with the windows
// one after another (a call may hold the end of one window and the start
// of the next), each window in a KV cache of its own while it runs (only
// as many caches as one call spans are allocated). A position's logits do not depend on the call it is in
// (the engine's contract), so the distributions are those of a Batch, bit
// for bit; in constrained mode only the 16 digit rows of the output
// projection are computed.
func (p *Prior) Score(windows [][]int32, fn func(w, t int, d coder.Dist) error) error {
	if len(windows) == 0 {
		return nil
	}
	outs := p.vocab
	if p.cfg.Mode == Constrained {
		outs = len(p.digit)
	}
	chunk := max(1, min(scoreChunk, scoreLogitsMax/outs))
	var entries []scoreEntry
	for w, syms := range windows {
		var err error
		if entries, err = p.tokens(entries, w, syms); err != nil {
			return err
		}
	}
	// Window w's cache is sequence w%slots: as many as the windows one
	// call holds, so that a window's sequence is free (Reset) when it
	// starts.
	slots := 1
	for lo := 0; lo < len(entries); lo += chunk {
		part := entries[lo:min(len(entries), lo+chunk)]
		slots = max(slots, part[len(part)-1].w-part[0].w+1)
	}
	st, err := p.model.NewState(slots, p.cfg.Window+1)
	if err != nil {
		return err
	}
	defer st.Close()
	if p.cfg.Mode == Constrained {
		if err := st.SelectOutputs(p.digit); err != nil {
			return err
		}
	}
	var (
		seqs   = make([]int, 0, chunk)
		toks   = make([]int32, 0, chunk)
		logits = make([][]float32, chunk)
		store  = make([]float32, chunk*outs)
		freqs  = make([]uint32, outs)
		dist   = new(coder.Freqs)
	)
	started := -1 // the last window whose sequence was reset
	for lo := 0; lo < len(entries); lo += chunk {
		part := entries[lo:min(len(entries), lo+chunk)]
		seqs, toks = seqs[:0], toks[:0]
		for i, e := range part {
			if e.w != started {
				st.Reset(e.w % slots)
				started = e.w
			}
			seqs, toks = append(seqs, e.w%slots), append(toks, e.tok)
			logits[i] = nil
			if e.t >= 0 {
				logits[i] = store[i*outs : (i+1)*outs]
			}
		}
		if err := st.Forward(seqs, toks, logits[:len(part)]); err != nil {
			return err
		}
		for i, e := range part {
			if e.t < 0 {
				continue
			}
			if err := kernels.Quantize(logits[i], totalBits, freqs); err != nil {
				return err
			}
			if err := dist.Set(freqs); err != nil {
				return err
			}
			if err := fn(e.w, e.t, dist); err != nil {
				return err
			}
		}
	}
	return nil
}

// WindowBytes implements prior.Sized: the KV cache of one window.
func (p *Prior) WindowBytes() int64 { return p.model.KVBytes(1, p.cfg.Window+1) }
