package baseline

import "fmt"

// xzCodec is the paper's LZMA baseline: Python's lzma.compress, i.e.
// liblzma preset 6 in an xz container with a CRC64 check, run through the
// xz program.
type xzCodec struct{}

func (xzCodec) Name() string { return "lzma" }
func (xzCodec) describe() string {
	return "xz -6 -T1 --check=crc64 (liblzma preset 6, as Python lzma.compress)"
}
func (xzCodec) available() error { return programXZ.available() }
func (xzCodec) version() string  { return programXZ.version() }
func (xzCodec) args(decode bool) []string {
	if decode {
		// 64 MiB is far above what a preset-6 stream needs (9 MiB) and keeps
		// a corrupted header from making xz allocate much more.
		return []string{"-d", "-c", "-q", "-T1", "--format=xz", "--memlimit-decompress=64MiB"}
	}
	return []string{"-z", "-c", "-q", "-6", "-T1", "--format=xz", "--check=crc64"}
}

func (c xzCodec) Compress(src []byte) ([]byte, error) {
	return programXZ.run(c.args(false), src, maxCompressed(len(src)))
}

func (c xzCodec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	out, err := programXZ.run(c.args(true), comp, originalLen)
	if err != nil {
		return nil, err
	}
	return out, checkLen(out, originalLen)
}

// checkLen reports a decoded length other than the original's.
func checkLen(out []byte, originalLen int) error {
	if len(out) != originalLen {
		return fmt.Errorf("decoded %d bytes, want %d", len(out), originalLen)
	}
	return nil
}
