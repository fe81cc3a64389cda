package codec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/lmgc/lmgc/codec"
	"github.com/lmgc/lmgc/container"
)

// gradient returns n float32 values of a smooth test signal.
func gradient(n int) []byte {
	b := make([]byte, 4*n)
	for i := range n {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(1e-3*math.Sin(float64(i)/10))))
	}
	return b
}

// Compress a tensor file held in memory and restore it.
func ExampleCompress() {
	src := gradient(10000)
	var buf bytes.Buffer
	st, err := codec.Compress(&buf, src, "grad.f32", codec.Options{})
	if err != nil {
		log.Fatal(err)
	}
	back, _, err := codec.Decompress(buf.Bytes(), codec.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.OriginalBytes, "bytes, compressed smaller:", st.CompressedBytes < st.OriginalBytes, "restored:", bytes.Equal(back, src))
	// Output: 40000 bytes, compressed smaller: true restored: true
}

// Compress files on disk without holding them in memory: the Encoder reads
// its input at offsets, codes a few windows per thread at a time, and
// keeps one prior for every file it compresses.
func ExampleNewEncoder() {
	dir, _ := os.MkdirTemp("", "lmgc-example")
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "grad.f32")
	os.WriteFile(in, gradient(50000), 0o644)

	enc, err := codec.NewEncoder(codec.Options{Prior: "order2", Threads: 2, TempDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer enc.Close()
	src, _ := os.Open(in)
	defer src.Close()
	fi, _ := src.Stat()
	dst, _ := os.Create(in + ".lmgc")
	defer dst.Close()
	st, err := enc.Encode(dst, src, fi.Size(), in)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes, %d windows\n", st.OriginalBytes, st.Windows)
	// Output: 200000 bytes, 1 windows
}

// Decompress through an io.Reader: windows are decoded as the output is
// read, and the SHA-256 of the original is checked before io.EOF.
func ExampleNewReader() {
	var buf bytes.Buffer
	if _, err := codec.Compress(&buf, gradient(30000), "grad.f32", codec.Options{Window: 40000}); err != nil {
		log.Fatal(err)
	}
	r, err := codec.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), codec.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		log.Fatal(err) // a damaged file fails here, with container.ErrCorrupt
	}
	fmt.Println(n, "bytes in", len(r.Header().Streams), "windows")
	// Output: 120000 bytes in 3 windows
}

// Compress a stream of unknown length, such as standard input.
func ExampleNewWriter() {
	var out bytes.Buffer
	w, err := codec.NewWriter(&out, "grad.f32", codec.Options{})
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(w, bytes.NewReader(gradient(1000)))
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Stats().OriginalBytes, "bytes in")
	// Output: 4000 bytes in
}

// A damaged file is reported as container.ErrCorrupt, whatever the layer
// that notices it.
func ExampleDecompress_errors() {
	var buf bytes.Buffer
	if _, err := codec.Compress(&buf, make([]byte, 4000), "zeros.f32", codec.Options{}); err != nil {
		panic(err)
	}
	file := buf.Bytes()
	file[len(file)-1] ^= 1 // damage the last coded stream
	_, _, err := codec.Decompress(file, codec.Options{})
	fmt.Println(errors.Is(err, container.ErrCorrupt), errors.Is(err, codec.ErrModelMismatch))

	_, _, err = codec.Decompress([]byte("PK\x03\x04 not ours"), codec.Options{})
	fmt.Println(errors.Is(err, container.ErrNotLMGC))
	// Output:
	// true false
	// true
}
