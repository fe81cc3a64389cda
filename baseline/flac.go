package baseline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/lmgc/lmgc/internal/atomicfile"
)

// flacCodec runs the reference FLAC encoder (the flac program) on the bytes
// as 8-bit unsigned mono PCM at 16 kHz, at its strongest subset setting.
type flacCodec struct{}

func (flacCodec) Name() string { return "flac" }
func (flacCodec) describe() string {
	return "flac --best -e -p, 8-bit unsigned mono 16 kHz, STREAMINFO only"
}
func (flacCodec) available() error { return programFLAC.available() }
func (flacCodec) version() string  { return programFLAC.version() }

// flacRaw describes the raw PCM both ways.
var flacRaw = []string{"--force-raw-format", "--endian=little", "--sign=unsigned"}

func (flacCodec) Compress(src []byte) ([]byte, error) {
	if err := programFLAC.available(); err != nil {
		return nil, err
	}
	// flac writes the sample count and MD5 into STREAMINFO only when it can
	// seek its output, so it works on files.
	dir, remove, err := atomicfile.TempDir("", "lmgc-flac-") // removed on a signal too
	if err != nil {
		return nil, err
	}
	defer remove()
	in, out := filepath.Join(dir, "in.u8"), filepath.Join(dir, "out.flac")
	if err := os.WriteFile(in, src, 0o600); err != nil {
		return nil, err
	}
	args := append([]string{"-s", "-f", "--best", "-e", "-p", "--no-padding", "--no-seektable",
		"--channels=1", "--bps=8", "--sample-rate=16000"}, flacRaw...)
	args = append(args, "-o", out, in)
	if _, err := programFLAC.run(args, nil, 1<<12); err != nil {
		return nil, err
	}
	comp, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	return stripFLACMetadata(comp)
}

func (flacCodec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	args := append([]string{"-d", "-c", "-s"}, flacRaw...)
	args = append(args, "-")
	out, err := programFLAC.run(args, comp, originalLen)
	if err != nil {
		return nil, err
	}
	return out, checkLen(out, originalLen)
}

// stripFLACMetadata removes every metadata block but STREAMINFO from a FLAC
// file, leaving "fLaC", STREAMINFO (marked last) and the frames.
func stripFLACMetadata(f []byte) ([]byte, error) {
	const magic = "fLaC"
	if len(f) < 8 || string(f[:4]) != magic {
		return nil, errors.New("flac: output is not a FLAC stream")
	}
	var streaminfo []byte
	off := 4
	for last := false; !last; {
		if off+4 > len(f) {
			return nil, errors.New("flac: truncated metadata")
		}
		hdr := binary.BigEndian.Uint32(f[off:])
		last = hdr>>31 != 0
		typ, n := hdr>>24&0x7f, int(hdr&0xffffff)
		if off+4+n > len(f) {
			return nil, errors.New("flac: truncated metadata block")
		}
		if typ == 0 {
			streaminfo = f[off : off+4+n]
		}
		off += 4 + n
	}
	if streaminfo == nil {
		return nil, fmt.Errorf("flac: no STREAMINFO block")
	}
	out := make([]byte, 0, 4+len(streaminfo)+len(f)-off)
	out = append(out, magic...)
	out = append(out, streaminfo...)
	out[4] |= 0x80 // last metadata block
	return append(out, f[off:]...), nil
}
