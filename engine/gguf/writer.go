package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Writer builds a GGUF version 3 file. Add metadata with AddKV and tensors
// with AddTensor (data in memory) or AddTensorFunc (data streamed by a
// callback while the file is written), then call WriteTo once.
//
// Tensors are laid out in the order they were added, each at an offset that
// is a multiple of the alignment (general.alignment if set, else 32).
type Writer struct {
	kv      []KV
	kvIndex map[string]int
	tensors []wtensor
	names   map[string]bool
}

type wtensor struct {
	info TensorInfo
	data []byte
	fill func(io.Writer) error
}

// NewWriter returns an empty Writer.
func NewWriter() *Writer {
	return &Writer{kvIndex: map[string]int{}, names: map[string]bool{}}
}

// AddKV sets a metadata pair; setting an existing key replaces its value
// in place. The value must be one of the types listed for KV (checked by
// WriteTo); in particular a Go int is rejected: use a sized type such as
// uint32, as llama.cpp checks metadata types strictly.
func (w *Writer) AddKV(key string, value any) {
	if i, ok := w.kvIndex[key]; ok {
		w.kv[i].Value = value
		return
	}
	w.kvIndex[key] = len(w.kv)
	w.kv = append(w.kv, KV{key, value})
}

// AddTensor adds a tensor whose data is in memory. len(data) must equal the
// size implied by typ and shape.
func (w *Writer) AddTensor(name string, typ Type, shape []int64, data []byte) error {
	t, err := w.add(name, typ, shape)
	if err != nil {
		return err
	}
	if int64(len(data)) != t.info.Size {
		w.tensors = w.tensors[:len(w.tensors)-1]
		delete(w.names, name)
		return fmt.Errorf("gguf: tensor %q: %d bytes of data, %s%v needs %d", name, len(data), typ, shape, t.info.Size)
	}
	t.data = data
	return nil
}

// AddTensorFunc adds a tensor whose data is produced during WriteTo by
// fill, which must write exactly the size implied by typ and shape.
func (w *Writer) AddTensorFunc(name string, typ Type, shape []int64, fill func(io.Writer) error) error {
	t, err := w.add(name, typ, shape)
	if err != nil {
		return err
	}
	t.fill = fill
	return nil
}

// Tensors returns the descriptions of the tensors added so far, with the
// offsets they will have (for the current alignment).
func (w *Writer) Tensors() []TensorInfo {
	align, _ := w.alignment()
	out := make([]TensorInfo, len(w.tensors))
	var off uint64
	for i, t := range w.tensors {
		out[i] = t.info
		out[i].Offset = off
		off = uint64(alignUp(int64(off)+t.info.Size, int64(align)))
	}
	return out
}

// KVs returns the metadata pairs set so far.
func (w *Writer) KVs() []KV { return w.kv }

func (w *Writer) add(name string, typ Type, shape []int64) (*wtensor, error) {
	if w.names[name] {
		return nil, fmt.Errorf("gguf: duplicate tensor name %q", name)
	}
	if len(name) > MaxNameLen {
		return nil, fmt.Errorf("gguf: tensor name %q is longer than %d bytes", name, MaxNameLen)
	}
	if !typ.Valid() {
		return nil, fmt.Errorf("gguf: tensor %q has unknown type %d", name, uint32(typ))
	}
	if len(shape) > MaxDims {
		return nil, fmt.Errorf("gguf: tensor %q has %d dimensions, at most %d allowed", name, len(shape), MaxDims)
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 || (d != 0 && n > math.MaxInt64/d) {
			return nil, fmt.Errorf("gguf: tensor %q has bad shape %v", name, shape)
		}
		n *= d
	}
	if len(shape) > 0 && shape[0]%int64(typ.BlockSize()) != 0 {
		return nil, fmt.Errorf("gguf: tensor %q: row length %d is not a multiple of the %s block size %d", name, shape[0], typ, typ.BlockSize())
	}
	size, err := typ.RowBytes(n)
	if err != nil {
		return nil, fmt.Errorf("gguf: tensor %q: %w", name, err)
	}
	w.names[name] = true
	w.tensors = append(w.tensors, wtensor{info: TensorInfo{Name: name, Shape: append([]int64(nil), shape...), Type: typ, Size: size}})
	return &w.tensors[len(w.tensors)-1], nil
}

func (w *Writer) alignment() (int, error) {
	i, ok := w.kvIndex["general.alignment"]
	if !ok {
		return DefaultAlignment, nil
	}
	a, isU32 := w.kv[i].Value.(uint32)
	if !isU32 || a == 0 || a&(a-1) != 0 || a > MaxAlignment {
		return 0, fmt.Errorf("gguf: general.alignment must be a power-of-two uint32 of at most 65536, got %T %v", w.kv[i].Value, w.kv[i].Value)
	}
	return int(a), nil
}

// countWriter counts bytes and remembers the first error.
type countWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func (c *countWriter) u32(v uint32) { c.Write(binary.LittleEndian.AppendUint32(nil, v)) }
func (c *countWriter) u64(v uint64) { c.Write(binary.LittleEndian.AppendUint64(nil, v)) }
func (c *countWriter) str(s string) { c.u64(uint64(len(s))); c.w.WriteString(s); c.n += int64(len(s)) }

// limitedWriter passes on at most n bytes and counts what it was given.
type limitedWriter struct {
	w    io.Writer
	left int64
	over bool
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		l.over = true
		return 0, errors.New("gguf: tensor callback wrote more than the tensor size")
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

// WriteTo writes the file to out and returns the number of bytes written.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	align, err := w.check()
	if err != nil {
		return 0, err
	}
	c := &countWriter{w: bufio.NewWriterSize(out, 1<<20)}
	w.writeHeader(c, align)
	for i, t := range w.tensors {
		if c.err != nil {
			break
		}
		if t.fill == nil {
			c.Write(t.data)
		} else {
			lw := &limitedWriter{w: c, left: t.info.Size}
			if err := t.fill(lw); err != nil {
				return c.n, fmt.Errorf("gguf: writing tensor %q: %w", t.info.Name, err)
			}
			if lw.left != 0 {
				return c.n, fmt.Errorf("gguf: tensor %q: callback wrote %d bytes, want %d", t.info.Name, t.info.Size-lw.left, t.info.Size)
			}
		}
		if i < len(w.tensors)-1 {
			c.pad(align)
		}
	}
	if c.err == nil {
		c.err = c.w.Flush()
	}
	return c.n, c.err
}

// Size returns the number of bytes WriteTo would write, without calling
// any tensor callback.
func (w *Writer) Size() (int64, error) {
	align, err := w.check()
	if err != nil {
		return 0, err
	}
	c := &countWriter{w: bufio.NewWriter(io.Discard)}
	w.writeHeader(c, align)
	n := c.n
	for i, t := range w.tensors {
		n += t.info.Size
		if i < len(w.tensors)-1 {
			n = alignUp(n, int64(align))
		}
	}
	return n, nil
}

// check validates the metadata and returns the alignment.
func (w *Writer) check() (int, error) {
	align, err := w.alignment()
	if err != nil {
		return 0, err
	}
	for _, kv := range w.kv {
		if _, err := valueType(kv.Value); err != nil {
			return 0, fmt.Errorf("gguf: key %q: %w", kv.Key, err)
		}
	}
	return align, nil
}

// writeHeader writes everything before the first tensor's data.
func (w *Writer) writeHeader(c *countWriter, align int) {
	c.Write([]byte(Magic))
	c.u32(3)
	c.u64(uint64(len(w.tensors)))
	c.u64(uint64(len(w.kv)))
	for _, kv := range w.kv {
		c.str(kv.Key)
		writeValue(c, kv.Value)
	}
	for _, t := range w.Tensors() {
		c.str(t.Name)
		c.u32(uint32(len(t.Shape)))
		for _, d := range t.Shape {
			c.u64(uint64(d))
		}
		c.u32(uint32(t.Type))
		c.u64(t.Offset)
	}
	c.pad(align)
}

func (c *countWriter) pad(align int) {
	if p := alignUp(c.n, int64(align)) - c.n; p > 0 {
		c.Write(make([]byte, p))
	}
}

// valueType returns the GGUF type of a Go value, or an error for an
// unsupported one.
func valueType(v any) (ValueType, error) {
	switch v.(type) {
	case uint8, []uint8:
		return TypeUint8, nil
	case int8, []int8:
		return TypeInt8, nil
	case uint16, []uint16:
		return TypeUint16, nil
	case int16, []int16:
		return TypeInt16, nil
	case uint32, []uint32:
		return TypeUint32, nil
	case int32, []int32:
		return TypeInt32, nil
	case uint64, []uint64:
		return TypeUint64, nil
	case int64, []int64:
		return TypeInt64, nil
	case float32, []float32:
		return TypeFloat32, nil
	case float64, []float64:
		return TypeFloat64, nil
	case bool, []bool:
		return TypeBool, nil
	case string, []string:
		return TypeString, nil
	}
	return 0, fmt.Errorf("unsupported value type %T (use a sized integer, float32/64, bool, string or a slice of one)", v)
}

func isArray(v any) bool {
	switch v.(type) {
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []uint64, []int64, []float32, []float64, []bool, []string:
		return true
	}
	return false
}

// writeValue writes the type tag and the value (validated by valueType).
func writeValue(c *countWriter, v any) {
	vt, _ := valueType(v)
	if isArray(v) {
		c.u32(uint32(TypeArray))
		c.u32(uint32(vt))
	} else {
		c.u32(uint32(vt))
	}
	le := binary.LittleEndian
	var b []byte
	switch x := v.(type) {
	case uint8:
		b = []byte{x}
	case int8:
		b = []byte{byte(x)}
	case uint16:
		b = le.AppendUint16(nil, x)
	case int16:
		b = le.AppendUint16(nil, uint16(x))
	case uint32:
		b = le.AppendUint32(nil, x)
	case int32:
		b = le.AppendUint32(nil, uint32(x))
	case uint64:
		b = le.AppendUint64(nil, x)
	case int64:
		b = le.AppendUint64(nil, uint64(x))
	case float32:
		b = le.AppendUint32(nil, math.Float32bits(x))
	case float64:
		b = le.AppendUint64(nil, math.Float64bits(x))
	case bool:
		b = []byte{boolByte(x)}
	case string:
		c.str(x)
	case []uint8:
		c.u64(uint64(len(x)))
		b = x
	case []int8:
		b = appendSlice(c, x, func(b []byte, e int8) []byte { return append(b, byte(e)) })
	case []uint16:
		b = appendSlice(c, x, le.AppendUint16)
	case []int16:
		b = appendSlice(c, x, func(b []byte, e int16) []byte { return le.AppendUint16(b, uint16(e)) })
	case []uint32:
		b = appendSlice(c, x, le.AppendUint32)
	case []int32:
		b = appendSlice(c, x, func(b []byte, e int32) []byte { return le.AppendUint32(b, uint32(e)) })
	case []uint64:
		b = appendSlice(c, x, le.AppendUint64)
	case []int64:
		b = appendSlice(c, x, func(b []byte, e int64) []byte { return le.AppendUint64(b, uint64(e)) })
	case []float32:
		b = appendSlice(c, x, func(b []byte, e float32) []byte { return le.AppendUint32(b, math.Float32bits(e)) })
	case []float64:
		b = appendSlice(c, x, func(b []byte, e float64) []byte { return le.AppendUint64(b, math.Float64bits(e)) })
	case []bool:
		b = appendSlice(c, x, func(b []byte, e bool) []byte { return append(b, boolByte(e)) })
	case []string:
		c.u64(uint64(len(x)))
		for _, s := range x {
			c.str(s)
		}
	}
	if b != nil {
		c.Write(b)
	}
}

func appendSlice[T any](c *countWriter, s []T, app func([]byte, T) []byte) []byte {
	c.u64(uint64(len(s)))
	var b []byte
	for _, e := range s {
		b = app(b, e)
	}
	return b
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
