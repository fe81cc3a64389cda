package llama

import (
	"fmt"
	"math"

	"github.com/lmgc/lmgc/engine/kernels"
)

// State holds the KV caches of nSeq independent sequences of up to maxLen
// positions each. The cache is binary16, as llama.cpp's default. A State is
// not safe for concurrent use; use one State per goroutine.
type State struct {
	m      *Model
	nSeq   int
	maxLen int
	lens   []int
	// k[l] and v[l] hold layer l's keys and values: sequence s, position p
	// starts at ((s*maxLen)+p)*kvDim.
	k, v [][]uint16
	buf  scratch
}

// NewState allocates the KV caches for nSeq sequences of up to maxLen
// positions (all empty).
func (m *Model) NewState(nSeq, maxLen int) (*State, error) {
	if nSeq < 1 || maxLen < 1 {
		return nil, fmt.Errorf("llama: NewState(%d, %d): need at least one sequence and one position", nSeq, maxLen)
	}
	kvDim := m.cfg.KVHeads * m.cfg.HeadDim
	if nSeq > math.MaxInt32/maxLen || nSeq*maxLen > math.MaxInt/2/kvDim/len(m.layers) {
		return nil, fmt.Errorf("llama: NewState(%d, %d): KV cache too large", nSeq, maxLen)
	}
	s := &State{m: m, nSeq: nSeq, maxLen: maxLen, lens: make([]int, nSeq)}
	n := nSeq * maxLen * kvDim
	s.k = make([][]uint16, len(m.layers))
	s.v = make([][]uint16, len(m.layers))
	for l := range m.layers {
		s.k[l] = make([]uint16, n)
		s.v[l] = make([]uint16, n)
	}
	return s, nil
}

// KVBytes returns the bytes of KV cache NewState(nSeq, maxLen) allocates
// (keys and values, binary16, all layers).
func (m *Model) KVBytes(nSeq, maxLen int) int64 {
	return int64(nSeq) * int64(maxLen) * int64(m.cfg.KVHeads*m.cfg.HeadDim) * int64(len(m.layers)) * 2 * 2
}

// Reset empties sequence seq.
func (s *State) Reset(seq int) {
	if seq >= 0 && seq < s.nSeq {
		s.lens[seq] = 0
	}
}

// Len returns the number of positions in sequence seq.
func (s *State) Len(seq int) int { return s.lens[seq] }

// scratch holds the activations of one Forward call, reused across calls.
type scratch struct {
	x, xb, q, k, v, att, hb, hb2 []float32
	cos, sin                     []float32
	out                          []float32
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// Forward appends tokens[i] to sequence seqs[i], in order (a sequence may
// appear several times: consecutive positions), and writes the logits of
// each appended position into logits[i] (length at least VocabSize). A nil
// logits[i] skips the output projection for that position. On error
// nothing is changed.
//
// The logits of a position depend only on the tokens of its sequence up to
// it: not on the other entries of the call, the number of threads or how
// the sequence was split into calls.
func (s *State) Forward(seqs []int, tokens []int32, logits [][]float32) error {
	m, c := s.m, s.m.cfg
	B := len(tokens)
	if len(seqs) != B || len(logits) != B {
		return fmt.Errorf("llama: Forward: %d seqs, %d tokens, %d logits", len(seqs), B, len(logits))
	}
	if B == 0 {
		return nil
	}
	pos := make([]int, B)
	next := make(map[int]int, B)
	for i, seq := range seqs {
		if seq < 0 || seq >= s.nSeq {
			return fmt.Errorf("llama: Forward: sequence %d out of range [0, %d)", seq, s.nSeq)
		}
		if tokens[i] < 0 || int(tokens[i]) >= c.Vocab {
			return fmt.Errorf("llama: Forward: token %d out of range [0, %d)", tokens[i], c.Vocab)
		}
		if logits[i] != nil && len(logits[i]) < c.Vocab {
			return fmt.Errorf("llama: Forward: logits[%d] has length %d < vocabulary %d", i, len(logits[i]), c.Vocab)
		}
		p, seen := next[seq]
		if !seen {
			p = s.lens[seq]
		}
		if p >= s.maxLen {
			return fmt.Errorf("llama: Forward: sequence %d is full (%d positions)", seq, s.maxLen)
		}
		pos[i] = p
		next[seq] = p + 1
	}

	dim, hd := c.Dim, c.HeadDim
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	half := c.RopeDims / 2
	b := &s.buf
	x := grow(b.x, B*dim)
	xb := grow(b.xb, B*dim)
	q := grow(b.q, B*qDim)
	k := grow(b.k, B*kvDim)
	v := grow(b.v, B*kvDim)
	att := grow(b.att, B*qDim)
	hb := grow(b.hb, B*c.FFDim)
	hb2 := grow(b.hb2, B*c.FFDim)
	cos := grow(b.cos, B*half)
	sin := grow(b.sin, B*half)
	*b = scratch{x, xb, q, k, v, att, hb, hb2, cos, sin, b.out}

	// Token embeddings and the rotation of each position.
	for i, tok := range tokens {
		m.tokEmbd.Row(x[i*dim:(i+1)*dim], int(tok))
		kernels.RopeAngles(cos[i*half:(i+1)*half], sin[i*half:(i+1)*half], pos[i], c.RopeDims, c.RopeBase)
	}

	for l := range m.layers {
		ly := &m.layers[l]

		// Attention block: x += Wo * attention(RMSNorm(x)).
		for i := 0; i < B; i++ {
			kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], ly.attnNorm, c.NormEps)
		}
		kernels.MatMul(q, ly.wq, xb, B, m.threads)
		kernels.MatMul(k, ly.wk, xb, B, m.threads)
		kernels.MatMul(v, ly.wv, xb, B, m.threads)
		for i := 0; i < B; i++ {
			if c.QKVBias {
				kernels.Add(q[i*qDim:(i+1)*qDim], q[i*qDim:], ly.bq)
				kernels.Add(k[i*kvDim:(i+1)*kvDim], k[i*kvDim:], ly.bk)
				kernels.Add(v[i*kvDim:(i+1)*kvDim], v[i*kvDim:], ly.bv)
			}
			cs, sn := cos[i*half:(i+1)*half], sin[i*half:(i+1)*half]
			for h := 0; h < c.Heads; h++ {
				kernels.Rope(q[i*qDim+h*hd:i*qDim+(h+1)*hd], cs, sn, c.RopeNeox)
			}
			for h := 0; h < c.KVHeads; h++ {
				kernels.Rope(k[i*kvDim+h*hd:i*kvDim+(h+1)*hd], cs, sn, c.RopeNeox)
			}
			// Store this position's key and value, rounded to binary16.
			off := (seqs[i]*s.maxLen + pos[i]) * kvDim
			kc, vc := s.k[l][off:off+kvDim], s.v[l][off:off+kvDim]
			for j := range kc {
				kc[j] = kernels.F32ToF16(k[i*kvDim+j])
				vc[j] = kernels.F32ToF16(v[i*kvDim+j])
			}
		}
		kernels.ParallelFor(B*c.Heads, m.threads, func(lo, hi int) {
			s.attend(l, lo, hi, seqs, pos, q, att)
		})
		kernels.MatMul(xb, ly.wo, att, B, m.threads)
		kernels.Add(x, x, xb)

		// Feed-forward block: x += Wdown * (SiLU(Wgate*h) . Wup*h), h = RMSNorm(x).
		for i := 0; i < B; i++ {
			kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], ly.ffnNorm, c.NormEps)
		}
		kernels.MatMul(hb, ly.wGate, xb, B, m.threads)
		kernels.MatMul(hb2, ly.wUp, xb, B, m.threads)
		kernels.SwiGLU(hb, hb, hb2)
		kernels.MatMul(xb, ly.wDown, hb, B, m.threads)
		kernels.Add(x, x, xb)
	}

	// Final norm and output projection, for the positions that want logits.
	var sel []int
	for i := range tokens {
		if logits[i] != nil {
			kernels.RMSNorm(xb[len(sel)*dim:(len(sel)+1)*dim], x[i*dim:(i+1)*dim], m.outNorm, c.NormEps)
			sel = append(sel, i)
		}
	}
	if len(sel) > 0 {
		out := grow(b.out, len(sel)*c.Vocab)
		b.out = out
		kernels.MatMul(out, m.output, xb, len(sel), m.threads)
		for j, i := range sel {
			copy(logits[i][:c.Vocab], out[j*c.Vocab:(j+1)*c.Vocab])
		}
	}
	for seq, n := range next {
		s.lens[seq] = n
	}
	return nil
}

// attend computes the attention output of the (entry, head) pairs
// lo..hi-1 (pair = i*Heads + h) of layer l into att. For entry i at
// position p of sequence seq and query head h (KV head h/gqaRatio):
//
//	q'     = q rounded to binary16 (llama.cpp's dot type for an F16 cache)
//	s[t]   = float32(Dot(q', K[t]) * kqScale)      for t = 0..p
//	w      = Softmax(s), then rounded to binary16
//	att[d] = WeightedSumF16(w, V)[d]
func (s *State) attend(l, lo, hi int, seqs, pos []int, q, att []float32) {
	m, c := s.m, s.m.cfg
	hd := c.HeadDim
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	qh := make([]float32, hd)
	krow := make([]float32, hd)
	scores := make([]float32, s.maxLen)
	for pair := lo; pair < hi; pair++ {
		i, h := pair/c.Heads, pair%c.Heads
		n := pos[i] + 1
		kvh := h / m.gqaRatio
		copy(qh, q[i*qDim+h*hd:i*qDim+(h+1)*hd])
		kernels.RoundF16(qh)
		base := seqs[i]*s.maxLen*kvDim + kvh*hd
		kc := s.k[l]
		for t := 0; t < n; t++ {
			kernels.WidenF16(krow, kc[base+t*kvDim:base+t*kvDim+hd])
			scores[t] = kernels.Dot(qh, krow) * m.kqScale
		}
		w := scores[:n]
		kernels.Softmax(w)
		kernels.RoundF16(w)
		kernels.WeightedSumF16(att[i*qDim+h*hd:i*qDim+(h+1)*hd], w, s.v[l][base:], kvDim)
	}
}
