package baseline

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// zpaqCodec runs Debian's zpaq 7.15 journaling archiver at method 5 (its
// strongest context-mixing models) on one thread. zpaq reads and writes
// files, not pipes: the data is written to a temporary folder as the file
// "d" (mtime fixed, so archives are reproducible) and the stream is the
// whole archive, its index (name, date, size, fragment hashes) included.
type zpaqCodec struct{}

func (zpaqCodec) Name() string { return "zpaq" }
func (zpaqCodec) describe() string {
	return "zpaq a -m5 -t1 (one file named d; the whole archive counted)"
}
func (zpaqCodec) available() error { return programZPAQ.available() }
func (zpaqCodec) version() string  { return programZPAQ.version() }

// zpaqName is the name of the one file in every archive; zpaqTime its mtime.
const zpaqName = "d"

var zpaqTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func (zpaqCodec) Compress(src []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "lmgc-zpaq-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, zpaqName)
	if err := os.WriteFile(in, src, 0o644); err != nil {
		return nil, err
	}
	if err := os.Chtimes(in, zpaqTime, zpaqTime); err != nil {
		return nil, err
	}
	if _, err := programZPAQ.runIn(dir, []string{"a", "a.zpaq", zpaqName, "-m5", "-t1"}, nil, 1<<16); err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(dir, "a.zpaq"))
}

func (zpaqCodec) Decompress(comp []byte, originalLen int) ([]byte, error) {
	if err := checkOriginalLen(originalLen); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lmgc-zpaq-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "a.zpaq"), comp, 0o644); err != nil {
		return nil, err
	}
	// The index must name one file, d, of originalLen bytes, before
	// anything is extracted (a damaged index cannot make zpaq write more).
	list, err := programZPAQ.runIn(dir, []string{"l", "a.zpaq"}, nil, 1<<16)
	if err != nil {
		return nil, err
	}
	if err := checkZPAQList(string(list), originalLen); err != nil {
		return nil, err
	}
	// With one file named, -to names the extracted file itself.
	if _, err := programZPAQ.runIn(dir, []string{"x", "a.zpaq", zpaqName, "-to", "out", "-t1"}, nil, 1<<16); err != nil {
		return nil, err
	}
	got, err := os.ReadFile(filepath.Join(dir, "out"))
	if err != nil {
		return nil, fmt.Errorf("zpaq: extracted nothing: %w", err)
	}
	return got, checkLen(got, originalLen)
}

// checkZPAQList checks the output of "zpaq l": one line per file,
// "- DATE TIME SIZE ATTR NAME", and exactly one of them, d, of n bytes.
func checkZPAQList(list string, n int) error {
	var files []string
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) == 6 && f[0] == "-" {
			files = append(files, line)
			size, err := strconv.Atoi(f[3])
			if f[5] != zpaqName || err != nil || size != n {
				return fmt.Errorf("zpaq: archive holds %q, want the file %s of %d bytes", strings.TrimSpace(line), zpaqName, n)
			}
		}
	}
	if len(files) != 1 {
		return fmt.Errorf("zpaq: archive lists %d files, want 1", len(files))
	}
	return nil
}
