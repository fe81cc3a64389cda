// Package testenv lets tests find the project's shared test data (the
// read-only ../shared folder next to the repository root: test vectors,
// llama.cpp's vocab files, stories260K, CIFAR-10) and optional tools.
//
// On a user's fresh clone ../shared is absent and such tests skip with the
// reason. CI has it, so there (CI set in the environment) a missing file
// fails the test instead of skipping it: a test that silently skips in CI
// checks nothing.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the repository root (the folder holding go.mod), found by
// walking up from the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root (go.mod) not found")
		}
		dir = parent
	}
}

// Shared returns the path of elem under ../shared, skipping the test when it
// is absent (failing it under CI).
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{RepoRoot(t), "..", "shared"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		Unavailable(t, "%s is absent: the shared test data (../shared) is not checked out here", p)
	}
	return p
}

// Unavailable skips the test with the reason, or fails it under CI, where
// everything the tests need is installed.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must run this test: "+format, args...)
	}
	t.Skipf(format, args...)
}
