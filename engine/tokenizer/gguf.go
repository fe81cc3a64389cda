package tokenizer

import (
	"fmt"

	"github.com/lmgc/lmgc/engine/gguf"
)

// Metadata keys read by VocabFromGGUF.
const (
	keyModel          = "tokenizer.ggml.model"
	keyPre            = "tokenizer.ggml.pre"
	keyTokens         = "tokenizer.ggml.tokens"
	keyScores         = "tokenizer.ggml.scores"
	keyTypes          = "tokenizer.ggml.token_type"
	keyMerges         = "tokenizer.ggml.merges"
	keyBOS            = "tokenizer.ggml.bos_token_id"
	keyEOS            = "tokenizer.ggml.eos_token_id"
	keyUNK            = "tokenizer.ggml.unknown_token_id"
	keyPAD            = "tokenizer.ggml.padding_token_id"
	keyAddBOS         = "tokenizer.ggml.add_bos_token"
	keyAddEOS         = "tokenizer.ggml.add_eos_token"
	keyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
)

// DropVocab drops from f's metadata the arrays VocabFromGGUF read (token
// texts, scores, types, merges: several MB for a 50k vocabulary), once a
// Tokenizer is built from them; the Tokenizer keeps what it needs in its
// own form.
func DropVocab(f *gguf.File) {
	for _, k := range []string{keyTokens, keyScores, keyTypes, keyMerges} {
		f.DropValue(k)
	}
}

// VocabFromGGUF reads a tokenizer description from a GGUF file's
// tokenizer.ggml.* metadata, filling in what is absent with llama.cpp's
// defaults for the model ("llama": BOS 1, EOS 2, UNK 0, add BOS, add the
// space prefix; "gpt2": BOS and EOS 11, no UNK, no BOS added except for the
// Llama-3 family of pre-tokenizers).
func VocabFromGGUF(f *gguf.File) (Vocab, error) {
	var v Vocab
	model, ok := f.String(keyModel)
	if !ok {
		return v, fmt.Errorf("tokenizer: GGUF has no string %s", keyModel)
	}
	v.Model = model
	if _, present := f.Get(keyPre); present {
		if v.Pre, ok = f.String(keyPre); !ok {
			return v, fmt.Errorf("tokenizer: GGUF %s is not a string", keyPre)
		}
	}
	switch model {
	case "llama":
		v.BOS, v.EOS, v.UNK, v.PAD = 1, 2, 0, NoToken
		v.AddBOS, v.AddSpacePrefix = true, true
	case "gpt2":
		v.BOS, v.EOS, v.UNK, v.PAD = 11, 11, NoToken, NoToken
		if s, ok := preSpecs[v.Pre]; ok {
			v.AddBOS = s.addBOS
		}
	default:
		return v, fmt.Errorf("tokenizer: unsupported tokenizer model %q (want \"llama\" or \"gpt2\")", model)
	}

	if v.Tokens, ok = f.Strings(keyTokens); !ok {
		return v, fmt.Errorf("tokenizer: GGUF has no string array %s", keyTokens)
	}
	n := len(v.Tokens)
	if _, present := f.Get(keyScores); present {
		if v.Scores, ok = f.Float32s(keyScores); !ok {
			ints, ok := f.Int32s(keyScores)
			if !ok {
				return v, fmt.Errorf("tokenizer: GGUF %s is not a float32 or int32 array", keyScores)
			}
			v.Scores = make([]float32, len(ints))
			for i, x := range ints {
				v.Scores[i] = float32(x)
			}
		}
		if len(v.Scores) < n {
			return v, fmt.Errorf("tokenizer: GGUF %s has %d entries for %d tokens", keyScores, len(v.Scores), n)
		}
	}
	if _, present := f.Get(keyTypes); present {
		if v.Types, ok = f.Int32s(keyTypes); !ok {
			return v, fmt.Errorf("tokenizer: GGUF %s is not an int32 array", keyTypes)
		}
		if len(v.Types) < n {
			return v, fmt.Errorf("tokenizer: GGUF %s has %d entries for %d tokens", keyTypes, len(v.Types), n)
		}
	}
	if model == "gpt2" {
		if v.Merges, ok = f.Strings(keyMerges); !ok {
			return v, fmt.Errorf("tokenizer: GGUF has no string array %s (needed by model \"gpt2\")", keyMerges)
		}
	}

	for _, sp := range []struct {
		key string
		id  *int32
	}{{keyBOS, &v.BOS}, {keyEOS, &v.EOS}, {keyUNK, &v.UNK}, {keyPAD, &v.PAD}} {
		if int(*sp.id) >= n {
			*sp.id = NoToken
		}
		// As llama.cpp: an id out of range keeps the default.
		if x, ok := f.Int(sp.key); ok && x >= 0 && x < int64(n) {
			*sp.id = int32(x)
		}
	}
	for _, b := range []struct {
		key string
		p   *bool
	}{{keyAddBOS, &v.AddBOS}, {keyAddEOS, &v.AddEOS}, {keyAddSpacePrefix, &v.AddSpacePrefix}} {
		if x, ok := f.Bool(b.key); ok {
			*b.p = x
		}
	}
	return v, nil
}

// Load opens a GGUF file and builds its tokenizer.
func Load(path string) (*Tokenizer, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v, err := VocabFromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t, err := New(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
