package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/tensorio"
)

// lmgc runs the CLI in-process and returns its exit status and output.
func lmgc(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeGaussianNPY(t *testing.T, path string, n int) []byte {
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(float32(r.NormFloat64()*1e-3)))
	}
	var b bytes.Buffer
	if err := tensorio.WriteNPY(&b, "<f4", []int64{int64(n)}, false, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCompressDecompressInspect(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "g.npy")
	orig := writeGaussianNPY(t, in, 20000)
	code, out, errs := lmgc(t, "compress", in, "--json", "--verify", "--format", "hs")
	if code != 0 {
		t.Fatalf("compress: %d %s", code, errs)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	for _, k := range []string{"original_bytes", "compressed_bytes", "rate_percent", "ideal_bits", "seconds"} {
		if _, ok := st[k]; !ok {
			t.Errorf("--json lacks %q", k)
		}
	}
	if st["verified"] != true {
		t.Errorf("verified = %v", st["verified"])
	}
	// Refuses to overwrite without --force.
	if code, _, errs := lmgc(t, "compress", in); code == 0 || !strings.Contains(errs, "already exists") {
		t.Errorf("overwrite: code %d, %q", code, errs)
	}
	code, out, errs = lmgc(t, "inspect", in+".lmgc")
	if code != 0 || !strings.Contains(out, "hex-space") || !strings.Contains(out, "fingerprint") {
		t.Errorf("inspect: %d %q %q", code, out, errs)
	}
	os.Rename(in, in+".orig")
	if code, _, errs := lmgc(t, "decompress", in+".lmgc"); code != 0 {
		t.Fatalf("decompress: %s", errs)
	}
	got, _ := os.ReadFile(in)
	if !bytes.Equal(got, orig) {
		t.Fatal("decompressed file differs")
	}
}

func TestCorruptFileLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "g.npy")
	writeGaussianNPY(t, in, 5000)
	if code, _, errs := lmgc(t, "compress", "--quiet", in, "-o", filepath.Join(dir, "g.lmgc")); code != 0 {
		t.Fatal(errs)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "g.lmgc"))
	b[len(b)-3] ^= 0x10
	bad := filepath.Join(dir, "bad.lmgc")
	os.WriteFile(bad, b, 0o644)
	code, _, errs := lmgc(t, "decompress", bad, "-o", filepath.Join(dir, "out.npy"))
	if code == 0 || !strings.Contains(errs, "checksum mismatch") {
		t.Errorf("corrupt file: code %d, %q", code, errs)
	}
	if strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("error is not one line: %q", errs)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "g.npy" && e.Name() != "g.lmgc" && e.Name() != "bad.lmgc" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	npy := filepath.Join(dir, "bad.npy")
	os.WriteFile(npy, []byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f4',}"), 0o644)
	cases := [][]string{
		{"compress", npy},
		{"compress", filepath.Join(dir, "missing.f32")},
		{"decompress", npy, "-o", filepath.Join(dir, "x")},
		{"compress", "--prior", "nope", npy},
		{"compress", "--format", "hex-upper", npy},
		{"frobnicate"},
	}
	for _, c := range cases {
		code, _, errs := lmgc(t, c...)
		if code == 0 || errs == "" {
			t.Errorf("%v: code %d, stderr %q", c, code, errs)
		}
	}
	if _, err := os.Stat(npy + ".lmgc"); err == nil {
		t.Error("a failed compress left an output file")
	}
}

// TestFlagHints checks that the CLI, not the library, names the flag that
// fixes a typed library error.
func TestFlagHints(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "g.dat")
	os.WriteFile(in, make([]byte, 64), 0o644)
	code, _, errs := lmgc(t, "compress", "--quiet", in)
	if code != 1 || !strings.Contains(errs, "cannot tell the format") || !strings.Contains(errs, "--input-format raw|npy|safetensors|pt") {
		t.Errorf("undetectable format: code %d, stderr %q", code, errs)
	}
	code, _, errs = lmgc(t, "compress", "--quiet", "--prior", "llm", "--input-format", "raw", in)
	if code != 1 || !strings.Contains(errs, "needs a model file") || !strings.Contains(errs, "--model FILE.gguf") {
		t.Errorf("llm without a model: code %d, stderr %q", code, errs)
	}
}

// TestPyTorchFile compresses a torch.save file of a small GPT's gradients
// (written by torch 1.13, tensorio/testdata/gen_pt.py): its float32
// storages go through the prior, and decompress gives the .pt back byte
// for byte.
func TestPyTorchFile(t *testing.T) {
	orig, err := os.ReadFile("../../tensorio/testdata/gpt_step000200.pt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "gpt_step000200.pt")
	if err := os.WriteFile(in, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := lmgc(t, "compress", in, "--json", "--verify")
	if code != 0 {
		t.Fatalf("compress: %d %s", code, errs)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if st["verified"] != true {
		t.Errorf("verified = %v", st["verified"])
	}
	// The float32 bytes are the storages' bytes: 2*(16*48+48+16*32)+64*16 floats.
	const floats = 2*(16*48+48+16*32) + 64*16
	code, out, errs = lmgc(t, "inspect", in+".lmgc")
	if code != 0 {
		t.Fatalf("inspect: %d %s", code, errs)
	}
	for _, want := range []string{", pt, sha256", fmt.Sprintf("segments:      7 float32 (%d bytes)", 4*floats),
		"float32le h.0.attn.c_attn.weight ", "float32le wte.weight "} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q:\n%s", want, out)
		}
	}
	if c := st["compressed_bytes"].(float64); c >= float64(len(orig)) {
		t.Errorf("compressed to %v bytes, not below the %d-byte original", c, len(orig))
	}
	os.Rename(in, in+".orig")
	if code, _, errs := lmgc(t, "decompress", in+".lmgc"); code != 0 {
		t.Fatalf("decompress: %s", errs)
	}
	got, _ := os.ReadFile(in)
	if !bytes.Equal(got, orig) {
		t.Fatal("decompressed .pt differs from the original")
	}
}

// TestPyTorchMalicious: a .pt whose pickle calls os.system is refused with
// an error naming it, and leaves no output.
func TestPyTorchMalicious(t *testing.T) {
	orig, err := os.ReadFile("../../tensorio/testdata/malicious.pt")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "evil.pt")
	os.WriteFile(in, orig, 0o644)
	code, _, errs := lmgc(t, "compress", in)
	if code == 0 || !strings.Contains(errs, "global os.system is not allowed") {
		t.Errorf("code %d, stderr %q; want a refusal naming os.system", code, errs)
	}
	if _, err := os.Stat(in + ".lmgc"); err == nil {
		t.Error("the refused compress left an output file")
	}
}
