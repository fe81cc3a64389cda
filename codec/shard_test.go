package codec

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/prior/llm"
	"github.com/lmgc/lmgc/sample"
	"github.com/lmgc/lmgc/tensorio"
)

// memFile is an io.WriterAt over a preallocated buffer, the test's
// stand-in for the shared output file.
type memFile []byte

func (m memFile) WriteAt(b []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(b)) > int64(len(m)) {
		return 0, fmt.Errorf("write of %d bytes at %d outside the %d-byte file", len(b), off, len(m))
	}
	return copy(m[off:], b), nil
}

// encodeParts codes src as n shards and returns the part files.
func encodeParts(t *testing.T, src []byte, name string, opt Options, n int) [][]byte {
	t.Helper()
	enc, err := NewEncoder(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	parts := make([][]byte, n)
	for i := range parts {
		var b bytes.Buffer
		if _, err := enc.EncodeShard(&b, bytes.NewReader(src), int64(len(src)), name, Shard{i, n}); err != nil {
			t.Fatalf("shard %d/%d: %v", i, n, err)
		}
		parts[i] = b.Bytes()
	}
	return parts
}

func partFiles(parts [][]byte, order []int) []PartFile {
	var pf []PartFile
	for _, i := range order {
		pf = append(pf, PartFile{Name: fmt.Sprintf("part.%d", i), R: bytes.NewReader(parts[i]), Size: int64(len(parts[i]))})
	}
	return pf
}

func merge(parts [][]byte, order []int) ([]byte, error) {
	var out bytes.Buffer
	_, err := Merge(&out, partFiles(parts, order))
	return out.Bytes(), err
}

// decodeShards decodes every shard of file into a preallocated buffer.
func decodeShards(t *testing.T, file []byte, n int, opt Options) []byte {
	t.Helper()
	h, err := Inspect(file)
	if err != nil {
		t.Fatal(err)
	}
	out := make(memFile, h.Original.Size)
	for i := n - 1; i >= 0; i-- { // any order
		if _, err := DecodeShard(out, bytes.NewReader(file), int64(len(file)), Shard{i, n}, opt); err != nil {
			t.Fatalf("decode shard %d/%d: %v", i, n, err)
		}
	}
	return out
}

// checkSharded codes src whole and in n shards, merges the shards in a
// shuffled order and checks the result is the whole file byte for byte;
// with decode, it also decodes it shard by shard.
func checkSharded(t *testing.T, src []byte, name string, opt Options, decode bool, counts ...int) {
	t.Helper()
	var whole bytes.Buffer
	if _, err := Compress(&whole, src, name, opt); err != nil {
		t.Fatal(err)
	}
	h, _ := Inspect(whole.Bytes())
	for _, n := range counts {
		parts := encodeParts(t, src, name, opt, n)
		order := rand.New(rand.NewPCG(uint64(n), 1)).Perm(n)
		got, err := merge(parts, order)
		if err != nil {
			t.Fatalf("%s, %d shards: merge: %v", name, n, err)
		}
		if !bytes.Equal(got, whole.Bytes()) {
			t.Fatalf("%s, %d shards (%d windows): merged file (%d bytes) differs from the one-machine file (%d bytes)", name, n, len(h.Streams), len(got), whole.Len())
		}
		if decode {
			dopt := Options{Model: opt.Model}
			out := decodeShards(t, got, n, dopt)
			if !bytes.Equal(out, src) {
				t.Fatalf("%s, %d shards: decoded shards differ from the original", name, n)
			}
			if err := VerifyOutput(bytes.NewReader(got), int64(len(got)), bytes.NewReader(out), int64(len(out))); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestShardedByteIdentical(t *testing.T) {
	st := sample.Gradient // a real npy gradient: a header, then floats
	data := sampleFloats(t, 40000)
	for _, c := range []struct {
		name   string
		src    []byte
		opt    Options
		decode bool
		counts []int
	}{
		{"grad.npy", st, Options{Prior: "order2", Window: 1 << 14}, true, []int{3}},
		{"grad.npy", st, Options{Prior: "order2", Window: 1 << 14, SignFirst: true, Threads: 1}, true, []int{2, 7}},
		{"g.f32", data[:len(data)-1], Options{Prior: "order2", Window: 4096}, true, []int{1, 2, 3, 4, 7}}, // a trailing byte: an other segment
		{"g.f32", data, Options{Prior: "cm", Window: 4096}, true, []int{1, 2, 3, 4, 7}},
		{"g.f32", data[:9000], Options{Prior: "order2", Format: "hs", Window: 4000}, true, []int{1, 2, 3, 4, 7}},
		{"g.f32", data[:9000], Options{Prior: "cm", Format: "iso", BytesPerGroup: 2, Window: 2000}, false, []int{1, 2, 3, 4, 7}},
		{"empty.f32", nil, Options{Prior: "order2"}, true, []int{1, 2, 3, 4, 7}},
	} {
		t.Run(fmt.Sprintf("%s-%s-%s", c.name, c.opt.Prior, c.opt.Format), func(t *testing.T) {
			checkSharded(t, c.src, c.name, c.opt, c.decode, c.counts...)
		})
	}
}

func TestShardedSafetensors(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "testdata", "gradients", "convnet-mnist-2ep", "grad-000465.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	checkSharded(t, src, "grad.safetensors", Options{Prior: "order2", Window: 1 << 17}, true, 4)
}

func TestShardedLLM(t *testing.T) {
	model := tinyModel(t, 1)
	data := sampleFloats(t, 800)
	for _, mode := range []string{llm.Constrained, llm.Paper} {
		opt := Options{Prior: "llm", Model: model, Window: 300, LLM: llm.Config{Mode: mode, Batch: 2}}
		checkSharded(t, data, "g.f32", opt, mode == llm.Constrained, 3)
	}
	// Paper-mode windows cut the text anywhere: decoding one shard is
	// refused, not guessed.
	var whole bytes.Buffer
	if _, err := Compress(&whole, data, "g.f32", Options{Prior: "llm", Model: model, Window: 300, LLM: llm.Config{Mode: llm.Paper}}); err != nil {
		t.Fatal(err)
	}
	out := make(memFile, len(data))
	_, err := DecodeShard(out, bytes.NewReader(whole.Bytes()), int64(whole.Len()), Shard{0, 2}, Options{Model: model})
	if !errors.Is(err, ErrShardUnsupported) {
		t.Fatalf("paper mode, one shard: got %v, want ErrShardUnsupported", err)
	}
}

func TestMergeErrors(t *testing.T) {
	data := sampleFloats(t, 40000)
	opt := Options{Prior: "order2", Window: 4096}
	parts := encodeParts(t, data, "g.f32", opt, 3)
	other := func(src []byte, name string, o Options, n, i int) []byte { return encodeParts(t, src, name, o, n)[i] }
	changed := append([]byte(nil), data...)
	changed[100] ^= 1
	var mm *PartMismatchError
	for _, c := range []struct {
		name  string
		parts [][]byte
		want  error
		what  string
	}{
		{"missing", [][]byte{parts[0], parts[2]}, ErrShardMissing, ""},
		{"duplicate", [][]byte{parts[0], parts[1], parts[1], parts[2]}, ErrShardDuplicate, ""},
		{"other input", [][]byte{parts[0], other(changed, "g.f32", opt, 3, 1), parts[2]}, ErrPartMismatch, "input"},
		{"other name", [][]byte{parts[0], other(data, "h.f32", opt, 3, 1), parts[2]}, ErrPartMismatch, "settings"},
		{"other window", [][]byte{parts[0], other(data, "g.f32", Options{Prior: "order2", Window: 8192}, 3, 1), parts[2]}, ErrPartMismatch, "settings"},
		{"other prior", [][]byte{parts[0], other(data, "g.f32", Options{Prior: "cm", Window: 4096}, 3, 1), parts[2]}, ErrPartMismatch, "prior fingerprint"},
		{"other count", [][]byte{parts[0], other(data, "g.f32", opt, 4, 1), parts[2]}, ErrPartMismatch, "shard count"},
		{"not a part", [][]byte{parts[0], []byte("hello, world"), parts[2]}, container.ErrNotPart, ""},
		{"truncated", [][]byte{parts[0], parts[1][:len(parts[1])-1], parts[2]}, container.ErrCorrupt, ""},
	} {
		var order []int
		for i := range c.parts {
			order = append(order, i)
		}
		_, err := merge(c.parts, order)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
			continue
		}
		if c.what != "" && (!errors.As(err, &mm) || mm.What != c.what) {
			t.Errorf("%s: got %v, want a mismatch of %s", c.name, err, c.what)
		}
	}
	// A damaged window is found by its checksum while it is copied.
	bad := append([]byte(nil), parts[1]...)
	bad[len(bad)-5] ^= 0x40
	if _, err := merge([][]byte{parts[0], bad, parts[2]}, []int{0, 1, 2}); !errors.Is(err, container.ErrCorrupt) {
		t.Errorf("damaged stream: got %v, want ErrCorrupt", err)
	}
}

func TestVerifyOutputIncomplete(t *testing.T) {
	data := sampleFloats(t, 40000)
	var whole bytes.Buffer
	if _, err := Compress(&whole, data, "g.f32", Options{Window: 4096}); err != nil {
		t.Fatal(err)
	}
	file := whole.Bytes()
	out := make(memFile, len(data))
	for _, i := range []int{0, 1, 3} { // shard 2 of 4 never ran
		if _, err := DecodeShard(out, bytes.NewReader(file), int64(len(file)), Shard{i, 4}, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(b []byte) error {
		return VerifyOutput(bytes.NewReader(file), int64(len(file)), bytes.NewReader(b), int64(len(b)))
	}
	if err := verify(out); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("a shard missing: got %v, want ErrIncomplete", err)
	}
	if err := verify(data[:len(data)-4]); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("short output: got %v, want ErrIncomplete", err)
	}
	if _, err := DecodeShard(out, bytes.NewReader(file), int64(len(file)), Shard{2, 4}, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := verify(out); err != nil {
		t.Fatal(err)
	}
}

func TestParseShard(t *testing.T) {
	if s, err := ParseShard("3/8"); err != nil || s != (Shard{3, 8}) {
		t.Fatalf("3/8: %v %v", s, err)
	}
	for _, bad := range []string{"", "3", "8/8", "-1/4", "0/0", "a/b", "1/2/3", "0/99999999"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// The shards cover the windows once, in order, in runs of sizes that
	// differ by at most one.
	for _, w := range []int64{0, 1, 5, 100, 101} {
		for n := 1; n <= 9; n++ {
			var at int64
			for i := 0; i < n; i++ {
				first, end := Shard{i, n}.Windows(w)
				if first != at || end < first || end-first > w/int64(n)+1 || end-first < w/int64(n) {
					t.Fatalf("%d windows, shard %d/%d: %d to %d", w, i, n, first, end)
				}
				at = end
			}
			if at != w {
				t.Fatalf("%d windows in %d shards end at %d", w, n, at)
			}
		}
	}
}

// FuzzMerge merges two part files made from the fuzzer's bytes: bad parts
// give errors, never a panic, and a merge that succeeds gives an .lmgc file
// that parses.
func FuzzMerge(f *testing.F) {
	data := make([]byte, 4000)
	copy(data, sample.Gradient[128:])
	enc, _ := NewEncoder(Options{Window: 1024})
	var parts [2][]byte
	for i := range parts {
		var b bytes.Buffer
		if _, err := enc.EncodeShard(&b, bytes.NewReader(data), int64(len(data)), "g.f32", Shard{i, 2}); err != nil {
			f.Fatal(err)
		}
		parts[i] = b.Bytes()
	}
	enc.Close()
	f.Add(parts[0], parts[1])
	f.Add(parts[1], parts[0])
	f.Add(parts[0], parts[0])
	f.Fuzz(func(t *testing.T, a, b []byte) {
		out, err := merge([][]byte{a, b}, []int{0, 1})
		if err != nil {
			return
		}
		if _, err := container.Parse(out); err != nil {
			t.Fatalf("merged file does not parse: %v", err)
		}
	})
}

// TestShardedBF16 checks that a bfloat16 file, coded by a 16-bit float
// prior, is split and merged like a float32 one: the shards read the same
// 16-bit segments the whole-file encoder codes.
func TestShardedBF16(t *testing.T) {
	half := toBF16(gaussian(6000, 1e-3, 5))
	src := safetensors16(t,
		tensorio.Tensor{Name: "w", DType: "BF16", Shape: []int64{50, 100}, Data: half[:10000]},
		tensorio.Tensor{Name: "b", DType: "BF16", Shape: []int64{1000}, Data: half[10000:]})
	checkSharded(t, src, "h.safetensors", Options{Prior: "fcm", Window: 2000}, true, 1, 3)
	// An odd number of 16-bit floats: the last window is 2 mod 4 bytes.
	odd := toBF16(gaussian(5999, 1e-3, 6))
	src = safetensors16(t, tensorio.Tensor{Name: "w", DType: "BF16", Shape: []int64{5999}, Data: odd})
	checkSharded(t, src, "odd.safetensors", Options{Prior: "fcm", Window: 2000}, true, 1, 3)
}
