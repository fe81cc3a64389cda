package coder

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestRoundTripRandomTables(t *testing.T) {
	tests := []struct {
		n         int
		totalBits int
	}{
		{2, 24}, {2, 31},
		{16, 24}, {16, 31},
		{256, 24}, {256, 31},
		{32000, 24}, {32000, 31},
		{151936, 24}, {151936, 31},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("n=%d/total=2^%d", tc.n, tc.totalBits), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.totalBits)))
			f := quantize(randomWeights(rng, tc.n), 1<<tc.totalBits)
			d := mustFreqs(t, f)
			if d.Total() != 1<<tc.totalBits || d.Len() != tc.n {
				t.Fatalf("table has %d symbols, total %d", d.Len(), d.Total())
			}
			// Symbols drawn from the table, then uniformly drawn symbols,
			// which are mostly rare ones for the large tables, and the
			// first and last symbols.
			steps := sample(rng, d, 5000)
			for range 2000 {
				steps = append(steps, step{d, rng.IntN(tc.n)})
			}
			steps = append(steps, step{d, 0}, step{d, tc.n - 1}, step{d, tc.n - 1}, step{d, 0})
			roundTrip(t, steps)
			roundTrip(t, steps[:1000]) // also compared to the reference
		})
	}
}

func TestRoundTripMixedDists(t *testing.T) {
	// Every step uses a different distribution, as with a language model.
	rng := rand.New(rand.NewPCG(1, 2))
	totals := []uint32{1, 2, 3, 7, 255, 256, 65535, 1 << 16, 1<<24 - 1, 1 << 24, 1<<31 - 1, MaxTotal}
	var steps []step
	for range 3000 {
		total := totals[rng.IntN(len(totals))]
		var d Dist
		if rng.IntN(2) == 0 || total < 16 {
			d = Uniform(total)
		} else {
			d = mustFreqs(t, quantize(randomWeights(rng, 16), total))
		}
		var sym int
		if rng.IntN(2) == 0 {
			sym, _, _ = d.Lookup(rng.Uint32N(total))
		} else {
			sym, _, _ = d.Lookup(total - 1)
		}
		steps = append(steps, step{d, sym})
	}
	roundTrip(t, steps)
}

func TestEmptyStream(t *testing.T) {
	stream := roundTrip(t, nil)
	if len(stream) != 0 {
		t.Errorf("empty stream is %x, want no bytes", stream)
	}
	// Symbols of probability 1 cost nothing either.
	stream = roundTrip(t, []step{{Uniform(1), 0}, {Uniform(1), 0}})
	if len(stream) != 0 {
		t.Errorf("certain symbols give %x, want no bytes", stream)
	}
}

// TestCarries codes rare symbols at the top of the range many times in a
// row, which makes long runs of 0xFF bytes that later carries turn into
// zeros, and compares with the big-integer reference.
func TestCarries(t *testing.T) {
	const total = 1 << 24
	top := mustFreqs(t, []uint32{total - 1, 1})    // rare symbol 1 at the top
	bottom := mustFreqs(t, []uint32{1, total - 1}) // rare symbol 0 at the bottom
	mid := mustFreqs(t, []uint32{total/2 - 1, 2, total/2 - 1})
	rng := rand.New(rand.NewPCG(3, 4))
	var steps []step
	for range 40 {
		d, rare := top, 1
		switch rng.IntN(3) {
		case 1:
			d, rare = bottom, 0
		case 2:
			d, rare = mid, 1
		}
		for range rng.IntN(300) {
			steps = append(steps, step{d, rare})
		}
		for range rng.IntN(5) {
			steps = append(steps, step{top, rng.IntN(2)}, step{Uniform(3), rng.IntN(3)})
		}
	}
	stream := roundTrip(t, steps)
	_, maxCarry := refEncode(steps)
	if maxCarry < 8*100 {
		t.Errorf("longest carry is %d bits, want a test that carries through at least 100 bytes", maxCarry)
	}
	t.Logf("%d symbols, %d bytes, longest carry %d bits", len(steps), len(stream), maxCarry)

	// The rare symbol alone, coded 10000 times, costs 24 bits each.
	steps = steps[:0]
	for range 10000 {
		steps = append(steps, step{top, 1})
	}
	stream = roundTrip(t, steps)
	if len(stream) < 30000 || len(stream) > 30001 {
		t.Errorf("10000 symbols of probability 2^-24 take %d bytes, want 30000 or 30001", len(stream))
	}
}

func TestSkewedLongRun(t *testing.T) {
	// One symbol with almost all the mass, coded a million times, then
	// the rare symbol.
	for _, totalBits := range []int{24, 31} {
		total := uint32(1) << totalBits
		d := mustFreqs(t, []uint32{1, total - 2, 1})
		steps := make([]step, 0, 1_000_002)
		for range 1_000_000 {
			steps = append(steps, step{d, 1})
		}
		steps = append(steps, step{d, 2}, step{d, 0})
		roundTrip(t, steps)
	}
}

func TestEncoderErrors(t *testing.T) {
	tests := []struct {
		name             string
		cum, freq, total uint32
	}{
		{"zero freq", 0, 0, 10},
		{"past total", 5, 6, 10},
		{"overflow", 1<<32 - 1, 2, MaxTotal},
		{"zero total", 0, 1, 0},
		{"total too big", 0, 1, MaxTotal + 1},
		{"max uint32 total", 0, 1, 1<<32 - 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := NewEncoder(&buf)
			err := e.EncodeInterval(tc.cum, tc.freq, tc.total)
			if !errors.Is(err, ErrInterval) {
				t.Fatalf("EncodeInterval(%d, %d, %d) = %v, want ErrInterval", tc.cum, tc.freq, tc.total, err)
			}
			// The encoder is still usable and the failed call coded nothing.
			steps := []step{{Uniform(10), 3}, {Uniform(10), 9}}
			for _, s := range steps {
				if err := e.Encode(s.d, s.sym); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			checkDecode(t, buf.Bytes(), steps)
		})
	}

	d := mustFreqs(t, []uint32{1, 2, 3})
	e := NewEncoder(new(bytes.Buffer))
	for _, sym := range []int{-1, 3, 1 << 40} {
		if err := e.Encode(d, sym); !errors.Is(err, ErrInterval) {
			t.Errorf("Encode(symbol %d of 3) = %v, want ErrInterval", sym, err)
		}
		if err := e.Encode(Uniform(3), sym); !errors.Is(err, ErrInterval) {
			t.Errorf("Encode(symbol %d of Uniform(3)) = %v, want ErrInterval", sym, err)
		}
	}
	if err := e.Encode(Uniform(0), 0); !errors.Is(err, ErrInterval) {
		t.Errorf("Encode(Uniform(0)) = %v, want ErrInterval", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Encode(d, 0); err == nil {
		t.Error("Encode after Close succeeded")
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

var errWrite = errors.New("write failed")

func (w *failWriter) WriteByte(byte) error {
	if w.n == 0 {
		return errWrite
	}
	w.n--
	return nil
}

func TestEncoderWriteError(t *testing.T) {
	for _, n := range []int{0, 1, 10} {
		e := NewEncoder(&failWriter{n})
		var err error
		for i := 0; i < 1000 && err == nil; i++ {
			err = e.EncodeInterval(uint32(i), 1, 256)
		}
		if err == nil {
			err = e.Close()
		}
		if !errors.Is(err, errWrite) {
			t.Errorf("writer failing after %d bytes: got %v, want the write error", n, err)
		}
	}
	// An error in the flush itself is reported by Close.
	e := NewEncoder(&failWriter{0})
	if err := e.EncodeInterval(1, 1, 256); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); !errors.Is(err, errWrite) {
		t.Errorf("Close = %v, want the write error", err)
	}
}

// failReader returns data, then err.
type failReader struct {
	data []byte
	err  error
}

func (r *failReader) ReadByte() (byte, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	b := r.data[0]
	r.data = r.data[1:]
	return b, nil
}

func TestDecoderReadError(t *testing.T) {
	errRead := errors.New("read failed")
	if _, err := NewDecoder(&failReader{[]byte{1, 2}, errRead}); !errors.Is(err, errRead) {
		t.Errorf("NewDecoder = %v, want the read error", err)
	}
	d, err := NewDecoder(&failReader{bytes.Repeat([]byte{0x55}, 10), errRead})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err = d.Decode(Uniform(256)); err != nil {
			break
		}
	}
	if !errors.Is(err, errRead) {
		t.Errorf("Decode = %v, want the read error", err)
	}
}

// badDist is a Dist whose Lookup lies.
type badDist struct {
	total, cum, freq uint32
}

func (b badDist) Total() uint32                   { return b.total }
func (b badDist) Interval(int) (cum, freq uint32) { return b.cum, b.freq }
func (b badDist) Lookup(uint32) (int, uint32, uint32) {
	return 0, b.cum, b.freq
}

func TestDecoderBadDist(t *testing.T) {
	stream := []byte{0x80} // code is half of the range: target = total/2
	for _, b := range []badDist{
		{0, 0, 1},
		{MaxTotal + 1, 0, 1},
		{100, 0, 0},        // zero frequency
		{100, 0, 10},       // interval below the target 50
		{100, 60, 10},      // interval above the target
		{100, 40, 1 << 31}, // past the total
	} {
		d, err := NewDecoder(bytes.NewReader(stream))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decode(b); !errors.Is(err, ErrDist) {
			t.Errorf("Decode(%+v) = %v, want ErrDist", b, err)
		}
	}
}

// TestCorruptInput decodes damaged streams: it must not panic or hang,
// and every call returns either a symbol of the distribution or an error.
func TestCorruptInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	dists := []Dist{
		Uniform(1), Uniform(2), Uniform(MaxTotal),
		mustFreqs(t, []uint32{1, MaxTotal - 2, 1}),
		mustFreqs(t, quantize(zipfWeights(32000, 1.1), 1<<24)),
		mustFreqs(t, quantize(randomWeights(rng, 16), 1<<31)),
	}
	var steps []step
	for range 2000 {
		d := dists[rng.IntN(len(dists))]
		sym, _, _ := d.Lookup(rng.Uint32N(d.Total()))
		steps = append(steps, step{d, sym})
	}
	stream := encodeSteps(t, steps)
	decodeAll := func(data []byte) (corrupt bool) {
		d, err := NewDecoder(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("NewDecoder: %v", err)
		}
		for _, s := range steps {
			sym, err := d.Decode(s.d)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Decode: %v, want ErrCorrupt", err)
				}
				return true
			}
			if c, f := s.d.Interval(sym); f == 0 {
				t.Fatalf("decoded symbol %d not in the distribution (cum %d)", sym, c)
			}
		}
		return false
	}
	detected := 0
	for trial := range 300 {
		data := bytes.Clone(stream)
		switch trial % 3 {
		case 0: // flip bits
			for range 1 + rng.IntN(4) {
				data[rng.IntN(len(data))] ^= byte(1 + rng.IntN(255))
			}
		case 1: // truncate
			data = data[:rng.IntN(len(data))]
		case 2: // garbage
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
		}
		if decodeAll(data) {
			detected++
		}
	}
	t.Logf("ErrCorrupt in %d of 300 damaged streams", detected)
	for _, data := range [][]byte{nil, {0xFF}, bytes.Repeat([]byte{0xFF}, 10000)} {
		decodeAll(data)
	}
}

func TestReset(t *testing.T) {
	steps := []step{{Uniform(1000), 999}, {Uniform(7), 3}, {Uniform(MaxTotal), 12345}}
	var a, b bytes.Buffer
	e := NewEncoder(&a)
	for _, s := range steps {
		if err := e.Encode(s.d, s.sym); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e.Reset(&b)
	for _, s := range steps {
		if err := e.Encode(s.d, s.sym); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("after Reset: %x, want %x", b.Bytes(), a.Bytes())
	}
	d, err := NewDecoder(bytes.NewReader([]byte{1, 2, 3}))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Reset(bytes.NewReader(a.Bytes())); err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if sym, err := d.Decode(s.d); err != nil || sym != s.sym {
			t.Fatalf("after Reset: decoded %d, %v; want %d", sym, err, s.sym)
		}
	}
}
