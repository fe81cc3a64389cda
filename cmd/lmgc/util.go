package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
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

// readInput reads a whole file, or standard input for "-".
func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

// writeOutput writes data to path atomically: into a temporary file in the
// same directory, renamed over path only when complete, so a failed run
// leaves no partial output. "-" writes to stdout.
func writeOutput(path string, data []byte, force bool, stdout io.Writer) error {
	if path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	if _, err := os.Lstat(path); err == nil && !force {
		return fmt.Errorf("%s already exists (use --force to overwrite)", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, 0o644)
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	return nil
}

// checkOutput refuses early, before any work, to overwrite a file.
func checkOutput(path string, force bool) error {
	if path == "-" || force {
		return nil
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s already exists (use --force to overwrite)", path)
	}
	return nil
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
	on := false
	if f, ok := stderr.(*os.File); ok && !quiet {
		on = term.IsTerminal(int(f.Fd()))
	}
	return &meter{w: stderr, label: label, unit: unit, start: time.Now(), on: on}
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
