package container

import (
	"bytes"
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
	if _, err := f.Stream(0); err == nil || !strings.Contains(err.Error(), "checksum mismatch in stream 0") {
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
	if _, err := Parse(b); err == nil || !strings.Contains(err.Error(), "wyndow") {
		t.Errorf("unknown header field: %v", err)
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
			return
		}
		// A parsed file's streams account for the whole file.
		n := int64(0)
		for i := range p.Header.Streams {
			n += p.Header.Streams[i].Length
			p.Stream(i)
		}
		if n+p.Header.Other.Length > int64(len(b)) {
			t.Fatalf("streams of %d bytes in a %d-byte file", n, len(b))
		}
	})
}
