package codec

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/lmgc/lmgc/serial"
)

// FormatRaw codes the float32 bytes themselves, without a text form.
const FormatRaw = "raw"

// layout says how the float bytes become symbols and windows.
type layout struct {
	format string         // FormatRaw or a serial format name
	text   serial.Options // for text formats
	sign   bool           // raw: sign/exponent byte first
}

func newLayout(format string, bytesPerGroup int, signFirst bool) (layout, error) {
	if format == "" || format == FormatRaw {
		return layout{format: FormatRaw, sign: signFirst}, nil
	}
	f, err := serial.ParseFormat(format)
	if err != nil {
		return layout{}, err
	}
	o := serial.Options{Format: f, BytesPerGroup: bytesPerGroup, SignFirst: signFirst}
	if err := o.Validate(); err != nil {
		return layout{}, err
	}
	return layout{format: f.String(), text: o}, nil
}

func (l layout) isRaw() bool { return l.format == FormatRaw }

// period returns the symbols per float (raw) or per group with its
// separator (text), the position period the cm prior keys its contexts by.
func (l layout) period() int {
	if l.isRaw() {
		return 4
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

// reverseFloats reverses the byte order of every 4-byte float in place.
func reverseFloats(b []byte) {
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
}

// Symbolize turns the float bytes into windows of at most window symbols
// (bytes of the raw stream or of the text). It returns the windows and the
// padding added to fill the last chunk.
func (l layout) Symbolize(data []byte, window int) ([][]int32, int, error) {
	w, pad, err := l.symbolize(data, window)
	if err != nil {
		return nil, 0, err
	}
	out := make([][]int32, len(w))
	for i, b := range w {
		out[i] = make([]int32, len(b))
		for j, c := range b {
			out[i][j] = int32(c)
		}
	}
	return out, pad, nil
}

// Desymbolize inverts Symbolize.
func (l layout) Desymbolize(windows [][]int32, pad int) ([]byte, error) {
	var n int
	for _, w := range windows {
		n += len(w)
	}
	b := make([]byte, 0, n)
	for _, w := range windows {
		for _, c := range w {
			if c < 0 || c > 255 {
				return nil, fmt.Errorf("symbol %d is not a byte", c)
			}
			b = append(b, byte(c))
		}
	}
	return l.desymbolize(b, pad)
}

func (l layout) symbolize(data []byte, window int) (windows [][]byte, pad int, err error) {
	if l.isRaw() {
		buf := append([]byte(nil), data...)
		if l.sign {
			reverseFloats(buf)
		}
		window &^= 3 // windows hold whole floats
		if window < 4 {
			return nil, 0, fmt.Errorf("window of %d symbols is smaller than one float", window)
		}
		for len(buf) > 0 {
			n := min(window, len(buf))
			windows = append(windows, buf[:n:n])
			buf = buf[n:]
		}
		return windows, 0, nil
	}
	chunks, pad := serial.Chunk(data)
	var cur []byte
	for _, c := range chunks {
		t := l.text.Append(nil, c)
		if len(cur) > 0 && len(cur)+len(t) > window {
			windows = append(windows, cur)
			cur = nil
		}
		cur = append(cur, t...)
	}
	if len(cur) > 0 {
		windows = append(windows, cur)
	}
	return windows, pad, nil
}

// desymbolize inverts symbolize: it takes the concatenated symbols of all
// windows and returns the float bytes, padding trimmed.
func (l layout) desymbolize(syms []byte, pad int) ([]byte, error) {
	if l.isRaw() {
		if len(syms)%4 != 0 {
			return nil, fmt.Errorf("raw stream of %d bytes is not whole floats", len(syms))
		}
		if l.sign {
			reverseFloats(syms)
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
	if pad > len(out) {
		return nil, fmt.Errorf("padding %d exceeds the %d decoded bytes", pad, len(out))
	}
	return out[:len(out)-pad], nil
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
