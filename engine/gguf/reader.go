// Package gguf reads and writes GGUF files, the model container of
// llama.cpp/ggml (format versions 2 and 3, little-endian).
//
// A GGUF file is a header (magic "GGUF", version, tensor and metadata
// counts), a list of typed key/value metadata pairs, a list of tensor
// descriptions (name, shape, element type, offset), padding to the file's
// alignment, and the tensor data section.
//
// The reader validates everything before it trusts it: every count and
// length is checked against the bytes that remain in the file before
// anything is allocated, tensor types must be known, shapes must agree with
// the type's block size, and tensor data must lie inside the file, aligned
// and without overlap.
package gguf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"sort"
	"unsafe"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment used when general.alignment is absent.
const DefaultAlignment = 32

// MaxAlignment is the largest general.alignment accepted.
const MaxAlignment = 1 << 16

// MaxDims is the largest number of dimensions a tensor may have (GGML_MAX_DIMS).
const MaxDims = 4

// MaxNameLen is the longest tensor name ggml accepts (GGML_MAX_NAME - 1).
const MaxNameLen = 63

// KV is one metadata pair. Value is one of uint8, int8, uint16, int16,
// uint32, int32, uint64, int64, float32, float64, bool, string, or a slice
// of one of these for an array ([]string, []float32, []int32, ...).
type KV struct {
	Key   string
	Value any
}

// TensorInfo describes one tensor.
type TensorInfo struct {
	Name string
	// Shape in ggml order: Shape[0] is the fastest-varying dimension (the
	// row length).
	Shape  []int64
	Type   Type
	Offset uint64 // relative to the start of the data section
	Size   int64  // bytes of data
}

// Elements returns the number of elements of the tensor.
func (t *TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is a parsed GGUF file.
type File struct {
	Version    uint32
	KV         []KV
	Tensors    []TensorInfo
	Alignment  int
	DataOffset int64 // absolute file offset of the data section
	Size       int64 // file size in bytes

	kvIndex     map[string]int
	tensorIndex map[string]int
	r           io.ReaderAt
	mapped      []byte // whole file when memory-mapped
	unmap       func() error
	fp          string // the fingerprint, once DropValue needed it
}

// Open memory-maps and parses the GGUF file at path. Close releases it.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	data, unmap, err := mmapFile(fh, size)
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: %w", path, err)
	}
	f, err := Parse(bytes.NewReader(data), size)
	if err != nil {
		if unmap != nil {
			unmap()
		}
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	f.mapped = data
	f.unmap = unmap
	return f, nil
}

// Close releases the memory mapping of a file opened with Open. Slices
// returned by TensorData must not be used afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap = nil
	f.mapped = nil
	f.r = closedReader{}
	return err
}

type closedReader struct{}

func (closedReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("gguf: file is closed") }

// decoder reads little-endian values while keeping track of the position so
// that every length can be checked against what remains of the file.
type decoder struct {
	r    *bufio.Reader
	pos  int64
	size int64
	buf  [8]byte
	key  string // current key, for error messages

	scratch []byte
}

var errTruncated = errors.New("gguf: unexpected end of file")

func (d *decoder) remaining() int64 { return d.size - d.pos }

func (d *decoder) read(n int) ([]byte, error) {
	if int64(n) > d.remaining() {
		return nil, errTruncated
	}
	b := d.buf[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, errTruncated
		}
		return nil, err
	}
	d.pos += int64(n)
	return b, nil
}

func (d *decoder) u8() (uint8, error) {
	b, err := d.read(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *decoder) u16() (uint16, error) {
	b, err := d.read(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (d *decoder) u32() (uint32, error) {
	b, err := d.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64() (uint64, error) {
	b, err := d.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// str reads a length-prefixed string; what describes it in errors and is
// only called on error.
func (d *decoder) str(what func() string) (string, error) {
	n, err := d.u64()
	if err != nil {
		return "", err
	}
	if n > uint64(d.remaining()) {
		return "", fmt.Errorf("gguf: %s of length %d at offset %d exceeds file size %d", what(), n, d.pos-8, d.size)
	}
	if n > uint64(cap(d.scratch)) {
		d.scratch = make([]byte, n)
	}
	b := d.scratch[:n]
	if _, err := io.ReadFull(d.r, b); err != nil {
		return "", errTruncated
	}
	d.pos += int64(n)
	return string(b), nil
}

// Parse parses a GGUF file of size bytes read from r. Tensor data is read
// from r on demand by TensorData.
func Parse(r io.ReaderAt, size int64) (*File, error) {
	d := &decoder{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<16), size: size}
	magic, err := d.read(4)
	if err != nil {
		return nil, fmt.Errorf("gguf: file too short (%d bytes) for a GGUF header", size)
	}
	if string(magic) != Magic {
		return nil, fmt.Errorf("gguf: not a GGUF file (magic %q, want %q)", magic, Magic)
	}
	version, err := d.u32()
	if err != nil {
		return nil, fmt.Errorf("gguf: file too short (%d bytes) for a GGUF header", size)
	}
	switch {
	case version == 2 || version == 3:
	case version == 1:
		return nil, errors.New("gguf: version 1 files are not supported (re-convert the model with a current llama.cpp)")
	case version&0xffff == 0 && bits.ReverseBytes32(version) <= 3:
		return nil, fmt.Errorf("gguf: file is big-endian (byte-swapped version %d); only little-endian GGUF files are supported", bits.ReverseBytes32(version))
	default:
		return nil, fmt.Errorf("gguf: unsupported version %d", version)
	}
	f := &File{Version: version, Size: size, Alignment: DefaultAlignment, r: r}
	nt, err := d.u64()
	if err != nil {
		return nil, err
	}
	nkv, err := d.u64()
	if err != nil {
		return nil, err
	}
	// Smallest possible encodings: a KV is an empty key (8), a type (4) and
	// one byte; a tensor info is an empty name (8), n_dims (4), type (4) and
	// offset (8).
	if nkv > uint64(d.remaining())/13 {
		return nil, fmt.Errorf("gguf: %d metadata pairs exceed file size %d (truncated or corrupt file?)", nkv, size)
	}
	if nt > uint64(d.remaining())/24 {
		return nil, fmt.Errorf("gguf: %d tensors exceed file size %d (truncated or corrupt file?)", nt, size)
	}
	f.KV = make([]KV, 0, nkv)
	f.kvIndex = make(map[string]int, nkv)
	for i := uint64(0); i < nkv; i++ {
		key, err := d.str(func() string { return "key" })
		if err != nil {
			return nil, fmt.Errorf("gguf: metadata pair %d: %w", i, err)
		}
		if _, dup := f.kvIndex[key]; dup {
			return nil, fmt.Errorf("gguf: duplicate metadata key %q", key)
		}
		d.key = key
		vt, err := d.u32()
		if err != nil {
			return nil, err
		}
		v, err := d.value(ValueType(vt))
		if err != nil {
			return nil, err
		}
		f.kvIndex[key] = len(f.KV)
		f.KV = append(f.KV, KV{key, v})
	}
	if v, ok := f.Get("general.alignment"); ok {
		a, isU32 := v.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 || a > MaxAlignment {
			return nil, fmt.Errorf("gguf: general.alignment must be a power-of-two uint32 of at most 65536, got %T %v", v, v)
		}
		f.Alignment = int(a)
	}

	f.Tensors = make([]TensorInfo, 0, nt)
	f.tensorIndex = make(map[string]int, nt)
	for i := uint64(0); i < nt; i++ {
		t, err := d.tensorInfo()
		if err != nil {
			return nil, fmt.Errorf("gguf: tensor %d: %w", i, err)
		}
		if _, dup := f.tensorIndex[t.Name]; dup {
			return nil, fmt.Errorf("gguf: duplicate tensor name %q", t.Name)
		}
		f.tensorIndex[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	f.DataOffset = alignUp(d.pos, int64(f.Alignment))
	if err := f.checkTensorData(); err != nil {
		return nil, err
	}
	return f, nil
}

func alignUp(n, a int64) int64 { return (n + a - 1) / a * a }

func (d *decoder) tensorInfo() (TensorInfo, error) {
	var t TensorInfo
	name, err := d.str(func() string { return "tensor name" })
	if err != nil {
		return t, err
	}
	if len(name) > MaxNameLen {
		return t, fmt.Errorf("name of %d bytes is longer than %d", len(name), MaxNameLen)
	}
	t.Name = name
	nd, err := d.u32()
	if err != nil {
		return t, err
	}
	if nd > MaxDims {
		return t, fmt.Errorf("%q has %d dimensions, at most %d allowed", name, nd, MaxDims)
	}
	t.Shape = make([]int64, nd)
	n := int64(1)
	for j := range t.Shape {
		v, err := d.u64()
		if err != nil {
			return t, err
		}
		if v > math.MaxInt64 {
			return t, fmt.Errorf("%q: dimension %d is negative (%d)", name, j, int64(v))
		}
		t.Shape[j] = int64(v)
		if v != 0 && n > math.MaxInt64/int64(v) {
			return t, fmt.Errorf("%q: element count overflows", name)
		}
		n *= int64(v)
	}
	typ, err := d.u32()
	if err != nil {
		return t, err
	}
	t.Type = Type(typ)
	if !t.Type.Valid() {
		return t, fmt.Errorf("%q has unknown tensor type %d", name, typ)
	}
	if len(t.Shape) > 0 && t.Shape[0]%int64(t.Type.BlockSize()) != 0 {
		return t, fmt.Errorf("%q: row length %d is not a multiple of the %s block size %d", name, t.Shape[0], t.Type, t.Type.BlockSize())
	}
	if t.Size, err = t.Type.RowBytes(n); err != nil {
		return t, fmt.Errorf("%q: %w", name, err)
	}
	if t.Offset, err = d.u64(); err != nil {
		return t, err
	}
	return t, nil
}

// checkTensorData verifies that every tensor's data lies inside the file,
// aligned, and that no two tensors overlap.
func (f *File) checkTensorData() error {
	if len(f.Tensors) == 0 {
		return nil
	}
	if f.DataOffset > f.Size {
		return fmt.Errorf("gguf: data section at offset %d is past the end of the file (%d bytes)", f.DataOffset, f.Size)
	}
	dataSize := uint64(f.Size - f.DataOffset)
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	for _, t := range f.Tensors {
		if t.Offset%uint64(f.Alignment) != 0 {
			return fmt.Errorf("gguf: tensor %q: offset %d is not a multiple of the alignment %d", t.Name, t.Offset, f.Alignment)
		}
		if t.Offset > dataSize || uint64(t.Size) > dataSize-t.Offset {
			return fmt.Errorf("gguf: tensor %q: data [%d, %d) extends past the end of the data section (%d bytes); file truncated?", t.Name, t.Offset, t.Offset+uint64(t.Size), dataSize)
		}
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	for k := 1; k < len(order); k++ {
		p, q := &f.Tensors[order[k-1]], &f.Tensors[order[k]]
		if p.Offset+uint64(p.Size) > q.Offset {
			return fmt.Errorf("gguf: tensors %q and %q overlap", p.Name, q.Name)
		}
	}
	return nil
}

func (d *decoder) value(vt ValueType) (any, error) {
	switch vt {
	case TypeUint8:
		return d.u8()
	case TypeInt8:
		v, err := d.u8()
		return int8(v), err
	case TypeUint16:
		return d.u16()
	case TypeInt16:
		v, err := d.u16()
		return int16(v), err
	case TypeUint32:
		return d.u32()
	case TypeInt32:
		v, err := d.u32()
		return int32(v), err
	case TypeUint64:
		return d.u64()
	case TypeInt64:
		v, err := d.u64()
		return int64(v), err
	case TypeFloat32:
		v, err := d.u32()
		return math.Float32frombits(v), err
	case TypeFloat64:
		v, err := d.u64()
		return math.Float64frombits(v), err
	case TypeBool:
		v, err := d.u8()
		if err != nil {
			return nil, err
		}
		if v > 1 {
			return nil, fmt.Errorf("gguf: key %q: bool value %d is not 0 or 1", d.key, v)
		}
		return v == 1, nil
	case TypeString:
		return d.str(func() string { return fmt.Sprintf("string at key %q", d.key) })
	case TypeArray:
		return d.array()
	}
	return nil, fmt.Errorf("gguf: key %q has unknown value type %d", d.key, uint32(vt))
}

func (d *decoder) array() (any, error) {
	et, err := d.u32()
	if err != nil {
		return nil, err
	}
	vt := ValueType(et)
	n, err := d.u64()
	if err != nil {
		return nil, err
	}
	switch sz := vt.size(); {
	case sz < 0:
		return nil, fmt.Errorf("gguf: key %q: array has unknown element type %d", d.key, et)
	case vt == TypeArray:
		return nil, fmt.Errorf("gguf: key %q: nested arrays are not supported", d.key)
	case vt == TypeString:
		if n > uint64(d.remaining())/8 {
			return nil, fmt.Errorf("gguf: array of %d strings at key %s exceeds file size", n, d.key)
		}
	default:
		if n > uint64(d.remaining())/uint64(sz) {
			return nil, fmt.Errorf("gguf: array of %d %ss at key %s exceeds file size", n, vt, d.key)
		}
	}
	switch vt {
	case TypeString:
		s := make([]string, n)
		for i := range s {
			if s[i], err = d.str(func() string { return fmt.Sprintf("string %d of array at key %q", i, d.key) }); err != nil {
				return nil, err
			}
		}
		return s, nil
	case TypeBool:
		raw, err := d.bulk(n)
		if err != nil {
			return nil, err
		}
		s := make([]bool, n)
		for i, b := range raw {
			if b > 1 {
				return nil, fmt.Errorf("gguf: key %q: bool value %d is not 0 or 1", d.key, b)
			}
			s[i] = b == 1
		}
		return s, nil
	}
	raw, err := d.bulk(n * uint64(vt.size()))
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	switch vt {
	case TypeUint8:
		return raw, nil
	case TypeInt8:
		return decodeSlice(raw, 1, func(b []byte) int8 { return int8(b[0]) }), nil
	case TypeUint16:
		return decodeSlice(raw, 2, le.Uint16), nil
	case TypeInt16:
		return decodeSlice(raw, 2, func(b []byte) int16 { return int16(le.Uint16(b)) }), nil
	case TypeUint32:
		return decodeSlice(raw, 4, le.Uint32), nil
	case TypeInt32:
		return decodeSlice(raw, 4, func(b []byte) int32 { return int32(le.Uint32(b)) }), nil
	case TypeUint64:
		return decodeSlice(raw, 8, le.Uint64), nil
	case TypeInt64:
		return decodeSlice(raw, 8, func(b []byte) int64 { return int64(le.Uint64(b)) }), nil
	case TypeFloat32:
		return decodeSlice(raw, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) }), nil
	default: // TypeFloat64
		return decodeSlice(raw, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }), nil
	}
}

// bulk reads n bytes (already checked against the remaining size).
func (d *decoder) bulk(n uint64) ([]byte, error) {
	if n > uint64(d.remaining()) {
		return nil, errTruncated
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return nil, errTruncated
	}
	d.pos += int64(n)
	return b, nil
}

func decodeSlice[T any](raw []byte, size int, get func([]byte) T) []T {
	s := make([]T, len(raw)/size)
	for i := range s {
		s[i] = get(raw[i*size:])
	}
	return s
}

// TensorData returns the bytes of tensor t. For a file opened with Open it
// is a slice of the read-only memory mapping (do not modify it, and do not
// use it after Close); for a parsed file it is read from the reader.
func (f *File) TensorData(t *TensorInfo) ([]byte, error) {
	if t.Offset > uint64(f.Size) || f.DataOffset+int64(t.Offset) > f.Size-t.Size {
		return nil, fmt.Errorf("gguf: tensor %q lies outside the file", t.Name)
	}
	start := f.DataOffset + int64(t.Offset)
	if f.mapped != nil {
		return f.mapped[start : start+t.Size : start+t.Size], nil
	}
	b := make([]byte, t.Size)
	if _, err := f.r.ReadAt(b, start); err != nil {
		return nil, fmt.Errorf("gguf: reading tensor %q: %w", t.Name, err)
	}
	return b, nil
}

// Tensor returns the tensor named name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// Get returns the value of a metadata key.
func (f *File) Get(key string) (any, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return nil, false
	}
	return f.KV[i].Value, true
}

// DropValue forgets the value of metadata key (Get then gives nil, the
// key stays listed), so that a large array read once (a tokenizer's
// vocabulary and merges, kept by the tokenizer in its own form) can leave
// the heap. Fingerprint is computed first and keeps that value.
func (f *File) DropValue(key string) {
	i, ok := f.kvIndex[key]
	if !ok || f.KV[i].Value == nil {
		return
	}
	if f.fp == "" {
		f.fp = f.Fingerprint()
	}
	f.KV[i].Value = nil
}

// String returns a string-valued key.
func (f *File) String(key string) (string, bool) {
	v, _ := f.Get(key)
	s, ok := v.(string)
	return s, ok
}

// Int returns an integer-valued key of any integer type as int64 (false if
// absent, not an integer, or a uint64 above MaxInt64).
func (f *File) Int(key string) (int64, bool) {
	v, _ := f.Get(key)
	return toInt64(v)
}

// Uint32 returns an integer-valued key of any integer type whose value fits
// in a uint32.
func (f *File) Uint32(key string) (uint32, bool) {
	n, ok := f.Int(key)
	if !ok || n < 0 || n > math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// Float32 returns a float32- or float64-valued key as float32.
func (f *File) Float32(key string) (float32, bool) {
	v, _ := f.Get(key)
	switch x := v.(type) {
	case float32:
		return x, true
	case float64:
		return float32(x), true
	}
	return 0, false
}

// Bool returns a bool-valued key.
func (f *File) Bool(key string) (bool, bool) {
	v, _ := f.Get(key)
	b, ok := v.(bool)
	return b, ok
}

// Strings returns a string-array key. The slice is shared; do not modify it.
func (f *File) Strings(key string) ([]string, bool) {
	v, _ := f.Get(key)
	s, ok := v.([]string)
	return s, ok
}

// Float32s returns a float32-array key (float64 arrays are converted). A
// float32 slice is shared; do not modify it.
func (f *File) Float32s(key string) ([]float32, bool) {
	v, _ := f.Get(key)
	switch x := v.(type) {
	case []float32:
		return x, true
	case []float64:
		s := make([]float32, len(x))
		for i, e := range x {
			s[i] = float32(e)
		}
		return s, true
	}
	return nil, false
}

// Int32s returns an integer-array key as int32s. An int32 array is shared
// (do not modify it); other integer arrays are converted when every element
// fits in an int32.
func (f *File) Int32s(key string) ([]int32, bool) {
	v, _ := f.Get(key)
	if s, ok := v.([]int32); ok {
		return s, true
	}
	var s []int32
	conv := func(n int, at func(int) (int64, bool)) bool {
		s = make([]int32, n)
		for i := range s {
			x, ok := at(i)
			if !ok || x < math.MinInt32 || x > math.MaxInt32 {
				return false
			}
			s[i] = int32(x)
		}
		return true
	}
	var ok bool
	switch x := v.(type) {
	case []uint8:
		ok = conv(len(x), func(i int) (int64, bool) { return int64(x[i]), true })
	case []int8:
		ok = conv(len(x), func(i int) (int64, bool) { return int64(x[i]), true })
	case []uint16:
		ok = conv(len(x), func(i int) (int64, bool) { return int64(x[i]), true })
	case []int16:
		ok = conv(len(x), func(i int) (int64, bool) { return int64(x[i]), true })
	case []uint32:
		ok = conv(len(x), func(i int) (int64, bool) { return int64(x[i]), true })
	case []int64:
		ok = conv(len(x), func(i int) (int64, bool) { return x[i], true })
	case []uint64:
		ok = conv(len(x), func(i int) (int64, bool) { return toInt64(x[i]) })
	}
	if !ok {
		return nil, false
	}
	return s, true
}

// Architecture returns general.architecture ("llama", "qwen2", ...), or ""
// when absent.
func (f *File) Architecture() string {
	s, _ := f.String("general.architecture")
	return s
}

// DropMappedPages is DropPages for the whole mapped file: a caller that
// has copied or repacked what it needs (a loaded model's panels, norms,
// tokenizer) calls it once, so that the pages that loading and
// fingerprinting read (metadata, small tensors, and the 2 MiB folios the
// system may map whole around them) leave the resident set. Pages still
// read later (embedding rows, unpacked matrices) come back from the page
// cache when touched.
func (f *File) DropMappedPages() {
	if len(f.mapped) == 0 {
		return
	}
	dropMapping(f.mapped)
}

// DropPages tells the system that b, a slice returned by TensorData of a
// memory-mapped file, will not be read for a while (the caller keeps its
// own copy, e.g. a repacked matrix): its pages leave the process's
// resident set and come back from the file if b is read again. Where the
// file is not mapped (or b is not inside the mapping) it does nothing.
func (f *File) DropPages(b []byte) {
	if len(b) == 0 || len(f.mapped) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.mapped)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < base || p-base+uintptr(len(b)) > uintptr(len(f.mapped)) {
		return
	}
	dropPages(b)
}
