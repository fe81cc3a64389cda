package prior

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/bits"

	"github.com/lmgc/lmgc/coder"
)

// Order2 is lmgc's default prior: fast adaptive byte-frequency tables keyed
// by the byte's position inside its float (or text group), choosing per
// position among three contexts:
//
//	0: position only
//	1: position and the previous byte
//	2: position and the byte one period back (the same byte of the previous float)
//
// All three tables learn from every byte. (A fourth context, both bytes
// hashed together, was never the best on our gradients and cost a third
// of the time: it was removed.) For each position the model codes
// with the context whose recent code length (an exponentially decayed sum of
// -log2 p, in fixed point) is smallest, so the uniform mantissa bytes of a
// float end up coded with one table and the exponent byte with the one that
// predicts it. Everything is integer arithmetic: the distributions are
// bit-identical on every machine.
type Order2 struct {
	period int
	chunk  int
}

const (
	o2Version   = 3
	o2Ctx       = 3
	o2Inc       = 4     // count added per occurrence
	o2Limit     = 65000 // a table is halved when its total exceeds this
	o2Decay     = 5     // cost averages decay by 1/32 per byte
	o2MaxPeriod = 64
	o2PosKeys   = 16 // positions told apart (longer periods share them)
)

// NewOrder2 returns the order-2 prior for a stream whose floats (groups)
// are period bytes apart, restarting positions every chunk bytes (0: never).
func NewOrder2(period, chunk int) (*Order2, error) {
	if period < 1 || period > o2MaxPeriod {
		return nil, fmt.Errorf("order2 prior: period %d out of range 1..%d", period, o2MaxPeriod)
	}
	if chunk < 0 {
		return nil, fmt.Errorf("order2 prior: negative chunk length %d", chunk)
	}
	return &Order2{period: period, chunk: chunk}, nil
}

// Name implements Prior.
func (m *Order2) Name() string { return "order2" }

// Fingerprint implements Prior.
func (m *Order2) Fingerprint() string {
	h := sha256.Sum256([]byte(fmt.Sprintf("lmgc-order2/v%d/period=%d/chunk=%d/contexts=%d/inc=%d/limit=%d/decay=%d",
		o2Version, m.period, m.chunk, o2Ctx, o2Inc, o2Limit, o2Decay)))
	return hex.EncodeToString(h[:])
}

// Symbols implements Prior.
func (m *Order2) Symbols() int { return 256 }

// NewBatch implements Prior.
func (m *Order2) NewBatch(n int) (Batch, error) {
	if n < 1 {
		return nil, fmt.Errorf("order2 prior: batch of %d windows", n)
	}
	return &o2Batch{m: m, states: make([]*o2State, n)}, nil
}

type o2Batch struct {
	m      *Order2
	states []*o2State
}

func (b *o2Batch) state(w int) (*o2State, error) {
	if w < 0 || w >= len(b.states) {
		return nil, fmt.Errorf("order2 prior: window %d outside batch of %d", w, len(b.states))
	}
	if b.states[w] == nil {
		b.states[w] = newO2State(b.m)
	}
	return b.states[w], nil
}

func (b *o2Batch) Predict(windows []int, out []coder.Dist) error {
	for i, w := range windows {
		s, err := b.state(w)
		if err != nil {
			return err
		}
		out[i] = s.predict()
	}
	return nil
}

func (b *o2Batch) Push(windows []int, syms []int) error {
	for i, w := range windows {
		s, err := b.state(w)
		if err != nil {
			return err
		}
		if syms[i] < 0 || syms[i] > 255 {
			return fmt.Errorf("order2 prior: symbol %d is not a byte", syms[i])
		}
		s.push(byte(syms[i]))
	}
	return nil
}

func (b *o2Batch) Reset(w int) {
	if w >= 0 && w < len(b.states) && b.states[w] != nil {
		b.states[w].reset()
	}
}

// table is order2's frequency table: 16-bit counts starting at 1, grown
// by o2Inc and halved past o2Limit.
type table = freqTable[uint16]

type o2State struct {
	m      *Order2
	i      int
	pos    int
	hist   [2 * o2MaxPeriod]byte
	keys   int
	tabs   [o2Ctx][]table
	cost   [][o2Ctx]uint32 // per position: decayed code length of each context
	cur    [o2Ctx]*table   // the current byte's table in each context
	chosen *table
}

func newO2State(m *Order2) *o2State {
	keys := min(m.period, o2PosKeys)
	s := &o2State{m: m, keys: keys, cost: make([][o2Ctx]uint32, keys)}
	s.tabs[0] = make([]table, keys)
	s.tabs[1] = make([]table, keys*256)
	s.tabs[2] = make([]table, keys*256)
	s.reset()
	return s
}

func (s *o2State) reset() {
	s.i, s.pos = 0, 0
	s.hist = [2 * o2MaxPeriod]byte{}
	for _, ts := range s.tabs {
		for i := range ts {
			ts[i].init(1)
		}
	}
	clear(s.cost)
}

func (s *o2State) back(k int) int {
	if s.i < k {
		return 0
	}
	return int(s.hist[(s.i-k)%len(s.hist)])
}

func (s *o2State) predict() coder.Dist {
	p := s.m.period
	i := s.i
	if s.m.chunk > 0 {
		i %= s.m.chunk
	}
	pos := i % p
	if p > o2PosKeys {
		pos = pos * o2PosKeys / p
	}
	s.pos = pos
	prev1, prevP := s.back(1), s.back(p)
	s.cur[0] = &s.tabs[0][pos]
	s.cur[1] = &s.tabs[1][pos<<8|prev1]
	s.cur[2] = &s.tabs[2][pos<<8|prevP]
	best := 0
	c := &s.cost[pos]
	for k := 1; k < o2Ctx; k++ {
		if c[k] < c[best] {
			best = k
		}
	}
	s.chosen = s.cur[best]
	return s.chosen
}

func (s *o2State) push(b byte) {
	c := &s.cost[s.pos]
	for k, t := range s.cur {
		// cost in 1/64 bits: log2(total) - log2(freq)
		bits := log2Fixed(t.total) - log2Fixed(uint32(t.count[b]))
		c[k] += uint32(bits) - c[k]>>o2Decay
		t.add(b, o2Inc, o2Limit)
	}
	s.hist[s.i%len(s.hist)] = b
	s.i++
}

// log2Fixed returns log2(x) in 1/64 bits for 1 <= x < 2^32: the position
// of the top bit plus a 256-entry table (small enough to stay in the L1
// cache) of log2 over the next eight bits, built with integer arithmetic
// only.
func log2Fixed(x uint32) int32 {
	e := 31 - bits.LeadingZeros32(x)
	var m uint32
	if e >= 8 {
		m = x >> (e - 8) & 255
	} else {
		m = x << (8 - e) & 255
	}
	return int32(e<<6) + log2Frac[m]
}

// log2Frac[m] is log2(1 + m/256) in 1/64 bits, rounded down.
var log2Frac = func() (t [256]int32) {
	for m := range t {
		// 6 fraction bits of log2(1+m/256) by repeated squaring of the
		// mantissa in 2.30 fixed point.
		v := uint64(256+m) << 22 // (1 + m/256) in 2.30
		f := int32(0)
		for b := 0; b < 6; b++ {
			v = (v * v) >> 30
			f <<= 1
			if v >= 2<<30 {
				v >>= 1
				f |= 1
			}
		}
		t[m] = f
	}
	return t
}()

func init() {
	Register(Info{
		Name:    "order2",
		Summary: "fast adaptive order-2 byte model (the default)",
		New: func(s Spec) (Prior, error) {
			period, chunk, err := layoutParams(s)
			if err != nil {
				return nil, fmt.Errorf("order2 prior: %w", err)
			}
			p, err := NewOrder2(period, chunk)
			if err != nil {
				return nil, err
			}
			return p, nil
		},
	})
}
