package codec

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/lmgc/lmgc/prior"
	"github.com/lmgc/lmgc/serial"
)

// FormatRaw codes the float32 bytes themselves, without a text form.
const FormatRaw = "raw"

// layout says how the float bytes become symbols and windows.
type layout struct {
	format string         // FormatRaw or a serial format name
	text   serial.Options // for text formats
	sign   bool           // raw: sign/exponent byte first
	width  int            // bytes per float, 4 (float32) or 2 (bfloat16, float16)
}

func newLayout(format string, bytesPerGroup int, signFirst bool) (layout, error) {
	if format == "" || format == FormatRaw {
		return layout{format: FormatRaw, sign: signFirst, width: 4}, nil
	}
	f, err := serial.ParseFormat(format)
	if err != nil {
		return layout{}, err
	}
	o := serial.Options{Format: f, BytesPerGroup: bytesPerGroup, SignFirst: signFirst}
	if err := o.Validate(); err != nil {
		return layout{}, err
	}
	return layout{format: f.String(), text: o, width: 4}, nil
}

func (l layout) isRaw() bool { return l.format == FormatRaw }

// Segment kinds of the header (container.Segment.Kind) for the floats.
const (
	kindFloat32 = "float32le"
	kindFloat16 = "float16le" // bfloat16 or float16, coded 2 bytes per float
)

// floatWidth returns the bytes per float of a segment kind, 0 for "other".
func floatWidth(kind string) int {
	switch kind {
	case kindFloat32:
		return 4
	case kindFloat16:
		return 2
	}
	return 0
}

// with16 returns the layout for 16-bit floats: raw, 2 bytes per float;
// text (for a prior with its own symbols, llm), a group is at most one
// value: 1 byte per group stays, any other becomes 2.
func (l layout) with16() layout {
	l.width = 2
	if !l.isRaw() {
		l.text.FloatBytes = 2
		if l.text.BytesPerGroup != 1 {
			l.text.BytesPerGroup = 2
		}
	}
	return l
}

// period returns the symbols per float (raw) or per group with its
// separator (text), the position period the cm prior keys its contexts by.
func (l layout) period() int {
	if l.isRaw() {
		return l.width
	}
	if l.text.Format.IsHex() {
		return l.text.DigitsPerGroup() + len(l.text.Separator())
	}
	return l.text.BytesPerGroup + len(l.text.Separator())
}

// chunkSymbols returns the symbols of one full chunk for text formats of
// fixed length (hex), 0 otherwise.
func (l layout) chunkSymbols() int {
	if l.isRaw() || !l.text.Format.IsHex() {
		return 0
	}
	return len(l.text.Append(nil, make([]byte, serial.ChunkSize)))
}

// maxChunkSymbols returns the most symbols the text of one chunk can take
// (an ISO character of a byte >= 0x80 takes two), 0 for raw.
func (l layout) maxChunkSymbols() int {
	if l.isRaw() {
		return 0
	}
	return len(l.text.Append(nil, bytes.Repeat([]byte{0xff}, serial.ChunkSize)))
}

// window is one window of symbols: bytes for the byte layouts, int32 for
// a prior's own symbols (tokens).
type window struct {
	b []byte
	t []int32
}

func (w *window) len() int {
	if w.t != nil {
		return len(w.t)
	}
	return len(w.b)
}

func (w *window) at(i int) int {
	if w.t != nil {
		return int(w.t[i])
	}
	return int(w.b[i])
}

// splitter cuts the float bytes, read in order, into windows.
type splitter interface {
	// next returns the next window, io.EOF after the last.
	next() (window, error)
	// pad is the padding added to the last chunk, known after io.EOF.
	pad() int
	// total is the number of symbols expected, for progress (an estimate
	// for formats whose text length varies).
	total() int64
}

// checkWindow reports a window too small for the layout.
func (l layout) checkWindow(window int) error {
	if l.isRaw() {
		if window&^3 < 4 {
			return fmt.Errorf("window of %d symbols is smaller than one float", window)
		}
		return nil
	}
	// A window holds whole chunks: it must hold the longest chunk text, or
	// a stream would exceed the header's window and not decode.
	if window < l.maxChunkSymbols() {
		return fmt.Errorf("window of %d symbols is smaller than one chunk (up to %d symbols in %s)", window, l.maxChunkSymbols(), l.format)
	}
	return nil
}

// splitter returns the splitter of n float bytes read from r.
func (l layout) splitter(r io.Reader, n int64, window int) splitter {
	if l.isRaw() {
		return &rawSplitter{r: r, window: window &^ 3, sign: l.sign, width: l.width, n: n}
	}
	return &textSplitter{r: r, l: l, window: window, n: n, chunk: make([]byte, serial.ChunkSize)}
}

// rawSplitter makes windows of the float bytes themselves (whole floats).
type rawSplitter struct {
	r      io.Reader
	window int
	sign   bool
	width  int
	n      int64
}

func (s *rawSplitter) next() (window, error) {
	buf := make([]byte, s.window)
	n, err := io.ReadFull(s.r, buf)
	if n == 0 && err == io.EOF {
		return window{}, io.EOF
	}
	if err != nil && err != io.ErrUnexpectedEOF {
		return window{}, err
	}
	buf = buf[:n:n]
	if s.sign {
		serial.ReverseFloats(buf, s.width)
	}
	return window{b: buf}, nil
}

func (s *rawSplitter) pad() int     { return 0 }
func (s *rawSplitter) total() int64 { return s.n }

// textSplitter serializes the float bytes chunk by chunk (the last one
// zero-padded) and packs as many whole chunks into a window as fit.
type textSplitter struct {
	r      io.Reader
	l      layout
	window int
	n      int64
	chunk  []byte
	cur    []byte
	padded int
	eof    bool
}

func (s *textSplitter) next() (window, error) {
	for !s.eof {
		n, err := io.ReadFull(s.r, s.chunk)
		if n == 0 && err == io.EOF {
			s.eof = true
			break
		}
		if err == io.ErrUnexpectedEOF {
			clear(s.chunk[n:])
			s.padded, s.eof = serial.ChunkSize-n, true
		} else if err != nil {
			return window{}, err
		}
		t := s.l.text.Append(nil, s.chunk)
		if len(s.cur) > 0 && len(s.cur)+len(t) > s.window {
			w := s.cur
			s.cur = t
			return window{b: w}, nil
		}
		s.cur = append(s.cur, t...)
	}
	if len(s.cur) > 0 {
		w := s.cur
		s.cur = nil
		return window{b: w}, nil
	}
	return window{}, io.EOF
}

func (s *textSplitter) pad() int { return s.padded }

func (s *textSplitter) total() int64 {
	chunks := (s.n + serial.ChunkSize - 1) / serial.ChunkSize
	per := int64(s.l.chunkSymbols())
	if per == 0 { // iso: at least one byte per character
		g := s.l.text.BytesPerGroup
		per = int64(serial.ChunkSize + ((serial.ChunkSize+g-1)/g-1)*len(s.l.text.Separator()))
	}
	return chunks * per
}

// sliceSplitter hands out windows made beforehand (by a prior's own
// Symbolizer, which needs the whole float data).
type sliceSplitter struct {
	windows [][]int32
	padded  int
	n       int64
}

func newSliceSplitter(sym prior.Symbolizer, r io.Reader, window int) (*sliceSplitter, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	w, pad, err := sym.Symbolize(data, window)
	if err != nil {
		return nil, err
	}
	s := &sliceSplitter{windows: w, padded: pad}
	for _, x := range w {
		s.n += int64(len(x))
	}
	return s, nil
}

func (s *sliceSplitter) next() (window, error) {
	if len(s.windows) == 0 {
		return window{}, io.EOF
	}
	w := s.windows[0]
	s.windows = s.windows[1:]
	if w == nil {
		w = []int32{}
	}
	return window{t: w}, nil
}

func (s *sliceSplitter) pad() int     { return s.padded }
func (s *sliceSplitter) total() int64 { return s.n }

// windowFloats turns the symbols of one window back into float bytes
// (the padding of the last chunk included). Windows hold whole floats
// (raw) or whole chunks (text), so each one decodes on its own.
func (l layout) windowFloats(syms []byte) ([]byte, error) {
	if l.isRaw() {
		if len(syms)%l.width != 0 {
			return nil, fmt.Errorf("raw stream of %d bytes is not whole %d-byte floats", len(syms), l.width)
		}
		if l.sign {
			serial.ReverseFloats(syms, l.width)
		}
		return syms, nil
	}
	out := make([]byte, 0, len(syms)/2)
	for len(syms) > 0 {
		n, err := l.chunkTextLen(syms)
		if err != nil {
			return nil, err
		}
		out, err = l.text.AppendParse(out, syms[:n])
		if err != nil {
			return nil, err
		}
		syms = syms[n:]
	}
	return out, nil
}

// chunkTextLen returns the length of the first chunk's text in syms: the
// text of ChunkSize bytes.
func (l layout) chunkTextLen(syms []byte) (int, error) {
	if l.text.Format.IsHex() {
		n := l.chunkSymbols()
		if len(syms) < n {
			return 0, fmt.Errorf("text ends inside a chunk (%d of %d symbols)", len(syms), n)
		}
		return n, nil
	}
	// ISO: one character per byte, plus separators between groups.
	g := l.text.BytesPerGroup
	groups := (serial.ChunkSize + g - 1) / g
	chars := serial.ChunkSize + (groups-1)*len(l.text.Separator())
	i := 0
	for c := 0; c < chars; c++ {
		if i >= len(syms) {
			return 0, fmt.Errorf("text ends inside a chunk (%d of %d characters)", c, chars)
		}
		_, size := utf8.DecodeRune(syms[i:])
		i += size
	}
	return i, nil
}
