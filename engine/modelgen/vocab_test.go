package modelgen

import (
	"bytes"
	"flag"
	"github.com/lmgc/lmgc/internal/testenv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/lmgc/lmgc/engine/gguf"
)

var update = flag.Bool("update", false, "rebuild vocab/*.gguf.zst from ../shared/testdata/vocab")

// TestEmbeddedVocab checks that the embedded vocabularies hold exactly the
// tokenizer metadata of llama.cpp's vocab files (and rebuilds them with
// -update).
func TestEmbeddedVocab(t *testing.T) {
	for _, name := range []string{VocabLlamaSPM, VocabQwen2, VocabGPT2} {
		src := testenv.Shared(t, "testdata", "vocab", "ggml-vocab-"+name+".gguf")
		f, err := gguf.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		want := TokenizerKVs(f.KV)
		f.Close()
		if *update {
			w := gguf.NewWriter()
			for _, kv := range want {
				w.AddKV(kv.Key, kv.Value)
			}
			var raw bytes.Buffer
			if _, err := w.WriteTo(&raw); err != nil {
				t.Fatal(err)
			}
			enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
			if err != nil {
				t.Fatal(err)
			}
			z := enc.EncodeAll(raw.Bytes(), nil)
			if err := os.WriteFile(filepath.Join("vocab", name+".gguf.zst"), z, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes -> %d compressed", name, raw.Len(), len(z))
			continue
		}
		got, err := loadVocab(name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: embedded vocabulary differs from %s (run with -update)", name, src)
		}
	}
}

func TestVocabs(t *testing.T) {
	cases := []struct {
		name, model, pre string
		n                int
		bos, eos         int64
	}{
		{VocabLlamaSPM, "llama", "default", 32000, 1, 2},
		{VocabQwen2, "gpt2", "qwen2", 151936, 151643, 151643},
		{VocabGPT2, "gpt2", "gpt-2", 50257, 50256, 50256},
		{VocabSmolLM, "gpt2", "smollm", 49152, 49151, 49151},
	}
	for _, c := range cases {
		f, err := VocabFile(c.name)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := f.String("tokenizer.ggml.model")
		p, _ := f.String("tokenizer.ggml.pre")
		toks, _ := f.Strings("tokenizer.ggml.tokens")
		types, _ := f.Int32s("tokenizer.ggml.token_type")
		bos, _ := f.Int("tokenizer.ggml.bos_token_id")
		eos, _ := f.Int("tokenizer.ggml.eos_token_id")
		if m != c.model || p != c.pre || len(toks) != c.n || len(types) != c.n || bos != c.bos || eos != c.eos {
			t.Errorf("%s: model %q pre %q %d tokens %d types bos %d eos %d", c.name, m, p, len(toks), len(types), bos, eos)
		}
		if merges, ok := f.Strings("tokenizer.ggml.merges"); ok {
			index := make(map[string]bool, len(toks))
			for _, t := range toks {
				index[t] = true
			}
			for _, mg := range merges {
				a, b, _ := strings.Cut(mg, " ")
				if !index[a] || !index[b] {
					t.Fatalf("%s: merge %q uses a token outside the vocabulary", c.name, mg)
				}
			}
			if c.name == VocabSmolLM && len(merges) != 49152-1-256 {
				t.Errorf("smollm: %d merges, want %d", len(merges), 49152-1-256)
			}
		}
	}
	if _, err := Vocab("nope"); err == nil {
		t.Error("unknown vocabulary: no error")
	}
}
