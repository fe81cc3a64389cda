package baseline

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ChunkSize is the paper's chunk length in bytes (128 float32 values).
const ChunkSize = 512

// ErrUnavailable is wrapped by the errors of a codec that cannot run on this
// machine (its program is not installed). Such a codec must be skipped, not
// counted.
var ErrUnavailable = errors.New("codec unavailable")

// A Codec is one lossless compressor. Compress and Decompress must be safe
// for concurrent use.
type Codec interface {
	// Name is the codec's short lower-case name, as ByName accepts it.
	Name() string
	// Compress returns src compressed into one self-contained stream.
	Compress(src []byte) ([]byte, error)
	// Decompress reverses Compress. originalLen is the length of the
	// original data, at most 1 GiB; a stream that decodes to any other
	// length is an error.
	Decompress(comp []byte, originalLen int) ([]byte, error)
}

// All returns every codec, in the order of the paper's tables followed by
// the extra ones: png, flac, gzip, lzma, fpzip, zstd, byteplanes, bzip2,
// zpaq, zfp, and the float codecs run in Python (blosc2-shuffle,
// blosc2-bitshuffle, pcodec, zipnn, openzl, sz3). Codecs that cannot run
// here are included; Available tells which.
func All() []Codec {
	return []Codec{
		pngCodec{},
		flacCodec{},
		gzipCodec{},
		xzCodec{},
		fpzipCodec{},
		zstdCodec{},
		byteplanesCodec{},
		bzip2Codec{},
		zpaqCodec{},
		zfpCodec{},
		pyBloscShuffle,
		pyBloscBitshuffle,
		pyPcodec,
		pyZipNN,
		pyOpenZL,
		pySZ3,
	}
}

// Version returns the version of the library or program behind c ("" when
// it cannot be found out, or c is unavailable).
func Version(c Codec) string {
	if v, ok := c.(interface{ version() string }); ok {
		return v.version()
	}
	return ""
}

// WithElementWidth returns the variant of c that reads the data as
// elements of width bytes (2 for bfloat16 or float16, 4 for float32), and
// whether c has one. Codecs without the notion (byte-oriented ones, or
// float32-only ones such as fpzip) return themselves and false; they stay
// lossless on any data.
func WithElementWidth(c Codec, width int) (Codec, bool) {
	if w, ok := c.(interface{ withWidth(int) (Codec, bool) }); ok {
		return w.withWidth(width)
	}
	return c, false
}

// ByName returns the codec with the given name. A name ending in "/16"
// is the 16-bit variant (WithElementWidth 2) of a codec that has one.
func ByName(name string) (Codec, error) {
	if base, ok := strings.CutSuffix(name, "/16"); ok {
		c, err := ByName(base)
		if err != nil {
			return nil, err
		}
		if c16, ok := WithElementWidth(c, 2); ok {
			return c16, nil
		}
		return nil, fmt.Errorf("baseline: codec %q has no 16-bit variant", base)
	}
	var names []string
	for _, c := range All() {
		if c.Name() == name {
			return c, nil
		}
		names = append(names, c.Name())
	}
	return nil, fmt.Errorf("baseline: unknown codec %q (have %v)", name, names)
}

// Available reports whether c can run on this machine: nil, or an error
// wrapping ErrUnavailable that says what to install.
func Available(c Codec) error {
	if a, ok := c.(interface{ available() error }); ok {
		return a.available()
	}
	return nil
}

// Describe returns a one-line description of c's settings, for tables.
func Describe(c Codec) string {
	if d, ok := c.(interface{ describe() string }); ok {
		return d.describe()
	}
	return c.Name()
}

// Result is the outcome of one verified measurement.
type Result struct {
	Codec   string
	Chunked bool
	// Original is the length of the measured data (without chunk padding).
	Original int64
	// Compressed is the total length of all compressed streams, headers
	// included.
	Compressed int64
	// Rate is 100 * Compressed / Original (0 when Original is 0).
	Rate float64
	// CompressSeconds and DecompressSeconds are the wall-clock times spent
	// in Compress and Decompress, summed over chunks.
	CompressSeconds, DecompressSeconds float64
}

// Measure compresses data with c and decompresses it again, verifying the
// round trip byte for byte.
//
// Unchunked, data is one stream. Chunked, data is cut into ChunkSize-byte
// chunks, the last one zero-padded to ChunkSize as the paper's data loader
// does, each chunk is compressed on its own, and the sizes are summed;
// Original stays len(data), so the padding is charged to the codec, as in
// the paper. Chunks are measured concurrently on GOMAXPROCS goroutines;
// CompressSeconds and DecompressSeconds stay the sums of the calls' own
// times. Any failed round trip is returned as an error (the first in chunk
// order among those run).
func Measure(c Codec, data []byte, chunked bool) (Result, error) {
	r := Result{Codec: c.Name(), Chunked: chunked, Original: int64(len(data))}
	if err := Available(c); err != nil {
		return r, err
	}
	var parts []stream
	if !chunked {
		parts = []stream{roundTrip(c, data, "")}
	} else {
		parts = measureChunks(c, data)
	}
	for _, p := range parts {
		if p.err != nil {
			return r, p.err
		}
		r.Compressed += p.compressed
		r.CompressSeconds += p.compressSeconds
		r.DecompressSeconds += p.decompressSeconds
	}
	if r.Original > 0 {
		r.Rate = 100 * float64(r.Compressed) / float64(r.Original)
	}
	return r, nil
}

// stream is the outcome of one verified round trip.
type stream struct {
	compressed                         int64
	compressSeconds, decompressSeconds float64
	err                                error
}

// measureChunks runs the round trips of all chunks of data on GOMAXPROCS
// goroutines (external programs make a chunk cost milliseconds), and returns
// them in chunk order. Times are still those of each call. After a failure,
// the chunks not yet started are skipped.
func measureChunks(c Codec, data []byte) []stream {
	n := (len(data) + ChunkSize - 1) / ChunkSize
	parts := make([]stream, n)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				chunk := data[i*ChunkSize : min((i+1)*ChunkSize, len(data))]
				if len(chunk) < ChunkSize {
					chunk = append(make([]byte, 0, ChunkSize), chunk...)
					chunk = chunk[:ChunkSize]
				}
				parts[i] = roundTrip(c, chunk, fmt.Sprintf(" chunk %d:", i))
				if parts[i].err != nil {
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return parts
}

// roundTrip compresses and decompresses src once and verifies the result.
// where locates the stream in messages.
func roundTrip(c Codec, src []byte, where string) stream {
	var s stream
	t0 := time.Now()
	comp, err := c.Compress(src)
	s.compressSeconds = time.Since(t0).Seconds()
	if err != nil {
		s.err = fmt.Errorf("baseline: %s:%s compress: %w", c.Name(), where, err)
		return s
	}
	t0 = time.Now()
	got, err := c.Decompress(comp, len(src))
	s.decompressSeconds = time.Since(t0).Seconds()
	if err != nil {
		s.err = fmt.Errorf("baseline: %s:%s decompress: %w", c.Name(), where, err)
		return s
	}
	if !bytes.Equal(got, src) {
		s.err = fmt.Errorf("baseline: %s:%s round trip differs: %s", c.Name(), where, firstDiff(got, src))
		return s
	}
	s.compressed = int64(len(comp))
	return s
}

// maxOriginalLen bounds the originalLen that Decompress accepts: 1 GiB, far
// above a gradient file and below what a mistaken value could allocate.
const maxOriginalLen = 1 << 30

func checkOriginalLen(n int) error {
	if n < 0 || n > maxOriginalLen {
		return fmt.Errorf("original length %d out of range [0, %d]", n, maxOriginalLen)
	}
	return nil
}

func firstDiff(got, want []byte) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d bytes, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Sprintf("byte %d is %#02x, want %#02x", i, got[i], want[i])
		}
	}
	return "no difference"
}
