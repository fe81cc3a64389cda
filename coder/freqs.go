package coder

import (
	"errors"
	"fmt"
)

// ErrFreqs is returned (wrapped) by NewFreqs and Freqs.Set for a table that
// cannot be a Dist: no symbols, a zero frequency, or a total above MaxTotal.
var ErrFreqs = errors.New("coder: invalid frequency table")

// Freqs is a Dist given by a table of symbol frequencies. Interval takes
// constant time and Lookup a binary search. The zero Freqs has no symbols
// and must be Set before use.
type Freqs struct {
	cum []uint32 // cum[s] = sum of the frequencies of symbols < s; len n+1
}

// NewFreqs returns the distribution with the given frequencies, which must
// all be nonzero and sum to at most MaxTotal.
func NewFreqs(freqs []uint32) (*Freqs, error) {
	f := new(Freqs)
	if err := f.Set(freqs); err != nil {
		return nil, err
	}
	return f, nil
}

// Set replaces the frequencies of f, reusing its memory where it can. On
// error f is left unchanged.
func (f *Freqs) Set(freqs []uint32) error {
	if len(freqs) == 0 {
		return fmt.Errorf("%w: no symbols", ErrFreqs)
	}
	var total uint64
	for s, x := range freqs {
		if x == 0 {
			return fmt.Errorf("%w: symbol %d has frequency 0", ErrFreqs, s)
		}
		total += uint64(x)
		if total > maxTotal64 {
			return fmt.Errorf("%w: frequencies of symbols 0..%d sum to more than %d", ErrFreqs, s, uint64(MaxTotal))
		}
	}
	n := len(freqs)
	if cap(f.cum) < n+1 {
		f.cum = make([]uint32, n+1)
	}
	f.cum = f.cum[:n+1]
	var c uint32
	for s, x := range freqs {
		f.cum[s] = c
		c += x
	}
	f.cum[n] = c
	return nil
}

// Len returns the number of symbols.
func (f *Freqs) Len() int {
	if len(f.cum) == 0 {
		return 0
	}
	return len(f.cum) - 1
}

// Total returns the sum of the frequencies.
func (f *Freqs) Total() uint32 {
	if len(f.cum) == 0 {
		return 0
	}
	return f.cum[len(f.cum)-1]
}

// Interval returns the cumulative frequency and the frequency of sym, or
// (0, 0) if sym is not a symbol of f.
func (f *Freqs) Interval(sym int) (cum, freq uint32) {
	if uint(sym) >= uint(f.Len()) {
		return 0, 0
	}
	c := f.cum[sym : sym+2 : sym+2]
	return c[0], c[1] - c[0]
}

// Lookup returns the symbol whose interval holds target, which must be
// below Total. A target at or above Total gives the last symbol.
func (f *Freqs) Lookup(target uint32) (sym int, cum, freq uint32) {
	if len(f.cum) < 2 {
		return 0, 0, 0
	}
	// The answer is the last s with cum[s] <= target. Keep it in
	// [base, base+n), halving n each step.
	starts := f.cum[:len(f.cum)-1]
	base, n := 0, len(starts)
	for n > 1 {
		half := n >> 1
		if starts[base+half] <= target {
			base += half
		}
		n -= half
	}
	return base, f.cum[base], f.cum[base+1] - f.cum[base]
}

// Uniform is the distribution that gives each of the symbols
// 0..Uniform-1 frequency 1. Its value must be in [1, MaxTotal].
type Uniform uint32

// Total returns u.
func (u Uniform) Total() uint32 { return uint32(u) }

// Interval returns (sym, 1), or (0, 0) if sym is not below u.
func (u Uniform) Interval(sym int) (cum, freq uint32) {
	if sym < 0 || uint64(sym) >= uint64(u) {
		return 0, 0
	}
	return uint32(sym), 1
}

// Lookup returns (target, target, 1).
func (u Uniform) Lookup(target uint32) (sym int, cum, freq uint32) {
	return int(target), target, 1
}
