// Package tensorio splits tensor files into float32 data and everything
// else, so that a compressor can code the floats with a float prior and the
// rest with a general-purpose codec, and still rebuild the original file
// byte for byte.
//
// A file is described by a Layout: an ordered list of segments that covers
// the file exactly, with no gaps and no overlap. A Float32LE segment holds
// little-endian float32 values; an Other segment holds anything else
// (headers, padding, tensors of other dtypes). Four formats are read:
//
//   - raw: the whole file is little-endian float32. A file whose length is
//     not a multiple of 4 ends with an Other segment of 1 to 3 bytes.
//   - npy: NumPy .npy files, format versions 1.0, 2.0 and 3.0.
//   - safetensors: Hugging Face safetensors files.
//   - pt: PyTorch torch.save files (the zip format of torch >= 1.6). The
//     pickle inside is read by a restricted unpickler that runs no code
//     and refuses every global but the few that rebuild tensors.
//
// ParseLayout only reads headers; it checks every size against the file's
// actual length before allocating, and reports malformed input as an error
// naming the problem.
package tensorio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"path/filepath"
	"strings"
)

// Format names, as returned by Detect and accepted by ParseLayout.
const (
	FormatRaw         = "raw"
	FormatNPY         = "npy"
	FormatSafetensors = "safetensors"
	FormatPT          = "pt"
)

// ErrFormat is matched, with errors.Is, by every error that reports a file
// which is not a valid file of its format (a FormatError).
var ErrFormat = errors.New("malformed tensor file")

// ErrUnknownFormat is matched by the error for a format name ParseLayout
// does not know, and by callers' errors for a file whose format cannot be
// detected.
var ErrUnknownFormat = errors.New("unknown tensor file format")

// FormatError reports a malformed file: a bad header, a size that does not
// fit, an unsupported dtype. errors.Is(err, ErrFormat) holds for every
// FormatError.
type FormatError struct {
	Format string // FormatNPY, FormatSafetensors or FormatPT
	Err    error  // what is wrong; its message starts with the format name
}

func (e *FormatError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *FormatError) Unwrap() error { return e.Err }

// Is reports whether target is ErrFormat.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

func formatErrorf(format, msg string, args ...any) error {
	return &FormatError{Format: format, Err: fmt.Errorf(msg, args...)}
}

// Kind says how a segment's bytes are to be coded.
type Kind uint8

const (
	Other     Kind = iota // anything but little-endian float32
	Float32LE             // little-endian IEEE 754 binary32 values
	Float16LE             // little-endian 16-bit floats: bfloat16 or IEEE binary16 (DType says which)
)

// Width returns the bytes per value of a float kind, 0 for Other.
func (k Kind) Width() int {
	switch k {
	case Float32LE:
		return 4
	case Float16LE:
		return 2
	}
	return 0
}

func (k Kind) String() string {
	switch k {
	case Other:
		return "other"
	case Float32LE:
		return "float32le"
	case Float16LE:
		return "float16le"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Segment is a byte range of a file.
type Segment struct {
	Offset, Length int64
	Kind           Kind
	Name           string  // tensor name (safetensors, pt), "header", "padding", "tail" or "zip" (pt); "" for npy data
	DType          string  // npy descr ("<f4", "<V2") or safetensors dtype ("F32", also used for pt); "" for non-tensor bytes
	Shape          []int64 // tensor shape; nil for non-tensor bytes
	FortranOrder   bool    // npy only: the data is in Fortran (column-major) order
}

// End returns the offset just past the segment.
func (s Segment) End() int64 { return s.Offset + s.Length }

// Layout describes a whole file as consecutive segments.
type Layout struct {
	Format   string // FormatRaw, FormatNPY, FormatSafetensors or FormatPT
	Size     int64  // file size in bytes
	Segments []Segment
}

// Check verifies that the segments cover [0, Size) in order with no gaps
// or overlap, that every segment is non-empty, and that every Float32LE
// segment's length is a multiple of 4.
func (l *Layout) Check() error {
	var off int64
	for i, s := range l.Segments {
		if s.Offset != off {
			return fmt.Errorf("tensorio: segment %d starts at %d, want %d", i, s.Offset, off)
		}
		if s.Length <= 0 {
			return fmt.Errorf("tensorio: segment %d has length %d", i, s.Length)
		}
		if w := s.Kind.Width(); w > 0 && s.Length%int64(w) != 0 {
			return fmt.Errorf("tensorio: %v segment %d has length %d, not a multiple of %d", s.Kind, i, s.Length, w)
		}
		if s.Kind != Other && s.Kind != Float32LE && s.Kind != Float16LE {
			return fmt.Errorf("tensorio: segment %d has unknown kind %v", i, s.Kind)
		}
		if s.Length > l.Size-off {
			return fmt.Errorf("tensorio: segment %d ends at %d, past the file size %d", i, off+s.Length, l.Size)
		}
		off += s.Length
	}
	if off != l.Size {
		return fmt.Errorf("tensorio: segments end at %d, file size is %d", off, l.Size)
	}
	return nil
}

// Float32Bytes returns the total length of the Float32LE segments.
func (l *Layout) Float32Bytes() int64 {
	var n int64
	for _, s := range l.Segments {
		if s.Kind == Float32LE {
			n += s.Length
		}
	}
	return n
}

// add appends a segment, skipping empty ones.
func (l *Layout) add(s Segment) {
	if s.Length > 0 {
		l.Segments = append(l.Segments, s)
	}
}

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// Detect guesses a file's format from its name and its first bytes (64 are
// plenty). The NumPy magic wins, and so does a zip whose first entry is
// <archive>/data.pkl (torch.save writes it first; Hugging Face's
// pytorch_model.bin is such a file); then the extension decides (.npy,
// .safetensors, .pt and .pth; .f32, .bin and .raw are raw); then a
// safetensors-looking start (an 8-byte little-endian header length
// followed by '{'). It returns "" when nothing matches, leaving the choice
// to the caller.
func Detect(name string, head []byte) string {
	if bytes.HasPrefix(head, []byte(npyMagic)) {
		return FormatNPY
	}
	if isTorchZip(head) {
		return FormatPT
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".npy":
		return FormatNPY
	case ".safetensors":
		return FormatSafetensors
	case ".pt", ".pth":
		return FormatPT
	case ".f32", ".bin", ".raw":
		return FormatRaw
	}
	if len(head) >= 9 && head[8] == '{' {
		n := leUint64(head)
		if n >= 2 && n <= maxSafetensorsHeader {
			return FormatSafetensors
		}
	}
	return ""
}

// ParseLayout reads the header of a file of the given format and size and
// returns its layout. format is FormatRaw, FormatNPY, FormatSafetensors or
// FormatPT.
func ParseLayout(format string, r io.ReaderAt, size int64) (*Layout, error) {
	if size < 0 {
		return nil, fmt.Errorf("tensorio: negative file size %d", size)
	}
	switch format {
	case FormatRaw:
		return rawLayout(size), nil
	case FormatNPY:
		return parseNPY(r, size)
	case FormatSafetensors:
		return parseSafetensors(r, size)
	case FormatPT:
		return parsePT(r, size)
	}
	return nil, fmt.Errorf("tensorio: %w %q (want raw, npy, safetensors or pt)", ErrUnknownFormat, format)
}

// isTorchZip reports whether head starts a zip archive whose first entry
// is <archive>/data.pkl, as torch.save writes them.
func isTorchZip(head []byte) bool {
	if len(head) < zipLocalLen || binary.LittleEndian.Uint32(head) != zipLocalSig {
		return false
	}
	n := int(binary.LittleEndian.Uint16(head[26:]))
	if len(head) < zipLocalLen+n {
		return false
	}
	dir, file, ok := strings.Cut(string(head[zipLocalLen:zipLocalLen+n]), "/")
	return ok && dir != "" && file == "data.pkl"
}

func rawLayout(size int64) *Layout {
	l := &Layout{Format: FormatRaw, Size: size}
	n := size &^ 3
	l.add(Segment{Offset: 0, Length: n, Kind: Float32LE, DType: "<f4", Shape: []int64{n / 4}})
	l.add(Segment{Offset: n, Length: size - n, Kind: Other, Name: "tail"})
	return l
}

// readAt reads exactly n bytes at off. The caller has checked that
// [off, off+n) lies inside the file.
func readAt(r io.ReaderAt, off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	k, err := r.ReadAt(buf, off)
	if k == len(buf) {
		return buf, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, err
}

func leUint64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// numElements returns the product of shape, or ok=false if a dimension is
// negative or the product exceeds math.MaxInt64.
func numElements(shape []int64) (n int64, ok bool) {
	n = 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		n = int64(lo)
	}
	return n, true
}

// mulBits returns n*bitsPer/8, or ok=false on overflow or when the result
// is not a whole number of bytes.
func mulBits(n int64, bitsPer int) (int64, bool) {
	hi, lo := bits.Mul64(uint64(n), uint64(bitsPer))
	if hi != 0 || lo > math.MaxInt64 || lo%8 != 0 {
		return 0, false
	}
	return int64(lo / 8), true
}

// shapeString formats a shape like Python's tuple repr: (3, 4), (3,), ().
func shapeString(shape []int64) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, d := range shape {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, d)
	}
	if len(shape) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}
