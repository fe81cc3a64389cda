// Package serial turns float32 byte streams into the text that LM-GC feeds
// a language model, and back.
//
// The serialization follows the LM-GC reference code: the byte stream is
// cut into chunks of ChunkSize bytes (the last one zero-padded), and each
// chunk is written on its own. Bytes are grouped Options.BytesPerGroup at a
// time. In the hex formats each byte becomes two lowercase hex digits in
// memory order (1.0f is "0000803f") and groups are joined by a separator,
// between groups only. In the ISO formats each byte becomes one ISO-8859-1
// character, and the text is UTF-8 encoded, so bytes 0x80-0xff take two
// bytes of text.
//
// Options.SignFirst is a variant the paper did not try: the four bytes of
// every float are reversed before grouping, so the sign/exponent byte comes
// first (1.0f is "3f800000").
//
// Options.FloatBytes 2 describes 16-bit floats (bfloat16, float16): SignFirst
// then reverses the two bytes of each value (bfloat16 1.0, bytes 80 3f, is
// "3f80"), and a group of 2 bytes is one value.
//
// Parse is the exact inverse of Append: Parse(Append(nil, b)) == b for all
// b, and Parse accepts only text that Append can produce.
package serial

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// ChunkSize is the number of bytes serialized as one text (128 floats).
const ChunkSize = 512

// Format is a text serialization of bytes.
type Format int

// The formats. The names in comments are those of the paper.
const (
	ISO           Format = iota // ISO: one ISO-8859-1 character per byte, no separator
	HexNone                     // H_n: hex, no separator
	HexSpace                    // H_s: hex, groups separated by " "
	HexComma                    // H_c: hex, groups separated by ","
	HexCommaSpace               // H_{c+s}: hex, groups separated by ", "
	HexSemicolon                // H_semi: hex, groups separated by ";"
	Hex0x                       // hex, groups separated by "0x"
	ISOSpace                    // ISO characters, groups separated by " "
	numFormats
)

var formatInfo = [numFormats]struct {
	name, alias, sep string
	hex              bool
}{
	ISO:           {"iso", "iso", "", false},
	HexNone:       {"hex-none", "hn", "", true},
	HexSpace:      {"hex-space", "hs", " ", true},
	HexComma:      {"hex-comma", "hc", ",", true},
	HexCommaSpace: {"hex-comma+space", "hcs", ", ", true},
	HexSemicolon:  {"hex-semicolon", "hsemi", ";", true},
	Hex0x:         {"hex-0x", "h0x", "0x", true},
	ISOSpace:      {"iso-space", "isos", " ", false},
}

// Formats lists every format, in declaration order.
func Formats() []Format {
	fs := make([]Format, numFormats)
	for i := range fs {
		fs[i] = Format(i)
	}
	return fs
}

func (f Format) valid() bool { return f >= 0 && f < numFormats }

// String returns the format's long name, as accepted by ParseFormat.
func (f Format) String() string {
	if !f.valid() {
		return fmt.Sprintf("Format(%d)", int(f))
	}
	return formatInfo[f].name
}

// Alias returns the format's short name, as accepted by ParseFormat.
func (f Format) Alias() string {
	if !f.valid() {
		return f.String()
	}
	return formatInfo[f].alias
}

// IsHex reports whether f writes bytes as hex digits (as opposed to ISO
// characters).
func (f Format) IsHex() bool { return f.valid() && formatInfo[f].hex }

// ParseFormat returns the format with the given long name ("hex-space") or
// short alias ("hs"). Case matters.
func ParseFormat(name string) (Format, error) {
	for f := range numFormats {
		if name == formatInfo[f].name || name == formatInfo[f].alias {
			return f, nil
		}
	}
	names := make([]string, numFormats)
	for f := range numFormats {
		names[f] = formatInfo[f].name + " (" + formatInfo[f].alias + ")"
	}
	return 0, fmt.Errorf("serial: unknown format %q; want one of %s", name, strings.Join(names, ", "))
}

// Options selects a serialization.
type Options struct {
	Format        Format
	BytesPerGroup int  // bytes per group: 1, 2, 3, 4 or 8
	SignFirst     bool // reverse the bytes of each float before grouping
	// FloatBytes is the width of a float: 4 (float32; 0 means 4) or 2
	// (bfloat16, float16). Only SignFirst depends on it.
	FloatBytes int
}

// width returns the bytes per float, 4 or 2.
func (o Options) width() int {
	if o.FloatBytes == 2 {
		return 2
	}
	return 4
}

// Validate reports whether o describes a serialization.
func (o Options) Validate() error {
	if !o.Format.valid() {
		return fmt.Errorf("serial: invalid format %d", int(o.Format))
	}
	switch o.BytesPerGroup {
	case 1, 2, 3, 4, 8:
	default:
		return fmt.Errorf("serial: bytes per group %d; want 1, 2, 3, 4 or 8", o.BytesPerGroup)
	}
	switch o.FloatBytes {
	case 0, 2, 4:
	default:
		return fmt.Errorf("serial: %d bytes per float; want 4 or 2", o.FloatBytes)
	}
	return nil
}

func (o Options) mustValidate() {
	if err := o.Validate(); err != nil {
		panic(err.Error())
	}
}

// Separator returns the string written between groups.
func (o Options) Separator() string {
	if !o.Format.valid() {
		return ""
	}
	return formatInfo[o.Format].sep
}

// DigitsPerGroup returns the number of symbols in a full group: hex digits
// (2 per byte) for the hex formats, characters (1 per byte) for the ISO
// formats. Only the last group of a text can be shorter.
func (o Options) DigitsPerGroup() int {
	if o.Format.IsHex() {
		return 2 * o.BytesPerGroup
	}
	return o.BytesPerGroup
}

// Chunk cuts data into ChunkSize-byte chunks, zero-padding the last one,
// and returns the number of padding bytes added (0 to ChunkSize-1), which
// decompression trims. Empty data gives no chunks. All chunks but the
// padded last one alias data.
func Chunk(data []byte) (chunks [][]byte, pad int) {
	n := (len(data) + ChunkSize - 1) / ChunkSize
	chunks = make([][]byte, 0, n)
	for len(data) >= ChunkSize {
		chunks = append(chunks, data[:ChunkSize:ChunkSize])
		data = data[ChunkSize:]
	}
	if len(data) > 0 {
		last := make([]byte, ChunkSize)
		copy(last, data)
		chunks = append(chunks, last)
		pad = ChunkSize - len(data)
	}
	return chunks, pad
}

// swapAt returns the index of the input byte that lands at position i
// after reversing every complete w-byte word (w 4 or 2) of an n-byte
// slice. A trailing partial word (n%w != 0) is kept in order.
func swapAt(i, n, w int) int {
	m := w - 1
	if i >= n&^m {
		return i
	}
	return i&^m | (m - i&m)
}

// ReverseFloats reverses the bytes of every complete w-byte float (w 4 or
// 2) of b in place; a trailing partial float is kept in order.
func ReverseFloats(b []byte, w int) {
	if w == 2 {
		for i := 0; i+2 <= len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
		return
	}
	for i := 0; i+4 <= len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
}

const hexDigits = "0123456789abcdef"

// Append appends the text of chunk to dst and returns the extended slice.
// A chunk whose length is not a multiple of BytesPerGroup ends with a short
// group. With SignFirst, every complete float (FloatBytes wide) is
// reversed; chunks are normally whole floats, and a trailing partial float
// is written in order. Append panics if o is not valid (see Validate).
func (o Options) Append(dst, chunk []byte) []byte {
	o.mustValidate()
	n := len(chunk)
	sep := o.Separator()
	g := o.BytesPerGroup
	w := o.width()
	hex := o.Format.IsHex()
	if n == 0 {
		return dst
	}
	size := 2*n + (n-1)/g*len(sep) // exact for hex, an upper bound for ISO
	if hex {
		start := len(dst)
		dst = slices.Grow(dst, size)[:start+size]
		out := dst[start:]
		k := 0
		for i := 0; i < n; i += g {
			if i > 0 {
				k += copy(out[k:], sep)
			}
			for j := i; j < min(i+g, n); j++ {
				b := chunk[j]
				if o.SignFirst {
					b = chunk[swapAt(j, n, w)]
				}
				out[k], out[k+1] = hexDigits[b>>4], hexDigits[b&15]
				k += 2
			}
		}
		return dst
	}
	dst = slices.Grow(dst, size)
	for i := 0; i < n; i += g {
		if i > 0 {
			dst = append(dst, sep...)
		}
		for j := i; j < min(i+g, n); j++ {
			b := chunk[j]
			if o.SignFirst {
				b = chunk[swapAt(j, n, w)]
			}
			if b < 0x80 {
				dst = append(dst, b)
			} else { // UTF-8 of U+0080..U+00FF
				dst = append(dst, 0xc0|b>>6, 0x80|b&0x3f)
			}
		}
	}
	return dst
}

// SyntaxError describes malformed text found by Parse.
type SyntaxError struct {
	Offset int    // byte offset in the text
	Msg    string // what is wrong
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("serial: offset %d: %s", e.Offset, e.Msg)
}

func syntaxErr(off int, format string, args ...any) error {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// Parse returns the bytes whose text is text. It is the exact inverse of
// Append and rejects, with a *SyntaxError, any text Append cannot produce.
// Parse panics if o is not valid (see Validate).
func (o Options) Parse(text []byte) ([]byte, error) {
	return o.AppendParse(nil, text)
}

// AppendParse is like Parse but appends the bytes to dst. On error dst is
// returned unchanged in length.
func (o Options) AppendParse(dst, text []byte) ([]byte, error) {
	o.mustValidate()
	start := len(dst)
	var err error
	if o.Format.IsHex() {
		dst, err = o.parseHex(dst, text)
	} else {
		dst, err = o.parseISO(dst, text)
	}
	if err != nil {
		return dst[:start], err
	}
	if o.SignFirst {
		ReverseFloats(dst[start:], o.width())
	}
	return dst, nil
}

// unhex maps a byte to its hex value, or 0xff if it is not a lowercase hex
// digit.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < 16; i++ {
		t[hexDigits[i]] = byte(i)
	}
	return t
}()

func (o Options) parseHex(dst, text []byte) ([]byte, error) {
	sep := o.Separator()
	digits := o.DigitsPerGroup()
	pos := 0
	for pos < len(text) {
		if pos > 0 {
			if len(sep) > 0 && !hasPrefixAt(text, pos, sep) {
				return dst, syntaxErr(pos, "want separator %q, found %q", sep, excerpt(text, pos, len(sep)))
			}
			pos += len(sep)
			if pos == len(text) {
				return dst, syntaxErr(pos, "text ends with a separator")
			}
		}
		groupStart := pos
		for k := 0; k < digits && pos < len(text); k++ {
			c := text[pos]
			if unhex[c] == 0xff {
				if len(sep) > 0 && hasPrefixAt(text, pos, sep) && k > 0 {
					return dst, syntaxErr(groupStart, "group has %d hex digits, want %d", k, digits)
				}
				if 'A' <= c && c <= 'F' {
					return dst, syntaxErr(pos, "uppercase hex digit %q", c)
				}
				return dst, syntaxErr(pos, "bad hex digit %q", c)
			}
			pos++
		}
		k := pos - groupStart
		if k%2 != 0 {
			return dst, syntaxErr(groupStart, "odd number of hex digits (%d) in last group", k)
		}
		if k < digits && pos < len(text) {
			return dst, syntaxErr(groupStart, "group has %d hex digits, want %d", k, digits)
		}
		for i := groupStart; i < pos; i += 2 {
			dst = append(dst, unhex[text[i]]<<4|unhex[text[i+1]])
		}
	}
	return dst, nil
}

func (o Options) parseISO(dst, text []byte) ([]byte, error) {
	sep := o.Separator()
	g := o.BytesPerGroup
	pos := 0
	count := 0 // characters read
	for pos < len(text) {
		if count > 0 && count%g == 0 && len(sep) > 0 {
			if !hasPrefixAt(text, pos, sep) {
				return dst, syntaxErr(pos, "want separator %q, found %q", sep, excerpt(text, pos, len(sep)))
			}
			pos += len(sep)
			if pos == len(text) {
				return dst, syntaxErr(pos, "text ends with a separator")
			}
		}
		c := text[pos]
		switch {
		case c < 0x80:
			dst = append(dst, c)
			pos++
		case c == 0xc2 || c == 0xc3:
			if pos+1 >= len(text) || text[pos+1]&0xc0 != 0x80 {
				return dst, syntaxErr(pos, "invalid UTF-8")
			}
			dst = append(dst, (c&3)<<6|text[pos+1]&0x3f)
			pos += 2
		case 0xc4 <= c && c <= 0xf4:
			// Possibly a valid encoding of a rune above U+00FF.
			r, size := decodeRune(text[pos:])
			if size == 0 {
				return dst, syntaxErr(pos, "invalid UTF-8")
			}
			return dst, syntaxErr(pos, "character U+%04X is not ISO-8859-1", r)
		default: // continuation byte, overlong lead 0xc0/0xc1, or 0xf5..0xff
			return dst, syntaxErr(pos, "invalid UTF-8")
		}
		count++
	}
	return dst, nil
}

// decodeRune decodes a multi-byte UTF-8 sequence starting with a lead byte
// in 0xc4..0xf4 and returns the rune and its size, or size 0 if the
// sequence is invalid.
func decodeRune(p []byte) (rune, int) {
	r, size := utf8.DecodeRune(p)
	if r == utf8.RuneError && size <= 1 {
		return r, 0
	}
	return r, size
}

func hasPrefixAt(text []byte, pos int, s string) bool {
	return len(text)-pos >= len(s) && string(text[pos:pos+len(s)]) == s
}

// excerpt returns up to n bytes of text from pos, for error messages.
func excerpt(text []byte, pos, n int) string {
	if n < 1 {
		n = 1
	}
	end := min(pos+n, len(text))
	return string(text[pos:end])
}
