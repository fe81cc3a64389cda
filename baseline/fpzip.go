package baseline

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"sync"
)

// fpzipCodec runs LLNL's fpzip program losslessly on the data read as a 1-D
// array of little-endian float32 values.
type fpzipCodec struct{}

func (fpzipCodec) Name() string     { return "fpzip" }
func (fpzipCodec) describe() string { return "fpzip lossless, 1-D float32 array" }
func (fpzipCodec) available() error { return programFPZIP.available() }
func (fpzipCodec) version() string  { return programFPZIP.version() }

// fpzipHeaderLen is the length of the stream header fpzip writes: magic,
// version, type and precision, and the four dimensions.
const fpzipHeaderLen = 24

// padFloats zero-pads src to a whole number of float32 values.
func padFloats(src []byte) []byte {
	if len(src)%4 == 0 {
		return src
	}
	p := make([]byte, (len(src)+3)/4*4)
	copy(p, src)
	return p
}

func (fpzipCodec) Compress(src []byte) ([]byte, error) {
	p := padFloats(src)
	args := []string{"-q", "-t", "float", "-1", strconv.Itoa(len(p) / 4)}
	return programFPZIP.run(args, p, maxCompressed(len(p)))
}

var fpzipHeaders sync.Map // number of floats -> expected header

// fpzipHeader returns the header fpzip writes for a 1-D float array of n
// values (fpzip range-codes its header, so it is taken from a real run).
func fpzipHeader(n int) ([]byte, error) {
	if h, ok := fpzipHeaders.Load(n); ok {
		return h.([]byte), nil
	}
	out, err := fpzipCodec{}.Compress(make([]byte, 4*n))
	if err != nil {
		return nil, err
	}
	if len(out) < fpzipHeaderLen {
		return nil, fmt.Errorf("fpzip wrote only %d bytes for %d zeros", len(out), n)
	}
	h := out[:fpzipHeaderLen:fpzipHeaderLen]
	fpzipHeaders.Store(n, h)
	return h, nil
}

func (fpzipCodec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	n := (originalLen + 3) / 4
	// fpzip allocates what the header's dimensions ask for; accept only the
	// header of an n-value array.
	want, err := fpzipHeader(n)
	if err != nil {
		return nil, err
	}
	if len(comp) < fpzipHeaderLen || !bytes.Equal(comp[:fpzipHeaderLen], want) {
		return nil, fmt.Errorf("fpzip: stream header is not that of a 1-D float32 array of %d values", n)
	}
	out, err := programFPZIP.run([]string{"-d", "-q"}, comp, 4*n)
	if err != nil {
		return nil, err
	}
	if err := checkLen(out, 4*n); err != nil {
		return nil, err
	}
	return unpadFloats(out, originalLen)
}

// unpadFloats reverses padFloats: it checks that the padding after the
// first originalLen bytes decoded to zeros and drops it.
func unpadFloats(out []byte, originalLen int) ([]byte, error) {
	for _, b := range out[originalLen:] {
		if b != 0 {
			return nil, errors.New("padding after the data decoded to nonzero bytes")
		}
	}
	return out[:originalLen], nil
}
