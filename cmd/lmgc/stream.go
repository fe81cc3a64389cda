package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/lmgc/lmgc/codec"
	"github.com/lmgc/lmgc/internal/atomicfile"
)

// streamOutput is an output written as it is produced: an atomic file
// (internal/atomicfile: a temporary file in the target's folder, renamed
// over it by commit, so a failed run leaves no partial file), or standard
// output for "-" (through a temporary file when the output must be read
// back before it is given out, for --verify).
type streamOutput struct {
	path   string
	f      *atomicfile.File // nil when writing straight to stdout
	w      *bufio.Writer
	stdout io.Writer
	n      int64
}

// openOutput checks the output path (see checkOutput) and opens it.
func openOutput(path, input string, force, readBack bool, stdout io.Writer) (*streamOutput, error) {
	if err := checkOutput(path, input, force); err != nil {
		return nil, err
	}
	o := &streamOutput{path: path, stdout: stdout}
	target := path
	if path == "-" {
		if !readBack {
			o.w = bufio.NewWriterSize(stdout, 1<<20)
			return o, nil
		}
		target = filepath.Join(os.TempDir(), "lmgc-stdout")
	}
	f, err := atomicfile.Create(target, 0o644)
	if err != nil {
		return nil, err
	}
	o.f, o.w = f, bufio.NewWriterSize(f, 1<<20)
	return o, nil
}

func (o *streamOutput) Write(b []byte) (int, error) {
	n, err := o.w.Write(b)
	o.n += int64(n)
	return n, err
}

// dir is the folder for the temporary files that go with this output.
func (o *streamOutput) dir() string {
	if o.path == "-" {
		return os.TempDir()
	}
	return filepath.Dir(o.path)
}

// readBack returns what was written, for reading.
func (o *streamOutput) readBack() (io.ReaderAt, int64, error) {
	if o.f == nil {
		return nil, 0, errors.New("output cannot be read back")
	}
	if err := o.w.Flush(); err != nil {
		return nil, 0, err
	}
	return o.f, o.n, nil
}

// commit completes the output: renamed into place, or copied to stdout.
func (o *streamOutput) commit() error {
	if err := o.w.Flush(); err != nil {
		o.abort()
		return err
	}
	if o.f == nil {
		return nil
	}
	if o.path == "-" {
		_, err := io.Copy(o.stdout, io.NewSectionReader(o.f, 0, o.n))
		o.f.Abort()
		return err
	}
	return o.f.Commit()
}

// abort discards the output; it does nothing after commit.
func (o *streamOutput) abort() {
	if o != nil && o.f != nil {
		o.f.Abort()
	}
}

// openPair checks the input, then opens the output and the input (standard
// input is spooled next to the output). done closes the input and aborts
// the output unless it was committed.
func openPair(in, out string, force, readBack bool, stdout io.Writer) (o *streamOutput, src *os.File, size int64, done func(), err error) {
	if err := checkInput(in); err != nil {
		return nil, nil, 0, nil, err
	}
	if o, err = openOutput(out, in, force, readBack, stdout); err != nil {
		return nil, nil, 0, nil, err
	}
	src, size, closeIn, err := openInput(in, o.dir())
	if err != nil {
		o.abort()
		return nil, nil, 0, nil, err
	}
	return o, src, size, func() { closeIn(); o.abort() }, nil
}

// checkInput reports why path cannot be an input file (missing, not a
// regular file), or nil; "-" (standard input) is always fine. Commands call
// it before they open their output, so that a missing input is named
// rather than the output it would have had.
func checkInput(path string) error {
	if path == "-" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, pathCause(err))
	}
	if !fi.Mode().IsRegular() {
		return notRegular("input", path, fi.Mode())
	}
	return nil
}

// openInput opens a regular file for reading at offsets (anything else is
// refused without blocking, as readInput does); "-" (standard input) is
// spooled to a temporary file in dir first, since the formats need random
// access and the .lmgc header comes before the data it describes. The
// spool is unlinked at once, so no signal or crash leaves it behind.
func openInput(path, dir string) (*os.File, int64, func(), error) {
	if path == "-" {
		f, err := os.CreateTemp(dir, ".lmgc-stdin-*")
		if err != nil {
			return nil, 0, nil, fmt.Errorf("spooling standard input: %w", err)
		}
		os.Remove(f.Name())
		n, err := io.Copy(f, os.Stdin)
		if err != nil {
			f.Close()
			return nil, 0, nil, fmt.Errorf("reading standard input: %w", err)
		}
		return f, n, func() { f.Close() }, nil
	}
	if err := checkInput(path); err != nil {
		return nil, 0, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %w", path, pathCause(err))
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = notRegular("input", path, fi.Mode())
	}
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	return f, fi.Size(), func() { f.Close() }, nil
}

// verifyFile decodes the .lmgc file lm and checks that it gives back the
// input (byte for byte when the input can be read again, else by the
// SHA-256 the decoder checks).
func verifyFile(lm io.ReaderAt, size int64, orig io.ReaderAt, origSize int64, opt codec.Options) error {
	r, err := codec.NewReader(lm, size, opt)
	if err != nil {
		return err
	}
	defer r.Close()
	var w io.Writer = io.Discard
	var cmp *compareWriter
	if orig != nil {
		cmp = &compareWriter{r: bufio.NewReaderSize(io.NewSectionReader(orig, 0, origSize), 1<<20)}
		w = cmp
	}
	n, err := r.WriteTo(w)
	if err != nil {
		return err
	}
	if n != origSize || (cmp != nil && cmp.differs) {
		return errors.New("decompressed data differs from the input")
	}
	return nil
}

// compareWriter compares what is written with r.
type compareWriter struct {
	r       *bufio.Reader
	buf     []byte
	differs bool
}

func (c *compareWriter) Write(b []byte) (int, error) {
	if len(c.buf) < len(b) {
		c.buf = make([]byte, len(b))
	}
	if n, _ := io.ReadFull(c.r, c.buf[:len(b)]); n != len(b) || !bytes.Equal(c.buf[:n], b) {
		c.differs = true
	}
	return len(b), nil
}
