package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/lmgc/lmgc/internal/atomicfile"
)

// parseArgs parses flags that may come before or after the positional
// arguments ("lmgc compress IN -o OUT") and returns the positionals.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("lmgc "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// readInput reads a whole file, or standard input for "-". Anything but a
// regular file is refused (a directory, a FIFO, a device), without blocking:
// the file is opened non-blocking and checked before it is read.
func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	if fi, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: %w", path, pathCause(err))
	} else if !fi.Mode().IsRegular() {
		return nil, notRegular("input", path, fi.Mode())
	}
	// Stat and open are two steps: O_NONBLOCK keeps a FIFO swapped in
	// between from hanging the open, and Fstat checks again.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, pathCause(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, pathCause(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular("input", path, fi.Mode())
	}
	b := make([]byte, 0, fi.Size()+1) // the size of a regular file, not a header's say-so
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, pathCause(err))
		}
		if len(b) == cap(b) { // the file grew while being read
			b = append(b, 0)[:len(b)]
		}
	}
}

// checkRegular checks, without opening it, that path (the role's file,
// e.g. "model") is a regular file: a FIFO given as a model would block its
// open. An empty path passes.
func checkRegular(role, path string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", role, path, pathCause(err))
	}
	if !fi.Mode().IsRegular() {
		return notRegular(role, path, fi.Mode())
	}
	return nil
}

// notRegular is the error for a path that is not a regular file.
func notRegular(role, path string, m fs.FileMode) error {
	what := "not a regular file"
	switch {
	case m.IsDir():
		return fmt.Errorf("%s %s is a directory", role, path)
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeDevice != 0:
		what = "a device"
	}
	hint := "read a stream from standard input with -"
	if role == "output" {
		hint = "write a stream to standard output with -o -"
	}
	return fmt.Errorf("%s %s is %s, not a regular file (%s)", role, path, what, hint)
}

// pathCause drops the operation and path of an *fs.PathError, for messages
// that name the path themselves.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkOutput refuses early, before any work, an output path that is the
// input (the same file, also through a symbolic or hard link: never, even
// with --force), a directory or other non-regular file, or an existing file
// without --force.
func checkOutput(path, input string, force bool) error {
	if path == "-" {
		return nil
	}
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("output %s: %w", path, pathCause(err))
	}
	if fi, err := os.Stat(path); err == nil { // a dangling link is just an existing name
		if input != "" && input != "-" {
			if ifi, err := os.Stat(input); err == nil && os.SameFile(ifi, fi) {
				return fmt.Errorf("output %s is the input file %s", path, input)
			}
		}
		if !fi.Mode().IsRegular() {
			return notRegular("output", path, fi.Mode())
		}
	}
	if !force {
		return fmt.Errorf("%s already exists (use --force to overwrite)", path)
	}
	return nil
}

// checkFolder creates the folder dir if needed and checks, before any
// work, that a file (named like one the command will write) can be created
// in it.
func checkFolder(dir, probe string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create the folder %s: %w", dir, pathCause(err))
	}
	f, err := atomicfile.Create(filepath.Join(dir, probe), 0o644)
	if err != nil {
		return err
	}
	f.Abort()
	return nil
}

// output is a checked output path: an atomic file, created before the work
// so that a folder that cannot be written to fails at once, or standard
// output for "-".
type output struct {
	f      *atomicfile.File // nil for "-"
	stdout io.Writer
}

// createOutput checks path (see checkOutput) and creates its temporary file.
// Call abort when the work fails (a deferred abort is a no-op after write).
func createOutput(path, input string, force bool, stdout io.Writer) (*output, error) {
	if err := checkOutput(path, input, force); err != nil {
		return nil, err
	}
	o := &output{stdout: stdout}
	if path != "-" {
		f, err := atomicfile.Create(path, 0o644)
		if err != nil {
			return nil, err
		}
		o.f = f
	}
	return o, nil
}

// write writes the whole output and makes it appear at its path.
func (o *output) write(data []byte) error {
	if o.f == nil {
		_, err := o.stdout.Write(data)
		return err
	}
	if _, err := o.f.Write(data); err != nil {
		o.f.Abort()
		return err
	}
	return o.f.Commit()
}

func (o *output) abort() {
	if o != nil && o.f != nil {
		o.f.Abort()
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// meter draws a one-line progress bar on stderr when it is a
// terminal; otherwise it draws nothing.
type meter struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	unit  string
	start time.Time
	last  time.Time
	on    bool
	drawn bool
}

func newProgress(stderr io.Writer, quiet bool, label, unit string) *meter {
	return &meter{w: stderr, label: label, unit: unit, start: time.Now(), on: !quiet && isTerminal(stderr)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// update is safe for concurrent use; it redraws at most ten times a second.
func (p *meter) update(done, total int64) { p.updateNote(done, total, "") }

// updateNote is update with a short note after the figures (e.g. a loss).
func (p *meter) updateNote(done, total int64, note string) {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = now
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	el := now.Sub(p.start).Seconds()
	rate := float64(done) / max(el, 1e-9)
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r\033[K%s [%s%s] %5.1f%% %s %s/s, %s left %s", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n),
		100*frac, human(rate), p.unit, eta, note)
	p.drawn = true
}

// done erases the bar; the next update draws it again.
func (p *meter) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

// clearingWriter erases the bar before each write, so log lines and the
// bar do not overwrite each other.
type clearingWriter struct {
	w   io.Writer
	bar *meter
}

func (c *clearingWriter) Write(b []byte) (int, error) {
	c.bar.done()
	return c.w.Write(b)
}

func human(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// releaseFreed collects the garbage and hands the freed memory back to the
// system, between a compress and a decompress in one process with an llm
// model (model bench, compress --verify). The compress's KV cache and
// scratch are garbage then; merely collected, their pages would be reused
// by the decompress's KV cache, which the runtime zeroes whole (every page
// resident) where a fresh one is touched only as far as the windows fill
// it, and the peak RSS would be above that of a decompress alone.
func releaseFreed() {
	runtime.GC() // twice: a sync.Pool's buffers survive one collection
	debug.FreeOSMemory()
}
