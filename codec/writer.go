package codec

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// A Writer compresses a tensor file written to it as a stream (a pipe,
// standard input) whose size is not known in advance. The input is spooled
// to a temporary file in Options.TempDir (not memory), and Close
// compresses it to the destination with an Encoder: the .lmgc header,
// which comes first, needs the whole file's SHA-256 and layout.
type Writer struct {
	enc   *Encoder
	dst   io.Writer
	name  string
	f     *os.File
	n     int64
	stats *Stats
	err   error
}

// NewWriter returns a Writer that compresses the file named name (for
// format detection) to dst with opt.
func NewWriter(dst io.Writer, name string, opt Options) (*Writer, error) {
	enc, err := NewEncoder(opt)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(opt.TempDir, ".lmgc-input-*")
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("spooling the input: %w", err)
	}
	os.Remove(f.Name()) // unlinked while open where the system allows
	return &Writer{enc: enc, dst: dst, name: name, f: f}, nil
}

// Write implements io.Writer.
func (w *Writer) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(b)
	w.n += int64(n)
	if err != nil {
		w.err = fmt.Errorf("spooling the input: %w", err)
	}
	return n, w.err
}

// Close compresses everything written and writes the .lmgc file to the
// destination. It does not close the destination.
func (w *Writer) Close() error {
	if w.f == nil {
		if w.stats != nil {
			return nil
		}
		return w.err
	}
	defer func() {
		w.f.Close()
		os.Remove(w.f.Name())
		w.f = nil
		w.enc.Close()
	}()
	if w.err != nil {
		return w.err
	}
	st, err := w.enc.Encode(w.dst, w.f, w.n, w.name)
	if err != nil {
		w.err = err
		return err
	}
	w.stats = st
	w.err = errWriterClosed
	return nil
}

var errWriterClosed = errors.New("lmgc codec: write to a closed Writer")

// Stats returns the summary of the compression, nil before a successful
// Close.
func (w *Writer) Stats() *Stats { return w.stats }
