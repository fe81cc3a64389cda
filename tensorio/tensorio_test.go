package tensorio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseBytes(t testing.TB, format string, data []byte) (*Layout, error) {
	t.Helper()
	l, err := ParseLayout(format, bytes.NewReader(data), int64(len(data)))
	if err == nil {
		if cerr := l.Check(); cerr != nil {
			t.Fatalf("layout does not cover the file: %v\n%+v", cerr, l)
		}
	}
	return l, err
}

func gaussF32(rng *rand.Rand, n int) []byte {
	b := make([]byte, 4*n)
	for i := range n {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(rng.NormFloat64())))
	}
	return b
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// segData returns the bytes of segment s of file.
func segData(file []byte, s Segment) []byte { return file[s.Offset:s.End()] }

func TestRaw(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 7, 16, 18} {
		l, err := parseBytes(t, FormatRaw, make([]byte, n))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := l.Float32Bytes(), int64(n&^3); got != want {
			t.Errorf("size %d: %d float32 bytes, want %d", n, got, want)
		}
		if n%4 != 0 {
			last := l.Segments[len(l.Segments)-1]
			if last.Kind != Other || last.Length != int64(n%4) {
				t.Errorf("size %d: last segment %+v, want %d Other bytes", n, last, n%4)
			}
		}
	}
}

func TestDetect(t *testing.T) {
	st := make([]byte, 16)
	binary.LittleEndian.PutUint64(st, 120)
	st[8] = '{'
	tests := []struct {
		name string
		head []byte
		want string
	}{
		{"a.npy", nil, FormatNPY},
		{"a.bin", []byte(npyMagic + "\x01\x00"), FormatNPY},
		{"model.safetensors", nil, FormatSafetensors},
		{"grad.F32", []byte{1, 2, 3, 4}, FormatRaw},
		{"grad.bin", st, FormatRaw},
		{"grad.raw", nil, FormatRaw},
		{"model.PTH", nil, FormatPT},
		{"grads.pt", []byte{1, 2, 3, 4}, FormatPT},
		{"grad.bin", []byte("PK\x03\x04 but not a torch zip, too short"), FormatRaw},
		{"noext", st, FormatSafetensors},
		{"noext", []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0, '{'}, ""},
		{"noext", []byte("hello"), ""},
		{"x.txt", nil, ""},
	}
	for _, tt := range tests {
		if got := Detect(tt.name, tt.head); got != tt.want {
			t.Errorf("Detect(%q, %q) = %q, want %q", tt.name, tt.head, got, tt.want)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := ParseLayout("gguf", bytes.NewReader(nil), 0); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown format: %v, want ErrUnknownFormat", err)
	}
}

// TestNumPyFiles checks files written by NumPy 1.24 (testdata/gen.py): the
// layouts, and that WriteNPY reproduces the v1.0 files byte for byte.
func TestNumPyFiles(t *testing.T) {
	tests := []struct {
		file    string
		kind    Kind
		descr   string
		shape   []int64
		fortran bool
		rewrite bool
	}{
		{"f32_c.npy", Float32LE, "<f4", []int64{3, 4}, false, true},
		{"f32_fortran.npy", Float32LE, "<f4", []int64{3, 4}, true, true},
		{"f16.npy", Float16LE, "<f2", []int64{5}, false, true},
		{"f64_scalar.npy", Other, "<f8", []int64{}, false, true},
		{"i64.npy", Other, "<i8", []int64{2, 3}, false, true},
		{"f32_be.npy", Other, ">f4", []int64{3, 4}, false, true},
		{"f32_empty.npy", Float32LE, "<f4", []int64{0, 3}, false, true},
		{"v2.npy", Other, "|V2", []int64{4}, false, true},
		{"f32_v2.npy", Float32LE, "<f4", []int64{2, 4}, false, false},
		{"f32_v3.npy", Float32LE, "<f4", []int64{2, 4}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			file, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := Detect(tt.file, file); got != FormatNPY {
				t.Errorf("Detect = %q", got)
			}
			l, err := parseBytes(t, FormatNPY, file)
			if err != nil {
				t.Fatal(err)
			}
			hdr := l.Segments[0]
			if hdr.Kind != Other || hdr.Name != "header" || hdr.Length%64 != 0 {
				t.Errorf("header segment %+v; want an Other segment of a multiple of 64 bytes", hdr)
			}
			n, _ := numElements(tt.shape)
			if n == 0 {
				if len(l.Segments) != 1 {
					t.Fatalf("empty array: %d segments, want 1", len(l.Segments))
				}
				return
			}
			if len(l.Segments) != 2 {
				t.Fatalf("%d segments, want 2", len(l.Segments))
			}
			d := l.Segments[1]
			if d.Kind != tt.kind || d.DType != tt.descr || !reflect.DeepEqual(d.Shape, tt.shape) || d.FortranOrder != tt.fortran {
				t.Errorf("data segment %+v; want kind %v descr %s shape %v fortran %v", d, tt.kind, tt.descr, tt.shape, tt.fortran)
			}
			if tt.rewrite {
				var buf bytes.Buffer
				if err := WriteNPY(&buf, tt.descr, tt.shape, tt.fortran, segData(file, d)); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf.Bytes(), file) {
					t.Errorf("WriteNPY differs from np.save:\n got %q\nwant %q", buf.Bytes()[:hdr.Length], file[:hdr.Length])
				}
			}
		})
	}
}

func TestNumPyFloatValues(t *testing.T) {
	// C and Fortran order hold the same matrix, transposed in memory.
	c, err := os.ReadFile("testdata/f32_c.npy")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.ReadFile("testdata/f32_fortran.npy")
	if err != nil {
		t.Fatal(err)
	}
	lc, _ := parseBytes(t, FormatNPY, c)
	lf, _ := parseBytes(t, FormatNPY, f)
	dc, df := segData(c, lc.Segments[1]), segData(f, lf.Segments[1])
	for i := range 3 {
		for j := range 4 {
			a := dc[4*(i*4+j):][:4]
			b := df[4*(j*3+i):][:4]
			if !bytes.Equal(a, b) {
				t.Fatalf("element (%d,%d): C %x, Fortran %x", i, j, a, b)
			}
		}
	}
}

func TestWriteNPYLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		descr   string
		shape   []int64
		fortran bool
		item    int
		kind    Kind
	}{
		{"<f4", []int64{64, 33}, false, 4, Float32LE},
		{"<f4", []int64{7, 5, 3}, true, 4, Float32LE},
		{"<f4", []int64{}, false, 4, Float32LE},
		{"<f2", []int64{100}, false, 2, Float16LE},
		{"<V2", []int64{10, 10}, false, 2, Other}, // ml_dtypes bfloat16 as np.save writes it
		{"bfloat16", []int64{3}, false, 2, Other},
		{"<f8", []int64{2, 2}, false, 8, Other},
		{"<i4", []int64{9}, false, 4, Other},
		{"|u1", []int64{3}, false, 1, Other},
		{"|b1", []int64{3}, false, 1, Other},
		{"<U3", []int64{2}, false, 12, Other},
		{"<M8[ns]", []int64{2}, false, 8, Other},
		{"<f4", []int64{1, 1 << 14}, true, 4, Float32LE},
	}
	for _, tt := range tests {
		n, _ := numElements(tt.shape)
		var data []byte
		if tt.descr == "<f4" {
			data = gaussF32(rng, int(n))
		} else {
			data = randBytes(rng, int(n)*tt.item)
		}
		var buf bytes.Buffer
		if err := WriteNPY(&buf, tt.descr, tt.shape, tt.fortran, data); err != nil {
			t.Fatalf("%s %v: %v", tt.descr, tt.shape, err)
		}
		file := buf.Bytes()
		l, err := parseBytes(t, FormatNPY, file)
		if err != nil {
			t.Fatalf("%s %v: %v", tt.descr, tt.shape, err)
		}
		if len(l.Segments) != 2 {
			t.Fatalf("%s %v: %d segments", tt.descr, tt.shape, len(l.Segments))
		}
		d := l.Segments[1]
		if d.Offset%64 != 0 || d.Kind != tt.kind || d.DType != tt.descr || !reflect.DeepEqual(d.Shape, tt.shape) || d.FortranOrder != tt.fortran {
			t.Errorf("%s %v: data segment %+v", tt.descr, tt.shape, d)
		}
		if !bytes.Equal(segData(file, d), data) {
			t.Errorf("%s %v: data segment does not hold the data", tt.descr, tt.shape)
		}
	}
}

func TestWriteNPYErrors(t *testing.T) {
	tests := []struct {
		descr string
		shape []int64
		n     int
	}{
		{"<f4", []int64{3, 4}, 40},
		{"<f4", []int64{-1}, 0},
		{"<f3", []int64{1}, 3},
		{"|O", []int64{1}, 8},
		{"<f4", []int64{1 << 62, 4}, 0},
		{"'", []int64{1}, 1},
	}
	for _, tt := range tests {
		if err := WriteNPY(&bytes.Buffer{}, tt.descr, tt.shape, false, make([]byte, tt.n)); err == nil {
			t.Errorf("WriteNPY(%q, %v, %d bytes) succeeded", tt.descr, tt.shape, tt.n)
		}
	}
}

// npyFile builds an .npy file with the given version and raw header text.
func npyFile(major byte, header string, data []byte) []byte {
	b := []byte(npyMagic)
	b = append(b, major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(header)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(header)))
	}
	b = append(b, header...)
	return append(b, data...)
}

func TestNPYHeaderSpelling(t *testing.T) {
	// Odd but valid Python spellings of the header dict.
	headers := []string{
		`{'descr':'<f4','fortran_order':False,'shape':(2,)}`,
		"{\"shape\" : ( 2 , ) ,\n 'descr' : \"<f4\" , 'fortran_order' : False }   \n",
		`{'descr': '<f4', 'fortran_order': False, 'shape': (2L,), }`,
		`{'descr': '\x3cf4', 'fortran_order': False, 'shape': (1, 2)}`,
		`  {'descr': '<f4', 'fortran_order': False, 'shape': ((2),)}`,
	}
	for _, h := range headers {
		l, err := parseBytes(t, FormatNPY, npyFile(1, h, make([]byte, 8)))
		if err != nil {
			t.Errorf("header %q: %v", h, err)
			continue
		}
		if d := l.Segments[1]; d.Kind != Float32LE || d.Length != 8 {
			t.Errorf("header %q: data segment %+v", h, d)
		}
	}
}

func TestNPYErrors(t *testing.T) {
	ok := `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`
	tests := []struct {
		name string
		file []byte
		msg  string
	}{
		{"short", []byte("\x93NUMPY\x01"), "too short"},
		{"magic", npyFile(1, ok, make([]byte, 48))[1:], "missing magic"},
		{"version4", npyFile(4, ok, make([]byte, 48)), "version 4.0"},
		{"version1.1", append([]byte(npyMagic+"\x01\x01"), npyFile(1, ok, make([]byte, 48))[8:]...), "version 1.1"},
		{"hlen", npyFile(1, ok, nil)[:40], "header length 59 exceeds the 30 bytes"},
		{"hlen v2", npyFile(2, ok, nil)[:40], "exceeds"},
		{"hlen huge", append([]byte(npyMagic+"\x02\x00\xff\xff\xff\x7f"), make([]byte, 100)...), "exceeds"},
		{"size", npyFile(1, ok, make([]byte, 40)), "npy: shape (3, 4) float32 needs 48 data bytes, file has 40"},
		{"size more", npyFile(1, ok, make([]byte, 52)), "needs 48 data bytes, file has 52"},
		{"list header", npyFile(1, `[1, 2]`, nil), "not a dict"},
		{"missing key", npyFile(1, `{'descr': '<f4', 'shape': (3,)}`, nil), "header keys"},
		{"extra key", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}`, nil), "header keys"},
		{"dup key", npyFile(1, `{'descr': '<f4', 'descr': '<f4', 'shape': (1,)}`, nil), "duplicate key"},
		{"descr int", npyFile(1, `{'descr': 4, 'fortran_order': False, 'shape': (1,)}`, nil), "descr is a int"},
		{"structured", npyFile(1, `{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}`, nil), "structured"},
		{"object", npyFile(1, `{'descr': '|O', 'fortran_order': False, 'shape': (1,)}`, nil), "object arrays"},
		{"bad descr", npyFile(1, `{'descr': '<f3', 'fortran_order': False, 'shape': (1,)}`, nil), "unsupported dtype descr"},
		{"bad descr kind", npyFile(1, `{'descr': '<x4', 'fortran_order': False, 'shape': (1,)}`, nil), "unsupported dtype descr"},
		{"empty descr", npyFile(1, `{'descr': '', 'fortran_order': False, 'shape': (1,)}`, nil), "empty dtype descr"},
		{"fortran str", npyFile(1, `{'descr': '<f4', 'fortran_order': 'no', 'shape': (1,)}`, nil), "fortran_order is a str"},
		{"shape list", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': [1]}`, nil), "shape is a list"},
		{"shape neg", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}`, nil), "negative"},
		{"shape str", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': ('1',)}`, nil), "not an int"},
		{"shape overflow", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4)}`, nil), "overflows"},
		{"int too large", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}`, nil), "integer too large"},
		{"unterminated", npyFile(1, `{'descr': '<f4`, nil), "unterminated string"},
		{"no close", npyFile(1, `{'descr': '<f4', 'fortran_order': False`, nil), "missing '}'"},
		{"trailing", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x`, nil), "after the dict"},
		{"name", npyFile(1, `{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}`, nil), `unexpected name "false"`},
		{"float", npyFile(1, `{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}`, nil), "unsupported number"},
		{"deep", npyFile(1, strings.Repeat("(", 100), nil), "nested deeper"},
		{"v3 utf8", npyFile(3, "{'descr': '\xff'}", nil), "not valid UTF-8"},
		{"empty header", npyFile(1, "", nil), "unexpected end"},
	}
	for _, tt := range tests {
		_, err := parseBytes(t, FormatNPY, tt.file)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		var fe *FormatError
		if !errors.Is(err, ErrFormat) || !errors.As(err, &fe) || fe.Format != FormatNPY {
			t.Errorf("%s: error %q (%T) does not match ErrFormat as a npy FormatError", tt.name, err, err)
		}
		if !strings.Contains(err.Error(), tt.msg) || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "npy: ") {
			t.Errorf("%s: error %q; want one line starting with npy: and containing %q", tt.name, err, tt.msg)
		}
	}
}

func TestSafetensorsFiles(t *testing.T) {
	file, err := os.ReadFile("testdata/mixed.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	l, err := parseBytes(t, FormatSafetensors, file)
	if err != nil {
		t.Fatal(err)
	}
	type seg struct {
		name, dtype string
		kind        Kind
		length      int64
	}
	var got []seg
	for _, s := range l.Segments {
		got = append(got, seg{s.Name, s.DType, s.Kind, s.Length})
	}
	want := []seg{{"header", "", Other, 256}, {"a.weight", "F32", Float32LE, 24}, {"b.half", "F16", Float16LE, 8}, {"c.int", "I64", Other, 24}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mixed.safetensors segments\n got %v\nwant %v", got, want)
	}
	c := segData(file, l.Segments[3])
	for i := range 3 {
		if v := binary.LittleEndian.Uint64(c[8*i:]); v != uint64(i) {
			t.Errorf("c.int[%d] = %d", i, v)
		}
	}

	file, err = os.ReadFile("testdata/gaps.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	l, err = parseBytes(t, FormatSafetensors, file)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, s := range l.Segments {
		got = append(got, seg{s.Name, s.DType, s.Kind, s.Length})
	}
	hl := l.Segments[0].Length
	want = []seg{{"header", "", Other, hl}, {"x", "F32", Float32LE, 8}, {"padding", "", Other, 4}, {"y", "BF16", Float16LE, 4}, {"tail", "", Other, 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("gaps.safetensors segments\n got %v\nwant %v", got, want)
	}
}

func TestWriteSafetensors(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	tensors := []Tensor{
		{"layer.0.weight", "F32", []int64{16, 8}, gaussF32(rng, 128)},
		{"layer.0.half", "F16", []int64{5}, randBytes(rng, 10)},
		{"steps", "I64", []int64{}, randBytes(rng, 8)},
		{"empty", "F32", []int64{0}, nil},
		{"bf", "BF16", []int64{3, 1}, randBytes(rng, 6)},
		{"layer.1.bias", "F32", []int64{3}, gaussF32(rng, 3)},
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, map[string]string{"format": "pt", "quote\"": "<&>"}); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	if Detect("x", file) != FormatSafetensors {
		t.Error("Detect does not recognize the written file")
	}
	hlen := binary.LittleEndian.Uint64(file)
	if hlen%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", hlen)
	}
	l, err := parseBytes(t, FormatSafetensors, file)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Segment{}
	for _, s := range l.Segments {
		byName[s.Name] = s
	}
	for _, tn := range tensors {
		s, ok := byName[tn.Name]
		if len(tn.Data) == 0 {
			if ok {
				t.Errorf("%s: empty tensor has a segment", tn.Name)
			}
			continue
		}
		wantKind := Other
		switch tn.DType {
		case "F32":
			wantKind = Float32LE
		case "F16", "BF16":
			wantKind = Float16LE
		}
		if !ok || s.Kind != wantKind || s.DType != tn.DType || !reflect.DeepEqual(s.Shape, tn.Shape) || !bytes.Equal(segData(file, s), tn.Data) {
			t.Errorf("%s: segment %+v (found %v)", tn.Name, s, ok)
		}
	}
	if got, want := l.Float32Bytes(), int64(4*131); got != want {
		t.Errorf("Float32Bytes = %d, want %d", got, want)
	}

	bad := [][]Tensor{
		{{"a", "F32", []int64{2}, make([]byte, 4)}},
		{{"a", "F33", []int64{1}, make([]byte, 4)}},
		{{"__metadata__", "F32", []int64{1}, make([]byte, 4)}},
		{{"a", "U8", nil, []byte{1}}, {"a", "U8", nil, []byte{1}}},
	}
	for _, b := range bad {
		if err := WriteSafetensors(&bytes.Buffer{}, b, nil); err == nil {
			t.Errorf("WriteSafetensors(%+v) succeeded", b)
		}
	}
}

// stFile builds a safetensors file from a header text and data.
func stFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestSafetensorsErrors(t *testing.T) {
	huge := binary.LittleEndian.AppendUint64(nil, 1<<62)
	tests := []struct {
		name string
		file []byte
		msg  string
	}{
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte header size"},
		{"hlen", stFile(`{}`, nil)[:9], "header size 2 exceeds the 1 bytes"},
		{"hlen huge", append(huge, make([]byte, 64)...), "exceeds"},
		{"hlen zero", stFile(``, nil), "too small"},
		{"not object", stFile(`[1, 2]`, nil), "not '{'"},
		{"bad json", stFile(`{"a": }`, nil), "not valid JSON"},
		{"trailing", stFile(`{} x`, nil), "not valid JSON"},
		{"dup", stFile(`{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}`, []byte{1}), `key "a" twice`},
		{"metadata", stFile(`{"__metadata__": {"n": 1}}`, nil), "__metadata__"},
		{"metadata null", stFile(`{"__metadata__": null}`, nil), "__metadata__"},
		{"entry type", stFile(`{"a": 5}`, nil), `tensor "a": bad entry`},
		{"no dtype", stFile(`{"a": {"shape": [1], "data_offsets": [0, 4]}}`, make([]byte, 4)), "no dtype"},
		{"dtype", stFile(`{"a": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}`, make([]byte, 4)), `unknown dtype "F33"`},
		{"no shape", stFile(`{"a": {"dtype": "F32", "data_offsets": [0, 4]}}`, make([]byte, 4)), "no shape"},
		{"offsets", stFile(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}`, make([]byte, 8)), "data_offsets has 3"},
		{"size", stFile(`{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}`, make([]byte, 8)), "needs 12 bytes, data_offsets [0, 8] give 8"},
		{"negative shape", stFile(`{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}`, make([]byte, 4)), "negative or overflows"},
		{"overflow", stFile(`{"a": {"dtype": "F64", "shape": [4611686018427387904, 4], "data_offsets": [0, 4]}}`, make([]byte, 4)), "overflows"},
		{"sub-byte", stFile(`{"a": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}`, make([]byte, 2)), "whole number of bytes"},
		{"negative offset", stFile(`{"a": {"dtype": "U8", "shape": [1], "data_offsets": [-1, 0]}}`, make([]byte, 4)), "needs 1 bytes"},
		{"past end", stFile(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}`, make([]byte, 8)), "outside the 8 data bytes"},
		{"overlap", stFile(`{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}`, make([]byte, 8)), `"a" and "b" overlap`},
		{"float offset", stFile(`{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0.5, 4]}}`, make([]byte, 8)), "bad entry"},
	}
	for _, tt := range tests {
		_, err := parseBytes(t, FormatSafetensors, tt.file)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		var fe *FormatError
		if !errors.Is(err, ErrFormat) || !errors.As(err, &fe) || fe.Format != FormatSafetensors {
			t.Errorf("%s: error %q (%T) does not match ErrFormat as a safetensors FormatError", tt.name, err, err)
		}
		if !strings.Contains(err.Error(), tt.msg) || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "safetensors: ") {
			t.Errorf("%s: error %q; want one line starting with safetensors: and containing %q", tt.name, err, tt.msg)
		}
	}
}

func TestSafetensorsEdgeCases(t *testing.T) {
	// Empty tensors may share an offset with others; F4 of an even count is
	// fine; an empty header object is a file with no tensors.
	file := stFile(`{"e": {"dtype": "F32", "shape": [0, 5], "data_offsets": [4, 4]}, "f": {"dtype": "F4", "shape": [4], "data_offsets": [0, 2]}, "g": {"dtype": "F32", "shape": [], "data_offsets": [4, 8]}}  `, make([]byte, 8))
	l, err := parseBytes(t, FormatSafetensors, file)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Segments) != 4 || l.Segments[1].Name != "f" || l.Segments[2].Name != "padding" || l.Segments[3].Name != "g" || l.Segments[3].Kind != Float32LE {
		t.Errorf("segments %+v", l.Segments)
	}
	l, err = parseBytes(t, FormatSafetensors, stFile(`{}`, nil))
	if err != nil || len(l.Segments) != 1 {
		t.Errorf("empty header: %+v, %v", l, err)
	}
}

func TestCheck(t *testing.T) {
	bad := []Layout{
		{Size: 4, Segments: []Segment{{Offset: 0, Length: 2}}},
		{Size: 4, Segments: []Segment{{Offset: 0, Length: 2}, {Offset: 3, Length: 1}}},
		{Size: 4, Segments: []Segment{{Offset: 0, Length: 0}, {Offset: 0, Length: 4}}},
		{Size: 4, Segments: []Segment{{Offset: 0, Length: 6}}},
		{Size: 6, Segments: []Segment{{Offset: 0, Length: 6, Kind: Float32LE}}},
		{Size: 4, Segments: []Segment{{Offset: 0, Length: 4, Kind: 7}}},
	}
	for i, l := range bad {
		if err := l.Check(); err == nil {
			t.Errorf("layout %d passed Check", i)
		}
	}
	good := Layout{Size: 0}
	if err := good.Check(); err != nil {
		t.Error(err)
	}
}

func addTestdataSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds for %s: %v", pattern, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseNPY(f *testing.F) {
	addTestdataSeeds(f, "*.npy")
	f.Fuzz(func(t *testing.T, file []byte) {
		if _, err := parseBytes(t, FormatNPY, file); err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("untyped error: %v", err)
		} // checks coverage when it succeeds
	})
}

func FuzzParseSafetensors(f *testing.F) {
	addTestdataSeeds(f, "*.safetensors")
	f.Fuzz(func(t *testing.T, file []byte) {
		if _, err := parseBytes(t, FormatSafetensors, file); err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}
