package tensorio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxNPYHeader bounds the header length field of an .npy file. NumPy itself
// refuses headers over 10,000 bytes by default; real headers are ~100 bytes.
const maxNPYHeader = 1 << 20

// npyDType describes a NumPy descr string.
type npyDType struct {
	itemSize  int64
	float32LE bool
	float16LE bool // "<f2": IEEE binary16, little-endian
}

// parseDescr interprets a NumPy descr string such as "<f4", "|u1",
// "<M8[ns]" or "<U10". Structured (list) descrs are handled by the caller.
//
// ml_dtypes' bfloat16 (and float8 types) are saved by np.save as a void
// type, "<V2" for bfloat16, since NumPy has no character code for them;
// they parse as V2 here. The non-NumPy descr "bfloat16" that some tools
// write by hand is accepted too, with item size 2.
func parseDescr(s string) (npyDType, error) {
	if s == "bfloat16" {
		return npyDType{itemSize: 2}, nil
	}
	t := s
	if t != "" && strings.IndexByte("<>|=", t[0]) >= 0 {
		t = t[1:]
	}
	if t == "" {
		return npyDType{}, formatErrorf("npy", "npy: empty dtype descr %q", s)
	}
	kind, rest := t[0], t[1:]
	if kind == 'O' {
		return npyDType{}, formatErrorf("npy", "npy: object arrays (descr %q, pickled data) are not supported", s)
	}
	if kind == 'M' || kind == 'm' {
		// datetime64/timedelta64: "M8" or "M8[unit]".
		if i := strings.IndexByte(rest, '['); i >= 0 {
			if !strings.HasSuffix(rest, "]") || i == len(rest)-2 {
				return npyDType{}, formatErrorf("npy", "npy: bad dtype descr %q", s)
			}
			rest = rest[:i]
		}
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n <= 0 || rest[0] == '+' {
		return npyDType{}, formatErrorf("npy", "npy: bad dtype descr %q", s)
	}
	ok := false
	switch kind {
	case 'b', '?':
		ok = n == 1
	case 'i', 'u':
		ok = n == 1 || n == 2 || n == 4 || n == 8
	case 'f':
		ok = n == 2 || n == 4 || n == 8 || n == 12 || n == 16
	case 'c':
		ok = n == 8 || n == 16 || n == 24 || n == 32
	case 'M', 'm':
		ok = n == 8
	case 'V', 'S', 'a':
		ok = n <= 1<<31
	case 'U':
		ok = n <= 1<<29
		n *= 4
	}
	if !ok {
		return npyDType{}, formatErrorf("npy", "npy: unsupported dtype descr %q", s)
	}
	return npyDType{itemSize: n, float32LE: s == "<f4", float16LE: s == "<f2"}, nil
}

// npyHeader is the decoded header dict of an .npy file.
type npyHeader struct {
	descr   string
	fortran bool
	shape   []int64
}

// parseNPY reads the layout of an .npy file.
func parseNPY(r io.ReaderAt, size int64) (*Layout, error) {
	if size < 10 {
		return nil, formatErrorf("npy", "npy: file of %d bytes is too short for the 10-byte preamble", size)
	}
	pre, err := readAt(r, 0, min(12, size))
	if err != nil {
		return nil, fmt.Errorf("npy: reading preamble: %w", err)
	}
	if string(pre[:6]) != npyMagic {
		return nil, formatErrorf("npy", "npy: missing magic \\x93NUMPY (file starts %q)", pre[:6])
	}
	major, minor := pre[6], pre[7]
	var hlen, start int64
	switch major {
	case 1:
		hlen, start = int64(binary.LittleEndian.Uint16(pre[8:10])), 10
	case 2, 3:
		if size < 12 {
			return nil, formatErrorf("npy", "npy: file of %d bytes is too short for the 12-byte version %d preamble", size, major)
		}
		hlen, start = int64(binary.LittleEndian.Uint32(pre[8:12])), 12
	default:
		return nil, formatErrorf("npy", "npy: unsupported format version %d.%d", major, minor)
	}
	if minor != 0 {
		return nil, formatErrorf("npy", "npy: unsupported format version %d.%d", major, minor)
	}
	if hlen > size-start {
		return nil, formatErrorf("npy", "npy: header length %d exceeds the %d bytes after the preamble", hlen, size-start)
	}
	if hlen > maxNPYHeader {
		return nil, formatErrorf("npy", "npy: header length %d exceeds the %d-byte limit", hlen, maxNPYHeader)
	}
	raw, err := readAt(r, start, hlen)
	if err != nil {
		return nil, fmt.Errorf("npy: reading header: %w", err)
	}
	h, err := parseNPYHeader(raw, major)
	if err != nil {
		return nil, err
	}
	dt, err := parseDescr(h.descr)
	if err != nil {
		return nil, err
	}
	dataStart := start + hlen
	dataLen := size - dataStart
	want, ok := npyDataLen(h.shape, dt.itemSize)
	if !ok {
		return nil, formatErrorf("npy", "npy: shape %s with item size %d overflows", shapeString(h.shape), dt.itemSize)
	}
	if want != dataLen {
		return nil, formatErrorf("npy", "npy: shape %s %s needs %d data bytes, file has %d",
			shapeString(h.shape), dtypeName(h.descr), want, dataLen)
	}
	l := &Layout{Format: FormatNPY, Size: size}
	l.add(Segment{Offset: 0, Length: dataStart, Kind: Other, Name: "header"})
	kind := Other
	if dt.float32LE {
		kind = Float32LE
	} else if dt.float16LE {
		kind = Float16LE
	}
	l.add(Segment{Offset: dataStart, Length: dataLen, Kind: kind, DType: h.descr, Shape: h.shape, FortranOrder: h.fortran})
	return l, nil
}

func npyDataLen(shape []int64, itemSize int64) (int64, bool) {
	n, ok := numElements(shape)
	if !ok {
		return 0, false
	}
	return mulBits(n, int(itemSize*8))
}

// dtypeName gives a readable name for common descrs in error messages.
func dtypeName(descr string) string {
	switch descr {
	case "<f4":
		return "float32"
	case "<f2":
		return "float16"
	case "<f8":
		return "float64"
	case "<V2", "|V2", "bfloat16":
		return "bfloat16/V2"
	}
	return descr
}

// parseNPYHeader decodes the header dict. Versions 1 and 2 are Latin-1,
// version 3 is UTF-8; the keys and values we accept are ASCII either way.
func parseNPYHeader(raw []byte, major byte) (npyHeader, error) {
	var h npyHeader
	if major == 3 && !utf8Valid(raw) {
		return h, formatErrorf("npy", "npy: version 3 header is not valid UTF-8")
	}
	p := &pyParser{s: raw}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return h, formatErrorf("npy", "npy: header: %w", err)
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return h, formatErrorf("npy", "npy: header: unexpected %q at offset %d after the dict", p.s[p.pos], p.pos)
	}
	d, ok := v.(pyDict)
	if !ok {
		return h, formatErrorf("npy", "npy: header is a %s, not a dict", pyTypeName(v))
	}
	if len(d.keys) != 3 || d.m["descr"] == nil || d.m["fortran_order"] == nil || d.m["shape"] == nil {
		return h, formatErrorf("npy", "npy: header keys are %v, want descr, fortran_order and shape", d.keys)
	}
	switch descr := d.m["descr"].(type) {
	case string:
		h.descr = descr
	case pyList:
		return h, formatErrorf("npy", "npy: structured dtypes (descr is a list) are not supported")
	default:
		return h, formatErrorf("npy", "npy: header descr is a %s, not a str", pyTypeName(descr))
	}
	fo, ok := d.m["fortran_order"].(bool)
	if !ok {
		return h, formatErrorf("npy", "npy: header fortran_order is a %s, not a bool", pyTypeName(d.m["fortran_order"]))
	}
	h.fortran = fo
	shape, ok := d.m["shape"].(pyTuple)
	if !ok {
		return h, formatErrorf("npy", "npy: header shape is a %s, not a tuple", pyTypeName(d.m["shape"]))
	}
	h.shape = make([]int64, len(shape))
	for i, x := range shape {
		n, ok := x.(int64)
		if !ok {
			return h, formatErrorf("npy", "npy: shape element %d is a %s, not an int", i, pyTypeName(x))
		}
		if n < 0 {
			return h, formatErrorf("npy", "npy: shape element %d is negative (%d)", i, n)
		}
		h.shape[i] = n
	}
	return h, nil
}

// WriteNPY writes an .npy file (format 1.0, or 2.0 if the header needs it)
// holding data as an array with the given descr ("<f4", "<f2", "<V2", ...)
// and shape, byte for byte as np.save (NumPy 1.24) would: the header is
// padded with spaces and a newline so that the data starts at a multiple of
// 64 bytes. len(data) must be the shape's element count times the descr's
// item size.
func WriteNPY(w io.Writer, descr string, shape []int64, fortran bool, data []byte) error {
	dt, err := parseDescr(descr)
	if err != nil {
		return err
	}
	if strings.ContainsAny(descr, "'\\") {
		return formatErrorf("npy", "npy: bad dtype descr %q", descr)
	}
	want, ok := npyDataLen(shape, dt.itemSize)
	if !ok {
		return formatErrorf("npy", "npy: shape %s with item size %d overflows or has a negative dimension", shapeString(shape), dt.itemSize)
	}
	if want != int64(len(data)) {
		return formatErrorf("npy", "npy: shape %s %s needs %d data bytes, got %d", shapeString(shape), dtypeName(descr), want, len(data))
	}
	fo := "False"
	if fortran {
		fo = "True"
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, fo, shapeString(shape))
	// Like np.save, leave room to grow the first (C order) or last
	// (Fortran order) dimension in place.
	if len(shape) > 0 {
		grow := shape[0]
		if fortran {
			grow = shape[len(shape)-1]
		}
		header += strings.Repeat(" ", max(0, 21-len(strconv.FormatInt(grow, 10))))
	}
	// Pad with 1 to 64 spaces and a newline so that the data starts at a
	// multiple of 64, exactly as NumPy does.
	pre := []byte(npyMagic + "\x01\x00\x00\x00")
	pad := 64 - (len(pre)+len(header)+1)%64
	if len(header)+pad+1 > 0xffff {
		pre = []byte(npyMagic + "\x02\x00\x00\x00\x00\x00")
		pad = 64 - (len(pre)+len(header)+1)%64
		binary.LittleEndian.PutUint32(pre[8:], uint32(len(header)+pad+1))
	} else {
		binary.LittleEndian.PutUint16(pre[8:], uint16(len(header)+pad+1))
	}
	var buf bytes.Buffer
	buf.Write(pre)
	buf.WriteString(header)
	buf.WriteString(strings.Repeat(" ", pad))
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}
