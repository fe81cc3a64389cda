package baseline

import "strconv"

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
// group, in order; the len%4 tail bytes follow unchanged.
type byteplanesCodec struct{}

func (byteplanesCodec) Name() string     { return "byteplanes" }
func (byteplanesCodec) describe() string { return "4 byte planes, then zstd --ultra -22 --no-check" }
func (byteplanesCodec) available() error { return programZstd.available() }
func (byteplanesCodec) version() string  { return programZstd.version() }

func (byteplanesCodec) Compress(src []byte) ([]byte, error) {
	return zstdCompress(toPlanes(src))
}

func (byteplanesCodec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	planes, err := zstdDecompress(comp, originalLen)
	if err != nil {
		return nil, err
	}
	return fromPlanes(planes), nil
}

// toPlanes returns src with its 4-byte groups transposed into byte planes.
func toPlanes(src []byte) []byte {
	n := len(src) / 4
	dst := make([]byte, len(src))
	for i := range n {
		for k := range 4 {
			dst[k*n+i] = src[4*i+k]
		}
	}
	copy(dst[4*n:], src[4*n:])
	return dst
}

// fromPlanes reverses toPlanes.
func fromPlanes(src []byte) []byte {
	n := len(src) / 4
	dst := make([]byte, len(src))
	for i := range n {
		for k := range 4 {
			dst[4*i+k] = src[k*n+i]
		}
	}
	copy(dst[4*n:], src[4*n:])
	return dst
}
