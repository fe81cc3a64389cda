package coder

import (
	"errors"
	"fmt"
	"io"
)

// ErrCorrupt is returned by the Decoder when the input cannot have been
// written by an Encoder with the same sequence of distributions. Not all
// corruption is detected: damaged input usually decodes to wrong symbols
// without an error, so containers must checksum what they decode.
var ErrCorrupt = errors.New("coder: corrupt input")

// ErrDist is returned (wrapped) by the Decoder when a Dist reports a total
// of 0 or above MaxTotal, or its Lookup returns an interval that does not
// hold the target or does not fit in the total.
var ErrDist = errors.New("coder: invalid distribution")

// A Decoder reads a stream written by an Encoder. The Encoder leaves out
// trailing zero bytes, and the Decoder takes io.EOF as an endless run of
// zero bytes. It also reads 7 bytes ahead of the data it has used. So it
// must be given a reader that ends where the stream ends, such as a
// bytes.Reader over exactly the stream; a container stores the length.
type Decoder struct {
	r    io.ByteReader
	code uint64 // offset of the coded value from the interval start; < rng
	rng  uint64 // interval width, in [bottomValue, topValue]
	eof  bool   // r has returned io.EOF
	err  error  // first read error (other than io.EOF) or corruption
}

// NewDecoder returns a Decoder reading from r. It reads the first bytes of
// the stream and fails only if r returns an error other than io.EOF.
func NewDecoder(r io.ByteReader) (*Decoder, error) {
	d := new(Decoder)
	if err := d.Reset(r); err != nil {
		return nil, err
	}
	return d, nil
}

// Reset discards the Decoder's state and starts reading a new stream from r.
func (d *Decoder) Reset(r io.ByteReader) error {
	*d = Decoder{r: r, rng: topValue}
	for range windowBytes {
		d.code = d.code<<8 | uint64(d.readByte())
	}
	return d.err
}

// readByte returns the next input byte, or 0 past the end of the input.
func (d *Decoder) readByte() byte {
	if d.eof || d.err != nil {
		return 0
	}
	b, err := d.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			d.eof = true
		} else {
			d.err = fmt.Errorf("coder: reading input: %w", err)
		}
		return 0
	}
	return b
}

// Decode decodes one symbol of distribution dist.
func (d *Decoder) Decode(dist Dist) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	total := uint64(dist.Total())
	if total == 0 || total > maxTotal64 {
		return 0, fmt.Errorf("%w: total %d", ErrDist, total)
	}
	r := d.rng / total
	t := d.code / r
	if t >= total {
		// A valid stream keeps code below r*total.
		d.err = ErrCorrupt
		return 0, d.err
	}
	sym, cum, freq := dist.Lookup(uint32(t))
	if uint64(cum) > t || t-uint64(cum) >= uint64(freq) || uint64(cum)+uint64(freq) > total {
		return 0, fmt.Errorf("%w: Lookup(%d) returned symbol %d with interval [%d, %d+%d) of total %d",
			ErrDist, t, sym, cum, cum, freq, total)
	}
	// cum <= t < cum+freq keeps 0 <= code < rng.
	d.code -= r * uint64(cum)
	d.rng = r * uint64(freq)
	for d.rng < bottomValue {
		d.rng <<= 8
		d.code = d.code<<8 | uint64(d.readByte())
	}
	return sym, d.err
}
