package coder

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// step is one coded symbol: the distribution and the symbol.
type step struct {
	d   Dist
	sym int
}

// encodeSteps encodes steps and returns the stream.
func encodeSteps(t testing.TB, steps []step) []byte {
	t.Helper()
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	for i, s := range steps {
		if err := e.Encode(s.d, s.sym); err != nil {
			t.Fatalf("Encode step %d (symbol %d): %v", i, s.sym, err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return buf.Bytes()
}

// checkDecode decodes stream with the distributions of steps and compares
// the symbols.
func checkDecode(t testing.TB, stream []byte, steps []step) {
	t.Helper()
	d, err := NewDecoder(bytes.NewReader(stream))
	if err != nil {
		t.Fatalf("NewDecoder: %v", err)
	}
	for i, s := range steps {
		sym, err := d.Decode(s.d)
		if err != nil {
			t.Fatalf("Decode step %d: %v", i, err)
		}
		if sym != s.sym {
			t.Fatalf("step %d: decoded symbol %d, want %d", i, sym, s.sym)
		}
	}
}

// idealBits returns -sum log2(freq/total) over steps.
func idealBits(steps []step) float64 {
	var bits float64
	for _, s := range steps {
		_, f := s.d.Interval(s.sym)
		bits -= math.Log2(float64(f) / float64(s.d.Total()))
	}
	return bits
}

// maxLossPerSymbol bounds the cost of truncating r = rng/total: with
// rng >= 2^48 and total <= 2^31 it is log2(1/(1-2^-17)) < 1.2e-5 bits.
const maxLossPerSymbol = 1.2e-5

// checkSize asserts the coder's size bound: with 8*shifts <= C for the
// coded cost C, the stream has at most C/8 + 1 bytes.
func checkSize(t testing.TB, stream []byte, steps []step) {
	t.Helper()
	ideal := idealBits(steps)
	limit := (ideal*(1+1e-9)+maxLossPerSymbol*float64(len(steps)))/8 + 1
	if float64(len(stream)) > limit {
		t.Errorf("%d symbols: %d bytes, ideal %.1f bytes, limit %.1f", len(steps), len(stream), ideal/8, limit)
	}
}

// roundTrip encodes steps, checks the size bound and the reference
// encoder (for short streams), and decodes.
func roundTrip(t testing.TB, steps []step) []byte {
	t.Helper()
	stream := encodeSteps(t, steps)
	checkSize(t, stream, steps)
	if len(steps) <= 3000 {
		want, _ := refEncode(steps)
		if !bytes.Equal(stream, want) {
			t.Fatalf("stream differs from big-integer reference:\n got %x\nwant %x", stream, want)
		}
	}
	checkDecode(t, stream, steps)
	return stream
}

// refEncode is an independent reference encoder: it keeps the interval
// start as an exact big integer, so it needs no carry handling, then
// writes the value with the most trailing zero bytes in the final
// interval. It returns the stream and the longest carry it saw, in bits
// above the window.
func refEncode(steps []step) (stream []byte, maxCarry int) {
	low := new(big.Int)
	rng := uint64(topValue)
	shifts := 0
	add := new(big.Int)
	for _, s := range steps {
		cum, freq := s.d.Interval(s.sym)
		r := rng / uint64(s.d.Total())
		before := new(big.Int).Rsh(low, windowBits)
		low.Add(low, add.SetUint64(r*uint64(cum)))
		after := new(big.Int).Rsh(low, windowBits)
		if c := after.Xor(after, before).BitLen(); c > maxCarry {
			maxCarry = c
		}
		rng = r * uint64(freq)
		for rng < bottomValue {
			rng <<= 8
			low.Lsh(low, 8)
			shifts++
		}
	}
	n := windowBytes + shifts
	hi := new(big.Int).Add(low, add.SetUint64(rng))
	v := new(big.Int)
	for s := 8 * n; s >= 0; s -= 8 {
		// v = ceil(low / 2^s) * 2^s
		v.Sub(v.Lsh(big.NewInt(1), uint(s)), big.NewInt(1))
		v.Add(v, low)
		v.Rsh(v, uint(s))
		v.Lsh(v, uint(s))
		if v.Cmp(hi) < 0 {
			break
		}
	}
	out := v.FillBytes(make([]byte, n))
	return bytes.TrimRight(out, "\x00"), maxCarry
}

// quantize returns frequencies summing to exactly total, each at least 1,
// roughly proportional to w. It is exact integer arithmetic after one
// monotone float64 step, so it is deterministic.
func quantize(w []float64, total uint32) []uint32 {
	n := len(w)
	spare := float64(total) - float64(n)
	var sum float64
	for _, x := range w {
		sum += x
	}
	f := make([]uint32, n)
	var acc float64
	prev := uint32(0)
	for k, x := range w {
		acc += x
		c := uint32(math.Floor(acc / sum * spare))
		if k == n-1 || c > uint32(spare) {
			c = uint32(spare)
		}
		if c < prev {
			c = prev
		}
		f[k] = 1 + c - prev
		prev = c
	}
	return f
}

// zipfWeights returns p_k proportional to 1/(k+1)^s.
func zipfWeights(n int, s float64) []float64 {
	w := make([]float64, n)
	for k := range w {
		w[k] = math.Pow(float64(k+1), -s)
	}
	return w
}

// randomWeights returns n random positive weights with a heavy tail.
func randomWeights(rng *rand.Rand, n int) []float64 {
	w := make([]float64, n)
	for k := range w {
		w[k] = math.Exp(8 * rng.Float64())
	}
	return w
}

// mustFreqs builds a Freqs or fails the test.
func mustFreqs(t testing.TB, f []uint32) *Freqs {
	t.Helper()
	d, err := NewFreqs(f)
	if err != nil {
		t.Fatalf("NewFreqs: %v", err)
	}
	return d
}

// sample draws n symbols from d.
func sample(rng *rand.Rand, d Dist, n int) []step {
	steps := make([]step, n)
	for i := range steps {
		sym, _, _ := d.Lookup(rng.Uint32N(d.Total()))
		steps[i] = step{d, sym}
	}
	return steps
}
