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
// located, checked and decoded independently and in parallel. NewReader
// reads only the header and the table from an io.ReaderAt, so a file of
// any size is read stream by stream; Parse is the in-memory form.
package container

import (
	"bufio"
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
	Kind   string  `json:"kind"` // "float32le", "float16le" (bfloat16 or float16, by DType) or "other"
	Length int64   `json:"length"`
	Name   string  `json:"name,omitempty"`
	DType  string  `json:"dtype,omitempty"`
	Shape  []int64 `json:"shape,omitempty"`
	// LowRank, on a 2-D float32 segment, is the plan of the low-rank
	// transform its float bytes went through before coding (package
	// codec/lowrank, EncodePlan); empty: none.
	LowRank string `json:"lowrank,omitempty"`
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
	if err := WriteHeader(w, h); err != nil {
		return err
	}
	for _, s := range streams {
		if _, err := w.Write(s); err != nil {
			return err
		}
	}
	return nil
}

// WriteHeader writes everything before the stream bodies: magic, version,
// header, stream table. The caller writes the bodies after it, the
// non-float stream first, then each window in order, with exactly the
// lengths h gives.
func WriteHeader(w io.Writer, h *Header) error {
	head, err := framed(Magic, Version, h)
	if err != nil {
		return err
	}
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
	for _, b := range [][]byte{head, table} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// framed returns the start that .lmgc and part files share: magic, uint32
// version, uint32 length of v's JSON, the JSON, and its CRC-32C.
func framed(magic string, version uint32, v any) ([]byte, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(js) > MaxHeader {
		return nil, fmt.Errorf("header of %d bytes exceeds the limit of %d (too many windows: use a larger window)", len(js), MaxHeader)
	}
	b := append([]byte(magic), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[8:], version)
	binary.LittleEndian.PutUint32(b[12:], uint32(len(js)))
	b = append(b, js...)
	return binary.LittleEndian.AppendUint32(b, Checksum(js)), nil
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

// Reader gives access to an .lmgc file through an io.ReaderAt: NewReader
// reads and checks the header and the stream table only, and each stream is
// read when it is asked for, so a file of any size can be decoded window by
// window.
type Reader struct {
	Header   Header
	r        io.ReaderAt
	otherOff int64   // offset of the non-float stream
	offs     []int64 // offset of each window stream
}

// NewReader reads the header and stream table of the size-byte .lmgc file
// r and checks its structure: magic, version, header and table checksums,
// and that the stream lengths account for exactly the rest of the file.
// Stream checksums are checked as each stream is read.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	hb, hlen, err := readFramed(r, size, Magic, ".lmgc file", ErrNotLMGC, func(v uint32) error {
		if v > Version {
			return Unsupportedf(".lmgc format version %d is newer than this lmgc reads (%d); upgrade lmgc", v, Version)
		}
		return Unsupportedf(".lmgc format version %d is not supported (want %d)", v, Version)
	}, Version)
	if err != nil {
		return nil, err
	}
	f := &Reader{r: r}
	dec := json.NewDecoder(bytes.NewReader(hb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f.Header); err != nil {
		return nil, Corruptf("corrupt .lmgc file: header: %w", err)
	}
	h := &f.Header
	tstart := 16 + hlen + 4
	off, err := readTable(io.NewSectionReader(r, tstart, size-tstart), size-tstart, h)
	if err != nil {
		return nil, err
	}
	off += tstart
	left := size - off
	take := func(s Stream, what string) (int64, error) {
		if s.Length < 0 || s.Symbols < 0 {
			return 0, Corruptf("corrupt .lmgc file: %s has a negative length", what)
		}
		if s.Length > left {
			return 0, Corruptf("truncated .lmgc file: %s needs %d bytes, %d left", what, s.Length, left)
		}
		at := off
		off, left = off+s.Length, left-s.Length
		return at, nil
	}
	if f.otherOff, err = take(h.Other, "the non-float stream"); err != nil {
		return nil, err
	}
	f.offs = make([]int64, len(h.Streams))
	for i, s := range h.Streams {
		if s.Symbols > int64(h.Window) {
			return nil, Corruptf("corrupt .lmgc file: stream %d has %d symbols, more than the window of %d", i, s.Symbols, h.Window)
		}
		if f.offs[i], err = take(s, fmt.Sprintf("stream %d", i)); err != nil {
			return nil, err
		}
	}
	if left != 0 {
		return nil, Corruptf("corrupt .lmgc file: %d unexpected bytes after the last stream", left)
	}
	if err := f.checkSizes(); err != nil {
		return nil, err
	}
	return f, nil
}

// readFramed reads the start that .lmgc and part files share: the magic
// (else notMagic), a uint32 version (else the error of badVersion), a
// uint32 header length (at most MaxHeader), the header and its CRC-32C. It
// returns the checked header bytes and their length; what names the kind of
// file in messages.
func readFramed(r io.ReaderAt, size int64, magic, what string, notMagic error, badVersion func(uint32) error, version uint32) ([]byte, int64, error) {
	var pre [16]byte
	n, err := r.ReadAt(pre[:min(size, 16)], 0)
	if err != nil && !(err == io.EOF && int64(n) == min(size, 16)) {
		return nil, 0, err
	}
	b := pre[:n]
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		if len(b) < len(magic) && bytes.HasPrefix([]byte(magic), b) {
			return nil, 0, Corruptf("truncated %s: %d bytes, shorter than the magic", what, len(b))
		}
		return nil, 0, notMagic
	}
	if len(b) < 16 {
		return nil, 0, Corruptf("truncated %s: %d bytes, header missing", what, size)
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != version {
		return nil, 0, badVersion(v)
	}
	hlen := int64(binary.LittleEndian.Uint32(b[12:]))
	if hlen > MaxHeader {
		return nil, 0, Corruptf("corrupt %s: header length %d exceeds the %d-byte limit", what, hlen, MaxHeader)
	}
	if 16+hlen+4 > size {
		return nil, 0, Corruptf("truncated %s: header of %d bytes does not fit in %d bytes", what, hlen, size)
	}
	hb := make([]byte, hlen+4)
	if _, err := r.ReadAt(hb, 16); err != nil && err != io.EOF {
		return nil, 0, err
	}
	hb, hcrc := hb[:hlen], binary.LittleEndian.Uint32(hb[hlen:])
	if got := Checksum(hb); got != hcrc {
		return nil, 0, Corruptf("corrupt %s: header checksum mismatch (%08x, stored %08x)", what, got, hcrc)
	}
	return hb, hlen, nil
}

// OtherSection returns the compressed non-float stream, unchecked: its
// reader must check the CRC-32C (OtherCRC) of what it reads.
func (f *Reader) OtherSection() *io.SectionReader {
	return io.NewSectionReader(f.r, f.otherOff, f.Header.Other.Length)
}

// ReadOther reads the compressed non-float stream into buf (grown as
// needed) and checks its checksum.
func (f *Reader) ReadOther(buf []byte) ([]byte, error) {
	b, err := f.read(buf, f.otherOff, f.Header.Other.Length)
	if err != nil {
		return nil, err
	}
	if got := Checksum(b); got != f.Header.Other.CRC32C {
		return nil, otherMismatch(got, f.Header.Other.CRC32C)
	}
	return b, nil
}

func otherMismatch(got, want uint32) error {
	return Corruptf("corrupt .lmgc file: checksum mismatch in the non-float stream (%08x, stored %08x)", got, want)
}

// CheckOther returns the error for a non-float stream whose bytes have the
// checksum got, nil if it is the stored one.
func (f *Reader) CheckOther(got uint32) error {
	if got != f.Header.Other.CRC32C {
		return otherMismatch(got, f.Header.Other.CRC32C)
	}
	return nil
}

// ReadStream reads window stream i into buf (grown as needed) and checks
// its checksum.
func (f *Reader) ReadStream(i int, buf []byte) ([]byte, error) {
	if i < 0 || i >= len(f.offs) {
		return nil, fmt.Errorf("lmgc container: no stream %d", i)
	}
	b, err := f.read(buf, f.offs[i], f.Header.Streams[i].Length)
	if err != nil {
		return nil, err
	}
	return b, f.checkStream(i, b)
}

func (f *Reader) checkStream(i int, b []byte) error {
	if got := Checksum(b); got != f.Header.Streams[i].CRC32C {
		return Corruptf("corrupt .lmgc file: checksum mismatch in stream %d (%08x, stored %08x)", i, got, f.Header.Streams[i].CRC32C)
	}
	return nil
}

func (f *Reader) read(buf []byte, off, n int64) ([]byte, error) {
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if k, err := f.r.ReadAt(buf, off); err != nil && !(err == io.EOF && int64(k) == n) {
		return nil, fmt.Errorf("lmgc container: reading at %d: %w", off, err)
	}
	return buf, nil
}

// File is a parsed .lmgc file held in memory.
type File struct {
	Reader
	b []byte
}

// Parse reads a whole .lmgc file from memory and checks its structure as
// NewReader does. Stream checksums are checked by Stream and Other.
func Parse(b []byte) (*File, error) {
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	return &File{Reader: *r, b: b}, nil
}

// readTable reads the binary stream table (at most size bytes) into
// h.Streams and returns its length, checksum included.
func readTable(sr io.Reader, size int64, h *Header) (int64, error) {
	cr := &crcReader{r: bufio.NewReaderSize(sr, 64<<10)}
	n, err := binary.ReadUvarint(cr)
	if err != nil {
		return 0, Corruptf("truncated .lmgc file: stream table missing")
	}
	// Each entry takes at least 6 bytes: never allocate more entries than
	// the file can hold.
	if n > MaxStreams || n > uint64((size-cr.n)/6) {
		return 0, Corruptf("corrupt .lmgc file: %d streams do not fit in the file (limit %d)", n, MaxStreams)
	}
	h.Streams = make([]Stream, n)
	for i := range h.Streams {
		l, err1 := binary.ReadUvarint(cr)
		sy, err2 := binary.ReadUvarint(cr)
		var c [4]byte
		_, err3 := io.ReadFull(cr, c[:])
		if err1 != nil || err2 != nil || err3 != nil {
			return 0, Corruptf("truncated .lmgc file: stream table entry %d", i)
		}
		if l > 1<<62 || sy > 1<<62 {
			return 0, Corruptf("corrupt .lmgc file: stream %d sizes out of range", i)
		}
		h.Streams[i] = Stream{Length: int64(l), Symbols: int64(sy), CRC32C: binary.LittleEndian.Uint32(c[:])}
	}
	got, tlen := cr.crc, cr.n
	var c [4]byte
	if _, err := io.ReadFull(cr, c[:]); err != nil {
		return 0, Corruptf("truncated .lmgc file: stream table checksum missing")
	}
	if want := binary.LittleEndian.Uint32(c[:]); got != want {
		return 0, Corruptf("corrupt .lmgc file: stream table checksum mismatch (%08x, stored %08x)", got, want)
	}
	return tlen + 4, nil
}

// crcReader counts and checksums the bytes read through it.
type crcReader struct {
	r   *bufio.Reader
	n   int64
	crc uint32
}

func (c *crcReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
		c.crc = crc32.Update(c.crc, castagnoli, []byte{b})
	}
	return b, err
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.crc = crc32.Update(c.crc, castagnoli, p[:n])
	return n, err
}

// checkSizes checks that the segment lengths, the float bytes and the file
// size agree.
func (f *Reader) checkSizes() error {
	h := &f.Header
	var total, floats int64
	var floatKind string
	for i, s := range h.Original.Segments {
		if s.Length < 0 {
			return Corruptf("corrupt .lmgc file: segment %d has a negative length", i)
		}
		switch s.Kind {
		case "float32le", "float16le":
			if floatKind != "" && s.Kind != floatKind {
				return Corruptf("corrupt .lmgc file: segment %d is %s after %s segments (one float width per file)", i, s.Kind, floatKind)
			}
			if s.Kind == "float16le" && s.Length%2 != 0 {
				return Corruptf("corrupt .lmgc file: 16-bit float segment %d has an odd length %d", i, s.Length)
			}
			floatKind = s.Kind
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
	b := f.b[f.otherOff : f.otherOff+f.Header.Other.Length : f.otherOff+f.Header.Other.Length]
	if err := f.CheckOther(Checksum(b)); err != nil {
		return nil, err
	}
	return b, nil
}

// Stream returns the bytes of window stream i after checking its checksum.
func (f *File) Stream(i int) ([]byte, error) {
	if i < 0 || i >= len(f.offs) {
		return nil, fmt.Errorf("lmgc container: no stream %d", i)
	}
	n := f.Header.Streams[i].Length
	b := f.b[f.offs[i] : f.offs[i]+n : f.offs[i]+n]
	return b, f.checkStream(i, b)
}
