package llama

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"

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
	// k[l] and v[l] hold layer l's keys and values, head-major within a
	// sequence: the HeadDim values of sequence s, KV head h, position p
	// start at kvOff(s, h, p). One KV head's rows of one sequence are
	// contiguous, so attention (which reads one KV head's rows for its
	// query heads) streams whole cache lines in order.
	k, v [][]uint16
	kv   *kernels.HugeMem // the memory of k and v (nil once closed)
	buf  scratch

	// Scratch buffers of attend, one per goroutine of a ParallelFor.
	attnMu   sync.Mutex
	attnFree []*attnScratch

	// out is the output projection Forward applies: the model's, or the
	// rows SelectOutputs chose (outRows rows).
	out     *kernels.Matrix
	outRows int

	// Forward's bookkeeping, reused across calls.
	pos, next, touched, sel []int
	fw                      fwd
	tk                      tasks
	// The arguments of kernels.MatMuls (Q, K, V; gate, up), kept here
	// so that passing them allocates nothing.
	mmDst [3][]float32
	mmMat [3]*kernels.Matrix
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
	s := &State{m: m, nSeq: nSeq, maxLen: maxLen, lens: make([]int, nSeq), out: m.output, outRows: m.cfg.Vocab}
	n := nSeq * maxLen * kvDim
	s.k = make([][]uint16, len(m.layers))
	s.v = make([][]uint16, len(m.layers))
	// One block for all layers' K and V (layer l's K, then its V), on
	// transparent huge pages outside the Go heap (kernels.HugeMem):
	// attention streams it from memory at every step, and the collector
	// need not keep a quarter of it spare. Close frees it; a State dropped
	// unclosed holds it until a collection finds the State unreachable.
	elems := 2 * len(m.layers) * n
	s.kv = kernels.NewHugeMem(2 * elems)
	kv := unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(s.kv.Bytes()))), elems)
	for l := range m.layers {
		o := 2 * l * n
		s.k[l] = kv[o : o+n : o+n]
		s.v[l] = kv[o+n : o+2*n : o+2*n]
	}
	return s, nil
}

// Close frees the KV caches; Forward then fails. Closing twice is a
// no-op.
func (s *State) Close() {
	if s.kv == nil {
		return
	}
	kv := s.kv
	s.kv, s.k, s.v = nil, nil, nil
	kv.Free()
}

// kvOff is the offset in k[l] and v[l] of sequence seq, KV head h,
// position p.
func (s *State) kvOff(seq, h, p int) int {
	c := &s.m.cfg
	return ((seq*c.KVHeads+h)*s.maxLen + p) * c.HeadDim
}

// KVBytes returns the bytes of KV cache NewState(nSeq, maxLen) allocates
// (keys and values, binary16, all layers).
func (m *Model) KVBytes(nSeq, maxLen int) int64 {
	return int64(nSeq) * int64(maxLen) * int64(m.cfg.KVHeads*m.cfg.HeadDim) * int64(len(m.layers)) * 2 * 2
}

// SelectOutputs makes Forward compute only the logits of the given tokens
// (output rows): logits[i][j] is then the logit of rows[j], bit for bit
// the value a full Forward gives it (each output of the projection depends
// only on its own row and column), and logits[i] needs only len(rows)
// elements. A model whose vocabulary is 49k or 262k tokens spends most of a
// small model's time in the output projection; a prior that needs a few
// tokens' logits (the hex digits) skips the rest. SelectOutputs(nil)
// restores the full vocabulary.
func (s *State) SelectOutputs(rows []int32) error {
	full := s.m.output
	if rows == nil {
		s.out, s.outRows = full, s.m.cfg.Vocab
		return nil
	}
	if len(rows) == 0 {
		return fmt.Errorf("llama: SelectOutputs: no rows")
	}
	rs, err := kernels.RowSize(full.Type, full.Cols)
	if err != nil {
		return err
	}
	data := make([]byte, 0, len(rows)*rs)
	for _, r := range rows {
		if r < 0 || int(r) >= full.Rows {
			return fmt.Errorf("llama: SelectOutputs: row %d out of range [0, %d)", r, full.Rows)
		}
		data = append(data, full.Data[int(r)*rs:(int(r)+1)*rs]...)
	}
	sub, err := kernels.NewMatrix(full.Type, len(rows), full.Cols, data)
	if err != nil {
		return err
	}
	if full.Packed() {
		sub.Pack() // the panel kernels, as for the full matrix (the same bits)
	}
	s.out, s.outRows = sub, len(rows)
	return nil
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
	cosSWA, sinSWA               []float32 // the windowed layers' rotations (Config.RopeBaseSWA)
	out                          []float32
}

func growInts(b []int, n int) []int {
	if cap(b) < n {
		return make([]int, n)
	}
	return b[:n]
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// Forward appends tokens[i] to sequence seqs[i], in order (a sequence may
// appear several times: consecutive positions), and writes the logits of
// each appended position into logits[i] (length at least VocabSize, or the
// rows chosen by SelectOutputs). A nil
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
	if s.kv == nil {
		return fmt.Errorf("llama: Forward on a closed State")
	}
	if B == 0 {
		return nil
	}
	// The KV caches are outside the heap: s (and its HugeMem) must stay
	// reachable until every use of them below is over.
	defer runtime.KeepAlive(s)
	// next[seq] is 1 + the position of seq's last entry so far, 0 for a
	// sequence not in the call (reused across calls: no allocation).
	if len(s.next) != s.nSeq {
		s.next = make([]int, s.nSeq)
	}
	next, touched := s.next, s.touched[:0]
	defer func() {
		for _, seq := range touched {
			next[seq] = 0
		}
		s.touched = touched[:0]
	}()
	s.pos = growInts(s.pos, B)
	pos := s.pos
	for i, seq := range seqs {
		if seq < 0 || seq >= s.nSeq {
			return fmt.Errorf("llama: Forward: sequence %d out of range [0, %d)", seq, s.nSeq)
		}
		if tokens[i] < 0 || int(tokens[i]) >= c.Vocab {
			return fmt.Errorf("llama: Forward: token %d out of range [0, %d)", tokens[i], c.Vocab)
		}
		if logits[i] != nil && len(logits[i]) < s.outRows {
			return fmt.Errorf("llama: Forward: logits[%d] has length %d < %d outputs", i, len(logits[i]), s.outRows)
		}
		p := next[seq] - 1
		if p < 0 {
			p = s.lens[seq]
			touched = append(touched, seq)
		}
		if p >= s.maxLen {
			return fmt.Errorf("llama: Forward: sequence %d is full (%d positions)", seq, s.maxLen)
		}
		pos[i] = p
		next[seq] = p + 2
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
	cosSWA, sinSWA := b.cosSWA, b.sinSWA
	if c.SlidingWindow > 0 {
		cosSWA, sinSWA = grow(cosSWA, B*half), grow(sinSWA, B*half)
	}
	*b = scratch{x, xb, q, k, v, att, hb, hb2, cos, sin, cosSWA, sinSWA, b.out}

	if s.tk.embed == nil {
		s.initTasks()
	}
	f := &s.fw
	*f = fwd{B: B, seqs: seqs, pos: pos, tokens: tokens, x: x, xb: xb, q: q, k: k, v: v, att: att, hb: hb, hb2: hb2,
		cos: cos, sin: sin, cosSWA: cosSWA, sinSWA: sinSWA}
	defer func() { s.fw, s.mmDst = fwd{}, [3][]float32{} }() // no reference to the caller's slices kept

	// Token embeddings and the rotation of each position, then the first
	// layer's input norm.
	s.rows(B, dim, s.tk.embed)
	for l := range m.layers {
		ly := &m.layers[l]
		f.l = l

		// Attention block: x += Wo * attention(RMSNorm(x)), xb holding
		// RMSNorm(x) already.
		s.mmDst, s.mmMat = [3][]float32{q, k, v}, [3]*kernels.Matrix{ly.wq, ly.wk, ly.wv}
		kernels.MatMuls(s.mmDst[:3], s.mmMat[:3], xb, B, m.threads)
		s.rows(B, qDim+2*kvDim, s.tk.qkv)
		// The pieces are (position, KV head) units, the query heads of one
		// KV head kept together (attend reads their K and V rows once);
		// unit i*KVHeads+g costs about its context length: equal-cost
		// pieces, not equal counts (an encode chunk's last positions
		// attend to many more keys than its first).
		kernels.ParallelForCost(B*c.KVHeads, m.threads, s.tk.attnCost, s.tk.attend)
		kernels.MatMul(xb, ly.wo, att, B, m.threads)
		f.post, f.next = ly.postAttnNorm, ly.ffnNorm
		s.rows(B, dim, s.tk.residual)

		// Feed-forward block: x += Wdown * (SiLU(Wgate*h) . Wup*h), h = RMSNorm(x)
		// (GELU for GeGLU; with PostNorms the sum is RMSNorm'ed before the add).
		s.mmDst, s.mmMat = [3][]float32{hb, hb2}, [3]*kernels.Matrix{ly.wGate, ly.wUp}
		kernels.MatMuls(s.mmDst[:2], s.mmMat[:2], xb, B, m.threads)
		s.rows(B, c.FFDim, s.tk.glu)
		kernels.MatMul(xb, ly.wDown, hb, B, m.threads)
		f.post, f.next = ly.postFFNorm, nil
		if l+1 < len(m.layers) {
			f.next = m.layers[l+1].attnNorm
		}
		s.rows(B, dim, s.tk.residual)
	}

	// Final norm and output projection, for the positions that want logits.
	sel := s.sel[:0]
	for i := range tokens {
		if logits[i] != nil {
			sel = append(sel, i)
		}
	}
	s.sel = sel
	if len(sel) > 0 {
		f.sel = sel
		s.rows(len(sel), dim, s.tk.outNorm)
		V := s.outRows
		out := grow(b.out, len(sel)*V)
		b.out = out
		kernels.MatMul(out, s.out, xb, len(sel), m.threads)
		for j, i := range sel {
			copy(logits[i][:V], out[j*V:(j+1)*V])
		}
	}
	for _, seq := range touched {
		s.lens[seq] = next[seq] - 1
	}
	return nil
}

// parMinElems is the least work (positions times elements per position)
// that Forward splits across threads for its per-position operations
// (norms, rotations, SwiGLU): less is done on one thread, cheaper than a
// handoff. A variable so that tests can split small calls too.
var parMinElems = 8192

// attnPairCost is the fixed cost of one attention (position, head) pair,
// in keys, beside its context length (the weights of ParallelForCost).
const attnPairCost = 16

// fwd holds the arguments of the Forward call in progress that its
// parallel steps read (the functions of tasks, made once per State: no
// closure is allocated per call, no garbage per kernel).
type fwd struct {
	B, l                         int
	seqs, pos, sel               []int
	tokens                       []int32
	x, xb, q, k, v, att, hb, hb2 []float32
	cos, sin, cosSWA, sinSWA     []float32
	post, next                   []float32 // residual's norms
}

// tasks are Forward's parallel steps, over ranges of positions (or of
// attention units: a position and one KV head with its query heads).
type tasks struct {
	embed, qkv, attend, residual, glu, outNorm func(lo, hi int)
	attnCost                                   func(unit int) int
}

func (s *State) initTasks() {
	m, c, f := s.m, s.m.cfg, &s.fw
	dim, half := c.Dim, c.RopeDims/2
	s.tk.embed = func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xi := f.x[i*dim : (i+1)*dim]
			m.tokEmbd.Row(xi, int(f.tokens[i]))
			if c.EmbedScale != 0 {
				for j := range xi {
					xi[j] *= c.EmbedScale
				}
			}
			kernels.RopeAngles(f.cos[i*half:(i+1)*half], f.sin[i*half:(i+1)*half], f.pos[i], c.RopeDims, c.RopeBase)
			if c.SlidingWindow > 0 {
				kernels.RopeAngles(f.cosSWA[i*half:(i+1)*half], f.sinSWA[i*half:(i+1)*half], f.pos[i], c.RopeDims, c.RopeBaseSWA)
			}
			if len(m.layers) > 0 {
				kernels.RMSNorm(f.xb[i*dim:(i+1)*dim], xi, m.layers[0].attnNorm, c.NormEps)
			}
		}
	}
	s.tk.qkv = func(lo, hi int) {
		cos, sin := f.cos, f.sin
		if c.Windowed(f.l) {
			cos, sin = f.cosSWA, f.sinSWA
		}
		for i := lo; i < hi; i++ {
			s.prepareQKV(f.l, i, f.seqs[i], f.pos[i], f.q, f.k, f.v, cos[i*half:(i+1)*half], sin[i*half:(i+1)*half])
		}
	}
	s.tk.attnCost = func(unit int) int { return (f.pos[unit/c.KVHeads] + attnPairCost) * m.gqaRatio }
	s.tk.attend = func(lo, hi int) {
		window := 0
		if c.Windowed(f.l) {
			window = c.SlidingWindow
		}
		s.attend(f.l, window, lo*m.gqaRatio, hi*m.gqaRatio, f.seqs, f.pos, f.q, f.att)
	}
	// residual adds the block output xb to x (RMSNorm'ed with post first
	// when the model has post-norms) and, with next, writes the next
	// block's input RMSNorm(x, next) into xb; row by row, in one pass.
	s.tk.residual = func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xi, bi := f.x[i*dim:(i+1)*dim], f.xb[i*dim:(i+1)*dim]
			if c.PostNorms {
				kernels.RMSNorm(bi, bi, f.post, c.NormEps)
			}
			kernels.Add(xi, xi, bi)
			if f.next != nil {
				kernels.RMSNorm(bi, xi, f.next, c.NormEps)
			}
		}
	}
	s.tk.glu = func(lo, hi int) {
		ff := c.FFDim
		g, u := f.hb[lo*ff:hi*ff], f.hb2[lo*ff:hi*ff]
		if c.GeGLU {
			kernels.GeGLU(g, g, u)
		} else {
			kernels.SwiGLU(g, g, u)
		}
	}
	s.tk.outNorm = func(lo, hi int) {
		for j := lo; j < hi; j++ {
			i := f.sel[j]
			kernels.RMSNorm(f.xb[j*dim:(j+1)*dim], f.x[i*dim:(i+1)*dim], m.outNorm, c.NormEps)
		}
	}
}

// rows calls fn over the B positions of a call, split across the model's
// threads when B*elems is at least parMinElems. The operations of each
// position are its own: the split does not change a bit.
func (s *State) rows(B, elems int, fn func(lo, hi int)) {
	threads := s.m.threads
	if B*elems < parMinElems {
		threads = 1
	}
	kernels.ParallelFor(B, threads, fn)
}

// prepareQKV finishes entry i's query, key and value of layer l (biases,
// QK norms, rotation, query scale) and stores its key and value, rounded
// to binary16, at position p of sequence seq.
func (s *State) prepareQKV(l, i, seq, p int, q, k, v, cs, sn []float32) {
	c, ly := s.m.cfg, &s.m.layers[l]
	hd := c.HeadDim
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	if c.QKVBias {
		kernels.Add(q[i*qDim:(i+1)*qDim], q[i*qDim:], ly.bq)
		kernels.Add(k[i*kvDim:(i+1)*kvDim], k[i*kvDim:], ly.bk)
		kernels.Add(v[i*kvDim:(i+1)*kvDim], v[i*kvDim:], ly.bv)
	}
	for h := 0; h < c.Heads; h++ {
		qh := q[i*qDim+h*hd : i*qDim+(h+1)*hd]
		if c.QKNorm {
			kernels.RMSNorm(qh, qh, ly.qNorm, c.NormEps)
		}
		kernels.Rope(qh, cs, sn, c.RopeNeox)
		if c.QueryScale != 0 {
			for j := range qh {
				qh[j] *= c.QueryScale
			}
		}
	}
	for h := 0; h < c.KVHeads; h++ {
		kh := k[i*kvDim+h*hd : i*kvDim+(h+1)*hd]
		if c.QKNorm {
			kernels.RMSNorm(kh, kh, ly.kNorm, c.NormEps)
		}
		kernels.Rope(kh, cs, sn, c.RopeNeox)
	}
	for h := 0; h < c.KVHeads; h++ {
		off := s.kvOff(seq, h, p)
		kernels.F32ToF16s(s.k[l][off:off+hd], k[i*kvDim+h*hd:i*kvDim+(h+1)*hd])
		kernels.F32ToF16s(s.v[l][off:off+hd], v[i*kvDim+h*hd:i*kvDim+(h+1)*hd])
	}
}

// attnWidenMax bounds the float32 copy of one sequence's keys (and one of
// its values) that attend keeps, in elements. Longer contexts take the
// direct path. A variable so that tests can exercise both paths. 0 (never
// widen) where the direct F16 kernels are as fast as the float32 ones
// (kernels.DirectF16Attention: AVX-512): there widening only adds its own
// conversions and the copies' memory.
var attnWidenMax = func() int {
	if kernels.DirectF16Attention() {
		return 0
	}
	return 1 << 22
}()

// attnGroup is the most heads of one entry whose scores attend computes
// before their Softmaxes, which then run side by side. A group is the
// query heads of one KV head from the first pair on (kernels.ScoresF16Heads
// and kernels.WeightedSumF16HeadsAcc read each K and V row once for them),
// extended over the next KV heads' groups to at least attnMinGroup heads
// where the GQA ratio is smaller than that (so that Softmaxes still gets
// batches).
const (
	attnGroup    = 8
	attnMinGroup = 3
)

// attnScratch holds one goroutine's buffers for attend.
type attnScratch struct {
	qg, acc []float32
	sbuf    []float32            // attnGroup rows of maxLen scores
	ws      [attnGroup][]float32 // the attended part of each head's scores
	kf, vf  []float32            // positions 0.. of one sequence's K and V, widened, head-major (widenRows rows per KV head)
}

func (s *State) getScratch() *attnScratch {
	s.attnMu.Lock()
	defer s.attnMu.Unlock()
	if n := len(s.attnFree); n > 0 {
		sc := s.attnFree[n-1]
		s.attnFree = s.attnFree[:n-1]
		return sc
	}
	return new(attnScratch)
}

func (s *State) putScratch(sc *attnScratch) {
	s.attnMu.Lock()
	s.attnFree = append(s.attnFree, sc)
	s.attnMu.Unlock()
}

// attend computes the attention output of the (entry, head) pairs
// lo..hi-1 (pair = i*Heads + h) of layer l into att. For entry i at
// position p of sequence seq and query head h (KV head h/gqaRatio):
//
//	q'     = q rounded to binary16 (llama.cpp's dot type for an F16 cache)
//	s[t]   = float32(Dot(q', K[t]) * kqScale)      for t = 0..p
//	w      = Softmax(s), then rounded to binary16
//	att[d] = WeightedSumF16(w, V)[d]
//
// With a sliding window W > 0 (and p >= W) only the keys t = a..p, a =
// p-W+1, are attended (llama.cpp masks t when p - t >= W): s and the
// Softmax run over t = a..p, and the weighted sum runs over t = a0..p, a0
// = a rounded down to a multiple of kernels.Lanes, with w[t] = 0 for t <
// a, so that each position keeps the dot lane it has without a window.
//
// The result is exactly that (TestAttendMatchesReference checks it bit for
// bit), computed faster in one of two ways (widening is exact, so both
// give the same bits):
//
//   - Direct, for an entry whose neighbours in the call are of other
//     sequences (decode: one new position per sequence per call), or when
//     one sequence's widened keys would exceed attnWidenMax elements
//     (always, with the AVX-512 kernels: attnWidenMax is 0 there):
//     kernels.ScoresF16Heads and kernels.WeightedSumF16HeadsAcc read the
//     F16 rows of one KV head once for all its query heads in the group
//     (each head's result bit for bit that of ScoresF16 and
//     WeightedSumF16Acc alone), so a decode step costs O(p*hd) per head
//     with no float32 copy of the cache.
//   - Widened, for a batched window (consecutive entries of one sequence,
//     as in encode chunks): the cache rows 0..p of the sequence are
//     widened to float32 once per call and sequence, for all heads at
//     once, and entries of the same sequence widen only the rows they
//     add. Narrow heads (fewer elements than the dot lanes) take the
//     dot's tail-only order inline; wider ones kernels.Scores (Dot's
//     order, AVX2 for widths that are multiples of 16); WeightedSumF16's
//     lane order is kernels.WeightedSumF32 on the widened rows (AVX2
//     lanes), with reused buffers.
func (s *State) attend(l, window, lo, hi int, seqs, pos []int, q, att []float32) {
	m, c := s.m, s.m.cfg
	hd := c.HeadDim
	ratio := m.gqaRatio
	sc := s.getScratch()
	defer s.putScratch(sc)
	sc.qg = grow(sc.qg, attnGroup*hd)
	sc.sbuf = grow(sc.sbuf, attnGroup*s.maxLen)
	sc.acc = grow(sc.acc, kernels.WeightedSumF16HeadsScratch(attnGroup, hd))
	wide := wideRows{seq: -1} // the sequence whose rows 0..n-1 sc.kf, sc.vf hold
	// The pairs go in groups (see attnGroup) of heads of one entry, whose
	// Softmaxes run side by side (kernels.Softmaxes): the heads hs..he-1
	// of every entry in turn, then the next heads, so that the K and V
	// rows of consecutive groups are those of one KV head (an encode
	// chunk's entries read the same rows of one sequence: they stay in the
	// cache from one entry to the next). Each group's result is its own;
	// the order changes no bit.
	iFirst, iLast := lo/c.Heads, (hi-1)/c.Heads
	for hs, he := 0, 0; hs < c.Heads; hs = he {
		g := min((hs/ratio+1)*ratio-hs, attnGroup) // to the end of hs's KV group
		for g < attnMinGroup && g+ratio <= attnGroup {
			g += ratio
		}
		he = min(hs+g, c.Heads)
		for i := iFirst; i <= iLast; i++ {
			pLo, pHi := max(lo, i*c.Heads+hs), min(hi, i*c.Heads+he)
			if pLo >= pHi {
				continue
			}
			s.attendGroup(sc, &wide, l, window, i, pLo-i*c.Heads, pHi-pLo, seqs, pos, q, att)
		}
	}
}

// widenRows is the most rows of one sequence the widened path holds: the
// positions of a context up to attnWidenMax elements of all KV heads.
func (s *State) widenRows() int {
	return min(s.maxLen, attnWidenMax/(s.m.cfg.KVHeads*s.m.cfg.HeadDim))
}

// wideRows records which rows of which sequence an attnScratch's kf and
// vf hold widened.
type wideRows struct{ seq, n int }

// attendGroup is attend's work on the heads h0..h0+g-1 of entry i.
func (s *State) attendGroup(sc *attnScratch, wide *wideRows, l, window, i, h0, g int, seqs, pos []int, q, att []float32) {
	m, c := s.m, s.m.cfg
	hd := c.HeadDim
	qDim, kvDim := c.Heads*hd, c.KVHeads*hd
	ratio := m.gqaRatio
	kc, vc := s.k[l], s.v[l]
	n := pos[i] + 1
	// Keys a..n-1 are attended; the weighted sum starts at a0.
	a := 0
	if window > 0 && n > window {
		a = n - window
	}
	a0 := a - a%kernels.Lanes
	seq := seqs[i]

	// Decode (no neighbouring entry of the same sequence) or a context
	// too long to widen: read the F16 cache directly.
	batched := i > 0 && seqs[i-1] == seqs[i] || i+1 < len(seqs) && seqs[i+1] == seqs[i]
	direct := !batched || n*kvDim > attnWidenMax
	wr := s.widenRows() // rows per KV head in sc.kf and sc.vf
	if !direct {
		if size := wr * kvDim; len(sc.kf) != size {
			// Room for the longest context this path serves, once.
			sc.kf, sc.vf = make([]float32, size), make([]float32, size)
			wide.seq = -1
		}
		if seq != wide.seq {
			wide.seq, wide.n = seq, 0
		}
		if wideN := wide.n; n > wideN {
			for h := 0; h < c.KVHeads; h++ {
				w := h * wr * hd
				kernels.WidenF16(sc.kf[w+wideN*hd:w+n*hd], kc[s.kvOff(seq, h, wideN):s.kvOff(seq, h, n)])
				kernels.WidenF16(sc.vf[w+wideN*hd:w+n*hd], vc[s.kvOff(seq, h, wideN):s.kvOff(seq, h, n)])
			}
			wide.n = n
		}
	}
	qg := sc.qg[:g*hd]
	copy(qg, q[i*qDim+h0*hd:i*qDim+(h0+g)*hd])
	roundF16(qg)
	ws := sc.ws[:g]
	for j := range ws {
		row := sc.sbuf[j*s.maxLen : (j+1)*s.maxLen]
		clear(row[a0:a])
		ws[j] = row[a:n]
	}
	if direct {
		// Each run j0..j1-1 of the group's heads that share KV head kvh.
		for j0, j1 := 0, 0; j0 < g; j0 = j1 {
			kvh := (h0 + j0) / ratio
			j1 = min(g, (kvh+1)*ratio-h0)
			// The V rows the weighted sum below reads are prefetched under
			// the scores (in decode both come from memory).
			kernels.ScoresF16HeadsPrefetch(sc.sbuf[j0*s.maxLen+a:], s.maxLen, n-a, qg[j0*hd:j1*hd], j1-j0,
				kc[s.kvOff(seq, kvh, a):], hd, m.kqScale, vc[s.kvOff(seq, kvh, a):])
		}
	} else {
		for j, w := range ws {
			qh := qg[j*hd : (j+1)*hd]
			kf := sc.kf[((h0+j)/ratio*wr+a)*hd:]
			switch {
			case hd == 8:
				// The narrow heads of small models (stories260K), unrolled;
				// the same order as below.
				q8 := (*[8]float32)(qh)
				for t := range w {
					r := (*[8]float32)(kf[t*hd:])
					var d float32
					d = d + float32(q8[0]*r[0])
					d = d + float32(q8[1]*r[1])
					d = d + float32(q8[2]*r[2])
					d = d + float32(q8[3]*r[3])
					d = d + float32(q8[4]*r[4])
					d = d + float32(q8[5]*r[5])
					d = d + float32(q8[6]*r[6])
					d = d + float32(q8[7]*r[7])
					w[t] = d * m.kqScale
				}
			case hd < kernels.Lanes:
				// Dot's order for fewer elements than lanes: the lane sums
				// and their tree are +0, then the elements are added in order.
				for t := range w {
					row := kf[t*hd:][:len(qh)]
					var d float32
					for j, x := range qh {
						d = d + float32(x*row[j])
					}
					w[t] = d * m.kqScale
				}
			default:
				kernels.Scores(w, qh, kf, hd, m.kqScale)
			}
		}
	}
	kernels.Softmaxes(ws)
	for _, w := range ws {
		roundF16(w)
	}
	if direct {
		for j0, j1 := 0, 0; j0 < g; j0 = j1 {
			kvh := (h0 + j0) / ratio
			j1 = min(g, (kvh+1)*ratio-h0)
			kernels.WeightedSumF16HeadsAcc(att[i*qDim+(h0+j0)*hd:i*qDim+(h0+j1)*hd], j1-j0,
				sc.sbuf[j0*s.maxLen+a0:], s.maxLen, n-a0, vc[s.kvOff(seq, kvh, a0):], hd, sc.acc)
		}
	} else {
		for j := range ws {
			h := h0 + j
			dst := att[i*qDim+h*hd : i*qDim+(h+1)*hd]
			kernels.WeightedSumF32(dst, sc.sbuf[j*s.maxLen+a0:j*s.maxLen+n], sc.vf[(h/ratio*wr+a0)*hd:], hd, sc.acc)
		}
	}
	clear(ws) // no reference kept
}

// roundF16 is kernels.RoundF16 (round to the nearest binary16, ties to
// even, and back) with the common case inline: for 2^-14 <= |x| < 65520
// the result is a normal binary16, so rounding the float32 significand to
// 10 bits in place (a carry correctly bumps the exponent) is the whole
// job. Subnormals, zeros, overflow, infinities and NaNs go through the
// kernels' conversion. TestRoundF16 checks it against kernels.RoundF16.
// With the AVX-512 kernels, kernels.RoundF16 itself (16 values at a time).
func roundF16(x []float32) {
	if kernels.DirectF16Attention() {
		kernels.RoundF16(x)
		return
	}
	roundF16Go(x)
}

func roundF16Go(x []float32) {
	for i, v := range x {
		b := math.Float32bits(v)
		if a := b & 0x7fffffff; a-0x38800000 < 0x477ff000-0x38800000 {
			x[i] = math.Float32frombits((b + 0xfff + (b>>13)&1) &^ 0x1fff)
		} else {
			x[i] = kernels.F16ToF32(kernels.F32ToF16(v))
		}
	}
}
