// Package container reads and writes the .lmgc file format (docs/FORMAT.md):
//
//	magic     8 bytes  "LMGC\r\n\x1a\n"
//	version   uint32   little-endian, currently 1
//	hlen      uint32   length of the header
//	header    hlen bytes of JSON (Header)
//	hcrc      uint32   CRC-32C of the header bytes
//	table     uvarint n, then n times: uvarint length, uvarint symbols,
//	          uint32 CRC-32C (the window streams)
//	tcrc      uint32   CRC-32C of the table bytes
//	streams   the non-float stream, then every window stream, back to back
//
// Every stream has its length and CRC-32C up front, so windows can be
// located, checked and decoded independently and in parallel.
package container

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Magic starts every .lmgc file. The CR-LF and ^Z catch text-mode mangling,
// as in PNG.
const Magic = "LMGC\r\n\x1a\n"

// Version is the format version this package writes and the newest it reads.
const Version = 1

// MaxHeader bounds the header length accepted from a file.
const MaxHeader = 64 << 20

// MaxStreams bounds the number of streams accepted from a file.
const MaxStreams = 1 << 22

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum returns the CRC-32C of b, the checksum used for the header and
// every stream.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Header describes everything needed to decode a file.
type Header struct {
	Original Original `json:"original"`
	Prior    Prior    `json:"prior"`
	// Serialization is "raw" (the float bytes themselves) or a text format
	// of package serial (e.g. "hex-space").
	Serialization string `json:"serialization"`
	BytesPerGroup int    `json:"bytes_per_group,omitempty"`
	SignFirst     bool   `json:"sign_first,omitempty"`
	// ChunkSize is the serialization chunk (512 bytes), 0 for raw.
	ChunkSize int `json:"chunk_size,omitempty"`
	// Pad is the number of zero bytes added to the float data to fill the
	// last chunk; decompression trims them.
	Pad int `json:"pad,omitempty"`
	// Window is the largest number of symbols in one stream.
	Window int `json:"window"`
	// FloatBytes is the number of float32 data bytes coded by the prior.
	FloatBytes int64 `json:"float_bytes"`
	// Other holds every byte that is not float32 data (headers, other
	// dtypes), concatenated in file order and compressed with OtherCodec.
	OtherCodec string `json:"other_codec"`
	Other      Stream `json:"other"`
	// Streams are the prior-coded windows, in order. They are written in
	// the binary stream table after the header, not in the JSON.
	Streams []Stream `json:"-"`
	// IdealBits is -sum log2 p over all coded symbols, for reference.
	IdealBits float64 `json:"ideal_bits"`
	// Tokens is the number of symbols the prior coded.
	Tokens int64 `json:"tokens"`
}

// Original describes the input file.
type Original struct {
	Name     string    `json:"name,omitempty"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"`
	Format   string    `json:"format"`
	Segments []Segment `json:"segments"`
}

// Segment is a byte range of the original file, in order; offsets follow
// from the lengths.
type Segment struct {
	Kind   string  `json:"kind"` // "float32le" or "other"
	Length int64   `json:"length"`
	Name   string  `json:"name,omitempty"`
	DType  string  `json:"dtype,omitempty"`
	Shape  []int64 `json:"shape,omitempty"`
}

// Prior identifies the probability model exactly.
type Prior struct {
	Name        string         `json:"name"`
	Fingerprint string         `json:"fingerprint"`
	Params      map[string]any `json:"params,omitempty"`
}

// Stream is one independently decodable coded stream.
type Stream struct {
	Length  int64  `json:"length"`
	Symbols int64  `json:"symbols"`
	CRC32C  uint32 `json:"crc32c"`
}

// Write writes a complete file: the header, then the streams' bytes, which
// must be given in header order (other first, then each window).
func Write(w io.Writer, h *Header, streams [][]byte) error {
	if len(streams) != len(h.Streams)+1 {
		return fmt.Errorf("lmgc container: %d stream bodies for %d streams", len(streams), len(h.Streams)+1)
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var pre [16]byte
	copy(pre[:], Magic)
	binary.LittleEndian.PutUint32(pre[8:], Version)
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(hb)))
	var crc [4]byte
	binary.LittleEndian.PutUint32(crc[:], Checksum(hb))
	table := binary.AppendUvarint(nil, uint64(len(h.Streams)))
	for _, s := range h.Streams {
		if s.Length < 0 || s.Symbols < 0 {
			return fmt.Errorf("lmgc container: negative stream size")
		}
		table = binary.AppendUvarint(table, uint64(s.Length))
		table = binary.AppendUvarint(table, uint64(s.Symbols))
		table = binary.LittleEndian.AppendUint32(table, s.CRC32C)
	}
	table = binary.LittleEndian.AppendUint32(table, Checksum(table))
	for _, b := range [][]byte{pre[:], hb, crc[:], table} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	for _, s := range streams {
		if _, err := w.Write(s); err != nil {
			return err
		}
	}
	return nil
}

// ErrNotLMGC is returned for input that does not start with Magic.
var ErrNotLMGC = errors.New("not an .lmgc file (wrong magic)")

// ErrCorrupt is matched, with errors.Is, by every error that reports a
// damaged, truncated or self-contradictory .lmgc file: a checksum that does
// not match, a length that does not fit, a header value out of range, a
// stream that does not decode. Such errors are CorruptError values.
var ErrCorrupt = Corruptf("corrupt .lmgc file")

// ErrUnsupported is matched by errors for a well-formed file that uses a
// format version or a feature (a prior, a codec) this lmgc does not have.
var ErrUnsupported = errors.New("unsupported .lmgc file")

// CorruptError reports a damaged .lmgc file. errors.Is(err, ErrCorrupt)
// holds for every CorruptError; Unwrap gives the underlying cause, if any.
type CorruptError struct {
	Err error // what is wrong; its message names the problem
}

func (e *CorruptError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Corruptf formats a CorruptError as fmt.Errorf does (so %w keeps the
// cause reachable with errors.Is and errors.As).
func Corruptf(format string, args ...any) error {
	return &CorruptError{Err: fmt.Errorf(format, args...)}
}

// Unsupportedf formats an error that matches ErrUnsupported, as fmt.Errorf
// does.
func Unsupportedf(format string, args ...any) error {
	return &unsupportedError{fmt.Errorf(format, args...)}
}

type unsupportedError struct{ err error }

func (e *unsupportedError) Error() string        { return e.err.Error() }
func (e *unsupportedError) Unwrap() error        { return e.err }
func (e *unsupportedError) Is(target error) bool { return target == ErrUnsupported }

// File is a parsed .lmgc file.
type File struct {
	Header Header
	other  []byte
	bodies [][]byte
}

// Parse reads a whole .lmgc file from memory and checks its structure: magic,
// version, header checksum, and that the stream lengths account for exactly
// the rest of the file. Stream checksums are checked by Stream and Other.
func Parse(b []byte) (*File, error) {
	if len(b) < len(Magic) || string(b[:len(Magic)]) != Magic {
		if len(b) < len(Magic) && bytes.HasPrefix([]byte(Magic), b) {
			return nil, Corruptf("truncated .lmgc file: %d bytes, shorter than the magic", len(b))
		}
		return nil, ErrNotLMGC
	}
	if len(b) < 16 {
		return nil, Corruptf("truncated .lmgc file: %d bytes, header missing", len(b))
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Version {
		if v > Version {
			return nil, Unsupportedf(".lmgc format version %d is newer than this lmgc reads (%d); upgrade lmgc", v, Version)
		}
		return nil, Unsupportedf(".lmgc format version %d is not supported (want %d)", v, Version)
	}
	hlen := int64(binary.LittleEndian.Uint32(b[12:]))
	if hlen > MaxHeader {
		return nil, Corruptf("corrupt .lmgc file: header length %d exceeds the %d-byte limit", hlen, MaxHeader)
	}
	if 16+hlen+4 > int64(len(b)) {
		return nil, Corruptf("truncated .lmgc file: header of %d bytes does not fit in %d bytes", hlen, len(b))
	}
	hb := b[16 : 16+hlen]
	if got, want := Checksum(hb), binary.LittleEndian.Uint32(b[16+hlen:]); got != want {
		return nil, Corruptf("corrupt .lmgc file: header checksum mismatch (%08x, stored %08x)", got, want)
	}
	f := &File{}
	dec := json.NewDecoder(bytes.NewReader(hb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f.Header); err != nil {
		return nil, Corruptf("corrupt .lmgc file: header: %w", err)
	}
	h := &f.Header
	rest, err := parseTable(b[16+hlen+4:], h)
	if err != nil {
		return nil, err
	}
	take := func(s Stream, what string) ([]byte, error) {
		if s.Length < 0 || s.Symbols < 0 {
			return nil, Corruptf("corrupt .lmgc file: %s has a negative length", what)
		}
		if s.Length > int64(len(rest)) {
			return nil, Corruptf("truncated .lmgc file: %s needs %d bytes, %d left", what, s.Length, len(rest))
		}
		body := rest[:s.Length:s.Length]
		rest = rest[s.Length:]
		return body, nil
	}
	if f.other, err = take(h.Other, "the non-float stream"); err != nil {
		return nil, err
	}
	f.bodies = make([][]byte, len(h.Streams))
	for i, s := range h.Streams {
		if s.Symbols > int64(h.Window) {
			return nil, Corruptf("corrupt .lmgc file: stream %d has %d symbols, more than the window of %d", i, s.Symbols, h.Window)
		}
		if f.bodies[i], err = take(s, fmt.Sprintf("stream %d", i)); err != nil {
			return nil, err
		}
	}
	if len(rest) != 0 {
		return nil, Corruptf("corrupt .lmgc file: %d unexpected bytes after the last stream", len(rest))
	}
	if err := f.checkSizes(); err != nil {
		return nil, err
	}
	return f, nil
}

// parseTable reads the binary stream table into h.Streams and returns the
// bytes after it.
func parseTable(b []byte, h *Header) ([]byte, error) {
	start := b
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, Corruptf("truncated .lmgc file: stream table missing")
	}
	b = b[k:]
	// Each entry takes at least 6 bytes: never allocate more entries than
	// the file can hold.
	if n > MaxStreams || n > uint64(len(b)/6) {
		return nil, Corruptf("corrupt .lmgc file: %d streams do not fit in the file (limit %d)", n, MaxStreams)
	}
	h.Streams = make([]Stream, n)
	for i := range h.Streams {
		l, k1 := binary.Uvarint(b)
		if k1 <= 0 {
			return nil, Corruptf("truncated .lmgc file: stream table entry %d", i)
		}
		sy, k2 := binary.Uvarint(b[k1:])
		if k2 <= 0 || len(b) < k1+k2+4 {
			return nil, Corruptf("truncated .lmgc file: stream table entry %d", i)
		}
		if l > 1<<62 || sy > 1<<62 {
			return nil, Corruptf("corrupt .lmgc file: stream %d sizes out of range", i)
		}
		h.Streams[i] = Stream{Length: int64(l), Symbols: int64(sy), CRC32C: binary.LittleEndian.Uint32(b[k1+k2:])}
		b = b[k1+k2+4:]
	}
	if len(b) < 4 {
		return nil, Corruptf("truncated .lmgc file: stream table checksum missing")
	}
	tlen := len(start) - len(b)
	if got, want := Checksum(start[:tlen]), binary.LittleEndian.Uint32(b); got != want {
		return nil, Corruptf("corrupt .lmgc file: stream table checksum mismatch (%08x, stored %08x)", got, want)
	}
	return b[4:], nil
}

// checkSizes checks that the segment lengths, the float bytes and the file
// size agree.
func (f *File) checkSizes() error {
	h := &f.Header
	var total, floats int64
	for i, s := range h.Original.Segments {
		if s.Length < 0 {
			return Corruptf("corrupt .lmgc file: segment %d has a negative length", i)
		}
		switch s.Kind {
		case "float32le":
			floats += s.Length
		case "other":
		default:
			return Corruptf("corrupt .lmgc file: segment %d has unknown kind %q", i, s.Kind)
		}
		total += s.Length
		if total < 0 || total > h.Original.Size {
			return Corruptf("corrupt .lmgc file: segments exceed the original size %d", h.Original.Size)
		}
	}
	if total != h.Original.Size {
		return Corruptf("corrupt .lmgc file: segments cover %d bytes, original has %d", total, h.Original.Size)
	}
	if floats != h.FloatBytes {
		return Corruptf("corrupt .lmgc file: float segments hold %d bytes, header says %d", floats, h.FloatBytes)
	}
	if h.Pad < 0 || (h.ChunkSize > 0 && h.Pad >= h.ChunkSize) {
		return Corruptf("corrupt .lmgc file: padding %d out of range", h.Pad)
	}
	return nil
}

// Other returns the compressed non-float bytes after checking their checksum.
func (f *File) Other() ([]byte, error) {
	if got := Checksum(f.other); got != f.Header.Other.CRC32C {
		return nil, Corruptf("corrupt .lmgc file: checksum mismatch in the non-float stream (%08x, stored %08x)", got, f.Header.Other.CRC32C)
	}
	return f.other, nil
}

// Stream returns the bytes of window stream i after checking its checksum.
func (f *File) Stream(i int) ([]byte, error) {
	if i < 0 || i >= len(f.bodies) {
		return nil, fmt.Errorf("lmgc container: no stream %d", i)
	}
	if got := Checksum(f.bodies[i]); got != f.Header.Streams[i].CRC32C {
		return nil, Corruptf("corrupt .lmgc file: checksum mismatch in stream %d (%08x, stored %08x)", i, got, f.Header.Streams[i].CRC32C)
	}
	return f.bodies[i], nil
}
