package baseline

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// gzipCodec is compress/gzip at level 9: one gzip member with a 10-byte
// header (no name, no time) and the CRC-32/size trailer.
type gzipCodec struct{}

func (gzipCodec) Name() string     { return "gzip" }
func (gzipCodec) describe() string { return "compress/gzip level 9" }
func (gzipCodec) version() string  { return "Go " + runtime.Version() + " compress/gzip" }

// gzipWriters reuses level-9 writers, whose set-up allocates about 1 MB.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestCompression)
	return w
}}

func (gzipCodec) Compress(src []byte) ([]byte, error) {
	var b bytes.Buffer
	w := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(w)
	w.Reset(&b)
	if _, err := w.Write(src); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (gzipCodec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	r, err := gzip.NewReader(bytes.NewReader(comp))
	if err != nil {
		return nil, err
	}
	return readExactly(r, originalLen)
}

// readExactly reads exactly n bytes from r and then requires io.EOF, so that
// a decompressor checks its trailer (checksum, size).
func readExactly(r io.Reader, n int) ([]byte, error) {
	out := make([]byte, n)
	if got, err := io.ReadFull(r, out); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("decoded %d bytes, want %d", got, n)
		}
		return nil, err
	}
	var one [1]byte
	for {
		k, err := r.Read(one[:])
		if k > 0 {
			return nil, fmt.Errorf("decoded more than %d bytes", n)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
