package baseline

import (
	"cmp"
	"strconv"
)

// zstdCodec runs the zstd program at its strongest level (--ultra -22), with
// the content size in the frame header and no frame checksum.
type zstdCodec struct{}

func (zstdCodec) Name() string     { return "zstd" }
func (zstdCodec) describe() string { return "zstd --ultra -22 --no-check" }
func (zstdCodec) available() error { return programZstd.available() }
func (zstdCodec) version() string  { return programZstd.version() }

func (zstdCodec) Compress(src []byte) ([]byte, error) { return zstdCompress(src) }

func (zstdCodec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	return zstdDecompress(comp, originalLen)
}

func zstdCompress(src []byte) ([]byte, error) {
	// --stream-size lets zstd size its tables to the input (as the library
	// does for ZSTD_compress) and puts the content size in the header.
	args := []string{"-z", "-c", "-q", "--ultra", "-22", "--no-check", "--stream-size=" + strconv.Itoa(len(src))}
	return programZstd.run(args, src, maxCompressed(len(src)))
}

func zstdDecompress(comp []byte, originalLen int) ([]byte, error) {
	// --memory bounds the window a corrupted header can ask for.
	out, err := programZstd.run([]string{"-d", "-c", "-q", "--memory=256MB"}, comp, originalLen)
	if err != nil {
		return nil, err
	}
	return out, checkLen(out, originalLen)
}

// byteplanesCodec splits float32 values into byte planes before zstd, the
// way ZipNN compresses model weights: plane k holds byte k of every 4-byte
// group, in order; the len%4 tail bytes follow unchanged. Its 16-bit
// variant (width 2) splits 2-byte groups, for bfloat16 and float16.
type byteplanesCodec struct{ width int } // 0 means 4

func (c byteplanesCodec) w() int { return cmp.Or(c.width, 4) }

func (c byteplanesCodec) Name() string {
	if c.w() == 2 {
		return "byteplanes/16"
	}
	return "byteplanes"
}

func (c byteplanesCodec) describe() string {
	return strconv.Itoa(c.w()) + " byte planes, then zstd --ultra -22 --no-check"
}
func (byteplanesCodec) available() error { return programZstd.available() }
func (byteplanesCodec) version() string  { return programZstd.version() }

func (c byteplanesCodec) withWidth(w int) (Codec, bool) {
	if w != 2 && w != 4 {
		return c, false
	}
	return byteplanesCodec{width: w}, true
}

func (c byteplanesCodec) Compress(src []byte) ([]byte, error) {
	return zstdCompress(toPlanesW(src, c.w()))
}

func (c byteplanesCodec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	planes, err := zstdDecompress(comp, originalLen)
	if err != nil {
		return nil, err
	}
	return fromPlanesW(planes, c.w()), nil
}

// toPlanes returns src with its 4-byte groups transposed into byte planes.
func toPlanes(src []byte) []byte { return toPlanesW(src, 4) }

// fromPlanes reverses toPlanes.
func fromPlanes(src []byte) []byte { return fromPlanesW(src, 4) }

// toPlanesW returns src with its w-byte groups transposed into w byte
// planes; the len%w tail bytes follow unchanged.
func toPlanesW(src []byte, w int) []byte {
	n := len(src) / w
	dst := make([]byte, len(src))
	for i := range n {
		for k := range w {
			dst[k*n+i] = src[w*i+k]
		}
	}
	copy(dst[w*n:], src[w*n:])
	return dst
}

// fromPlanesW reverses toPlanesW.
func fromPlanesW(src []byte, w int) []byte {
	n := len(src) / w
	dst := make([]byte, len(src))
	for i := range n {
		for k := range w {
			dst[w*i+k] = src[k*n+i]
		}
	}
	copy(dst[w*n:], src[w*n:])
	return dst
}
