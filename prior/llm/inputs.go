package llm

// ModelInputs returns, for each window of data's coding, the model's input
// tokens in the order lmgc's engine evaluates them (Batch feeds them one
// step at a time when decoding, Score in chunks when encoding): BOS, the
// prompt, then the symbols' tokens (with the separators of constrained
// mode) up to the last position that predicts a symbol. A benchmark can
// give another engine (llama.cpp) exactly the positions lmgc evaluates.
func (p *Prior) ModelInputs(data []byte) ([][]int32, error) {
	windows, _, err := p.Symbolize(data, 0)
	if err != nil {
		return nil, err
	}
	out := make([][]int32, 0, len(windows))
	var entries []scoreEntry
	for w, syms := range windows {
		if entries, err = p.tokens(entries[:0], w, syms); err != nil {
			return nil, err
		}
		toks := make([]int32, len(entries))
		for i, e := range entries {
			toks[i] = e.tok
		}
		out = append(out, toks)
	}
	return out, nil
}
