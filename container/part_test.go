package container

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// samplePart returns a part file of shard 1 of 2 holding the one window
// of sample's file.
func samplePart(t testing.TB) []byte {
	f, err := Parse(sample(t))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	ph := &PartHeader{Shard: 1, Shards: 2, Windows: 2, First: 1, End: 2, IdealBits: []float64{17.25}}
	if err := WritePart(&b, ph, &f.Header); err != nil {
		t.Fatal(err)
	}
	b.Write([]byte{1, 2, 3})
	return b.Bytes()
}

func TestPartRoundTrip(t *testing.T) {
	b := samplePart(t)
	p, err := NewPartReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if p.Shard != 1 || p.Shards != 2 || p.First != 1 || p.End != 2 || p.IdealBits[0] != 17.25 {
		t.Fatalf("part header %+v", p.PartHeader)
	}
	if s, err := p.ReadStream(0, nil); err != nil || !bytes.Equal(s, []byte{1, 2, 3}) {
		t.Fatalf("stream: %v %v", s, err)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"an .lmgc file", sample(t), ErrNotPart},
		{"empty", nil, ErrCorrupt},
		{"magic only", b[:8], ErrCorrupt},
		{"truncated", b[:len(b)-1], ErrCorrupt},
		{"header flipped", flip(b, 20), ErrCorrupt},
		{"version 2", flip(b, 9), ErrUnsupported},
	} {
		if _, err := NewPartReader(bytes.NewReader(c.b), int64(len(c.b))); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	if i == 9 { // version byte 1 -> 3: make it 2
		c[8] ^= 3
	}
	return c
}

// FuzzPartReader reads part files: bad input gives a typed error, never a
// panic, and a part that reads has one stream per window of its range,
// each readable or corrupt.
func FuzzPartReader(f *testing.F) {
	f.Add(samplePart(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := NewPartReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrNotPart) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if int64(len(p.Header.Streams)) != p.End-p.First || int64(len(p.IdealBits)) != p.End-p.First {
			t.Fatalf("%d streams, %d ideal bits for windows %d to %d", len(p.Header.Streams), len(p.IdealBits), p.First, p.End)
		}
		for i := range p.Header.Streams {
			if _, err := p.ReadStream(i, nil); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("stream %d: untyped error: %v", i, err)
			}
		}
		if _, err := io.Copy(io.Discard, p.OtherSection()); err != nil {
			t.Fatal(err)
		}
	})
}
