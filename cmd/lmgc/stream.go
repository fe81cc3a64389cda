package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lmgc/lmgc/codec"
)

// outFile is an output written through a temporary file in the target's
// folder and renamed over it by commit, so that a failed run leaves no
// partial file; for "-" it is standard output (or, when the output must
// be read back first, a temporary file copied to standard output).
type outFile struct {
	path   string
	f      *os.File
	w      *bufio.Writer
	stdout io.Writer
	direct bool // writing straight to stdout
}

// createOutput opens the output path ("-": stdout). spoolStdout makes
// "-" go through a temporary file, for outputs that are read back (verify).
func createOutput(path string, force, spoolStdout bool, stdout io.Writer) (*outFile, error) {
	o := &outFile{path: path, stdout: stdout}
	if path == "-" && !spoolStdout {
		o.direct = true
		o.w = bufio.NewWriterSize(stdout, 1<<20)
		return o, nil
	}
	dir, base := os.TempDir(), "stdout"
	if path != "-" {
		if _, err := os.Lstat(path); err == nil && !force {
			return nil, fmt.Errorf("%s already exists (use --force to overwrite)", path)
		}
		dir, base = filepath.Dir(path), filepath.Base(path)
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	o.f, o.w = f, bufio.NewWriterSize(f, 1<<20)
	return o, nil
}

func (o *outFile) Write(b []byte) (int, error) { return o.w.Write(b) }

// dir is the folder for temporary files that belong with this output.
func (o *outFile) dir() string {
	if o.path == "-" {
		return os.TempDir()
	}
	return filepath.Dir(o.path)
}

// readBack flushes the output and returns it for reading (nil for direct
// stdout).
func (o *outFile) readBack() (*os.File, int64, error) {
	if o.f == nil {
		return nil, 0, errors.New("output cannot be read back")
	}
	if err := o.w.Flush(); err != nil {
		return nil, 0, err
	}
	fi, err := o.f.Stat()
	if err != nil {
		return nil, 0, err
	}
	return o.f, fi.Size(), nil
}

// commit completes the output: flush, sync and rename (or copy to stdout).
func (o *outFile) commit() error {
	if err := o.w.Flush(); err != nil {
		o.abort()
		return err
	}
	if o.direct {
		return nil
	}
	name := o.f.Name()
	if o.path == "-" {
		_, err := o.f.Seek(0, io.SeekStart)
		if err == nil {
			_, err = io.Copy(o.stdout, o.f)
		}
		o.abort()
		return err
	}
	err := o.f.Sync()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, 0o644)
	}
	if err == nil {
		err = os.Rename(name, o.path)
	}
	if err != nil {
		os.Remove(name)
	}
	o.f = nil
	return err
}

// abort removes the temporary file; it does nothing after commit.
func (o *outFile) abort() {
	if o.f != nil {
		o.f.Close()
		os.Remove(o.f.Name())
		o.f = nil
	}
}

// openInput opens a file for reading at offsets; "-" (standard input) is
// spooled to a temporary file in dir first, since the formats need random
// access (and the .lmgc header comes before the data it describes).
func openInput(path, dir string) (*os.File, int64, func(), error) {
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, 0, nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, nil, err
		}
		if fi.IsDir() {
			f.Close()
			return nil, 0, nil, fmt.Errorf("%s is a folder", path)
		}
		return f, fi.Size(), func() { f.Close() }, nil
	}
	f, err := os.CreateTemp(dir, ".lmgc-stdin-*")
	if err != nil {
		return nil, 0, nil, err
	}
	done := func() { f.Close(); os.Remove(f.Name()) }
	n, err := io.Copy(f, os.Stdin)
	if err != nil {
		done()
		return nil, 0, nil, fmt.Errorf("reading standard input: %w", err)
	}
	return f, n, done, nil
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
