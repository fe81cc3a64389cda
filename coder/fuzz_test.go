package coder

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzTable derives a frequency table from data: data[0] picks a scale
// (and, with its top bit, a huge first symbol that makes the table
// extremely skewed with a total of MaxTotal), data[1] the number of
// symbols, and the bytes after them the frequencies. It returns the table
// and the bytes it did not use.
func fuzzTable(data []byte) (*Freqs, []byte) {
	shift := data[0] % 15
	huge := data[0]&0x80 != 0
	n := 1 + int(data[1])
	data = data[2:]
	freqs := make([]uint32, n)
	var total uint32
	for i := range freqs {
		var b byte = 0x5A
		if len(data) > 0 {
			b, data = data[0], data[1:]
		}
		freqs[i] = 1 + uint32(b)<<shift // below 2^22, so total < 2^30
		total += freqs[i]
	}
	if huge {
		freqs[0] += MaxTotal - total
	}
	f, err := NewFreqs(freqs)
	if err != nil {
		panic(err) // fuzzTable only builds valid tables
	}
	return f, data
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0, 1, 1, 1, 0, 1, 0, 0, 1})
	f.Add([]byte{0x81, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0})
	f.Add([]byte{0x8E, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 200, 100, 0, 255})
	f.Add(bytes.Repeat([]byte{0xFF}, 300))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		d, rest := fuzzTable(data)
		// Each remaining byte is a symbol; a byte >= 0xF0 also codes a
		// symbol of Uniform(MaxTotal) to mix totals.
		steps := make([]step, 0, len(rest))
		for _, b := range rest {
			steps = append(steps, step{d, int(b) % d.Len()})
			if b >= 0xF0 {
				steps = append(steps, step{Uniform(MaxTotal), int(b) << 23})
			}
		}
		roundTrip(t, steps)
	})
}

// FuzzDecode decodes arbitrary input: it must never panic, and every
// symbol it returns must belong to the distribution.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{3, 7}, []byte{})
	f.Add([]byte{1, 1, 1, 255}, []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Add([]byte{14, 0, 9}, []byte{0x80, 0, 0, 0, 0, 0, 0, 0x01})
	f.Fuzz(func(t *testing.T, table, input []byte) {
		if len(table) < 2 {
			return
		}
		d, _ := fuzzTable(table)
		dec, err := NewDecoder(bytes.NewReader(input))
		if err != nil {
			t.Fatal(err)
		}
		for range 2*len(input) + 16 {
			sym, err := dec.Decode(d)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			if sym < 0 || sym >= d.Len() {
				t.Fatalf("decoded symbol %d of a %d-symbol table", sym, d.Len())
			}
		}
	})
}
