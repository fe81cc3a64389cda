package serial

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/lmgc/lmgc/internal/testenv"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// unquotePyRepr decodes a Python repr of a str ('...' or "..."), returning
// the string as UTF-8. It handles the escapes repr produces.
func unquotePyRepr(s string) (string, error) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') || s[len(s)-1] != s[0] {
		return "", fmt.Errorf("not a quoted string: %q", s)
	}
	s = s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			r, size := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r)
			i += size
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("trailing backslash")
		}
		switch c := s[i+1]; c {
		case '\\', '\'', '"':
			b.WriteByte(c)
			i += 2
		case 'n':
			b.WriteByte('\n')
			i += 2
		case 't':
			b.WriteByte('\t')
			i += 2
		case 'r':
			b.WriteByte('\r')
			i += 2
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
			if i+2+n > len(s) {
				return "", fmt.Errorf("short \\%c escape", c)
			}
			v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32)
			if err != nil {
				return "", err
			}
			b.WriteRune(rune(v))
			i += 2 + n
		default:
			return "", fmt.Errorf("unknown escape \\%c", c)
		}
	}
	return b.String(), nil
}

func TestUnquotePyRepr(t *testing.T) {
	tests := []struct{ in, want string }{
		{`'abc'`, "abc"},
		{`'\x00\x80?Ã'`, "\x00\u0080?Ã"},
		{`"it's"`, "it's"},
		{`'a\\b\'c'`, `a\b'c`},
		{`'\u20ac'`, "€"},
	}
	for _, tt := range tests {
		got, err := unquotePyRepr(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("unquotePyRepr(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestVectors(t *testing.T) {
	f, err := os.Open(testenv.Shared(t, "testdata", "serialization-vectors.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var data []byte
	texts := map[Format]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if h, ok := strings.CutPrefix(line, "float32 LE bytes: "); ok {
			data, err = hex.DecodeString(strings.TrimSpace(h))
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		fm, err := ParseFormat(name)
		if err != nil {
			continue // comment, ids= lines, token table
		}
		s, err := unquotePyRepr(strings.TrimSpace(rest))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		texts[fm] = s
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(data) != 16 {
		t.Fatalf("vector bytes: got %d bytes, want 16", len(data))
	}
	for _, fm := range Formats() {
		want, ok := texts[fm]
		if !ok {
			t.Errorf("no vector for %v", fm)
			continue
		}
		o := Options{Format: fm, BytesPerGroup: 4}
		if got := string(o.Append(nil, data)); got != want {
			t.Errorf("%v: Append = %q, want %q", fm, got, want)
		}
		back, err := o.Parse([]byte(want))
		if err != nil || !bytes.Equal(back, data) {
			t.Errorf("%v: Parse = %x, %v; want %x", fm, back, err, data)
		}
	}
}

func TestWorkedExample(t *testing.T) {
	data, _ := hex.DecodeString("0000803fc364aabaa2e7bb3400000000")
	tests := []struct {
		o    Options
		want string
	}{
		{Options{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}, "0000803f c364aaba a2e7bb34 00000000"},
		{Options{Format: HexSpace, BytesPerGroup: 4, SignFirst: true}, "3f800000 baaa64c3 34bbe7a2 00000000"},
		{Options{Format: HexComma, BytesPerGroup: 1, SignFirst: false}, "00,00,80,3f,c3,64,aa,ba,a2,e7,bb,34,00,00,00,00"},
		{Options{Format: HexComma, BytesPerGroup: 3, SignFirst: false}, "000080,3fc364,aabaa2,e7bb34,000000,00"},
		{Options{Format: HexSemicolon, BytesPerGroup: 8, SignFirst: true}, "3f800000baaa64c3;34bbe7a200000000"},
		{Options{Format: HexNone, BytesPerGroup: 2, SignFirst: true}, "3f800000baaa64c334bbe7a200000000"},
		{Options{Format: ISOSpace, BytesPerGroup: 2, SignFirst: false}, "\x00\x00 \u0080? Ãd ªº ¢ç »4 \x00\x00 \x00\x00"},
		// 16-bit floats: one 4-digit group per value.
		{Options{Format: HexSpace, BytesPerGroup: 2, FloatBytes: 2}, "0000 803f c364 aaba a2e7 bb34 0000 0000"},
		{Options{Format: HexSpace, BytesPerGroup: 2, SignFirst: true, FloatBytes: 2}, "0000 3f80 64c3 baaa e7a2 34bb 0000 0000"},
		{Options{Format: HexComma, BytesPerGroup: 1, SignFirst: true, FloatBytes: 2}, "00,00,3f,80,64,c3,ba,aa,e7,a2,34,bb,00,00,00,00"},
	}
	for _, tt := range tests {
		if got := string(tt.o.Append(nil, data)); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.o, got, tt.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, fm := range Formats() {
		for _, name := range []string{fm.String(), fm.Alias()} {
			got, err := ParseFormat(name)
			if err != nil || got != fm {
				t.Errorf("ParseFormat(%q) = %v, %v; want %v", name, got, err, fm)
			}
		}
	}
	for _, bad := range []string{"", "hex", "HS", "hex-Space", "iso "} {
		if _, err := ParseFormat(bad); err == nil {
			t.Errorf("ParseFormat(%q) succeeded", bad)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, g := range []int{-1, 0, 5, 6, 7, 9, 16} {
		if err := (Options{Format: HexSpace, BytesPerGroup: g, SignFirst: false}).Validate(); err == nil {
			t.Errorf("BytesPerGroup %d accepted", g)
		}
	}
	if err := (Options{Format: Format(99), BytesPerGroup: 4, SignFirst: false}).Validate(); err == nil {
		t.Error("Format 99 accepted")
	}
	if err := (Options{Format: HexSpace, BytesPerGroup: 3, SignFirst: true}).Validate(); err != nil {
		t.Error(err)
	}
	for _, w := range []int{-1, 1, 3, 8} {
		if err := (Options{Format: HexSpace, BytesPerGroup: 2, FloatBytes: w}).Validate(); err == nil {
			t.Errorf("FloatBytes %d accepted", w)
		}
	}
}

func TestSeparatorDigits(t *testing.T) {
	tests := []struct {
		o      Options
		sep    string
		digits int
	}{
		{Options{Format: HexNone, BytesPerGroup: 4, SignFirst: false}, "", 8},
		{Options{Format: HexSpace, BytesPerGroup: 2, SignFirst: false}, " ", 4},
		{Options{Format: HexCommaSpace, BytesPerGroup: 8, SignFirst: false}, ", ", 16},
		{Options{Format: Hex0x, BytesPerGroup: 1, SignFirst: false}, "0x", 2},
		{Options{Format: ISO, BytesPerGroup: 4, SignFirst: false}, "", 4},
		{Options{Format: ISOSpace, BytesPerGroup: 3, SignFirst: false}, " ", 3},
	}
	for _, tt := range tests {
		if s, d := tt.o.Separator(), tt.o.DigitsPerGroup(); s != tt.sep || d != tt.digits {
			t.Errorf("%+v: Separator, DigitsPerGroup = %q, %d; want %q, %d", tt.o, s, d, tt.sep, tt.digits)
		}
	}
}

func TestChunk(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 1024, 1500} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*7 + 1)
		}
		chunks, pad := Chunk(data)
		if want := (n + ChunkSize - 1) / ChunkSize; len(chunks) != want {
			t.Fatalf("n=%d: %d chunks, want %d", n, len(chunks), want)
		}
		var joined []byte
		for _, c := range chunks {
			if len(c) != ChunkSize {
				t.Fatalf("n=%d: chunk of %d bytes", n, len(c))
			}
			joined = append(joined, c...)
		}
		if pad != len(joined)-n {
			t.Errorf("n=%d: pad %d, want %d", n, pad, len(joined)-n)
		}
		if !bytes.Equal(joined[:n], data) || !bytes.Equal(joined[n:], make([]byte, pad)) {
			t.Errorf("n=%d: chunks do not hold data followed by zeros", n)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 100, 511, 512}
	for _, fm := range Formats() {
		for _, g := range []int{1, 2, 3, 4, 8} {
			for _, w := range []int{4, 2} {
				for _, signFirst := range []bool{false, true} {
					o := Options{Format: fm, BytesPerGroup: g, SignFirst: signFirst, FloatBytes: w}
					for _, n := range lengths {
						data := make([]byte, n)
						for i := range data {
							data[i] = byte(rng.Uint32())
						}
						if n > 3 {
							data[0], data[1] = ' ', '0' // bytes that look like separators
						}
						text := o.Append([]byte("prefix"), data)[len("prefix"):]
						if fm.IsHex() && len(text) != hexTextLen(o, n) {
							t.Errorf("%+v n=%d: text length %d, want %d", o, n, len(text), hexTextLen(o, n))
						}
						if !utf8.Valid(text) {
							t.Errorf("%+v n=%d: text is not UTF-8", o, n)
						}
						got, err := o.AppendParse([]byte{9}, text)
						if err != nil {
							t.Fatalf("%+v n=%d: Parse(%q): %v", o, n, text, err)
						}
						if got[0] != 9 || !bytes.Equal(got[1:], data) {
							t.Fatalf("%+v n=%d: round trip gave %x, want %x", o, n, got[1:], data)
						}
					}
				}
			}
		}
	}
}

func hexTextLen(o Options, n int) int {
	if n == 0 {
		return 0
	}
	groups := (n + o.BytesPerGroup - 1) / o.BytesPerGroup
	return 2*n + (groups-1)*len(o.Separator())
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		o       Options
		text    string
		offset  int
		msgPart string
	}{
		{Options{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}, "0000803f c364aabg", 16, "bad hex digit 'g'"},
		{Options{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}, "0000803F", 7, "uppercase"},
		{Options{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}, "0000803f,c364aaba", 8, `want separator " "`},
		{Options{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}, "0000803f  c364aaba", 9, "bad hex digit ' '"},
		{Options{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}, "0000803f ", 9, "ends with a separator"},
		{Options{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}, "000080 c364aaba", 0, "group has 6 hex digits, want 8"},
		{Options{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}, "0000803f c364a", 9, "odd number"},
		{Options{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}, " 0000803f", 0, "bad hex digit"},
		{Options{Format: HexNone, BytesPerGroup: 4, SignFirst: false}, "0000803fc", 8, "odd number"},
		{Options{Format: HexNone, BytesPerGroup: 4, SignFirst: false}, "0000 803f", 4, "bad hex digit ' '"},
		{Options{Format: HexCommaSpace, BytesPerGroup: 2, SignFirst: false}, "0000,803f", 4, `want separator ", "`},
		{Options{Format: HexCommaSpace, BytesPerGroup: 2, SignFirst: false}, "0000, 803f,", 10, `want separator ", "`},
		{Options{Format: HexCommaSpace, BytesPerGroup: 2, SignFirst: false}, "0000, 803f, ", 12, "ends with a separator"},
		{Options{Format: HexComma, BytesPerGroup: 1, SignFirst: false}, "00,,01", 3, "bad hex digit ','"},
		{Options{Format: HexComma, BytesPerGroup: 1, SignFirst: false}, "000,01", 2, `want separator ","`},
		{Options{Format: Hex0x, BytesPerGroup: 4, SignFirst: false}, "0000803f0Xc364aaba", 8, `want separator "0x"`},
		{Options{Format: Hex0x, BytesPerGroup: 4, SignFirst: false}, "0000803fxc364aaba", 8, `want separator "0x"`},
		{Options{Format: ISO, BytesPerGroup: 4, SignFirst: false}, "ab\xffcd", 2, "invalid UTF-8"},
		{Options{Format: ISO, BytesPerGroup: 4, SignFirst: false}, "ab\xc3", 2, "invalid UTF-8"},
		{Options{Format: ISO, BytesPerGroup: 4, SignFirst: false}, "ab\xc0\x80", 2, "invalid UTF-8"}, // overlong NUL
		{Options{Format: ISO, BytesPerGroup: 4, SignFirst: false}, "ab\x80", 2, "invalid UTF-8"},
		{Options{Format: ISO, BytesPerGroup: 4, SignFirst: false}, "ab€", 2, "U+20AC is not ISO-8859-1"},
		{Options{Format: ISO, BytesPerGroup: 4, SignFirst: false}, "abĀ", 2, "U+0100 is not ISO-8859-1"},
		{Options{Format: ISOSpace, BytesPerGroup: 2, SignFirst: false}, "ab cd", 0, ""}, // valid, checked below
		{Options{Format: ISOSpace, BytesPerGroup: 2, SignFirst: false}, "abc d", 2, `want separator " "`},
		{Options{Format: ISOSpace, BytesPerGroup: 2, SignFirst: false}, "ab ", 3, "ends with a separator"},
		{Options{Format: ISOSpace, BytesPerGroup: 2, SignFirst: false}, "ab \xed\xa0\x80", 3, "invalid UTF-8"}, // surrogate
	}
	for _, tt := range tests {
		got, err := tt.o.Parse([]byte(tt.text))
		if tt.msgPart == "" {
			if err != nil {
				t.Errorf("%+v Parse(%q): %v", tt.o, tt.text, err)
			}
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%+v Parse(%q) = %x, %v; want a SyntaxError", tt.o, tt.text, got, err)
			continue
		}
		if se.Offset != tt.offset || !strings.Contains(se.Msg, tt.msgPart) {
			t.Errorf("%+v Parse(%q): %v; want offset %d and %q", tt.o, tt.text, err, tt.offset, tt.msgPart)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("offset %d", tt.offset)) {
			t.Errorf("error %q does not name the offset", err)
		}
	}
}

func TestParseErrorKeepsDst(t *testing.T) {
	o := Options{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}
	dst, err := o.AppendParse([]byte{1, 2}, []byte("0000803f c3g"))
	if err == nil || len(dst) != 2 {
		t.Errorf("got %x, %v; want dst unchanged and an error", dst, err)
	}
}

func TestInvalidOptionsPanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Append with BytesPerGroup 0 did not panic")
		}
	}()
	Options{Format: HexSpace, BytesPerGroup: 0, SignFirst: false}.Append(nil, []byte{1})
}

func FuzzParse(f *testing.F) {
	data, _ := hex.DecodeString("0000803fc364aabaa2e7bb3400000000")
	for _, fm := range Formats() {
		for _, g := range []int{1, 3, 4} {
			o := Options{Format: fm, BytesPerGroup: g, SignFirst: false}
			f.Add(uint8(fm), uint8(g), false, o.Append(nil, data))
		}
	}
	f.Add(uint8(HexSpace), uint8(4), true, []byte("0000803f c364aaba a2e7bb3"))
	f.Add(uint8(ISO), uint8(4), false, []byte("\xc3\x28\xe2\x82\xac"))
	f.Fuzz(func(t *testing.T, fm, g uint8, signFirst bool, text []byte) {
		o := Options{Format: Format(int(fm) % int(numFormats)), BytesPerGroup: []int{1, 2, 3, 4, 8}[g%5], SignFirst: signFirst,
			FloatBytes: []int{4, 2}[g/5%2]}
		got, err := o.Parse(text)
		if err != nil {
			return
		}
		if back := o.Append(nil, got); !bytes.Equal(back, text) {
			t.Fatalf("%+v: Parse(%q) = %x, which serializes to %q", o, text, got, back)
		}
	})
}

func benchData() []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	return data
}

func BenchmarkAppend(b *testing.B) {
	data := benchData()
	for _, o := range []Options{{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}, {Format: HexSpace, BytesPerGroup: 4, SignFirst: true}, {Format: ISO, BytesPerGroup: 4, SignFirst: false}} {
		b.Run(fmt.Sprintf("%v-g%d-sf%v", o.Format, o.BytesPerGroup, o.SignFirst), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var buf []byte
			for b.Loop() {
				buf = buf[:0]
				for c := data; len(c) > 0; c = c[ChunkSize:] {
					buf = o.Append(buf, c[:ChunkSize])
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	data := benchData()
	for _, o := range []Options{{Format: HexSpace, BytesPerGroup: 4, SignFirst: false}, {Format: HexSpace, BytesPerGroup: 4, SignFirst: true}, {Format: ISO, BytesPerGroup: 4, SignFirst: false}} {
		texts := [][]byte{}
		for c := data; len(c) > 0; c = c[ChunkSize:] {
			texts = append(texts, o.Append(nil, c[:ChunkSize]))
		}
		b.Run(fmt.Sprintf("%v-g%d-sf%v", o.Format, o.BytesPerGroup, o.SignFirst), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			out := make([]byte, 0, len(data))
			for b.Loop() {
				out = out[:0]
				for _, t := range texts {
					var err error
					if out, err = o.AppendParse(out, t); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
