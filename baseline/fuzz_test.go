package baseline

import (
	"bytes"
	"testing"
)

// FuzzDecompress feeds arbitrary streams to the in-process decoders: they
// must return an error or exactly n bytes, never panic or over-allocate.
func FuzzDecompress(f *testing.F) {
	for _, c := range []Codec{gzipCodec{}, pngCodec{}} {
		for _, in := range inputs {
			comp, err := c.Compress(in.data)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(comp, uint16(len(in.data)))
		}
	}
	f.Fuzz(func(t *testing.T, comp []byte, n uint16) {
		for _, c := range []Codec{gzipCodec{}, pngCodec{}} {
			out, err := c.Decompress(comp, int(n))
			if err == nil && len(out) != int(n) {
				t.Errorf("%s: decoded %d bytes, want %d", c.Name(), len(out), n)
			}
		}
	})
}

// FuzzRoundTrip checks the in-process codecs and the byte-plane transform
// on arbitrary data.
func FuzzRoundTrip(f *testing.F) {
	for _, in := range inputs {
		f.Add(in.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !bytes.Equal(fromPlanes(toPlanes(data)), data) {
			t.Error("byte planes do not round-trip")
		}
		for _, c := range []Codec{gzipCodec{}, pngCodec{}} {
			if _, err := Measure(c, data, false); err != nil {
				t.Error(err)
			}
		}
	})
}

// FuzzStripFLACMetadata checks the metadata filter on arbitrary input.
func FuzzStripFLACMetadata(f *testing.F) {
	f.Add([]byte("fLaC\x80\x00\x00\x22" + string(make([]byte, 34)) + "\xff\xf8"))
	f.Add([]byte("fLaC\x04\x00\x00\x02ab\x80\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := stripFLACMetadata(in)
		if err != nil {
			return
		}
		if string(out[:4]) != "fLaC" || out[4]&0x7f != 0 || out[4]&0x80 == 0 {
			t.Errorf("output % x does not start with fLaC and a last STREAMINFO", out[:min(len(out), 8)])
		}
	})
}
