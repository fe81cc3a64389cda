package codec

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/tensorio"
)

// lowLimits makes the streaming paths switch to disk and to streamed zstd
// after a few KiB, for the duration of a test.
func lowLimits(t *testing.T) {
	sm, om := spoolMemory, otherMemory
	spoolMemory, otherMemory = 4<<10, 2<<10
	t.Cleanup(func() { spoolMemory, otherMemory = sm, om })
}

// streamCases are inputs that exercise every layout and both streams.
func streamCases(t *testing.T) []struct {
	name, file string
	src        []byte
	opt        Options
} {
	bf16 := make([]byte, 2*20000) // a large non-float stream
	r := rand.New(rand.NewPCG(3, 4))
	for i := range bf16 {
		bf16[i] = byte(r.IntN(40))
	}
	var st bytes.Buffer
	if err := tensorio.WriteSafetensors(&st, []tensorio.Tensor{
		{Name: "w", DType: "F32", Shape: []int64{3000}, Data: gaussian(3000, 0.1, 5)},
		{Name: "emb", DType: "BF16", Shape: []int64{20000}, Data: bf16},
		{Name: "b", DType: "F32", Shape: []int64{17}, Data: gaussian(17, 0.1, 6)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	g := gaussian(20000, 0.01, 9)
	return []struct {
		name, file string
		src        []byte
		opt        Options
	}{
		{"raw", "x.f32", g, Options{Window: 10000}},
		{"raw sign-first tail", "x.bin", append(g[:40003:40003], 7, 8, 9), Options{SignFirst: true, Window: 4096}},
		{"hex-space", "x.f32", g[:30000], Options{Format: "hs", Window: 5000}},
		{"iso", "x.f32", g[:20000], Options{Format: "iso", Window: 3000}},
		{"cm", "x.f32", g[:20000], Options{Prior: "cm", Window: 8000}},
		{"safetensors", "m.safetensors", st.Bytes(), Options{Window: 5000}},
		{"empty", "e.f32", nil, Options{}},
	}
}

// TestEncoderMatchesCompress checks that the streaming Encoder (spooling to
// a file, streaming a large non-float stream through zstd) writes exactly
// what Compress writes, and that the Reader, read in odd-sized pieces,
// restores the input.
func TestEncoderMatchesCompress(t *testing.T) {
	lowLimits(t)
	for _, c := range streamCases(t) {
		var want bytes.Buffer
		if _, err := Compress(&want, c.src, c.file, c.opt); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		enc, err := NewEncoder(Options{TempDir: t.TempDir(), Prior: c.opt.Prior, Format: c.opt.Format,
			SignFirst: c.opt.SignFirst, Window: c.opt.Window, Threads: 3})
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		st, err := enc.Encode(&got, bytes.NewReader(c.src), int64(len(c.src)), c.file)
		enc.Close()
		if err != nil {
			t.Fatalf("%s: encode: %v", c.name, err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("%s: Encoder wrote %d bytes unlike Compress's %d", c.name, got.Len(), want.Len())
		}
		if st.CompressedBytes != int64(got.Len()) {
			t.Errorf("%s: stats say %d bytes, wrote %d", c.name, st.CompressedBytes, got.Len())
		}
		r, err := NewReader(bytes.NewReader(got.Bytes()), int64(got.Len()), Options{Threads: 2})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		back, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(r, 5000)))
		if err == nil {
			var rest []byte
			rest, err = io.ReadAll(r)
			back = append(back, rest...)
		}
		r.Close()
		if err != nil || !bytes.Equal(back, c.src) {
			t.Fatalf("%s: Reader: %v, %d bytes (want %d), equal %v", c.name, err, len(back), len(c.src), bytes.Equal(back, c.src))
		}
		if r.Stats() == nil || r.Stats().OriginalBytes != int64(len(c.src)) {
			t.Errorf("%s: Reader stats %+v", c.name, r.Stats())
		}
	}
}

// TestReaderStreamedOtherCorrupt damages a non-float stream large enough to
// be streamed: the error comes at the end, typed, and never io.EOF.
func TestReaderStreamedOtherCorrupt(t *testing.T) {
	lowLimits(t)
	c := streamCases(t)[5]
	var buf bytes.Buffer
	if _, err := Compress(&buf, c.src, c.file, c.opt); err != nil {
		t.Fatal(err)
	}
	h, err := Inspect(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if h.Other.Length <= otherMemory {
		t.Fatalf("non-float stream of %d bytes is not streamed", h.Other.Length)
	}
	b := append([]byte(nil), buf.Bytes()...)
	var coded int64
	for _, s := range h.Streams {
		coded += s.Length
	}
	// The last byte of the non-float stream: the zstd frame's checksum.
	b[int64(len(b))-coded-1] ^= 0x20
	_, _, err = Decompress(b, Options{})
	if !errors.Is(err, container.ErrCorrupt) {
		t.Fatalf("damaged streamed non-float bytes: %v, want ErrCorrupt", err)
	}
}

// TestWriterMatchesCompress compresses through the io.Writer form.
func TestWriterMatchesCompress(t *testing.T) {
	src := gaussian(30000, 0.02, 11)
	var want bytes.Buffer
	if _, err := Compress(&want, src, "g.f32", Options{Window: 20000}); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	w, err := NewWriter(&got, "g.f32", Options{Window: 20000, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, iotest.HalfReader(bytes.NewReader(src))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("Writer wrote %d bytes unlike Compress's %d", got.Len(), want.Len())
	}
	if w.Stats() == nil || w.Stats().OriginalBytes != int64(len(src)) {
		t.Errorf("stats %+v", w.Stats())
	}
	if _, err := w.Write([]byte{1}); err == nil {
		t.Error("write after Close succeeded")
	}
}

// writeGaussianFile writes n float32 values of a deterministic Laplace-like
// gradient to path, a MiB at a time, and returns the file's SHA-256.
func writeGaussianFile(t *testing.T, path string, n int) [32]byte {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	w := bufio.NewWriter(io.MultiWriter(f, h))
	r := rand.New(rand.NewPCG(42, 1))
	var b [4]byte
	for range n {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(r.NormFloat64()*1e-3)))
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// peakHeap samples the live heap while fn runs and returns the largest
// value seen. Sampling can miss a peak, never invent one, so an assertion
// that the peak stays low cannot fail spuriously.
func peakHeap(fn func()) uint64 {
	var (
		peak uint64
		mu   sync.Mutex
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			mu.Lock()
			peak = max(peak, m.HeapAlloc)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return peak
}

// TestStreamingMemoryBounded compresses and decompresses a 64 MiB file
// from and to disk and checks that the heap never holds more than a
// half of it (the whole-buffer API needs several times the file).
func TestStreamingMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB streaming round trip skipped in -short mode")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(50))
	const size = 64 << 20
	dir := t.TempDir()
	in, lmgc := filepath.Join(dir, "g.f32"), filepath.Join(dir, "g.f32.lmgc")
	want := writeGaussianFile(t, in, size/4)
	runtime.GC()
	const limit = size / 2
	var st *Stats
	peak := peakHeap(func() {
		src, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		dst, err := os.Create(lmgc)
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		enc, err := NewEncoder(Options{Threads: 2, TempDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		if st, err = enc.Encode(dst, src, size, "g.f32"); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("compress: %d -> %d bytes, peak heap %.1f MiB", st.OriginalBytes, st.CompressedBytes, float64(peak)/(1<<20))
	if peak > limit {
		t.Errorf("compressing %d MiB held %.1f MiB of heap, want under %d MiB", size>>20, float64(peak)/(1<<20), limit>>20)
	}
	runtime.GC()
	var got [32]byte
	peak = peakHeap(func() {
		f, err := os.Open(lmgc)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fi, _ := f.Stat()
		r, err := NewReader(f, fi.Size(), Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			t.Fatal(err)
		}
		h.Sum(got[:0])
	})
	t.Logf("decompress: peak heap %.1f MiB", float64(peak)/(1<<20))
	if got != want {
		t.Fatal("decompressed file differs from the original")
	}
	if peak > limit {
		t.Errorf("decompressing %d MiB held %.1f MiB of heap, want under %d MiB", size>>20, float64(peak)/(1<<20), limit>>20)
	}
}

// TestOnePieceOtherStreamed decodes a non-float stream compressed in one
// piece (as every file has up to otherMemory bytes, and all files made
// before streaming) through the streaming path.
func TestOnePieceOtherStreamed(t *testing.T) {
	c := streamCases(t)[5]
	var buf bytes.Buffer
	if _, err := Compress(&buf, c.src, c.file, c.opt); err != nil {
		t.Fatal(err)
	}
	lowLimits(t)
	got, _, err := Decompress(buf.Bytes(), Options{})
	if err != nil || !bytes.Equal(got, c.src) {
		t.Fatalf("one-piece non-float stream, streamed: %v", err)
	}
}
