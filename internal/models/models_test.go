package models

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestManifest(t *testing.T) {
	m, err := manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{SmolLM2, Gemma3} {
		e, ok := m[name]
		if !ok {
			t.Fatalf("%s not pinned", name)
		}
		if e.Set != SetDefault {
			t.Errorf("%s: set %q, want %q", name, e.Set, SetDefault)
		}
	}
	for _, name := range []string{Qwen25Coder05B, Qwen25Coder15B} {
		if e, ok := m[name]; !ok || e.Set != SetLarge {
			t.Errorf("%s: not pinned in the large set", name)
		}
	}
	for _, e := range m {
		if e.Set != SetDefault && e.Set != SetLarge {
			t.Errorf("%s: unknown set %q", e.Name, e.Set)
		}
	}
	if _, err := Lookup("nope.gguf"); err == nil {
		t.Error("Lookup of an unpinned name succeeded")
	}
}

func TestPathChecks(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("LMGC_MODELS", dir)
	if _, err := Path(SmolLM2); !errors.Is(err, ErrMissing) {
		t.Fatalf("absent file: %v, want ErrMissing", err)
	}
	// A file of the wrong size.
	if err := os.WriteFile(filepath.Join(dir, SmolLM2), []byte("GGUF"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Path(SmolLM2); !errors.Is(err, ErrMismatch) {
		t.Fatalf("short file: %v, want ErrMismatch", err)
	}
	// A file of the right size but other bytes.
	e, _ := Lookup(SmolLM2)
	if err := os.Truncate(filepath.Join(dir, SmolLM2), e.Size); err != nil {
		t.Fatal(err)
	}
	if _, err := Path(SmolLM2); !errors.Is(err, ErrMismatch) {
		t.Fatalf("altered file: %v, want ErrMismatch", err)
	}
}

func TestInstalled(t *testing.T) {
	for _, name := range []string{SmolLM2, Gemma3} {
		p := Require(t, name)
		if filepath.Base(p) != name {
			t.Errorf("Path(%s) = %s", name, p)
		}
	}
}
