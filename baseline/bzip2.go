package baseline

// bzip2Codec runs the bzip2 program (libbz2) with -9, 900 kB blocks.
type bzip2Codec struct{}

func (bzip2Codec) Name() string     { return "bzip2" }
func (bzip2Codec) describe() string { return "bzip2 -9" }
func (bzip2Codec) available() error { return programBzip2.available() }
func (bzip2Codec) version() string  { return programBzip2.version() }

func (bzip2Codec) Compress(src []byte) ([]byte, error) {
	return programBzip2.run([]string{"-z", "-c", "-q", "-9"}, src, maxCompressed(len(src)))
}

func (bzip2Codec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	out, err := programBzip2.run([]string{"-d", "-c", "-q"}, comp, originalLen)
	if err != nil {
		return nil, err
	}
	return out, checkLen(out, originalLen)
}
