package coder

import (
	"errors"
	"fmt"
	"io"
)

// The coder's state is a 56-bit window of an arbitrarily long binary
// fraction. low is the start of the current interval inside that window
// and rng its width. Whenever rng drops below bottomValue the top byte of
// the window is shifted out, so rng stays in [bottomValue, topValue].
// Adding r*cum to low can carry into bit windowBits (carryBit); the carry
// is propagated to bytes already shifted out but not yet written, which
// are kept as one cache byte followed by a count of 0xFF bytes, as in
// LZMA's range coder.
//
// With rng >= 2^48 and totals <= 2^31 the quotient r = rng/total is at
// least 2^17, and truncating it costs less than total/rng <= 2^-17 of the
// range, i.e. below 1.1e-5 bits per symbol in the worst case (about 2^-21
// of the range on average).
const (
	windowBits  = 56               // width of low and rng
	topShift    = windowBits - 8   // position of low's top byte
	carryBit    = 1 << windowBits  // carry out of the window
	topValue    = 1 << windowBits  // initial and largest range
	bottomValue = 1 << topShift    // renormalize when rng < bottomValue
	bodyMask    = 1<<topShift - 1  // bits of low below its top byte
	windowBytes = windowBits / 8   // bytes the decoder preloads
	topByteMin  = 0xFF << topShift // low >= this: top byte is 0xFF (or carried)
	maxTotal64  = uint64(MaxTotal) // MaxTotal as uint64
)

// ErrInterval is returned (wrapped) by the Encoder for an interval that
// cannot be coded: zero frequency, cum+freq beyond the total, or a total
// of 0 or above MaxTotal.
var ErrInterval = errors.New("coder: invalid interval")

// An Encoder writes a range-coded stream to an io.ByteWriter. The stream
// has no header and no terminator: the reader must know how many symbols
// to decode, and must give the Decoder exactly the encoded bytes (the
// Decoder reads zero bytes past their end). Call Close to flush.
type Encoder struct {
	w       io.ByteWriter
	low     uint64 // interval start; bit windowBits is a pending carry
	rng     uint64 // interval width, in [bottomValue, topValue]
	cache   byte   // last byte shifted out of low; may still get a carry
	ffs     int64  // number of 0xFF bytes after cache; may still get a carry
	started bool   // cache holds a real byte (before the first shift it does not)
	zeros   int64  // zero bytes not yet written (dropped if they end the stream)
	err     error  // first write error
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.ByteWriter) *Encoder {
	e := new(Encoder)
	e.Reset(w)
	return e
}

// Reset discards the Encoder's state and makes it write a new stream to w.
func (e *Encoder) Reset(w io.ByteWriter) {
	*e = Encoder{w: w, rng: topValue}
}

// Encode codes symbol sym of distribution d.
func (e *Encoder) Encode(d Dist, sym int) error {
	cum, freq := d.Interval(sym)
	if err := e.EncodeInterval(cum, freq, d.Total()); err != nil {
		return fmt.Errorf("%w (symbol %d)", err, sym)
	}
	return nil
}

// EncodeInterval codes the interval [cum, cum+freq) of a distribution with
// the given total. It returns an error wrapping ErrInterval, and codes
// nothing, unless 0 < freq, cum+freq <= total and total <= MaxTotal.
// An error from the writer is returned by this call or a later one, and by
// Close.
func (e *Encoder) EncodeInterval(cum, freq, total uint32) error {
	if freq == 0 || uint64(cum)+uint64(freq) > uint64(total) || total > MaxTotal || e.err != nil {
		return e.intervalError(cum, freq, total)
	}
	r := e.rng / uint64(total)
	e.low += r * uint64(cum)
	e.rng = r * uint64(freq)
	for e.rng < bottomValue {
		e.rng <<= 8
		e.shiftLow()
	}
	return e.err
}

// intervalError returns the error for an EncodeInterval call that must
// not code its interval.
func (e *Encoder) intervalError(cum, freq, total uint32) error {
	if e.err != nil {
		return e.err
	}
	return fmt.Errorf("%w: [%d, %d+%d) of total %d", ErrInterval, cum, cum, freq, total)
}

// shiftLow moves the top byte of the window out of low.
func (e *Encoder) shiftLow() {
	if e.low < topByteMin || e.low >= carryBit {
		// The top byte can no longer change by a carry from below, so
		// the carry (if any) of everything before it is settled.
		carry := byte(e.low >> windowBits)
		if e.started {
			e.writeByte(e.cache + carry)
		}
		for ; e.ffs > 0; e.ffs-- {
			e.writeByte(0xFF + carry)
		}
		e.cache = byte(e.low >> topShift)
		e.started = true
	} else {
		e.ffs++
	}
	e.low = (e.low & bodyMask) << 8
}

// writeByte writes b, holding back zero bytes until a nonzero byte follows
// them, so that Close can drop trailing zeros.
func (e *Encoder) writeByte(b byte) {
	if b == 0 {
		e.zeros++
		return
	}
	for ; e.zeros > 0 && e.err == nil; e.zeros-- {
		e.err = e.w.WriteByte(0)
	}
	if e.err == nil {
		e.err = e.w.WriteByte(b)
	}
}

// Close writes the shortest tail that makes the stream decode correctly:
// the value in the final interval with the most trailing zero bytes, with
// those zeros left out. It does not close the underlying writer. The
// Encoder must be Reset before it is used again.
func (e *Encoder) Close() error {
	if e.err != nil {
		return e.err
	}
	// Choose v in [low, low+rng) with the most trailing zero bytes. For
	// shift = windowBits the candidate is 0 or carryBit, and low+rng <=
	// 2^57 keeps every candidate within uint64.
	var v uint64
	shift := windowBits
	for ; shift >= 0; shift -= 8 {
		mask := uint64(1)<<shift - 1
		v = (e.low + mask) &^ mask
		if v < e.low+e.rng {
			break
		}
	}
	// Shift out the nonzero part of v; its remaining bytes are zero.
	e.low = v
	for i := shift; i < windowBits; i += 8 {
		e.shiftLow()
	}
	// low is now 0 (possibly with a carry that the shifts above have
	// already settled), so one more shift writes cache and pending 0xFFs.
	e.shiftLow()
	err := e.err
	e.err = errClosed
	e.zeros = 0
	return err
}

var errClosed = errors.New("coder: Encoder used after Close")
