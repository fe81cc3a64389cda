package gguf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/lmgc/lmgc/internal/testenv"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sampleKVs has one value of every supported type.
func sampleKVs() []KV {
	return []KV{
		{"general.architecture", "llama"},
		{"u8", uint8(200)}, {"i8", int8(-100)}, {"u16", uint16(60000)}, {"i16", int16(-30000)},
		{"u32", uint32(4000000000)}, {"i32", int32(-2000000000)}, {"u64", uint64(1) << 63}, {"i64", int64(-1) << 62},
		{"f32", float32(1.5)}, {"f64", float64(-2.25)}, {"bool", true}, {"str", "héllo"}, {"empty", ""},
		{"au8", []uint8{1, 2, 3}}, {"ai8", []int8{-1, 2}}, {"au16", []uint16{7}}, {"ai16", []int16{-7, 8}},
		{"au32", []uint32{1, 2}}, {"ai32", []int32{-5, 6, 7}}, {"au64", []uint64{9}}, {"ai64", []int64{-9}},
		{"af32", []float32{0.5, -1}}, {"af64", []float64{3}}, {"abool", []bool{true, false}},
		{"astr", []string{"a", "", "ccc"}}, {"aempty", []string{}},
	}
}

func buildSample(t testing.TB, align uint32) ([]byte, map[string][]byte) {
	t.Helper()
	w := NewWriter()
	for _, kv := range sampleKVs() {
		w.AddKV(kv.Key, kv.Value)
	}
	if align != 0 {
		w.AddKV("general.alignment", align)
	}
	data := map[string][]byte{}
	add := func(name string, typ Type, shape []int64) {
		n := int64(1)
		for _, d := range shape {
			n *= d
		}
		size, err := typ.RowBytes(n)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(len(name) + i*7)
		}
		data[name] = b
		if err := w.AddTensor(name, typ, shape, b); err != nil {
			t.Fatal(err)
		}
	}
	add("a", F32, []int64{3})
	add("b.weight", F16, []int64{5, 2})
	add("c", Q8_0, []int64{64, 3})
	add("d", Q4_K, []int64{256, 1, 2})
	add("e", BF16, []int64{1, 1, 1, 1})
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	if size, err := w.Size(); err != nil || size != n {
		t.Fatalf("Size() = %d, %v; WriteTo wrote %d", size, err, n)
	}
	return buf.Bytes(), data
}

func TestRoundTrip(t *testing.T) {
	for _, align := range []uint32{0, 1, 64, 4096} {
		file, data := buildSample(t, align)
		f, err := Parse(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			t.Fatalf("align %d: %v", align, err)
		}
		if f.Version != 3 {
			t.Errorf("version %d", f.Version)
		}
		want := sampleKVs()
		if align != 0 {
			want = append(want, KV{"general.alignment", align})
		} else {
			align = DefaultAlignment
		}
		if !reflect.DeepEqual(f.KV, want) {
			t.Errorf("align %d: KVs differ:\n got %#v\nwant %#v", align, f.KV, want)
		}
		if f.Alignment != int(align) || f.DataOffset%int64(align) != 0 {
			t.Errorf("alignment %d, data offset %d", f.Alignment, f.DataOffset)
		}
		if len(f.Tensors) != len(data) {
			t.Fatalf("%d tensors", len(f.Tensors))
		}
		for _, ti := range f.Tensors {
			if ti.Offset%uint64(align) != 0 {
				t.Errorf("tensor %s offset %d not aligned", ti.Name, ti.Offset)
			}
			got, err := f.TensorData(&ti)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data[ti.Name]) {
				t.Errorf("tensor %s data differs", ti.Name)
			}
		}
		d, ok := f.Tensor("d")
		if !ok || !reflect.DeepEqual(d.Shape, []int64{256, 1, 2}) || d.Type != Q4_K || d.Size != 2*144 {
			t.Errorf("tensor d = %+v", d)
		}
		if f.Architecture() != "llama" {
			t.Errorf("architecture %q", f.Architecture())
		}
	}
}

func TestGetters(t *testing.T) {
	file, _ := buildSample(t, 0)
	f, err := Parse(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	ints := []struct {
		key  string
		want int64
		ok   bool
	}{{"u8", 200, true}, {"i8", -100, true}, {"u16", 60000, true}, {"i16", -30000, true}, {"u32", 4000000000, true},
		{"i32", -2000000000, true}, {"u64", 0, false}, {"i64", -1 << 62, true}, {"f32", 0, false}, {"str", 0, false}, {"missing", 0, false}}
	for _, c := range ints {
		if got, ok := f.Int(c.key); got != c.want || ok != c.ok {
			t.Errorf("Int(%s) = %d, %v; want %d, %v", c.key, got, ok, c.want, c.ok)
		}
	}
	if v, ok := f.Uint32("u32"); !ok || v != 4000000000 {
		t.Errorf("Uint32(u32) = %d %v", v, ok)
	}
	if _, ok := f.Uint32("i8"); ok {
		t.Error("Uint32 accepted a negative value")
	}
	if v, ok := f.Float32("f64"); !ok || v != -2.25 {
		t.Errorf("Float32(f64) = %v %v", v, ok)
	}
	if v, ok := f.Float32("f32"); !ok || v != 1.5 {
		t.Errorf("Float32(f32) = %v %v", v, ok)
	}
	if v, ok := f.Bool("bool"); !ok || !v {
		t.Error("Bool")
	}
	if v, ok := f.String("str"); !ok || v != "héllo" {
		t.Error("String")
	}
	if v, ok := f.Strings("astr"); !ok || !reflect.DeepEqual(v, []string{"a", "", "ccc"}) {
		t.Error("Strings")
	}
	if v, ok := f.Float32s("af64"); !ok || !reflect.DeepEqual(v, []float32{3}) {
		t.Error("Float32s")
	}
	if v, ok := f.Int32s("ai32"); !ok || !reflect.DeepEqual(v, []int32{-5, 6, 7}) {
		t.Error("Int32s")
	}
	if v, ok := f.Int32s("au8"); !ok || !reflect.DeepEqual(v, []int32{1, 2, 3}) {
		t.Error("Int32s(au8)")
	}
}

func TestStreamingWriter(t *testing.T) {
	w := NewWriter()
	w.AddKV("general.architecture", "test")
	payload := bytes.Repeat([]byte{1, 2, 3, 4}, 10)
	if err := w.AddTensorFunc("s", F32, []int64{10}, func(out io.Writer) error {
		for i := 0; i < 10; i++ {
			if _, err := out.Write(payload[4*i : 4*i+4]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f := writeParse(t, w)
	got, _ := f.TensorData(&f.Tensors[0])
	if !bytes.Equal(got, payload) {
		t.Error("streamed data differs")
	}

	for _, n := range []int{39, 41} {
		w := NewWriter()
		w.AddTensorFunc("s", F32, []int64{10}, func(out io.Writer) error {
			_, err := out.Write(make([]byte, n))
			return err
		})
		if _, err := w.WriteTo(io.Discard); err == nil {
			t.Errorf("callback writing %d of 40 bytes: no error", n)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter()
	cases := []struct {
		name  string
		typ   Type
		shape []int64
		data  int
	}{
		{"bad-size", F32, []int64{4}, 15},
		{"bad-block", Q8_0, []int64{31}, 34},
		{"bad-type", Type(4), []int64{1}, 1},
		{"too-many-dims", F32, []int64{1, 1, 1, 1, 1}, 4},
		{"negative", F32, []int64{-1}, 0},
		{strings.Repeat("n", 64), F32, []int64{1}, 4},
	}
	for _, c := range cases {
		if err := w.AddTensor(c.name, c.typ, c.shape, make([]byte, c.data)); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if err := w.AddTensor("x", F32, []int64{1}, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("x", F32, []int64{1}, make([]byte, 4)); err == nil {
		t.Error("duplicate name: no error")
	}
	w.AddKV("bad", 5) // Go int
	if _, err := w.WriteTo(io.Discard); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("int value: err = %v", err)
	}
	w = NewWriter()
	w.AddKV("general.alignment", uint32(48))
	if _, err := w.WriteTo(io.Discard); err == nil {
		t.Error("alignment 48: no error")
	}
}

func TestTypeTraits(t *testing.T) {
	cases := []struct {
		typ         Type
		name        string
		block, size int
	}{
		{F32, "f32", 1, 4}, {F16, "f16", 1, 2}, {BF16, "bf16", 1, 2}, {Q4_0, "q4_0", 32, 18}, {Q4_1, "q4_1", 32, 20},
		{Q5_0, "q5_0", 32, 22}, {Q5_1, "q5_1", 32, 24}, {Q8_0, "q8_0", 32, 34}, {Q8_1, "q8_1", 32, 36},
		{Q2_K, "q2_K", 256, 84}, {Q3_K, "q3_K", 256, 110}, {Q4_K, "q4_K", 256, 144}, {Q5_K, "q5_K", 256, 176},
		{Q6_K, "q6_K", 256, 210}, {Q8_K, "q8_K", 256, 292}, {IQ4_NL, "iq4_nl", 32, 18}, {IQ4_XS, "iq4_xs", 256, 136},
		{MXFP4, "mxfp4", 32, 17}, {TQ2_0, "tq2_0", 256, 66},
	}
	for _, c := range cases {
		if c.typ.String() != c.name || c.typ.BlockSize() != c.block || c.typ.TypeSize() != c.size {
			t.Errorf("%d: got %s %d %d, want %s %d %d", c.typ, c.typ, c.typ.BlockSize(), c.typ.TypeSize(), c.name, c.block, c.size)
		}
		if p, err := ParseType(strings.ToUpper(c.name)); err != nil || p != c.typ {
			t.Errorf("ParseType(%s) = %v, %v", c.name, p, err)
		}
	}
	if Type(4).Valid() || Type(31).Valid() || Type(40).Valid() {
		t.Error("removed type numbers are valid")
	}
	if n, err := Q4_K.RowBytes(512); err != nil || n != 288 {
		t.Errorf("RowBytes = %d, %v", n, err)
	}
	if _, err := Q4_K.RowBytes(100); err == nil {
		t.Error("RowBytes(100) of q4_K: no error")
	}
	if _, err := Type(99).RowBytes(1); err == nil {
		t.Error("RowBytes of unknown type: no error")
	}
}

func TestOpen(t *testing.T) {
	file, data := buildSample(t, 0)
	path := filepath.Join(t.TempDir(), "x.gguf")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ti, _ := f.Tensor("c")
	got, err := f.TensorData(ti)
	if err != nil || !bytes.Equal(got, data["c"]) {
		t.Errorf("mmapped data differs (%v)", err)
	}
	// Dropped pages come back from the file; slices outside the mapping
	// (here a heap copy) are left alone.
	heap := bytes.Clone(got)
	f.DropPages(f.mapped)
	f.DropPages(heap)
	if !bytes.Equal(got, data["c"]) || !bytes.Equal(heap, data["c"]) {
		t.Error("data differs after DropPages")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.TensorData(ti); err == nil {
		t.Error("TensorData after Close: no error")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.gguf")); err == nil {
		t.Error("missing file: no error")
	}
}

// parseErr parses b and returns the error (which must not be nil).
func parseErr(t *testing.T, what string, b []byte) string {
	t.Helper()
	_, err := Parse(bytes.NewReader(b), int64(len(b)))
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	return err.Error()
}

func TestTruncated(t *testing.T) {
	file, _ := buildSample(t, 0)
	for cut := 0; cut < len(file); cut++ {
		parseErr(t, "truncated", file[:cut])
	}
}

func TestBadInput(t *testing.T) {
	le := binary.LittleEndian
	header := func(version uint32, nt, nkv uint64) []byte {
		b := []byte(Magic)
		b = le.AppendUint32(b, version)
		b = le.AppendUint64(b, nt)
		return le.AppendUint64(b, nkv)
	}
	str := func(b []byte, s string) []byte { return append(le.AppendUint64(b, uint64(len(s))), s...) }
	pad := make([]byte, 64)

	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"magic", append([]byte("GGML"), header(3, 0, 0)[4:]...), "not a GGUF file"},
		{"v1", header(1, 0, 0), "version 1"},
		{"big-endian", append([]byte(Magic), 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0), "big-endian"},
		{"v9", header(9, 0, 0), "unsupported version 9"},
		{"absurd kv count", header(3, 0, 1<<40), "metadata pairs exceed"},
		{"absurd tensor count", header(3, 1<<40, 0), "tensors exceed"},
		{"absurd key", append(le.AppendUint64(header(3, 0, 1), 1<<62), pad...), "exceeds file size"},
		{"absurd string array", append(le.AppendUint64(le.AppendUint32(le.AppendUint32(str(header(3, 0, 1), "X"), 9), 8), 4294967295), pad...),
			"gguf: array of 4294967295 strings at key X exceeds file size"},
		{"absurd float array", append(le.AppendUint64(le.AppendUint32(le.AppendUint32(str(header(3, 0, 1), "Y"), 9), 6), 1<<40), pad...),
			"array of 1099511627776 float32s at key Y exceeds file size"},
		{"nested array", append(le.AppendUint64(le.AppendUint32(le.AppendUint32(str(header(3, 0, 1), "N"), 9), 9), 1), pad...), "nested"},
		{"bad value type", append(le.AppendUint32(str(header(3, 0, 1), "V"), 13), pad...), "unknown value type 13"},
		{"bad bool", append(le.AppendUint32(str(header(3, 0, 1), "B"), 7), 2), "bool value 2"},
		{"duplicate key", append(le.AppendUint32(str(append(le.AppendUint32(str(header(3, 0, 2), "k"), 0), 1), "k"), 0), 1), "duplicate metadata key"},
		{"bad alignment", append(le.AppendUint32(le.AppendUint32(str(header(3, 0, 1), "general.alignment"), 4), 3), pad...), "power-of-two"},
	}
	tensor := func(name string, dims []uint64, typ uint32, off uint64) []byte {
		b := str(header(3, 1, 0), name)
		b = le.AppendUint32(b, uint32(len(dims)))
		for _, d := range dims {
			b = le.AppendUint64(b, d)
		}
		b = le.AppendUint32(b, typ)
		b = le.AppendUint64(b, off)
		for len(b)%32 != 0 {
			b = append(b, 0)
		}
		return append(b, make([]byte, 128)...)
	}
	cases = append(cases, []struct {
		name string
		file []byte
		want string
	}{
		{"ok tensor", nil, ""},
		{"unknown type", tensor("t", []uint64{4}, 4, 0), "unknown tensor type 4"},
		{"unknown type 99", tensor("t", []uint64{4}, 99, 0), "unknown tensor type 99"},
		{"block mismatch", tensor("t", []uint64{33}, 8, 0), "not a multiple"},
		{"too big", tensor("t", []uint64{64}, 0, 0), "extends past the end"},
		{"offset past end", tensor("t", []uint64{4}, 0, 1<<40), "extends past the end"},
		{"unaligned", tensor("t", []uint64{4}, 0, 4), "not a multiple of the alignment"},
		{"too many dims", tensor("t", []uint64{1, 1, 1, 1, 1}, 0, 0), "dimensions"},
		{"negative dim", tensor("t", []uint64{1 << 63}, 0, 0), "negative"},
		{"overflow", tensor("t", []uint64{1 << 40, 1 << 40}, 0, 0), "overflow"},
		{"long name", tensor(strings.Repeat("x", 64), []uint64{4}, 0, 0), "longer than"},
	}...)
	for _, c := range cases {
		if c.file == nil {
			// sanity: the tensor builder makes valid files
			b := tensor("t", []uint64{4}, 0, 0)
			if _, err := Parse(bytes.NewReader(b), int64(len(b))); err != nil {
				t.Fatalf("valid hand-built file: %v", err)
			}
			continue
		}
		if got := parseErr(t, c.name, c.file); !strings.Contains(got, c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, got, c.want)
		}
	}
}

func TestOverlap(t *testing.T) {
	le := binary.LittleEndian
	b := []byte(Magic)
	b = le.AppendUint32(b, 3)
	b = le.AppendUint64(b, 2)
	b = le.AppendUint64(b, 0)
	for _, name := range []string{"a", "b"} {
		b = append(le.AppendUint64(b, 1), name...)
		b = le.AppendUint32(b, 1)
		b = le.AppendUint64(b, 16)
		b = le.AppendUint32(b, 0)
		b = le.AppendUint64(b, 32*uint64(name[0]-'a'))
	}
	for len(b)%32 != 0 {
		b = append(b, 0)
	}
	b = append(b, make([]byte, 128)...)
	if got := parseErr(t, "overlap", b); !strings.Contains(got, "overlap") {
		t.Errorf("error %q", got)
	}
}

func vocabPath(t testing.TB, name string) string {
	return testenv.Shared(t, "testdata", "vocab", name)
}

func TestVocabFiles(t *testing.T) {
	cases := []struct {
		file, model, pre string
		vocab            int
		merges           bool
		bos, eos         int64
	}{
		{"ggml-vocab-llama-spm.gguf", "llama", "default", 32000, false, 1, 2},
		{"ggml-vocab-qwen2.gguf", "gpt2", "qwen2", 151936, true, 151643, 151643},
		{"ggml-vocab-gpt-2.gguf", "gpt2", "gpt-2", 50257, true, 50256, 50256},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f, err := Open(vocabPath(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if m, _ := f.String("tokenizer.ggml.model"); m != c.model {
				t.Errorf("model %q, want %q", m, c.model)
			}
			if p, _ := f.String("tokenizer.ggml.pre"); p != c.pre {
				t.Errorf("pre %q, want %q", p, c.pre)
			}
			toks, ok := f.Strings("tokenizer.ggml.tokens")
			if !ok || len(toks) != c.vocab {
				t.Errorf("%d tokens, want %d", len(toks), c.vocab)
			}
			if tt, ok := f.Int32s("tokenizer.ggml.token_type"); !ok || len(tt) != c.vocab {
				t.Errorf("%d token types", len(tt))
			}
			if m, ok := f.Strings("tokenizer.ggml.merges"); ok != c.merges || (ok && len(m) == 0) {
				t.Errorf("merges present %v (%d), want %v", ok, len(m), c.merges)
			}
			if v, _ := f.Int("tokenizer.ggml.bos_token_id"); v != c.bos {
				t.Errorf("bos %d, want %d", v, c.bos)
			}
			if v, _ := f.Int("tokenizer.ggml.eos_token_id"); v != c.eos {
				t.Errorf("eos %d, want %d", v, c.eos)
			}
			for _, kv := range f.KV {
				t.Logf("%s: %s", kv.Key, summarize(kv.Value))
			}
			// Writing the file back yields a file with the same metadata.
			w := NewWriter()
			for _, kv := range f.KV {
				w.AddKV(kv.Key, kv.Value)
			}
			g := writeParse(t, w)
			if !reflect.DeepEqual(g.KV, f.KV) {
				t.Error("metadata differs after rewriting")
			}
		})
	}
}

// TestTruncatedVocab cuts a real llama.cpp file at many points.
func TestTruncatedVocab(t *testing.T) {
	b, err := os.ReadFile(vocabPath(t, "ggml-vocab-llama-spm.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 40; k++ {
		cut := len(b) * k / 40
		if _, err := Parse(bytes.NewReader(b[:cut]), int64(cut)); err == nil {
			t.Errorf("cut at %d of %d: no error", cut, len(b))
		}
	}
	// Cuts inside the header region, byte by byte.
	for cut := 0; cut < 2000; cut++ {
		if _, err := Parse(bytes.NewReader(b[:cut]), int64(cut)); err == nil {
			t.Errorf("cut at %d: no error", cut)
		}
	}
}

func summarize(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		n := rv.Len()
		return fmt.Sprintf("%T len %d %v...", v, n, rv.Slice(0, min(n, 3)).Interface())
	}
	return fmt.Sprint(v)
}

func BenchmarkOpenQwen2Vocab(b *testing.B) {
	p := vocabPath(b, "ggml-vocab-qwen2.gguf")
	for b.Loop() {
		f, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func TestFingerprint(t *testing.T) {
	build := func(mod func(w *Writer)) string {
		w := NewWriter()
		w.AddKV("general.architecture", "llama")
		w.AddKV("general.name", "x")
		w.AddKV("llama.block_count", uint32(2))
		w.AddKV("tokenizer.ggml.tokens", []string{"a", "b"})
		w.AddTensor("a", F32, []int64{2}, []byte{1, 2, 3, 4, 5, 6, 7, 8})
		w.AddTensor("b", F16, []int64{2}, []byte{1, 2, 3, 4})
		if mod != nil {
			mod(w)
		}
		f := writeParse(t, w)
		return f.Fingerprint()
	}
	base := build(nil)
	if len(base) != 64 {
		t.Fatalf("fingerprint %q", base)
	}
	same := map[string]func(w *Writer){
		"name":      func(w *Writer) { w.AddKV("general.name", "y") },
		"alignment": func(w *Writer) { w.AddKV("general.alignment", uint32(256)) },
		"author":    func(w *Writer) { w.AddKV("general.author", "z") },
	}
	differ := map[string]func(w *Writer){
		"arch":         func(w *Writer) { w.AddKV("general.architecture", "qwen2") },
		"hyper":        func(w *Writer) { w.AddKV("llama.block_count", uint32(3)) },
		"hyper type":   func(w *Writer) { w.AddKV("llama.block_count", uint64(2)) },
		"tokens":       func(w *Writer) { w.AddKV("tokenizer.ggml.tokens", []string{"a", "c"}) },
		"new key":      func(w *Writer) { w.AddKV("tokenizer.ggml.bos_token_id", uint32(1)) },
		"tensor data":  func(w *Writer) { w.tensors[0].data = []byte{1, 2, 3, 4, 5, 6, 7, 9} },
		"tensor type":  func(w *Writer) { w.tensors[1].info.Type = BF16 },
		"tensor shape": func(w *Writer) { w.tensors[0].info.Shape = []int64{1, 2} },
		"tensor name":  func(w *Writer) { w.tensors[0].info.Name = "c" },
		"extra tensor": func(w *Writer) { w.AddTensor("c", F32, []int64{0}, nil) },
	}
	for name, mod := range same {
		if got := build(mod); got != base {
			t.Errorf("changing %s changed the fingerprint", name)
		}
	}
	for name, mod := range differ {
		if got := build(mod); got == base {
			t.Errorf("changing %s did not change the fingerprint", name)
		}
	}
	// Order of keys and tensors does not matter.
	w := NewWriter()
	w.AddTensor("b", F16, []int64{2}, []byte{1, 2, 3, 4})
	w.AddTensor("a", F32, []int64{2}, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	w.AddKV("tokenizer.ggml.tokens", []string{"a", "b"})
	w.AddKV("llama.block_count", uint32(2))
	w.AddKV("general.architecture", "llama")
	f := writeParse(t, w)
	if f.Fingerprint() != base {
		t.Error("reordering changed the fingerprint")
	}
}

// writeParse writes w to memory and parses the result back.
func writeParse(t testing.TB, w *Writer) *File {
	t.Helper()
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestDropValue checks that a dropped metadata value is gone (Get gives
// nil, the key still listed) and that the fingerprint, taken before, is
// the file's as parsed, not that of the metadata left.
func TestDropValue(t *testing.T) {
	build := func() *File {
		w := NewWriter()
		w.AddKV("general.architecture", "llama")
		w.AddKV("tokenizer.ggml.tokens", []string{"a", "b", "c"})
		w.AddKV("tokenizer.ggml.merges", []string{"a b"})
		return writeParse(t, w)
	}
	f := build()
	f.DropValue("tokenizer.ggml.merges")
	f.DropValue("no.such.key")
	if v, ok := f.Get("tokenizer.ggml.merges"); !ok || v != nil {
		t.Errorf("after DropValue: Get = %v, %v; want nil, true", v, ok)
	}
	if s, ok := f.Strings("tokenizer.ggml.tokens"); !ok || len(s) != 3 {
		t.Errorf("another key changed: %v, %v", s, ok)
	}
	if got, want := f.Fingerprint(), build().Fingerprint(); got != want {
		t.Errorf("fingerprint after DropValue %s, of the file %s", got, want)
	}
}
