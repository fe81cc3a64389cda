// Package coder implements a range coder (an arithmetic coder over integer
// frequency tables) with a 64-bit state, so that frequency totals up to
// MaxTotal (2^31) code with negligible overhead.
package coder

// MaxTotalBits is the largest supported log2 of a distribution's total.
const MaxTotalBits = 31

// MaxTotal is the largest total frequency a Dist may report.
const MaxTotal = 1 << MaxTotalBits

// Dist is a discrete distribution over the symbols 0..n-1 given as integer
// frequencies. Every symbol that can occur must have a nonzero frequency.
// The cumulative frequency of symbol s is the sum of the frequencies of the
// symbols before it.
type Dist interface {
	// Total returns the sum of all frequencies, 1 <= Total <= MaxTotal.
	Total() uint32
	// Interval returns the cumulative frequency and the frequency of sym.
	Interval(sym int) (cum, freq uint32)
	// Lookup returns the symbol whose interval [cum, cum+freq) holds target,
	// for 0 <= target < Total().
	Lookup(target uint32) (sym int, cum, freq uint32)
}
