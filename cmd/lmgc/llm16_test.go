package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/sample"
	"github.com/lmgc/lmgc/tensorio"
)

// TestLLMFloat16CLI: `lmgc compress --prior llm --model stories260K` on
// BF16 and F16 safetensors and an npy "<f2" codes the 16-bit values with
// the model (inspect shows them as 16-bit float segments and float_bytes
// 2 in the prior's parameters, not as zstd'd other bytes), in both modes,
// and `lmgc decompress` restores the files exactly.
func TestLLMFloat16CLI(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "stories260K.gguf")
	if err := os.WriteFile(model, sample.Stories260K, 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 200
	bf16, f16 := make([]byte, 2*n), make([]byte, 2*n)
	for i := 0; i < n; i++ {
		v := float32(math.Sin(float64(i)*0.37) * 1e-3)
		binary.LittleEndian.PutUint16(bf16[2*i:], uint16(math.Float32bits(v)>>16))
		binary.LittleEndian.PutUint16(f16[2*i:], 0x1000+uint16(i*37)%0x800) // small normal float16 values
	}
	var st, npy bytes.Buffer
	if err := tensorio.WriteSafetensors(&st, []tensorio.Tensor{
		{Name: "a", DType: "BF16", Shape: []int64{10, 10}, Data: bf16[:200]},
		{Name: "b", DType: "F16", Shape: []int64{100}, Data: f16[200:]},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := tensorio.WriteNPY(&npy, "<f2", []int64{n}, false, f16); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"x.safetensors": st.Bytes(), "h.npy": npy.Bytes()}
	for name, orig := range files {
		for _, mode := range []string{"constrained", "paper"} {
			in := filepath.Join(dir, mode+"-"+name)
			if err := os.WriteFile(in, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errs := lmgc(t, "compress", "--quiet", "--prior", "llm", "--model", model, "--mode", mode,
				"--window", "400", "--verify", in)
			if code != 0 {
				t.Fatalf("%s %s: compress: %d %s", name, mode, code, errs)
			}
			code, out, errs := lmgc(t, "inspect", "--json", in+".lmgc")
			if code != 0 {
				t.Fatalf("inspect: %d %s", code, errs)
			}
			var h struct {
				FloatBytes int64 `json:"float_bytes"`
				Prior      struct {
					Params map[string]any `json:"params"`
				} `json:"prior"`
				Original struct {
					Segments []struct{ Kind, DType string } `json:"segments"`
				} `json:"original"`
			}
			if err := json.Unmarshal([]byte(out), &h); err != nil {
				t.Fatalf("inspect --json: %v\n%s", err, out)
			}
			if h.FloatBytes != 2*n || h.Prior.Params["float_bytes"] != 2.0 || h.Prior.Params["mode"] != mode {
				t.Errorf("%s %s: %d float bytes, params %v; want %d 16-bit float bytes coded by the model", name, mode, h.FloatBytes, h.Prior.Params, 2*n)
			}
			for _, s := range h.Original.Segments {
				if s.DType != "" && s.Kind != "float16le" {
					t.Errorf("%s %s: a %s segment is %s", name, mode, s.DType, s.Kind)
				}
			}
			if code, out, _ := lmgc(t, "inspect", in+".lmgc"); code != 0 || !strings.Contains(out, "16-bit float") {
				t.Errorf("%s %s: inspect: %s", name, mode, out)
			}
			os.Remove(in)
			if code, _, errs := lmgc(t, "decompress", "--quiet", "--model", model, in+".lmgc"); code != 0 {
				t.Fatalf("%s %s: decompress: %s", name, mode, errs)
			}
			if got, _ := os.ReadFile(in); !bytes.Equal(got, orig) {
				t.Errorf("%s %s: decompressed file differs", name, mode)
			}
		}
	}
}
