package tensorio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// maxSafetensorsHeader is the header size limit of the safetensors library
// (100 MB).
const maxSafetensorsHeader = 100_000_000

// safetensorsBits gives the size in bits of one element of each
// safetensors dtype.
var safetensorsBits = map[string]int{
	"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8,
	"I16": 16, "U16": 16, "F16": 16, "BF16": 16,
	"I32": 32, "U32": 32, "F32": 32,
	"I64": 64, "U64": 64, "F64": 64, "C64": 64,
	"F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}

// Tensor is one named tensor of a safetensors file.
type Tensor struct {
	Name  string
	DType string // safetensors dtype: "F32", "F16", "BF16", "I64", ...
	Shape []int64
	Data  []byte // raw little-endian element bytes
}

type stInfo struct {
	Dtype       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

type stTensor struct {
	name       string
	info       stInfo
	begin, end int64 // absolute file offsets
}

// parseSafetensors reads the layout of a safetensors file.
func parseSafetensors(r io.ReaderAt, size int64) (*Layout, error) {
	if size < 8 {
		return nil, formatErrorf("safetensors", "safetensors: file of %d bytes is shorter than the 8-byte header size", size)
	}
	pre, err := readAt(r, 0, 8)
	if err != nil {
		return nil, fmt.Errorf("safetensors: reading header size: %w", err)
	}
	n := binary.LittleEndian.Uint64(pre)
	if n > uint64(size-8) {
		return nil, formatErrorf("safetensors", "safetensors: header size %d exceeds the %d bytes after it", n, size-8)
	}
	if n > maxSafetensorsHeader {
		return nil, formatErrorf("safetensors", "safetensors: header size %d exceeds the %d-byte limit", n, maxSafetensorsHeader)
	}
	if n < 2 {
		return nil, formatErrorf("safetensors", "safetensors: header size %d is too small for a JSON object", n)
	}
	hdr, err := readAt(r, 8, int64(n))
	if err != nil {
		return nil, fmt.Errorf("safetensors: reading header: %w", err)
	}
	tensors, err := parseSafetensorsHeader(hdr)
	if err != nil {
		return nil, err
	}
	base := 8 + int64(n)
	dataLen := size - base
	for i := range tensors {
		t := &tensors[i]
		b, e := t.info.DataOffsets[0], t.info.DataOffsets[1]
		if b < 0 || e < b || e > dataLen {
			return nil, formatErrorf("safetensors", "safetensors: tensor %q: data_offsets [%d, %d] outside the %d data bytes", t.name, b, e, dataLen)
		}
		t.begin, t.end = base+b, base+e
	}
	sort.SliceStable(tensors, func(i, j int) bool {
		if tensors[i].begin != tensors[j].begin {
			return tensors[i].begin < tensors[j].begin
		}
		return tensors[i].end < tensors[j].end
	})
	l := &Layout{Format: FormatSafetensors, Size: size}
	l.add(Segment{Offset: 0, Length: base, Kind: Other, Name: "header"})
	off := base
	var prev string
	for _, t := range tensors {
		if t.begin == t.end {
			continue // empty tensor: no bytes
		}
		if t.begin < off {
			return nil, formatErrorf("safetensors", "safetensors: tensors %q and %q overlap", prev, t.name)
		}
		l.add(Segment{Offset: off, Length: t.begin - off, Kind: Other, Name: "padding"})
		kind := Other
		switch t.info.Dtype {
		case "F32":
			kind = Float32LE
		case "BF16", "F16":
			kind = Float16LE
		}
		l.add(Segment{Offset: t.begin, Length: t.end - t.begin, Kind: kind, Name: t.name, DType: t.info.Dtype, Shape: t.info.Shape})
		off, prev = t.end, t.name
	}
	l.add(Segment{Offset: off, Length: size - off, Kind: Other, Name: "tail"})
	return l, nil
}

// parseSafetensorsHeader decodes and checks the JSON header. It returns
// the tensors in header order.
func parseSafetensorsHeader(hdr []byte) ([]stTensor, error) {
	if hdr[0] != '{' {
		return nil, formatErrorf("safetensors", "safetensors: header starts with %q, not '{'", hdr[0])
	}
	if !json.Valid(hdr) {
		// Find the problem for the message.
		var v any
		err := json.Unmarshal(hdr, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, formatErrorf("safetensors", "safetensors: header is not valid JSON: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{'
		return nil, formatErrorf("safetensors", "safetensors: header: %w", err)
	}
	var tensors []stTensor
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, formatErrorf("safetensors", "safetensors: header: %w", err)
		}
		name := tok.(string) // object keys are always strings
		if seen[name] {
			return nil, formatErrorf("safetensors", "safetensors: header has key %q twice", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, formatErrorf("safetensors", "safetensors: header: %w", err)
		}
		if name == "__metadata__" {
			var md map[string]string
			if err := json.Unmarshal(raw, &md); err != nil || md == nil {
				return nil, formatErrorf("safetensors", "safetensors: __metadata__ is not an object of strings")
			}
			continue
		}
		var info stInfo
		if err := json.Unmarshal(raw, &info); err != nil {
			return nil, formatErrorf("safetensors", "safetensors: tensor %q: bad entry: %w", name, err)
		}
		if err := checkInfo(name, info); err != nil {
			return nil, err
		}
		tensors = append(tensors, stTensor{name: name, info: info})
	}
	return tensors, nil
}

func checkInfo(name string, info stInfo) error {
	if info.Dtype == "" {
		return formatErrorf("safetensors", "safetensors: tensor %q has no dtype", name)
	}
	bitsPer, ok := safetensorsBits[info.Dtype]
	if !ok {
		return formatErrorf("safetensors", "safetensors: tensor %q has unknown dtype %q", name, info.Dtype)
	}
	if info.Shape == nil {
		return formatErrorf("safetensors", "safetensors: tensor %q has no shape", name)
	}
	if len(info.DataOffsets) != 2 {
		return formatErrorf("safetensors", "safetensors: tensor %q: data_offsets has %d numbers, want 2", name, len(info.DataOffsets))
	}
	n, ok := numElements(info.Shape)
	if !ok {
		return formatErrorf("safetensors", "safetensors: tensor %q: shape %v is negative or overflows", name, info.Shape)
	}
	want, ok := mulBits(n, bitsPer)
	if !ok {
		return formatErrorf("safetensors", "safetensors: tensor %q: shape %v of %s is not a whole number of bytes or overflows", name, info.Shape, info.Dtype)
	}
	b, e := info.DataOffsets[0], info.DataOffsets[1]
	if e < b || b < 0 || e-b != want {
		return formatErrorf("safetensors", "safetensors: tensor %q: shape %v %s needs %d bytes, data_offsets [%d, %d] give %d",
			name, info.Shape, info.Dtype, want, b, e, e-b)
	}
	return nil
}

// WriteSafetensors writes a safetensors file holding the tensors, stored
// back to back in the given order, and the metadata (may be nil). The JSON
// header lists __metadata__ first (when not empty), then the tensors in
// the given order, and is padded with spaces to a multiple of 8 bytes.
func WriteSafetensors(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	var h bytes.Buffer
	h.WriteByte('{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		h.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				h.WriteByte(',')
			}
			writeJSONString(&h, k)
			h.WriteByte(':')
			writeJSONString(&h, metadata[k])
		}
		h.WriteByte('}')
	}
	seen := map[string]bool{}
	var off int64
	for i, t := range tensors {
		if t.Name == "__metadata__" || seen[t.Name] {
			return formatErrorf("safetensors", "safetensors: tensor name %q is reserved or repeated", t.Name)
		}
		seen[t.Name] = true
		shape := t.Shape
		if shape == nil {
			shape = []int64{}
		}
		info := stInfo{Dtype: t.DType, Shape: shape, DataOffsets: []int64{off, off + int64(len(t.Data))}}
		if err := checkInfo(t.Name, info); err != nil {
			return err
		}
		off += int64(len(t.Data))
		if i > 0 || len(metadata) > 0 {
			h.WriteByte(',')
		}
		writeJSONString(&h, t.Name)
		dims := make([]string, len(shape))
		for j, d := range shape {
			dims[j] = fmt.Sprint(d)
		}
		fmt.Fprintf(&h, `:{"dtype":%q,"shape":[%s],"data_offsets":[%d,%d]}`,
			t.DType, strings.Join(dims, ","), info.DataOffsets[0], info.DataOffsets[1])
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	var pre [8]byte
	binary.LittleEndian.PutUint64(pre[:], uint64(h.Len()))
	if _, err := w.Write(pre[:]); err != nil {
		return err
	}
	if _, err := w.Write(h.Bytes()); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s) // marshaling a string cannot fail
	b.Write(enc)
}
