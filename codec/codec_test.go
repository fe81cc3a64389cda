package codec

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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

// reencode compresses a decoded original again with the settings its
// header records.
func reencode(h *container.Header, original []byte) ([]byte, error) {
	opt := Options{Prior: h.Prior.Name, Format: h.Serialization, BytesPerGroup: h.BytesPerGroup, SignFirst: h.SignFirst,
		InputFormat: h.Original.Format, Window: h.Window, Threads: 1}
	for _, s := range h.Original.Segments {
		opt.LowRank = opt.LowRank || s.LowRank != ""
	}
	var buf bytes.Buffer
	_, err := Compress(&buf, original, h.Original.Name, opt)
	return buf.Bytes(), err
}

// smallNPY returns a .npy file of 40 floats.
func smallNPY(t testing.TB) []byte {
	var b bytes.Buffer
	if err := tensorio.WriteNPY(&b, "<f4", []int64{40}, false, gaussian(40, 1, 3)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSmallestWindow checks that the smallest window Compress accepts for
// each text format holds the longest chunk text (ISO characters of bytes
// >= 0x80 take two bytes), so the file decodes, and that one symbol less
// is refused. (An ISO window of under 1024 symbols used to give a file
// whose streams exceed its window: undecodable.)
func TestSmallestWindow(t *testing.T) {
	src := bytes.Repeat([]byte{0xff, 0xfe, 0x80, 0xbf}, 300)
	for _, format := range []string{"iso", "iso-space", "hs", "hex-none"} {
		sl, err := newLayout(format, 4, false)
		if err != nil {
			t.Fatal(err)
		}
		w := sl.maxChunkSymbols()
		roundTrip(t, src, "x.f32", Options{Format: format, Window: w})
		if _, err := Compress(new(bytes.Buffer), src, "x.f32", Options{Format: format, Window: w - 1}); err == nil {
			t.Errorf("%s: window of %d symbols accepted, one chunk takes up to %d", format, w-1, w)
		}
	}
}

// TestReencodeIdentical checks that a file made by Compress, decoded and
// compressed again with its header's settings, comes back byte for byte:
// the format has one encoding per input and settings.
func TestReencodeIdentical(t *testing.T) {
	npy := smallNPY(t)
	for _, c := range []struct {
		name string
		src  []byte
		opt  Options
	}{
		{"x.f32", gaussian(300, 1, 2), Options{}},
		{"x.f32", append(gaussian(300, 1, 2), 1, 2), Options{Format: "hs", Window: 1200}},
		{"x.f32", gaussian(300, 1, 2), Options{Prior: "cm", Format: "iso", Window: 1100, SignFirst: true}},
		{"x.npy", npy, Options{Window: 64}},
	} {
		var buf bytes.Buffer
		if _, err := Compress(&buf, c.src, c.name, c.opt); err != nil {
			t.Fatal(err)
		}
		out, _, err := Decompress(buf.Bytes(), Options{})
		if err != nil || !bytes.Equal(out, c.src) {
			t.Fatalf("%s %+v: round trip: %v", c.name, c.opt, err)
		}
		h, _ := Inspect(buf.Bytes())
		again, err := reencode(h, out)
		if err != nil || !bytes.Equal(again, buf.Bytes()) {
			t.Errorf("%s %+v: re-encoding gives a different file (%d bytes, was %d): %v", c.name, c.opt, len(again), buf.Len(), err)
		}
	}
}

// fixChecksums returns b with every checksum it can locate recomputed:
// the header CRC, the stream CRCs (in the table and, for the non-float
// stream, in the JSON header) and the table CRC. Fuzzing through it reaches
// the header's values and the coded streams, which random bytes otherwise
// never get past the checksums to.
func fixChecksums(b []byte) []byte {
	if len(b) < 20 || string(b[:8]) != container.Magic {
		return b
	}
	hlen := int64(binary.LittleEndian.Uint32(b[12:]))
	if hlen > int64(len(b))-20 {
		return b
	}
	hb := b[16 : 16+hlen]
	table := append([]byte(nil), b[20+hlen:]...)
	var h container.Header
	if json.Unmarshal(hb, &h) != nil {
		out := append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(out[16+hlen:], container.Checksum(hb))
		return out
	}
	// Walk the table as container.Parse does, remembering where each
	// entry's CRC is.
	n, k := binary.Uvarint(table)
	if k <= 0 || n > uint64(len(table)) {
		n = 0
	}
	pos, lens, crcAt := k, []uint64{}, []int{}
	for i := uint64(0); i < n; i++ {
		l, k1 := binary.Uvarint(table[pos:])
		if k1 <= 0 {
			break
		}
		_, k2 := binary.Uvarint(table[pos+k1:])
		if k2 <= 0 || pos+k1+k2+4 > len(table) {
			break
		}
		lens, crcAt = append(lens, l), append(crcAt, pos+k1+k2)
		pos += k1 + k2 + 4
	}
	if k > 0 && len(lens) == int(n) && pos+4 <= len(table) {
		body := table[pos+4:]
		off := uint64(0)
		if h.Other.Length >= 0 && uint64(h.Other.Length) <= uint64(len(body)) {
			h.Other.CRC32C = container.Checksum(body[:h.Other.Length])
			off = uint64(h.Other.Length)
		}
		for i, l := range lens {
			if l > uint64(len(body))-off {
				break
			}
			binary.LittleEndian.PutUint32(table[crcAt[i]:], container.Checksum(body[off:off+l]))
			off += l
		}
		binary.LittleEndian.PutUint32(table[pos:], container.Checksum(table[:pos]))
		if nb, err := json.Marshal(&h); err == nil {
			hb = nb
		}
	}
	out := append([]byte(nil), b[:16]...)
	binary.LittleEndian.PutUint32(out[12:], uint32(len(hb)))
	out = append(out, hb...)
	out = binary.LittleEndian.AppendUint32(out, container.Checksum(hb))
	return append(out, table...)
}

// TestFixChecksums checks the fuzzer's helper: a file damaged in its
// streams or header values gets past every checksum once repaired.
func TestFixChecksums(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Compress(&buf, npyWithOther(t), "x.npy", Options{Window: 400}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	if got := fixChecksums(good); !bytes.Equal(got, good) {
		t.Fatal("fixChecksums changes an undamaged file")
	}
	h, _ := Inspect(good)
	if h.Other.Length == 0 || len(h.Streams) < 2 {
		t.Fatalf("test file has %d non-float bytes and %d windows", h.Other.Length, len(h.Streams))
	}
	hlen := int(binary.LittleEndian.Uint32(good[12:]))
	var coded int
	for _, st := range h.Streams {
		coded += int(st.Length)
	}
	// The first bytes of the non-float stream and of the first window (a
	// stream's last byte may carry slack bits that change nothing), and a
	// header value.
	for _, off := range []int{len(good) - coded - int(h.Other.Length) + 1, len(good) - coded + 1, bytes.Index(good, []byte(`"float_bytes":`)) + 14} {
		b := append([]byte(nil), good...)
		b[off] ^= 1
		if off < 16+hlen {
			b[off] = '7' // keep the JSON valid
		}
		_, _, err := Decompress(fixChecksums(b), Options{})
		if err == nil || strings.Contains(err.Error(), "checksum") {
			t.Errorf("damage at %d: %v, want an error past the checksums", off, err)
		}
	}
}

// npyWithOther returns a .npy file with float32 data and a header, so
// that its .lmgc file has a non-float stream.
func npyWithOther(t testing.TB) []byte {
	var b bytes.Buffer
	if err := tensorio.WriteNPY(&b, "<f4", []int64{300}, false, gaussian(300, 1, 5)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FuzzDecompress decodes damaged files, as they are or with their
// checksums repaired (fix). Every failure must be one of the typed errors
// of decodeErrors. A file that decodes must give exactly the original its
// header describes (size and SHA-256), and compressing that output again
// with the header's settings must give a file that decodes to it again.
// TestReencodeIdentical checks that undamaged files re-encode to
// themselves.
func FuzzDecompress(f *testing.F) {
	// No cm seed: building the cm prior takes a third of a second, which
	// would make the fuzzer crawl; TestRoundTrip covers its decoder.
	for _, opt := range []Options{{}, {Format: "hs", Window: 1200}, {Format: "iso", Window: 1100, SignFirst: true}} {
		var buf bytes.Buffer
		if _, err := Compress(&buf, gaussian(300, 1, 2), "x.f32", opt); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes(), false)
		f.Add(buf.Bytes(), true)
	}
	var npy bytes.Buffer
	if _, err := Compress(&npy, smallNPY(f), "x.npy", Options{Window: 64}); err != nil {
		f.Fatal(err)
	}
	f.Add(npy.Bytes(), true)
	var lr, st bytes.Buffer
	if err := tensorio.WriteSafetensors(&st, []tensorio.Tensor{{Name: "w", DType: "F32", Shape: []int64{12, 20}, Data: lowRankGrad(12, 20, 3, 1)}}, nil); err != nil {
		f.Fatal(err)
	}
	if _, err := Compress(&lr, st.Bytes(), "x.safetensors", Options{LowRank: true}); err != nil {
		f.Fatal(err)
	}
	if h, _ := Inspect(lr.Bytes()); h == nil || h.Original.Segments[1].LowRank == "" {
		f.Fatal("low-rank seed has no plan")
	}
	f.Add(lr.Bytes(), false)
	f.Add(lr.Bytes(), true)
	seeds, _ := filepath.Glob("testdata/*.lmgc")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b, false)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix {
			b = fixChecksums(b)
		}
		out, _, err := Decompress(b, Options{Threads: 1})
		if err != nil {
			for _, e := range decodeErrors {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("untyped error: %v", err)
		}
		h, err := Inspect(b)
		if err != nil {
			t.Fatalf("decoded, yet Inspect fails: %v", err)
		}
		sum := sha256.Sum256(out)
		if int64(len(out)) != h.Original.Size || hex.EncodeToString(sum[:]) != h.Original.SHA256 {
			t.Fatalf("decoded %d bytes with SHA-256 %x; the header says %d bytes, %s", len(out), sum, h.Original.Size, h.Original.SHA256)
		}
		again, err := reencode(h, out)
		if err != nil {
			// The header may describe settings Compress refuses (a
			// window below one chunk), or an original that is no valid
			// file of its format: then nothing more to check.
			return
		}
		back, _, err := Decompress(again, Options{Threads: 1})
		if err != nil || !bytes.Equal(back, out) {
			t.Fatalf("re-encoded output does not round trip: %v", err)
		}
	})
}
