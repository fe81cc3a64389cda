package baseline

import (
	"errors"
	"strconv"
)

// zfpCodec runs LLNL's zfp program (Debian package zfp, zfp 1.0) in
// reversible (lossless) mode on the data read as a 1-D array of
// little-endian float32 values, without zfp's optional header: the array
// size and mode are given to the decoder as they are to the encoder (the
// length is the originalLen every Decompress gets), so a damaged stream
// cannot ask for a bigger array. Input whose length is not a multiple of 4
// is zero-padded like fpzip's; empty input is the empty stream (zfp
// rejects a zero-length array).
type zfpCodec struct{}

func (zfpCodec) Name() string     { return "zfp" }
func (zfpCodec) describe() string { return "zfp -R (reversible), 1-D float32 array, no header" }
func (zfpCodec) available() error { return programZFP.available() }
func (zfpCodec) version() string  { return programZFP.version() }

func zfpArgs(n int) []string { return []string{"-q", "-f", "-1", strconv.Itoa(n), "-R"} }

func (zfpCodec) Compress(src []byte) ([]byte, error) {
	if len(src) == 0 {
		return []byte{}, nil
	}
	p := padFloats(src)
	return programZFP.run(append(zfpArgs(len(p)/4), "-i", "-", "-z", "-"), p, maxCompressed(len(p)))
}

func (zfpCodec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	if originalLen == 0 {
		if len(comp) != 0 {
			return nil, errors.New("zfp: stream of empty data is not empty")
		}
		return []byte{}, nil
	}
	n := (originalLen + 3) / 4
	out, err := programZFP.run(append(zfpArgs(n), "-z", "-", "-o", "-"), comp, 4*n)
	if err != nil {
		return nil, err
	}
	if err := checkLen(out, 4*n); err != nil {
		return nil, err
	}
	return unpadFloats(out, originalLen)
}
