package tokenizer

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

// ggufWith writes a GGUF file holding the given metadata and parses it back.
func ggufWith(t *testing.T, kv map[string]any) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.AddKV(k, kv[k])
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestVocabFromGGUF(t *testing.T) {
	toks := []string{"<unk>", "<s>", "</s>", "▁a", "a"}
	base := func() map[string]any {
		return map[string]any{
			keyModel:  "llama",
			keyTokens: toks,
			keyScores: []float32{0, 0, 0, -1, -2},
			keyTypes:  []int32{2, 3, 3, 1, 1},
		}
	}

	v, err := VocabFromGGUF(ggufWith(t, base()))
	if err != nil {
		t.Fatal(err)
	}
	if v.BOS != 1 || v.EOS != 2 || v.UNK != 0 || v.PAD != NoToken || !v.AddBOS || v.AddEOS || !v.AddSpacePrefix {
		t.Errorf("llama defaults: %+v", v)
	}
	tok := mustNew(t, v)
	if got := tok.Encode("a", true); !slices.Equal(got, []int32{1, 3}) {
		t.Errorf("Encode = %v", got)
	}

	kv := base()
	kv[keyBOS] = uint32(2)
	kv[keyEOS] = uint32(99) // out of range: keeps the default, as llama.cpp
	kv[keyPAD] = uint32(0)
	kv[keyAddBOS] = false
	kv[keyAddEOS] = true
	kv[keyAddSpacePrefix] = false
	kv[keyScores] = []int32{0, 0, 0, -1, -2}
	v, err = VocabFromGGUF(ggufWith(t, kv))
	if err != nil {
		t.Fatal(err)
	}
	if v.BOS != 2 || v.EOS != 2 || v.PAD != 0 || v.AddBOS || !v.AddEOS || v.AddSpacePrefix || v.Scores[4] != -2 {
		t.Errorf("overrides: %+v", v)
	}

	kv = map[string]any{keyModel: "gpt2", keyPre: "llama-bpe", keyTokens: toks, keyMerges: []string{"▁ a"}}
	v, err = VocabFromGGUF(ggufWith(t, kv))
	if err != nil {
		t.Fatal(err)
	}
	if v.BOS != NoToken || v.EOS != NoToken || !v.AddBOS || v.AddSpacePrefix || len(v.Merges) != 1 {
		t.Errorf("gpt2 llama-bpe defaults (BOS 11 is out of range here): %+v", v)
	}

	for name, tc := range map[string]struct {
		mod  func(kv map[string]any)
		want string
	}{
		"no model":     {func(kv map[string]any) { delete(kv, keyModel) }, keyModel},
		"bad model":    {func(kv map[string]any) { kv[keyModel] = "t5" }, "unsupported tokenizer model"},
		"no tokens":    {func(kv map[string]any) { delete(kv, keyTokens) }, keyTokens},
		"bad tokens":   {func(kv map[string]any) { kv[keyTokens] = []int32{1} }, keyTokens},
		"short scores": {func(kv map[string]any) { kv[keyScores] = []float32{0} }, keyScores},
		"bad scores":   {func(kv map[string]any) { kv[keyScores] = "x" }, keyScores},
		"short types":  {func(kv map[string]any) { kv[keyTypes] = []int32{1, 1} }, keyTypes},
		"bad types":    {func(kv map[string]any) { kv[keyTypes] = []float32{1, 1, 1, 1, 1} }, keyTypes},
		"bad pre":      {func(kv map[string]any) { kv[keyPre] = uint32(1) }, keyPre},
		"no merges":    {func(kv map[string]any) { kv[keyModel] = "gpt2"; kv[keyPre] = "gpt-2" }, keyMerges},
	} {
		kv := base()
		tc.mod(kv)
		_, err := VocabFromGGUF(ggufWith(t, kv))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tc.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("/nonexistent/model.gguf"); err == nil {
		t.Error("Load of a missing file did not fail")
	}
}
