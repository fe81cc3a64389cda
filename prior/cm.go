package prior

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/lmgc/lmgc/coder"
)

// CM is lmgc's built-in prior: a small, deterministic context-mixing model
// over bytes, meant for the raw float32 bytes or their hex text.
//
// Each byte is predicted bit by bit (most significant first). For every bit,
// five adaptive counters give a probability from these contexts, where pos is
// the byte's position inside its float (or group) and c0 the bits of the
// byte seen so far:
//
//	t0: pos, c0
//	t1: pos, c0, previous byte
//	t2: pos, c0, byte one period back (the same byte of the previous float)
//	t3: pos, c0, previous byte and byte one period back (hashed)
//	t4: pos, c0, bytes one and two periods back (hashed)
//
// A logistic mixer, with one weight set per (pos, c0), combines them. All
// arithmetic is integer (see logistic.go), so the model is bit-identical on
// every machine. The eight binary predictions are turned into one 256-symbol
// distribution with total 2^30 by splitting the interval of each tree node,
// keeping at least one unit per leaf, so a byte costs one range-coder step.
type CM struct {
	period int // bytes per float (or per group with its separator)
	chunk  int // symbols per serialized chunk; positions restart at each chunk (0: none)
}

const (
	cmVersion   = 1
	cmInputs    = 6       // five counters and a bias
	cmHashBits  = 20      // slots in each hashed table
	cmTotalBits = 30      // Dist total
	cmMaxPeriod = 64      // longest period (history ring is twice that)
	cmPosKeys   = 16      // positions told apart (longer periods share them)
	cmRateLimit = 255     // counter adaptation limit
	cmLR        = 6       // mixer learning rate
	cmWInit     = 1 << 14 // initial mixer weight (0.25)
)

// NewCM returns the context-mixing prior for a stream whose floats (groups)
// are period bytes apart, restarting positions every chunk bytes (0: never).
func NewCM(period, chunk int) (*CM, error) {
	if period < 1 || period > cmMaxPeriod {
		return nil, fmt.Errorf("cm prior: period %d out of range 1..%d", period, cmMaxPeriod)
	}
	if chunk < 0 {
		return nil, fmt.Errorf("cm prior: negative chunk length %d", chunk)
	}
	return &CM{period: period, chunk: chunk}, nil
}

// Name implements Prior.
func (m *CM) Name() string { return "cm" }

// Fingerprint implements Prior.
func (m *CM) Fingerprint() string {
	h := sha256.Sum256([]byte(fmt.Sprintf("lmgc-cm/v%d/period=%d/chunk=%d/hash=%d/limit=%d/lr=%d/w=%d",
		cmVersion, m.period, m.chunk, cmHashBits, cmRateLimit, cmLR, cmWInit)))
	return hex.EncodeToString(h[:])
}

// Symbols implements Prior.
func (m *CM) Symbols() int { return 256 }

// NewBatch implements Prior.
func (m *CM) NewBatch(n int) (Batch, error) {
	return newStateBatch("cm", n, func() windowState { return newCMState(m) })
}

// windowState is the state of one window of a byte prior (cm, fcm): the
// distribution of the next byte once begin has run.
type windowState interface {
	coder.Dist
	begin()
	push(b byte)
	reset()
}

// stateBatch is the Batch of a byte prior whose windows are independent
// states, made on first use.
type stateBatch struct {
	name     string
	newState func() windowState
	states   []windowState
}

func newStateBatch(name string, n int, newState func() windowState) (*stateBatch, error) {
	if n < 1 {
		return nil, fmt.Errorf("%s prior: batch of %d windows", name, n)
	}
	return &stateBatch{name: name, newState: newState, states: make([]windowState, n)}, nil
}

func (b *stateBatch) state(w int) (windowState, error) {
	if w < 0 || w >= len(b.states) {
		return nil, fmt.Errorf("%s prior: window %d outside batch of %d", b.name, w, len(b.states))
	}
	s := b.states[w]
	if s == nil {
		s = b.newState()
		b.states[w] = s
	}
	return s, nil
}

func (b *stateBatch) Predict(windows []int, out []coder.Dist) error {
	for i, w := range windows {
		s, err := b.state(w)
		if err != nil {
			return err
		}
		s.begin()
		out[i] = s
	}
	return nil
}

func (b *stateBatch) Push(windows []int, syms []int) error {
	for i, w := range windows {
		s, err := b.state(w)
		if err != nil {
			return err
		}
		if syms[i] < 0 || syms[i] > 255 {
			return fmt.Errorf("%s prior: symbol %d is not a byte", b.name, syms[i])
		}
		s.push(byte(syms[i]))
	}
	return nil
}

func (b *stateBatch) Reset(w int) {
	if w >= 0 && w < len(b.states) && b.states[w] != nil {
		b.states[w].reset()
	}
}

// counter is an adaptive bit probability: the high 22 bits hold P(1)
// (stored XOR 1/2 so that a zeroed counter means 1/2), the low 10 bits how
// many times it was updated.
type counter uint32

func (c counter) p12() int32 { return int32((uint32(c)>>10)^(1<<21)) >> 10 }

// counterRate[n] is 2/(2n+3) in 16-bit fixed point, the rate of a counter
// updated n times.
var counterRate [1024]int64

func init() {
	for n := range counterRate {
		counterRate[n] = (1 << 17) / int64(2*n+3)
	}
}

func (c *counter) update(bit int) { c.updateLimit(bit, cmRateLimit) }

// updateLimit moves the probability toward bit at the counter's rate; the
// count, and with it the rate's fall, stops at limit (at most 1023).
func (c *counter) updateLimit(bit int, limit uint32) {
	p := int64((uint32(*c) >> 10) ^ (1 << 21))
	n := uint32(*c) & 1023
	target := int64(bit) << 22
	if bit == 1 {
		target--
	}
	p += (target - p) * counterRate[n] >> 16
	if n < limit {
		n++
	}
	*c = counter((uint32(p)^(1<<21))<<10 | n)
}

// node is one binary decision of the current byte, kept from prediction to
// update so the byte's model is evaluated once.
type node struct {
	c0  int32 // node id: 1, then 2..3, ... (leading 1 then the bits so far)
	p   int32 // mixed 12-bit P(bit = 1)
	idx [cmInputs - 1]uint32
	x   [cmInputs]int32
}

type cmState struct {
	m     *CM
	arena *arena // owns the tables' memory
	i     int    // bytes pushed
	pos   int
	hist  [2 * cmMaxPeriod]byte
	t0    []counter
	t1    []counter
	t2    []counter
	t3    []counter
	t4    []counter
	w     []int32
	base  [cmInputs - 1]uint32
	path  [8]node
	depth int // nodes of path valid
}

func newCMState(m *CM) *cmState {
	keys := min(m.period, cmPosKeys)
	n0, n1 := keys*17*16, keys*256*17*16
	a, mem := newArena(n0 + 2*n1 + 2<<cmHashBits)
	s := &cmState{m: m, arena: a, w: make([]int32, keys*8*cmInputs)}
	for _, t := range []struct {
		p *[]counter
		n int
	}{{&s.t0, n0}, {&s.t1, n1}, {&s.t2, n1}, {&s.t3, 1 << cmHashBits}, {&s.t4, 1 << cmHashBits}} {
		*t.p, mem = mem[:t.n:t.n], mem[t.n:]
	}
	s.reset()
	return s
}

func (s *cmState) reset() {
	s.i, s.pos, s.depth = 0, 0, 0
	s.hist = [2 * cmMaxPeriod]byte{}
	for _, t := range [][]counter{s.t0, s.t1, s.t2, s.t3, s.t4} {
		clear(t)
	}
	for i := range s.w {
		s.w[i] = cmWInit
	}
}

func (s *cmState) back(k int) uint32 {
	if s.i < k {
		return 0
	}
	return uint32(s.hist[(s.i-k)%len(s.hist)])
}

func hash3(a, b, c uint32) uint32 {
	h := a*0x9E3779B1 ^ b*0x85EBCA77 ^ c*0xC2B2AE3D
	h ^= h >> 15
	h *= 0x27D4EB2F
	return h ^ h>>13
}

// begin computes the contexts of the next byte.
func (s *cmState) begin() {
	p := s.m.period
	i := s.i
	if s.m.chunk > 0 {
		i %= s.m.chunk
	}
	s.pos = i % p
	if p > cmPosKeys {
		s.pos = s.pos * cmPosKeys / p
	}
	pos := uint32(s.pos)
	prev1, prevP, prev2P := s.back(1), s.back(p), s.back(2*p)
	s.base[0] = pos
	s.base[1] = pos<<8 | prev1
	s.base[2] = pos<<8 | prevP
	s.base[3] = hash3(pos+1, prev1, prevP)
	s.base[4] = hash3(pos+1+cmMaxPeriod, prevP, prev2P)
	s.depth = 0
}

// predict evaluates tree node c0 at depth d (0..7), reusing the path.
func (s *cmState) predict(d int, c0 int32) int32 {
	if d < s.depth && s.path[d].c0 == c0 {
		return s.path[d].p
	}
	n := &s.path[d]
	n.c0 = c0
	// Counters live in buckets of 16, one bucket per context and nibble,
	// so each table costs one cache line per nibble: nb is 0 for the
	// high nibble and 1+hi for the low one, cn the node inside it.
	cn, nb := uint32(c0), uint32(0)
	if d >= 4 {
		k := uint(d - 4)
		nb = 1 + (uint32(c0)>>k)&15
		cn = uint32(c0)&(1<<k-1) | 1<<k
	}
	const buckets = 1 << (cmHashBits - 4)
	n.idx[0] = (s.base[0]*17+nb)<<4 | cn
	n.idx[1] = (s.base[1]*17+nb)<<4 | cn
	n.idx[2] = (s.base[2]*17+nb)<<4 | cn
	n.idx[3] = (hash3(s.base[3], nb, 0)&(buckets-1))<<4 | cn
	n.idx[4] = (hash3(s.base[4], nb, 1)&(buckets-1))<<4 | cn
	n.x[0] = stretch(s.t0[n.idx[0]].p12())
	n.x[1] = stretch(s.t1[n.idx[1]].p12())
	n.x[2] = stretch(s.t2[n.idx[2]].p12())
	n.x[3] = stretch(s.t3[n.idx[3]].p12())
	n.x[4] = stretch(s.t4[n.idx[4]].p12())
	n.x[5] = 256
	w := s.w[(s.pos*8+d)*cmInputs:][:cmInputs]
	var dot int64
	for j := 0; j < cmInputs; j++ {
		dot += int64(n.x[j]) * int64(w[j])
	}
	n.p = squash(int32(dot >> 16))
	s.depth = d + 1
	return n.p
}

// split divides size units at depth d between bit 0 and bit 1, leaving at
// least one unit for every leaf under each child.
func split(size uint32, p1 int32, d int) uint32 {
	minChild := uint32(1) << (7 - d)
	s0 := uint32(uint64(size) * uint64(probScale-p1) >> probBits)
	if s0 < minChild {
		s0 = minChild
	}
	if s0 > size-minChild {
		s0 = size - minChild
	}
	return s0
}

// Total implements coder.Dist.
func (s *cmState) Total() uint32 { return 1 << cmTotalBits }

// Interval implements coder.Dist.
func (s *cmState) Interval(sym int) (cum, freq uint32) { return treeInterval(s, sym) }

// Lookup implements coder.Dist.
func (s *cmState) Lookup(target uint32) (sym int, cum, freq uint32) { return treeLookup(s, target) }

// bitTree is a byte model that predicts the byte bit by bit, most
// significant first: predict gives the 12-bit P(1) of tree node c0 (the
// bits so far after a leading 1) at depth d.
type bitTree interface {
	predict(d int, c0 int32) int32
}

// treeInterval returns the interval of sym in the distribution of total
// 2^cmTotalBits that the tree's binary predictions make.
func treeInterval(t bitTree, sym int) (cum, freq uint32) {
	if sym < 0 || sym > 255 {
		return 0, 0 // not a byte: the encoder refuses a zero frequency
	}
	size := uint32(1) << cmTotalBits
	c0 := int32(1)
	for d := 0; d < 8; d++ {
		s0 := split(size, t.predict(d, c0), d)
		bit := (sym >> (7 - d)) & 1
		if bit == 1 {
			cum += s0
			size -= s0
		} else {
			size = s0
		}
		c0 = c0<<1 | int32(bit)
	}
	return cum, size
}

// treeLookup inverts treeInterval.
func treeLookup(t bitTree, target uint32) (sym int, cum, freq uint32) {
	size := uint32(1) << cmTotalBits
	c0 := int32(1)
	for d := 0; d < 8; d++ {
		s0 := split(size, t.predict(d, c0), d)
		bit := int32(0)
		if target >= cum+s0 {
			bit = 1
			cum += s0
			size -= s0
		} else {
			size = s0
		}
		c0 = c0<<1 | bit
	}
	return int(c0 & 255), cum, size
}

// push updates the model with the coded byte and advances.
func (s *cmState) push(b byte) {
	c0 := int32(1)
	for d := 0; d < 8; d++ {
		s.predict(d, c0)
		n := &s.path[d]
		bit := int(b>>(7-d)) & 1
		s.t0[n.idx[0]].update(bit)
		s.t1[n.idx[1]].update(bit)
		s.t2[n.idx[2]].update(bit)
		s.t3[n.idx[3]].update(bit)
		s.t4[n.idx[4]].update(bit)
		err := (int64(bit<<probBits) - int64(n.p)) * cmLR
		w := s.w[(s.pos*8+d)*cmInputs:][:cmInputs]
		for j := 0; j < cmInputs; j++ {
			w[j] += int32((int64(n.x[j])*err + 1<<15) >> 16)
		}
		c0 = c0<<1 | int32(bit)
	}
	s.hist[s.i%len(s.hist)] = b
	s.i++
	s.depth = 0
}

func init() {
	Register(Info{
		Name:    "cm",
		Summary: "context mixing: smaller output, slower",
		Rank:    1,
		New: func(s Spec) (Prior, error) {
			period, chunk, err := layoutParams(s)
			if err != nil {
				return nil, fmt.Errorf("cm prior: %w", err)
			}
			p, err := NewCM(period, chunk)
			if err != nil {
				return nil, err
			}
			return p, nil
		},
	})
}
