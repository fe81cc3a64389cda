package llama

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
)

// ReadTokens reads whitespace-separated decimal token ids.
func ReadTokens(r io.Reader) ([]int32, error) {
	sc := bufio.NewScanner(r)
	sc.Split(bufio.ScanWords)
	var toks []int32
	for sc.Scan() {
		v, err := strconv.ParseInt(sc.Text(), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("llama: token %d: %q is not a 32-bit integer", len(toks)+1, sc.Text())
		}
		toks = append(toks, int32(v))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return toks, nil
}

// WriteLogits evaluates tokens as one window (a fresh sequence, positions
// 0..len-1), batch positions per Forward call, and writes the logits of
// every position to w as little-endian float32, one row of VocabSize
// values per position. The output does not depend on batch (>= 1).
func (m *Model) WriteLogits(w io.Writer, tokens []int32, batch int) error {
	if len(tokens) == 0 {
		return fmt.Errorf("llama: no tokens to evaluate")
	}
	if batch < 1 {
		return fmt.Errorf("llama: batch %d", batch)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= m.cfg.Vocab {
			return fmt.Errorf("llama: token %d is %d, outside the vocabulary [0, %d)", i+1, t, m.cfg.Vocab)
		}
	}
	st, err := m.NewState(1, len(tokens))
	if err != nil {
		return err
	}
	defer st.Close()
	v := m.cfg.Vocab
	batch = min(batch, len(tokens))
	rows := make([][]float32, batch)
	for i := range rows {
		rows[i] = make([]float32, v)
	}
	seqs := make([]int, batch)
	buf := make([]byte, 4*v)
	for i := 0; i < len(tokens); i += batch {
		n := min(batch, len(tokens)-i)
		if err := st.Forward(seqs[:n], tokens[i:i+n], rows[:n]); err != nil {
			return err
		}
		for _, row := range rows[:n] {
			for j, f := range row {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(f))
			}
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
	}
	return nil
}
