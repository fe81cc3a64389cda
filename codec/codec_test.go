package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/tensorio"
)

func gaussian(n int, scale float64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(r.NormFloat64()*scale)))
	}
	return b
}

func roundTrip(t *testing.T, src []byte, name string, opt Options) (*Stats, []byte) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Compress(&buf, src, name, opt)
	if err != nil {
		t.Fatalf("compress %s: %v", name, err)
	}
	got, _, err := Decompress(buf.Bytes(), Options{Threads: opt.Threads})
	if err != nil {
		t.Fatalf("decompress %s: %v", name, err)
	}
	if !bytes.Equal(got, src) {
		t.Fatalf("%s: round trip differs", name)
	}
	if st.CompressedBytes != int64(buf.Len()) {
		t.Fatalf("stats say %d compressed bytes, file has %d", st.CompressedBytes, buf.Len())
	}
	return st, buf.Bytes()
}

func TestRoundTripRandom10MB(t *testing.T) {
	if testing.Short() {
		t.Skip("10 MB round trip skipped in -short mode")
	}
	src := make([]byte, 10<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	st, _ := roundTrip(t, src, "random.f32", Options{Threads: 2})
	// Random bytes cannot be compressed; the coder must not expand them by
	// more than the model's learning cost and the header.
	if st.RatePercent > 100.5 {
		t.Errorf("random data grew to %.3f%%", st.RatePercent)
	}
	t.Logf("10 MiB random: %.3f%%", st.RatePercent)
}

func TestRoundTripNPYFormats(t *testing.T) {
	data := gaussian(3000, 1e-2, 3) // 12000 bytes: not a multiple of 512
	var npy bytes.Buffer
	if err := tensorio.WriteNPY(&npy, "<f4", []int64{30, 100}, false, data); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"raw", "iso", "hex-none", "hs", "hc", "hcs", "hsemi", "hex-0x", "iso-space"} {
		for _, sign := range []bool{false, true} {
			for _, bpg := range []int{1, 3, 4, 8} {
				if format == "raw" && bpg != 4 {
					continue
				}
				opt := Options{Format: format, SignFirst: sign, BytesPerGroup: bpg, Window: 5000}
				st, _ := roundTrip(t, npy.Bytes(), "g.npy", opt)
				if st.FloatBytes != int64(len(data)) {
					t.Fatalf("%s: %d float bytes, want %d", format, st.FloatBytes, len(data))
				}
				if st.Windows < 2 {
					t.Fatalf("%s: %d windows, want several", format, st.Windows)
				}
			}
		}
	}
}

func TestRoundTripFortranNPY(t *testing.T) {
	var npy bytes.Buffer
	tensorio.WriteNPY(&npy, "<f4", []int64{50, 20}, true, gaussian(1000, 1, 4))
	roundTrip(t, npy.Bytes(), "f.npy", Options{})
}

func TestRoundTripSafetensors(t *testing.T) {
	f16 := make([]byte, 2*300)
	i64 := make([]byte, 8*40)
	for i := range f16 {
		f16[i] = byte(i * 7)
	}
	for i := range i64 {
		i64[i] = byte(i)
	}
	var st bytes.Buffer
	err := tensorio.WriteSafetensors(&st, []tensorio.Tensor{
		{Name: "conv.weight", DType: "F32", Shape: []int64{16, 3, 3, 3}, Data: gaussian(432, 0.1, 5)},
		{Name: "emb.half", DType: "F16", Shape: []int64{300}, Data: f16},
		{Name: "steps", DType: "I64", Shape: []int64{40}, Data: i64},
		{Name: "fc.bias", DType: "F32", Shape: []int64{10}, Data: gaussian(10, 0.1, 6)},
	}, map[string]string{"step": "400"})
	if err != nil {
		t.Fatal(err)
	}
	stats, file := roundTrip(t, st.Bytes(), "g.safetensors", Options{Format: "hs"})
	if stats.FloatBytes != 4*(432+10) {
		t.Errorf("float bytes %d, want %d", stats.FloatBytes, 4*(432+10))
	}
	h, err := Inspect(file)
	if err != nil {
		t.Fatal(err)
	}
	if h.Original.Format != "safetensors" || len(h.Original.Segments) < 5 {
		t.Errorf("inspect: format %q with %d segments", h.Original.Format, len(h.Original.Segments))
	}
}

func TestEmptyAndTinyInputs(t *testing.T) {
	roundTrip(t, nil, "empty.f32", Options{})
	roundTrip(t, []byte{1, 2, 3}, "tail.bin", Options{})       // no whole float
	roundTrip(t, []byte{1, 2, 3, 4, 5}, "tail.bin", Options{}) // one float and a tail
	roundTrip(t, []byte{1, 2, 3, 4}, "one.f32", Options{Format: "hs"})
}

func TestCompressionBeatsOrderZero(t *testing.T) {
	// Gaussian floats: 1 sign bit, ~2 bits of exponent, 23 mantissa bits.
	src := gaussian(100000, 1e-3, 8)
	st, _ := roundTrip(t, src, "g.f32", Options{})
	if st.RatePercent > 86 {
		t.Errorf("rate %.2f%%: the prior is not learning the exponent", st.RatePercent)
	}
	if over := float64(st.CompressedBytes) - st.IdealBytes; over > 1000 {
		t.Errorf("coded %d bytes, ideal %.0f: overhead %.0f bytes", st.CompressedBytes, st.IdealBytes, over)
	}
}

func TestDeterministicAcrossThreads(t *testing.T) {
	src := gaussian(50000, 1e-3, 9)
	var a, b bytes.Buffer
	if _, err := Compress(&a, src, "x.f32", Options{Threads: 1, Window: 40000}); err != nil {
		t.Fatal(err)
	}
	if _, err := Compress(&b, src, "x.f32", Options{Threads: 3, Window: 40000}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("output depends on the thread count")
	}
}

// rewriteHeader edits the JSON header of an .lmgc file and fixes its CRC,
// to build well-formed files with wrong contents.
func rewriteHeader(t *testing.T, file []byte, edit func(h *container.Header)) []byte {
	t.Helper()
	f, err := container.Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	h := f.Header
	edit(&h)
	bodies := [][]byte{}
	o, _ := f.Other()
	bodies = append(bodies, o)
	for i := range f.Header.Streams {
		s, _ := f.Stream(i)
		bodies = append(bodies, s)
	}
	var out bytes.Buffer
	if err := container.Write(&out, &h, bodies); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestCompressErrors checks the typed errors of bad compression requests,
// and that their messages name no command-line flag.
func TestCompressErrors(t *testing.T) {
	for _, c := range []struct {
		name, file string
		opt        Options
		is         error
	}{
		{"undetectable format", "x.dat", Options{}, tensorio.ErrUnknownFormat},
		{"unknown format", "x.f32", Options{InputFormat: "hdf5"}, tensorio.ErrUnknownFormat},
		{"unknown prior", "x.f32", Options{Prior: "gpt-9"}, ErrUnknownPrior},
		{"llm without model", "x.f32", Options{Prior: "llm"}, ErrModelRequired},
	} {
		var buf bytes.Buffer
		_, err := Compress(&buf, gaussian(100, 1, 1), c.file, c.opt)
		if !errors.Is(err, c.is) || strings.Contains(err.Error(), "--") {
			t.Errorf("%s: %v, want an error matching %q that names no flag", c.name, err, c.is)
		}
	}
	_, err := Compress(new(bytes.Buffer), []byte("\x93NUMPY\x01\x00\x02\x00{}"), "x.npy", Options{})
	if !errors.Is(err, tensorio.ErrFormat) {
		t.Errorf("malformed npy: %v, want tensorio.ErrFormat", err)
	}
}

// decodeErrors are the typed errors Decompress reports for a bad file.
var decodeErrors = []error{container.ErrNotLMGC, container.ErrCorrupt, container.ErrUnsupported, ErrModelMismatch}

func TestBadFiles(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Compress(&buf, gaussian(2000, 1, 10), "x.f32", Options{Window: 4096}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	hlen := int(binary.LittleEndian.Uint32(good[12:]))
	future := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(future[8:], 9)
	flipStream := append([]byte(nil), good...)
	flipStream[len(flipStream)-10] ^= 0x40
	flipHeader := append([]byte(nil), good...)
	flipHeader[20] ^= 1
	cases := []struct {
		name, want string
		file       []byte
		is         error
	}{
		{"wrong magic", "wrong magic", append([]byte("PK\x03\x04"), good[4:]...), container.ErrNotLMGC},
		{"future version", "version 9 is newer", future, container.ErrUnsupported},
		{"truncated header", "truncated", good[:16+hlen/2], container.ErrCorrupt},
		{"truncated stream", "truncated", good[:len(good)-5], container.ErrCorrupt},
		{"trailing bytes", "unexpected bytes", append(append([]byte(nil), good...), 0), container.ErrCorrupt},
		{"stream checksum", "checksum mismatch in stream", flipStream, container.ErrCorrupt},
		{"header checksum", "header checksum", flipHeader, container.ErrCorrupt},
		{"empty", "shorter than the magic", nil, container.ErrCorrupt},
		{"prior mismatch", "prior mismatch", rewriteHeader(t, good, func(h *container.Header) { h.Prior.Fingerprint = strings.Repeat("ab", 32) }), ErrModelMismatch},
		{"unknown prior", "unknown prior", rewriteHeader(t, good, func(h *container.Header) { h.Prior.Name = "gpt-9" }), container.ErrUnsupported},
		{"sizes disagree", "segments cover", rewriteHeader(t, good, func(h *container.Header) { h.Original.Size += 4 }), container.ErrCorrupt},
		{"sha mismatch", "SHA-256", rewriteHeader(t, good, func(h *container.Header) { h.Original.SHA256 = strings.Repeat("0", 64) }), container.ErrCorrupt},
		{"too many symbols", "more than the window", rewriteHeader(t, good, func(h *container.Header) { h.Streams[0].Symbols = 1 << 40 }), container.ErrCorrupt},
		{"bad serialization", "corrupt", rewriteHeader(t, good, func(h *container.Header) { h.Serialization = "hex-sideways" }), container.ErrCorrupt},
		{"stream table checksum", "stream table checksum", func() []byte {
			b := append([]byte(nil), good...)
			b[16+hlen+4+1] ^= 0x01 // the first stream's length
			return b
		}(), container.ErrCorrupt},
	}
	for _, c := range cases {
		_, _, err := Decompress(c.file, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if !errors.Is(err, c.is) {
			t.Errorf("%s: error %v does not match %q", c.name, err, c.is)
		}
		for _, other := range decodeErrors {
			if other != c.is && errors.Is(err, other) {
				t.Errorf("%s: error %v also matches %q", c.name, err, other)
			}
		}
	}
	// Every truncation is a typed error, never a panic.
	for n := 0; n < len(good); n += 1 + n/8 {
		if _, _, err := Decompress(good[:n], Options{}); !errors.Is(err, container.ErrCorrupt) && !errors.Is(err, container.ErrNotLMGC) {
			t.Errorf("truncated to %d bytes: %v, want ErrCorrupt", n, err)
		}
	}
}

// TestSeedFiles decodes the checked-in files: the format stays readable.
func TestSeedFiles(t *testing.T) {
	seeds, _ := filepath.Glob("testdata/*.lmgc")
	if len(seeds) == 0 {
		t.Fatal("no seed files in testdata")
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Decompress(b, Options{}); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestHeaderIsJSON(t *testing.T) {
	var buf bytes.Buffer
	Compress(&buf, gaussian(10, 1, 1), "x.f32", Options{})
	hlen := binary.LittleEndian.Uint32(buf.Bytes()[12:])
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes()[16:16+hlen], &m); err != nil {
		t.Fatalf("header is not JSON: %v", err)
	}
}

func FuzzDecompress(f *testing.F) {
	for _, opt := range []Options{{}, {Format: "hs", Window: 1200}} {
		var buf bytes.Buffer
		Compress(&buf, gaussian(300, 1, 2), "x.f32", opt)
		f.Add(buf.Bytes())
	}
	seeds, _ := filepath.Glob("testdata/*.lmgc")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _, err := Decompress(b, Options{Threads: 1})
		if err == nil && out == nil && len(b) > 0 {
			// a valid file of an empty original decodes to nothing
			return
		}
	})
}
