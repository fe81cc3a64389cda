package container

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sample(t testing.TB) []byte {
	h := &Header{
		Original:      Original{Name: "x.f32", Size: 8, SHA256: strings.Repeat("0", 64), Format: "raw", Segments: []Segment{{Kind: "float32le", Length: 8}}},
		Prior:         Prior{Name: "cm", Fingerprint: "ff"},
		Serialization: "raw",
		Window:        8,
		FloatBytes:    8,
		OtherCodec:    "zstd",
		Streams:       []Stream{{Length: 3, Symbols: 8, CRC32C: Checksum([]byte{1, 2, 3})}},
	}
	var b bytes.Buffer
	if err := Write(&b, h, [][]byte{nil, {1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestWriteParse(t *testing.T) {
	b := sample(t)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.Stream(0)
	if err != nil || !bytes.Equal(s, []byte{1, 2, 3}) {
		t.Fatalf("stream 0 = %v, %v", s, err)
	}
	if _, err := f.Stream(1); err == nil {
		t.Error("stream 1 of 1: no error")
	}
	b[len(b)-1] ^= 1
	f, err = Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stream(0); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "checksum mismatch in stream 0") {
		t.Errorf("corrupted stream: %v", err)
	}
}

func TestUnknownFieldRejected(t *testing.T) {
	b := sample(t)
	// Replace a known key by an unknown one of the same length; fix the CRC.
	i := bytes.Index(b, []byte(`"window"`))
	copy(b[i:], `"wyndow"`)
	hlen := int(uint32(b[12]) | uint32(b[13])<<8 | uint32(b[14])<<16 | uint32(b[15])<<24)
	c := Checksum(b[16 : 16+hlen])
	b[16+hlen], b[17+hlen], b[18+hlen], b[19+hlen] = byte(c), byte(c>>8), byte(c>>16), byte(c>>24)
	_, err := Parse(b)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "wyndow") {
		t.Errorf("unknown header field: %v", err)
	}
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Err == nil {
		t.Errorf("unknown header field: %T is not a *CorruptError", err)
	}
}

// TestErrorKinds checks that each kind of bad input gets its typed error.
func TestErrorKinds(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(b []byte) []byte
		want error
	}{
		{"not lmgc", func(b []byte) []byte { return []byte("PK\x03\x04 a zip file") }, ErrNotLMGC},
		{"empty", func(b []byte) []byte { return nil }, ErrCorrupt},
		{"magic only", func(b []byte) []byte { return b[:4] }, ErrCorrupt},
		{"truncated header", func(b []byte) []byte { return b[:20] }, ErrCorrupt},
		{"truncated stream", func(b []byte) []byte { return b[:len(b)-1] }, ErrCorrupt},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }, ErrCorrupt},
		{"header checksum", func(b []byte) []byte { b[17] ^= 1; return b }, ErrCorrupt},
		{"huge header length", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 1<<31); return b }, ErrCorrupt},
		{"newer version", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], Version+1); return b }, ErrUnsupported},
		{"version 0", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 0); return b }, ErrUnsupported},
	} {
		_, err := Parse(c.edit(sample(t)))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want an error matching %q", c.name, err, c.want)
		}
		for _, other := range []error{ErrNotLMGC, ErrCorrupt, ErrUnsupported} {
			if other != c.want && errors.Is(err, other) {
				t.Errorf("%s: %v also matches %q", c.name, err, other)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample(f))
	if seeds, _ := filepath.Glob("../codec/testdata/*.lmgc"); len(seeds) > 0 {
		for _, s := range seeds {
			b, err := os.ReadFile(s)
			if err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrNotLMGC) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		// A parsed file's streams account for the whole file, and a bad
		// stream is reported as corrupt.
		n := int64(0)
		for i := range p.Header.Streams {
			n += p.Header.Streams[i].Length
			if _, err := p.Stream(i); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("stream %d: untyped error: %v", i, err)
			}
		}
		if _, err := p.Other(); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("other stream: untyped error: %v", err)
		}
		if n+p.Header.Other.Length > int64(len(b)) {
			t.Fatalf("streams of %d bytes in a %d-byte file", n, len(b))
		}
	})
}
