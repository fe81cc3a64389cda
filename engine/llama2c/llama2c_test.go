package llama2c

import (
	"bytes"
	"encoding/binary"
	"github.com/lmgc/lmgc/internal/testenv"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

// checkpointBytes builds a llama2.c checkpoint with random weights. A
// negative vocab asks for a separate classifier.
func checkpointBytes(dim, hidden, layers, heads, kvHeads, vocab, seqLen int, seed uint64) []byte {
	var b []byte
	for _, v := range []int{dim, hidden, layers, heads, kvHeads, vocab, seqLen} {
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(v)))
	}
	_, n, err := parseHeader(b)
	if err != nil {
		panic(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for range n {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(r.NormFloat64()*0.3)))
	}
	return b
}

func TestReadLayout(t *testing.T) {
	for _, vocab := range []int{300, -300} {
		data := checkpointBytes(16, 40, 2, 4, 2, vocab, 32, 7)
		c, err := Read(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		want := Config{Dim: 16, HiddenDim: 40, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 300, SeqLen: 32, SharedClassifier: vocab > 0}
		if c.Config != want {
			t.Fatalf("config %+v, want %+v", c.Config, want)
		}
		// Walk the file in run.c's order and check every slice points at
		// the right floats.
		f := func(off int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(data[28+4*off:])) }
		off := 0
		check := func(name string, got []float32, n int) {
			t.Helper()
			if len(got) != n {
				t.Fatalf("%s: %d floats, want %d", name, len(got), n)
			}
			for i := range n {
				if got[i] != f(off+i) {
					t.Fatalf("%s[%d] = %v, want the float at %d", name, i, got[i], off+i)
				}
			}
			off += n
		}
		check("token_embedding", c.TokenEmbedding, 300*16)
		per := []struct {
			name string
			get  func(Layer) []float32
			n    int
		}{
			{"rms_att", func(l Layer) []float32 { return l.RMSAtt }, 16},
			{"wq", func(l Layer) []float32 { return l.WQ }, 16 * 16},
			{"wk", func(l Layer) []float32 { return l.WK }, 8 * 16},
			{"wv", func(l Layer) []float32 { return l.WV }, 8 * 16},
			{"wo", func(l Layer) []float32 { return l.WO }, 16 * 16},
			{"rms_ffn", func(l Layer) []float32 { return l.RMSFFN }, 16},
			{"w1", func(l Layer) []float32 { return l.W1 }, 40 * 16},
			{"w2", func(l Layer) []float32 { return l.W2 }, 16 * 40},
			{"w3", func(l Layer) []float32 { return l.W3 }, 40 * 16},
		}
		for _, p := range per {
			for _, l := range c.Layers {
				check(p.name, p.get(l), p.n)
			}
		}
		check("rms_final", c.RMSFinal, 16)
		off += 32 * 4 // freq_cis_real, freq_cis_imag
		if vocab < 0 {
			check("wcls", c.WCls, 300*16)
			if &c.Classifier()[0] != &c.WCls[0] {
				t.Error("Classifier is not WCls")
			}
		} else if c.WCls != nil || &c.Classifier()[0] != &c.TokenEmbedding[0] {
			t.Error("shared classifier is not the token embedding")
		}
		if 28+4*off != len(data) {
			t.Fatalf("walked %d bytes of %d", 28+4*off, len(data))
		}
	}
}

func TestReadErrors(t *testing.T) {
	good := checkpointBytes(8, 12, 1, 2, 1, 260, 4, 1)
	header := func(v ...int32) []byte {
		var b []byte
		for _, x := range v {
			b = binary.LittleEndian.AppendUint32(b, uint32(x))
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "shorter than the 28-byte header"},
		{"short header", good[:20], "shorter than the 28-byte header"},
		{"zero dim", header(0, 12, 1, 2, 1, 260, 4), "dim = 0 is out of range"},
		{"negative layers", header(8, 12, -1, 2, 1, 260, 4), "n_layers = -1 is out of range"},
		{"huge seq", header(8, 12, 1, 2, 1, 260, 1<<30), "seq_len = 1073741824 is out of range"},
		{"heads", header(8, 12, 1, 3, 1, 260, 4), "dim 8 is not a multiple of n_heads 3"},
		{"kv heads", header(8, 12, 1, 2, 4, 260, 4), "n_heads 2 is not a multiple of n_kv_heads 4"},
		{"odd head", header(6, 12, 1, 2, 1, 260, 4), "head size 3 is odd"},
		{"huge claim", header(1<<24, 1<<24, 1<<24, 1, 1, 1<<24, 1<<24), "claims more than"},
		{"truncated", good[:len(good)-4], "header describes 10400 bytes of weights but the file holds 10396"},
		{"trailing", append(slices.Clone(good), 0), "trailing data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	f.Add(checkpointBytes(8, 12, 1, 2, 1, 260, 4, 1))
	f.Add(checkpointBytes(8, 12, 2, 2, 2, -260, 4, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		// A checkpoint that reads must convert and read back.
		var buf bytes.Buffer
		if _, err := c.WriteGGUF(&buf, Options{}); err != nil {
			if c.VocabSize < 259 && strings.Contains(err.Error(), "byte tokens") {
				return
			}
			t.Fatal(err)
		}
		if _, err := gguf.Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVocab(t *testing.T) {
	tokens, scores, types, err := Vocab(512)
	if err != nil {
		t.Fatal(err)
	}
	if len(tokens) != 512 || len(scores) != 512 || len(types) != 512 {
		t.Fatal("wrong lengths")
	}
	for _, tc := range []struct {
		id  int
		tok string
		typ int32
	}{{0, "<unk>", tokUnknown}, {1, "<s>", tokControl}, {2, "</s>", tokControl},
		{3, "<0x00>", tokByte}, {3 + 0x61, "<0x61>", tokByte}, {258, "<0xFF>", tokByte}, {259, "<unused259>", tokUnused}, {511, "<unused511>", tokUnused}} {
		if tokens[tc.id] != tc.tok || types[tc.id] != tc.typ {
			t.Errorf("token %d = %q type %d, want %q type %d", tc.id, tokens[tc.id], types[tc.id], tc.tok, tc.typ)
		}
	}
	if _, _, _, err := Vocab(258); err == nil {
		t.Error("Vocab(258) succeeded")
	}
}

func TestWriteGGUF(t *testing.T) {
	for _, vocab := range []int{300, -300} {
		c, err := Read(bytes.NewReader(checkpointBytes(16, 40, 2, 4, 2, vocab, 32, 3)))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		n, err := c.WriteGGUF(&buf, Options{Name: "tiny"})
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(buf.Len()) {
			t.Errorf("WriteGGUF returned %d, wrote %d", n, buf.Len())
		}
		g, err := gguf.Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]int64{
			"llama.context_length": 32, "llama.embedding_length": 16, "llama.feed_forward_length": 40,
			"llama.block_count": 2, "llama.attention.head_count": 4, "llama.attention.head_count_kv": 2,
			"llama.rope.dimension_count": 4, "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2,
		} {
			if got, ok := g.Int(k); !ok || got != want {
				t.Errorf("%s = %d, %v; want %d", k, got, ok, want)
			}
		}
		if g.Architecture() != "llama" {
			t.Errorf("architecture %q", g.Architecture())
		}
		if s, _ := g.String("general.name"); s != "tiny" {
			t.Errorf("general.name %q", s)
		}
		if eps, _ := g.Float32("llama.attention.layer_norm_rms_epsilon"); eps != 1e-5 {
			t.Errorf("eps %v", eps)
		}
		if b, _ := g.Float32("llama.rope.freq_base"); b != 10000 {
			t.Errorf("rope base %v", b)
		}
		if toks, _ := g.Strings("tokenizer.ggml.tokens"); len(toks) != 300 || toks[3+'a'] != "<0x61>" {
			t.Errorf("tokens wrong (%d)", len(toks))
		}
		tensors := map[string]struct {
			x     []float32
			shape []int64
		}{
			"token_embd.weight":  {c.TokenEmbedding, []int64{16, 300}},
			"output_norm.weight": {c.RMSFinal, []int64{16}},
		}
		if vocab < 0 {
			tensors["output.weight"] = struct {
				x     []float32
				shape []int64
			}{c.WCls, []int64{16, 300}}
		} else if _, ok := g.Tensor("output.weight"); ok {
			t.Error("shared classifier written as output.weight")
		}
		for i, l := range c.Layers {
			p := "blk." + string(rune('0'+i)) + "."
			for name, x := range map[string]struct {
				x     []float32
				shape []int64
			}{
				"attn_norm.weight": {l.RMSAtt, []int64{16}}, "attn_q.weight": {l.WQ, []int64{16, 16}},
				"attn_k.weight": {l.WK, []int64{16, 8}}, "attn_v.weight": {l.WV, []int64{16, 8}},
				"attn_output.weight": {l.WO, []int64{16, 16}}, "ffn_norm.weight": {l.RMSFFN, []int64{16}},
				"ffn_gate.weight": {l.W1, []int64{16, 40}}, "ffn_down.weight": {l.W2, []int64{40, 16}},
				"ffn_up.weight": {l.W3, []int64{16, 40}},
			} {
				tensors[p+name] = x
			}
		}
		if got := len(g.Tensors); got != len(tensors) {
			t.Errorf("%d tensors, want %d", got, len(tensors))
		}
		for name, want := range tensors {
			ti, ok := g.Tensor(name)
			if !ok {
				t.Errorf("tensor %s missing", name)
				continue
			}
			if ti.Type != gguf.F32 || !slices.Equal(ti.Shape, want.shape) {
				t.Errorf("%s: type %v shape %v, want f32 %v", name, ti.Type, ti.Shape, want.shape)
			}
			data, err := g.TensorData(ti)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, f32Bytes(want.x)) {
				t.Errorf("%s: data differs", name)
			}
		}
	}
}

// stories260KGreedy is what llama2.c's own run.c (commit 350e04f, built
// with gcc -O2) prints at temperature 0 from BOS for stories260K.bin, with
// a tokenizer file whose pieces are " [id]".
var stories260KGreedy = []int32{461, 461, 401, 401, 401, 461, 378, 455, 473, 456, 435, 299, 362, 409, 283, 264, 283, 452, 288, 13,
	431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 293, 430, 417, 363, 416, 315, 342, 418}

func TestStories260K(t *testing.T) {
	f, err := os.Open(testenv.Shared(t, "models", "stories260K.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Dim: 64, HiddenDim: 172, NLayers: 5, NHeads: 8, NKVHeads: 4, VocabSize: 512, SeqLen: 512, SharedClassifier: true}
	if c.Config != want {
		t.Fatalf("config %+v, want %+v", c.Config, want)
	}
	if got := c.NewRunner().Greedy([]int32{1}, len(stories260KGreedy)); !slices.Equal(got, stories260KGreedy) {
		t.Errorf("greedy from BOS:\n got %v\nwant %v (run.c)", got, stories260KGreedy)
	}
}
