// Package atomicfile writes output files that appear whole or not at all.
//
// A File is written into a temporary file in its destination's folder
// (".NAME.tmp-*") and renamed over the destination only by Commit, so a
// failed or interrupted run leaves no partial output. Every temporary file
// and folder the package hands out (Create, TempDir) is recorded until it is
// committed or removed; Cleanup removes all of them at once, which is what a
// signal handler calls before the process exits.
//
// Errors name the destination, not the temporary file, and keep the
// underlying cause for errors.Is (syscall.ENOSPC, fs.ErrPermission, ...):
// "writing out.lmgc: no space left on device".
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// ErrCleanedUp is returned by Create, TempDir and Commit after Cleanup: the
// process is being stopped and must not produce output any more.
var ErrCleanedUp = errors.New("interrupted: temporary files removed")

// registry records the temporary paths not yet committed or removed.
var registry struct {
	sync.Mutex
	paths  map[string]bool // temporary path -> true for a folder
	closed bool            // Cleanup ran
}

func record(path string, dir bool) {
	if registry.paths == nil {
		registry.paths = map[string]bool{}
	}
	registry.paths[path] = dir
}

func forget(path string) {
	registry.Lock()
	delete(registry.paths, path)
	registry.Unlock()
}

// Cleanup removes every temporary file and folder not yet committed or
// removed, and makes later Create, TempDir and Commit calls fail with
// ErrCleanedUp, so no output appears after it. It is safe to call from any
// goroutine (a signal handler's) and more than once.
func Cleanup() {
	registry.Lock()
	defer registry.Unlock()
	registry.closed = true
	for p, dir := range registry.paths {
		if dir {
			os.RemoveAll(p)
		} else {
			os.Remove(p)
		}
		delete(registry.paths, p)
	}
}

// Pending returns the number of temporary files and folders not yet
// committed or removed (for tests).
func Pending() int {
	registry.Lock()
	defer registry.Unlock()
	return len(registry.paths)
}

// File is an output file being written. Write to it, then Commit to make it
// appear at its path, or Abort to discard it. A File is not safe for
// concurrent use.
type File struct {
	path string
	tmp  *os.File
	perm fs.FileMode
	err  error // the first write error
	done bool  // committed or aborted
}

// Create starts writing the file path, which gets permissions perm (exactly,
// without the umask) when committed. It creates the temporary file at once,
// so a folder that is missing or not writable is reported before any work.
func Create(path string, perm fs.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.closed {
		return nil, ErrCleanedUp
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", path, cause(err))
	}
	record(tmp.Name(), false)
	return &File{path: path, tmp: tmp, perm: perm}, nil
}

// Name returns the destination path.
func (f *File) Name() string { return f.path }

// Write writes to the temporary file. After an error every later Write
// returns it, and Commit fails with it.
func (f *File) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.done {
		return 0, fmt.Errorf("writing %s: %w", f.path, fs.ErrClosed)
	}
	n, err := f.tmp.Write(p)
	if err != nil {
		f.err = fmt.Errorf("writing %s: %w", f.path, cause(err))
	}
	return n, f.err
}

// Commit flushes the data to disk and renames the temporary file over the
// destination. On any error the temporary file is removed and the
// destination is left as it was.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("committing %s: %w", f.path, fs.ErrClosed)
	}
	err := f.err
	if err == nil {
		if err = f.tmp.Sync(); err == nil {
			err = f.tmp.Chmod(f.perm)
		}
		if err != nil {
			err = fmt.Errorf("writing %s: %w", f.path, cause(err))
		}
	}
	if cerr := f.tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing %s: %w", f.path, cause(cerr))
	}
	f.done = true
	name := f.tmp.Name()
	registry.Lock()
	defer registry.Unlock()
	if err == nil && registry.closed {
		err = ErrCleanedUp
	}
	if err == nil {
		if rerr := os.Rename(name, f.path); rerr != nil {
			err = fmt.Errorf("cannot rename the finished file to %s: %w", f.path, cause(rerr))
		}
	}
	if err != nil {
		os.Remove(name)
	}
	delete(registry.paths, name)
	return err
}

// Abort discards the file. It does nothing after Commit or an earlier
// Abort, so it can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.tmp.Close()
	os.Remove(f.tmp.Name())
	forget(f.tmp.Name())
}

// WriteFile writes data to path atomically with permissions perm.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// TempDir creates a temporary folder as os.MkdirTemp does, recorded so that
// Cleanup removes it. Call the returned function to remove it.
func TempDir(dir, pattern string) (string, func(), error) {
	registry.Lock()
	defer registry.Unlock()
	if registry.closed {
		return "", nil, ErrCleanedUp
	}
	name, err := os.MkdirTemp(dir, pattern)
	if err != nil {
		return "", nil, err
	}
	record(name, true)
	return name, func() {
		os.RemoveAll(name)
		forget(name)
	}, nil
}

// cause strips the *fs.PathError or *os.LinkError of an operation on the
// temporary file, whose name means nothing to the user, keeping the errno.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
