package modelgen

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/lmgc/lmgc/engine/gguf"
)

// The vocabularies ship inside the repository so that test models can be
// made on a fresh clone: vocab/<name>.gguf.zst is a zstd-compressed GGUF
// file holding only the tokenizer.* metadata of llama.cpp's
// models/ggml-vocab-<name>.gguf (llama.cpp, MIT licence), rebuilt with
//
//	go test ./engine/modelgen -run TestEmbeddedVocab -update
//
//go:embed vocab/*.gguf.zst
var vocabFS embed.FS

// Vocabulary names accepted by Vocab.
const (
	VocabLlamaSPM = "llama-spm" // 32,000-token SentencePiece vocabulary of Llama/Llama-2/TinyLlama/OpenLLaMA
	VocabQwen2    = "qwen2"     // 151,936-token byte-level BPE vocabulary of Qwen2/Qwen2.5
	VocabGPT2     = "gpt-2"     // 50,257-token byte-level BPE vocabulary of GPT-2
	VocabSmolLM   = "smollm"    // 49,152-token stand-in for SmolLM2's vocabulary, derived from GPT-2's
)

// SmolLMNote explains what the "smollm" vocabulary is.
const SmolLMNote = "SmolLM2's own vocabulary is not available here: this 49,152-token vocabulary is GPT-2's first 49,151 tokens and the merges among them, plus <|endoftext|> as token 49151 (BOS/EOS), with pre-tokenizer \"smollm\""

var vocabCache sync.Map // name -> []gguf.KV

// Vocab returns the tokenizer.* metadata of a built-in vocabulary, in the
// order llama.cpp's vocab files have it. The slices inside are shared: do
// not modify them.
func Vocab(name string) ([]gguf.KV, error) {
	if kv, ok := vocabCache.Load(name); ok {
		return kv.([]gguf.KV), nil
	}
	var kv []gguf.KV
	var err error
	if name == VocabSmolLM {
		kv, err = smolLMVocab()
	} else {
		kv, err = loadVocab(name)
	}
	if err != nil {
		return nil, err
	}
	vocabCache.Store(name, kv)
	return kv, nil
}

func loadVocab(name string) ([]gguf.KV, error) {
	z, err := vocabFS.ReadFile("vocab/" + name + ".gguf.zst")
	if err != nil {
		return nil, fmt.Errorf("modelgen: unknown vocabulary %q (have %s, %s, %s, %s)", name, VocabLlamaSPM, VocabQwen2, VocabGPT2, VocabSmolLM)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	raw, err := dec.DecodeAll(z, nil)
	if err != nil {
		return nil, fmt.Errorf("modelgen: vocabulary %s: %w", name, err)
	}
	f, err := gguf.Parse(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		return nil, fmt.Errorf("modelgen: vocabulary %s: %w", name, err)
	}
	return f.KV, nil
}

// TokenizerKVs returns the tokenizer.* pairs of kv.
func TokenizerKVs(kv []gguf.KV) []gguf.KV {
	var out []gguf.KV
	for _, p := range kv {
		if strings.HasPrefix(p.Key, "tokenizer.") {
			out = append(out, p)
		}
	}
	return out
}

// smolLMVocab derives the "smollm" vocabulary from GPT-2's (see SmolLMNote).
func smolLMVocab() ([]gguf.KV, error) {
	const n = 49152
	src, err := Vocab(VocabGPT2)
	if err != nil {
		return nil, err
	}
	get := func(key string) any {
		for _, p := range src {
			if p.Key == key {
				return p.Value
			}
		}
		return nil
	}
	tokens, _ := get("tokenizer.ggml.tokens").([]string)
	types, _ := get("tokenizer.ggml.token_type").([]int32)
	merges, _ := get("tokenizer.ggml.merges").([]string)
	if len(tokens) < n || len(types) != len(tokens) {
		return nil, fmt.Errorf("modelgen: GPT-2 vocabulary has %d tokens, %d types", len(tokens), len(types))
	}
	toks := append(append([]string(nil), tokens[:n-1]...), "<|endoftext|>")
	typ := append(append([]int32(nil), types[:n-1]...), 3) // control token
	have := make(map[string]bool, n)
	for _, t := range toks[:n-1] {
		have[t] = true
	}
	var mg []string
	for _, m := range merges {
		a, b, ok := strings.Cut(m, " ")
		if ok && have[a] && have[b] && have[a+b] {
			mg = append(mg, m)
		}
	}
	return []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: "gpt2"},
		{Key: "tokenizer.ggml.pre", Value: "smollm"},
		{Key: "tokenizer.ggml.tokens", Value: toks},
		{Key: "tokenizer.ggml.token_type", Value: typ},
		{Key: "tokenizer.ggml.merges", Value: mg},
		{Key: "tokenizer.ggml.bos_token_id", Value: uint32(n - 1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: uint32(n - 1)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: uint32(n - 1)},
		{Key: "tokenizer.ggml.add_bos_token", Value: false},
	}, nil
}

// VocabFile returns a built-in vocabulary as a tokenizer-only GGUF file held
// in memory (like llama.cpp's ggml-vocab-*.gguf files), for building a
// tokenizer without a model.
func VocabFile(name string) (*gguf.File, error) {
	kv, err := Vocab(name)
	if err != nil {
		return nil, err
	}
	w := gguf.NewWriter()
	for _, p := range kv {
		w.AddKV(p.Key, p.Value)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return nil, err
	}
	return gguf.Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
}
