package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func names(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, e := range ents {
		s = append(s, e.Name())
	}
	return strings.Join(s, " ")
}

func TestCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.bin")
	f, err := Create(path, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello ")); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("world"))
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the destination exists before Commit: %v", err)
	}
	if !strings.HasPrefix(names(t, dir), ".out.bin.tmp-") || Pending() != 1 {
		t.Fatalf("temporary file: %q, %d pending", names(t, dir), Pending())
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // a no-op after Commit
	if b, err := os.ReadFile(path); err != nil || string(b) != "hello world" {
		t.Fatalf("after Commit: %q, %v", b, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if names(t, dir) != "out.bin" || Pending() != 0 {
		t.Errorf("after Commit the folder holds %q, %d pending", names(t, dir), Pending())
	}
	if err := f.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}

	// Abort leaves the existing file as it was.
	g, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	g.Write([]byte("other"))
	g.Abort()
	if b, _ := os.ReadFile(path); string(b) != "hello world" || names(t, dir) != "out.bin" || Pending() != 0 {
		t.Errorf("after Abort: %q in a folder of %q, %d pending", b, names(t, dir), Pending())
	}

	// A folder that does not exist is reported by Create, naming the
	// destination.
	missing := filepath.Join(dir, "nope", "x")
	if _, err := Create(missing, 0o644); err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Create in a missing folder: %v", err)
	}
}

func TestCleanup(t *testing.T) {
	defer func() { registry.closed = false }() // for other tests of this package
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "a"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	tmp, remove, err := TempDir(dir, "work-")
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	os.WriteFile(filepath.Join(tmp, "x"), []byte("x"), 0o644)
	Cleanup()
	if got := names(t, dir); got != "" {
		t.Errorf("after Cleanup the folder holds %q", got)
	}
	if err := f.Commit(); !errors.Is(err, ErrCleanedUp) {
		t.Errorf("Commit after Cleanup: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the destination appeared after Cleanup: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "b"), 0o644); !errors.Is(err, ErrCleanedUp) {
		t.Errorf("Create after Cleanup: %v", err)
	}
	if got := names(t, dir); got != "" || Pending() != 0 {
		t.Errorf("the folder holds %q, %d pending", got, Pending())
	}
}
