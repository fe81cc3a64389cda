package prior

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// FCM is a context-mixing prior built for IEEE floats (float32, bfloat16
// and float16), coded with the sign/exponent byte first. It has two levels:
// "fcm" (fast, the default of the command line) and "fcm2" (strong).
//
// The codec hands it the raw floats with each float's bytes in big-endian
// order (Info.SignFirst), so a float32 is coded as
//
//	B0 = sign, exponent bits 7..1
//	B1 = exponent bit 0, mantissa bits 22..16
//	B2, B3 = the low mantissa bytes
//
// and a bfloat16 as B0, B1 alone (float16: sign, exponent, 2 mantissa bits,
// then 8 mantissa bits). Each byte is coded bit by bit, most significant
// first; every bit's probability comes from adaptive counters (those of cm)
// in contexts built from the fields of the previous floats of the window:
//
//	e1, e2, e3   the "head" (top 9 bits: sign and 8-bit exponent for
//	             float32/bfloat16) of the previous three floats
//	fast, slow   running means of the previous exponents (rates 1/4 and
//	             1/32, fixed point)
//	zrun         the run of exact zeros just before (dead units), capped
//	B0, B1       the bytes of the current float already coded
//
// The low mantissa bytes (B2, B3) are nearly uniform: each is coded in one
// step from an adaptive order-0 frequency table (freqTable), not bit by
// bit. Where a byte
// has more than one input the counters' stretched probabilities are mixed
// by logistic mixers: at the fast level one mixer, its weight set chosen
// by (byte position, bit), at the strong level two first-layer mixers
// (weights chosen by the previous exponent and by the tree node) whose
// outputs a second-layer mixer combines, followed by an adaptive
// probability map (SSE) on (byte position, tree node, previous exponent).
// All arithmetic is integer (logistic.go), so decoding is bit-identical on
// every machine. The full definition is in docs/PRIORS.md.
type FCM struct {
	width  int  // bytes per float: 2 or 4
	strong bool // the strong level (fcm2)
}

const (
	fcmVersion   = 3
	fcmHashBits  = 20      // counters in each hashed table (2^20: 4096 contexts of 256 nodes)
	fcmMaxIn     = 8       // counters mixed for one bit, at most (a bias input comes on top)
	fcmLimitD    = 255     // direct contexts of the head bytes
	fcmLimitH    = 255     // hashed contexts
	fcmLimitFast = 20      // a fast-adapting copy of the previous-exponent context
	fcmLR        = 48      // first-layer mixers' learning rate
	fcmLR2       = 16      // second layer's (fcm2)
	fcmWInit     = 1 << 14 // initial first-layer weight (0.25)
	fcmAPMRate   = 7       // APM update shift (fcm2)
	fcmZrunMax   = 15
	fcmLowInit   = 8       // the low mantissa bytes' frequency tables: initial count,
	fcmLowInc    = 8       // increment,
	fcmLowLimit  = 1 << 20 // and the total past which counts are halved
	fcmNameFast  = "fcm"
	fcmNameStr   = "fcm2"
)

// NewFCM returns the float prior for floats of width bytes (2 or 4), at
// the strong level if strong.
func NewFCM(width int, strong bool) (*FCM, error) {
	if width != 2 && width != 4 {
		return nil, fmt.Errorf("fcm prior: floats of %d bytes (2 or 4 only)", width)
	}
	return &FCM{width: width, strong: strong}, nil
}

// Name implements Prior.
func (m *FCM) Name() string {
	if m.strong {
		return fcmNameStr
	}
	return fcmNameFast
}

// Fingerprint implements Prior.
func (m *FCM) Fingerprint() string {
	h := sha256.Sum256([]byte(fmt.Sprintf("lmgc-fcm/v%d/width=%d/strong=%v/hash=%d/limits=%d,%d,%d/lr=%d,%d/w=%d/apm=%d/zrun=%d/low=%d,%d,%d",
		fcmVersion, m.width, m.strong, fcmHashBits, fcmLimitD, fcmLimitH, fcmLimitFast, fcmLR, fcmLR2, fcmWInit, fcmAPMRate, fcmZrunMax,
		fcmLowInit, fcmLowInc, fcmLowLimit)))
	return hex.EncodeToString(h[:])
}

// Symbols implements Prior.
func (m *FCM) Symbols() int { return 256 }

// Params implements Parameterized: the layout the prior was built for.
func (m *FCM) Params() map[string]any {
	return map[string]any{"period": m.width, "chunk": 0, "order": "sign-first"}
}

// NewBatch implements Prior.
func (m *FCM) NewBatch(n int) (Batch, error) {
	return newStateBatch(m.Name(), n, func() windowState { return newFCMState(m) })
}

// fcmInput is one context of a byte: a table and the start of the 256
// counters (one per tree node) of the context's value.
type fcmInput struct {
	t     []counter
	base  uint32
	limit uint32
}

// fcmNode is one binary decision of the current byte, kept from prediction
// to update so the byte's model is evaluated once.
type fcmNode struct {
	c0  int32
	p   int32 // final 12-bit P(1)
	pm  int32 // mixer output before the APM
	p1  [2]int32
	x   [fcmMaxIn + 1]int32
	x2  [2]int32
	apm int // APM slot (strong)
	aw  int32
}

type fcmState struct {
	m      *FCM
	arena  *arena
	i      int       // bytes pushed
	j      int       // byte position inside the float
	cur    uint32    // bytes of the current float so far
	h      [3]uint32 // heads of the previous three floats, latest first
	prev   uint32    // the previous float's word
	nf     int       // floats completed
	zrun   int
	fast   int32 // running exponent means, 4 fractional bits
	slow   int32
	direct []counter // per position: order 0 (256) and B0/e1 (512*256)
	hashed [3][]counter
	in     [fcmMaxIn]fcmInput
	nin    int
	w1     []int32 // first-layer weights
	w2     []int32 // second-layer weights (strong)
	apm    []uint16
	sel    [2]int // weight sets of the two first-layer mixers, without the node
	path   [8]fcmNode
	depth  int
	low    [4]freqTable[uint32] // bytes B2 and B3 of a float32, for exponent 0 (zeros, subnormals) and the rest
	lowK   int                  // the table of the current byte
}

const (
	fcmDirectPer = 256 + 512*256 // counters per byte position in direct
	fcmAPMCtx    = 4 * 256 * 32  // (position, node, exponent mod 32) APM contexts
	fcmNodeSets  = 4 * 256       // weight sets chosen by (position, node)
)

func newFCMState(m *FCM) *fcmState {
	nd := 4 * fcmDirectPer
	a, mem := newArena(nd + 3<<fcmHashBits)
	s := &fcmState{m: m, arena: a}
	s.direct, mem = mem[:nd:nd], mem[nd:]
	for k := range s.hashed {
		s.hashed[k], mem = mem[:1<<fcmHashBits:1<<fcmHashBits], mem[1<<fcmHashBits:]
	}
	// Weight sets: mixer 0 by (position, e1 byte), mixer 1 by (position,
	// node); both with the bit depth folded into the node id.
	s.w1 = make([]int32, (fcmNodeSets+4*256*8)*(fcmMaxIn+1))
	if m.strong {
		s.w2 = make([]int32, 4*256*2)
		s.apm = make([]uint16, fcmAPMCtx*33)
	}
	s.reset()
	return s
}

func (s *fcmState) reset() {
	s.i, s.j, s.cur, s.nf, s.zrun, s.depth = 0, 0, 0, 0, 0, 0
	s.h, s.prev = [3]uint32{}, 0
	s.fast, s.slow = 0, 0
	clear(s.direct)
	for k := range s.low {
		s.low[k].init(fcmLowInit)
	}
	for _, t := range s.hashed {
		clear(t)
	}
	for i := range s.w1 {
		s.w1[i] = fcmWInit
	}
	for i := range s.w2 {
		s.w2[i] = 1 << 15
	}
	for c := 0; c < len(s.apm)/33; c++ {
		for k := 0; k < 33; k++ {
			s.apm[c*33+k] = uint16(squash(int32((k-16)*128)) * 16)
		}
	}
}

// head returns the top 9 bits of a float word (w is the float's bytes in
// coding order, big-endian, in the low width*8 bits).
func (s *fcmState) head(w uint32) uint32 { return w >> (uint(s.m.width)*8 - 9) }

// slot returns the first counter of a hashed context's 256 in table k.
func fcmSlot(h uint32) uint32 {
	return (h & (1<<(fcmHashBits-8) - 1)) << 8
}

// begin computes the contexts of the next byte.
func (s *fcmState) begin() {
	s.depth = 0
	j := s.j
	e1, e2, e3 := s.h[0], s.h[1], s.h[2]
	ex1 := e1 & 255
	zr := uint32(min(s.zrun, fcmZrunMax))
	fq, sq := uint32(s.fast>>3), uint32(s.slow>>3) // half-exponent steps
	d := s.direct[j*fcmDirectPer:]
	lim := uint32(fcmLimitD)
	n := 0
	add := func(t []counter, base, limit uint32) {
		s.in[n] = fcmInput{t: t, base: base, limit: limit}
		n++
	}
	b0 := s.cur >> (8 * uint(j-1)) // valid for j >= 1: B0
	switch {
	case j == 0:
		add(d, 256+e1<<8, lim)
		add(s.hashed[0], fcmSlot(hash3(1, e1, e2)), fcmLimitH)
		add(s.hashed[1], fcmSlot(hash3(2, fq<<8|sq, zr)), fcmLimitH)
		if s.m.strong {
			add(d, 0, lim)
			add(s.direct[2*fcmDirectPer:], 256+e1<<8, fcmLimitFast)
			add(s.hashed[2], fcmSlot(hash3(3, e1<<9|e2, e3<<4|zr)), fcmLimitH)
			add(s.hashed[0], fcmSlot(hash3(4, e1, fq)), fcmLimitH)
			add(s.hashed[1], fcmSlot(hash3(5, e1>>8|e2>>8<<1|e3>>8<<2, ex1<<8|sq)), fcmLimitH)
		}
	case j == 1:
		add(d, 256+b0<<8, lim)
		if s.m.strong {
			add(s.hashed[0], fcmSlot(hash3(6, b0, ex1)), fcmLimitH)
			add(d, 0, lim)
			add(s.hashed[1], fcmSlot(hash3(7, b0, fq)), fcmLimitH)
			add(s.hashed[2], fcmSlot(hash3(8, b0, s.prev>>(8*uint(s.m.width)-16)&0x7f)), fcmLimitH) // previous high mantissa bits
		}
	default:
		// the low mantissa bytes: a frequency table (freqTable), no bits,
		// one for floats with exponent 0 (zeros, subnormals), one for the rest
		s.lowK = 2 * (j - 2)
		if s.cur>>(8*uint(j)-9)&255 == 0 {
			s.lowK++
		}
	}
	s.nin = n
	s.sel[0] = fcmNodeSets + (j*256+int(ex1))*8
	s.sel[1] = j * 256
}

// predict evaluates tree node c0 at depth d (0..7), reusing the path.
func (s *fcmState) predict(d int, c0 int32) int32 {
	if d < s.depth && s.path[d].c0 == c0 {
		return s.path[d].p
	}
	nd := &s.path[d]
	nd.c0 = c0
	n := s.nin
	for k := 0; k < n; k++ {
		in := &s.in[k]
		nd.x[k] = stretch(in.t[in.base+uint32(c0)].p12())
	}
	if n == 1 {
		nd.p, nd.pm = squash(nd.x[0]), 0
		s.depth = d + 1
		return nd.p
	}
	nd.x[n] = 256
	if !s.m.strong {
		nd.pm = s.mix(s.w1[(s.sel[1]+int(c0))*(fcmMaxIn+1):][:n+1], nd.x[:n+1])
		nd.p = nd.pm
		s.depth = d + 1
		return nd.p
	}
	for k := 0; k < 2; k++ {
		nd.p1[k] = s.mix(s.mixWeights(k, c0, d, n), nd.x[:n+1])
		nd.x2[k] = stretch(nd.p1[k])
	}
	w2 := s.w2[(s.j*256+int(c0))*2:][:2]
	dot := int64(nd.x2[0])*int64(w2[0]) + int64(nd.x2[1])*int64(w2[1])
	nd.pm = squash(int32(dot >> 16))
	// APM: 33 bins over the stretched probability, interpolated.
	st := stretch(nd.pm) + 2048 // 1..4095
	ctx := (s.j*256+int(c0))*32 + int(s.h[0]&31)
	nd.apm = ctx*33 + int(st>>7)
	nd.aw = st & 127
	a := s.apm[nd.apm:]
	pa := (int32(a[0])*(128-nd.aw) + int32(a[1])*nd.aw) >> 11 // 16-bit to 12-bit
	p := (nd.pm + pa + 1) >> 1
	nd.p = min(max(p, 1), probScale-1)
	s.depth = d + 1
	return nd.p
}

// mixWeights returns the weights of first-layer mixer k for node c0 at
// depth d: mixer 0 is chosen by (position, previous exponent, depth),
// mixer 1 by (position, node).
func (s *fcmState) mixWeights(k int, c0 int32, d, n int) []int32 {
	set := s.sel[1] + int(c0)
	if k == 0 {
		set = s.sel[0] + d
	}
	return s.w1[set*(fcmMaxIn+1):][:n+1]
}

func (s *fcmState) mix(w, x []int32) int32 {
	var dot int64
	for j := range x {
		dot += int64(x[j]) * int64(w[j])
	}
	return squash(int32(dot >> 16))
}

func train(w, x []int32, err int64) {
	for j := range x {
		w[j] += int32((int64(x[j])*err + 1<<15) >> 16)
	}
}

// Total implements coder.Dist.
func (s *fcmState) Total() uint32 {
	if s.j >= 2 {
		return s.low[s.lowK].total
	}
	return 1 << cmTotalBits
}

// Interval implements coder.Dist.
func (s *fcmState) Interval(sym int) (cum, freq uint32) {
	if s.j >= 2 && sym >= 0 && sym <= 255 {
		return s.low[s.lowK].Interval(sym)
	}
	return treeInterval(s, sym)
}

// Lookup implements coder.Dist.
func (s *fcmState) Lookup(target uint32) (sym int, cum, freq uint32) {
	if s.j >= 2 {
		return s.low[s.lowK].Lookup(target)
	}
	return treeLookup(s, target)
}

// push updates the model with the coded byte and advances.
func (s *fcmState) push(b byte) {
	c0 := int32(1)
	n := s.nin
	if s.j >= 2 {
		s.low[s.lowK].add(b, fcmLowInc, fcmLowLimit)
		n = -1 // no bits
	}
	for d := 0; d < 8 && n > 0; d++ {
		s.predict(d, c0)
		nd := &s.path[d]
		bit := int(b>>(7-d)) & 1
		for k := 0; k < n; k++ {
			in := &s.in[k]
			in.t[in.base+uint32(c0)].updateLimit(bit, in.limit)
		}
		if n > 1 {
			if !s.m.strong {
				err := (int64(bit<<probBits) - int64(nd.pm)) * fcmLR
				train(s.w1[(s.sel[1]+int(c0))*(fcmMaxIn+1):][:n+1], nd.x[:n+1], err)
			} else {
				for k := 0; k < 2; k++ {
					err := (int64(bit<<probBits) - int64(nd.p1[k])) * fcmLR
					train(s.mixWeights(k, c0, d, n), nd.x[:n+1], err)
				}
				err := (int64(bit<<probBits) - int64(nd.pm)) * fcmLR2
				train(s.w2[(s.j*256+int(c0))*2:][:2], nd.x2[:], err)
				target := int32(bit) << 16
				if bit == 1 {
					target--
				}
				a := s.apm[nd.apm:]
				if nd.aw < 64 {
					a[0] = uint16(int32(a[0]) + (target-int32(a[0]))>>fcmAPMRate)
				} else {
					a[1] = uint16(int32(a[1]) + (target-int32(a[1]))>>fcmAPMRate)
				}
			}
		}
		c0 = c0<<1 | int32(bit)
	}
	s.cur = s.cur<<8 | uint32(b)
	s.i++
	s.j++
	if s.j == s.m.width {
		s.endFloat()
	}
	s.depth = 0
}

// endFloat moves the completed float into the history.
func (s *fcmState) endFloat() {
	w := s.cur
	hd := s.head(w)
	s.h[2], s.h[1], s.h[0] = s.h[1], s.h[0], hd
	s.prev = w
	if w<<1 == 0 || (s.m.width == 2 && w&0x7fff == 0) {
		s.zrun++
	} else {
		s.zrun = 0
	}
	e := int32(hd&255) << 4
	s.fast += (e - s.fast) >> 2
	s.slow += (e - s.slow) >> 5
	s.nf++
	s.cur, s.j = 0, 0
}

func init() {
	for _, strong := range []bool{false, true} {
		name, summary, rank := fcmNameFast, "float context mixing: sign/exponent first, fast", 2
		if strong {
			name, summary, rank = fcmNameStr, "float context mixing, two-layer mixer and SSE: smallest output without a model", 3
		}
		Register(Info{
			Name:      name,
			Summary:   summary,
			Rank:      rank,
			SignFirst: true,
			Float16:   true,
			New: func(sp Spec) (Prior, error) {
				period, chunk, err := layoutParams(sp)
				if err != nil {
					return nil, fmt.Errorf("%s prior: %w", name, err)
				}
				if chunk != 0 {
					return nil, fmt.Errorf("%s prior: %w: it codes raw floats, not text", name, ErrParams)
				}
				if sp.Decoding {
					if o, _ := sp.Params["order"].(string); o != "sign-first" {
						return nil, fmt.Errorf("%s prior: %w: byte order %q", name, ErrParams, o)
					}
				} else if (sp.Format != "" && sp.Format != "raw") || !sp.SignFirst {
					return nil, fmt.Errorf("%s prior codes raw floats with the sign/exponent byte first (format %q, sign first %v)", name, sp.Format, sp.SignFirst)
				}
				return NewFCM(period, strong)
			},
		})
	}
}
