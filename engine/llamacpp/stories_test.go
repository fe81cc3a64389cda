package llamacpp

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"github.com/lmgc/lmgc/internal/testenv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lmgc/lmgc/engine/llama2c"
)

// repoRoot walks up from the working directory to go.mod.
func repoRoot(t testing.TB) string {
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		p := filepath.Dir(d)
		if p == d {
			t.Fatal("go.mod not found")
		}
		d = p
	}
}

func needLlamaCpp(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		testenv.Unavailable(t, "%v", err)
	}
}

// stories260K reads ../shared/models/stories260K.bin and writes it as GGUF
// into a temporary directory.
func stories260K(t testing.TB) (*llama2c.Checkpoint, string) {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "models", "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := llama2c.Read(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stories260K.gguf")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(out)
	if _, err := c.WriteGGUF(w, llama2c.Options{Name: "stories260K"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return c, path
}

// hexTokens serializes n pseudo-random gradient-like float32 values as
// hex-space text (the paper's H_s) and returns BOS followed by the text's
// bytes as byte tokens (id 3+b).
func hexTokens(n int, seed uint64) []int32 {
	r := rand.New(rand.NewPCG(seed, 2))
	toks := []int32{1}
	for i := range n {
		if i > 0 {
			toks = append(toks, 3+' ')
		}
		v := float32(r.NormFloat64() * 1e-3)
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		for _, c := range fmt.Sprintf("%x", b[:]) {
			toks = append(toks, 3+int32(c))
		}
	}
	return toks
}

// TestStories260KRunC checks the llama2.c importer and this harness
// against a port of llama2.c's run.c (which matches run.c itself; see
// engine/llama2c) on the original checkpoint, with llama.cpp's KV cache in
// f32 as run.c's, under two CPU variants of llama.cpp: the distributions on
// hex text fed through byte tokens agree, and so do the greedy
// continuations of BOS.
func TestStories260KRunC(t *testing.T) {
	needLlamaCpp(t)
	c, path := stories260K(t)
	toks := hexTokens(40, 1) // 360 tokens
	const n = 40
	runs := runVariants(t, []Job{{Model: path, Tokens: toks}, {Model: path, Tokens: []int32{1}, Generate: n}}, WithKVCache("f32"))
	r := c.NewRunner()
	ours := make([][]float32, len(toks))
	for i, tok := range toks {
		ours[i] = slices.Clone(r.Forward(tok, i))
	}
	greedy := c.NewRunner().Greedy([]int32{1}, n)
	for _, run := range runs {
		s, err := CompareLogits(run.res[0].Probs, ours, TieMarginFloat)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("stories260K, run.c port vs llama.cpp %s: %v", run.variant, s)
		if s.ArgmaxAgree < 0.999 || float64(s.NearTies) > maxNearTies*float64(s.Positions) || !(s.MeanKL < 1e-4) {
			t.Errorf("llama.cpp %s and the run.c port disagree: %v", run.variant, s)
		}
		checkGreedy(t, run.res[1], greedy, TieMarginFloat)
	}
}
