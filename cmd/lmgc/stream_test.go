package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/tensorio"
)

// withStdin runs fn with os.Stdin reading the file path.
func withStdin(t *testing.T, path string, fn func()) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	fn()
}

func TestCompressStdinStdout(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "g.npy")
	orig := writeGaussianNPY(t, in, 30000)
	var code int
	var out, errs string
	withStdin(t, in, func() { code, out, errs = lmgc(t, "compress", "-", "--verify", "--window", "40000") })
	if code != 0 {
		t.Fatalf("compress -: %d %s", code, errs)
	}
	lm := filepath.Join(dir, "s.lmgc")
	if err := os.WriteFile(lm, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	withStdin(t, lm, func() { code, out, errs = lmgc(t, "decompress", "-") })
	if code != 0 || out != string(orig) {
		t.Fatalf("decompress - to stdout: %d, %d bytes (want %d), %s", code, len(out), len(orig), errs)
	}
	// The same input from a file compresses to the same streams.
	if code, _, errs := lmgc(t, "compress", in, "--window", "40000"); code != 0 {
		t.Fatal(errs)
	}
	fromFile, fromStdin := readFile(t, in+".lmgc"), readFile(t, lm)
	if n := len(fromStdin) - 8000; n < 0 || !bytes.Equal(fromFile[len(fromFile)-n:], fromStdin[len(fromStdin)-n:]) {
		t.Error("stdin and file inputs coded differently")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func readFile(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCompressFolder(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "ckpt")
	if err := os.MkdirAll(filepath.Join(src, "shards"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	files["step-1.npy"] = writeGaussianNPY(t, filepath.Join(src, "step-1.npy"), 3000)
	var st bytes.Buffer
	if err := tensorio.WriteSafetensors(&st, []tensorio.Tensor{
		{Name: "w", DType: "F32", Shape: []int64{2, 3}, Data: make([]byte, 24)},
		{Name: "h", DType: "F16", Shape: []int64{4}, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"shards/model-00001-of-00002.safetensors": st.Bytes(),
		"shards/model-00002-of-00002.safetensors": append([]byte(nil), st.Bytes()...),
		"bias.f32": {1, 2, 3, 4, 5, 6, 7, 8},
	} {
		files[name] = b
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "README.txt"), []byte("notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "packed")
	code, stdout, errs := lmgc(t, "compress", src, "-o", out, "--json", "--verify")
	if code != 0 {
		t.Fatalf("compress folder: %d %s", code, errs)
	}
	if !strings.Contains(errs, "README.txt: not a tensor file") {
		t.Errorf("no note on the skipped file: %q", errs)
	}
	var sum struct {
		Files []struct {
			Input, Output string
		} `json:"files"`
		OriginalBytes int64 `json:"original_bytes"`
		Verified      bool  `json:"verified"`
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	var total int64
	for _, b := range files {
		total += int64(len(b))
	}
	if len(sum.Files) != len(files) || sum.OriginalBytes != total || !sum.Verified {
		t.Fatalf("summary: %d files, %d bytes, verified %v; want %d files, %d bytes", len(sum.Files), sum.OriginalBytes, sum.Verified, len(files), total)
	}
	for name := range files {
		if _, err := os.Stat(filepath.Join(out, name+".lmgc")); err != nil {
			t.Errorf("no output for %s: %v", name, err)
		}
	}
	// A second run refuses to overwrite, before doing anything.
	if code, _, errs := lmgc(t, "compress", src, "-o", out); code == 0 || !strings.Contains(errs, "already exists") {
		t.Errorf("second run: %d %s", code, errs)
	}
	back := filepath.Join(dir, "back")
	if code, _, errs := lmgc(t, "decompress", out, "-o", back, "--quiet"); code != 0 {
		t.Fatalf("decompress folder: %d %s", code, errs)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(back, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: restored %d bytes (%v), want %d", name, len(got), err, len(want))
		}
	}
	// Without -o, outputs go next to the inputs.
	if code, _, errs := lmgc(t, "compress", src, "--quiet"); code != 0 {
		t.Fatalf("compress folder in place: %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(src, "shards", "model-00002-of-00002.safetensors.lmgc")); err != nil {
		t.Error(err)
	}
}
