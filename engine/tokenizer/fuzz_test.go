package tokenizer

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzVocabs are small vocabularies built in-test, so the fuzz target runs
// without the shared data.
func fuzzVocabs(t testing.TB) (spm, qwen, gpt2 *Tokenizer) {
	extra := []string{"▁", "▁▁", "a", "b", "ab", "ba", "▁a", "aba", "0", "00", "▁0", "é", "▁é"} // no merge may spell a control token such as "<s>"
	scores := make([]float32, len(extra))
	for i := range scores {
		scores[i] = -float32(i % 5)
	}
	spm = mustNew(t, spmVocab(extra, scores, nil))
	merges := []string{"a b", "b a", "ab a", "Ġ a", "Ġ Ġ", "0 0", "Ã ©", "Ċ Ċ"}
	qwen = mustNew(t, bpeVocab("qwen2", merges...))
	gpt2 = mustNew(t, bpeVocab("gpt-2", merges...))
	return spm, qwen, gpt2
}

// FuzzEncode checks that encoding never panics and that decoding gives the
// valid UTF-8 text back: exactly for SentencePiece (when the text has no
// literal "▁", which decodes to a space) and Qwen2 byte-level BPE, and up to
// llama.cpp's space clean-up for GPT-2.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", " ", "  ", "a", "ab ba", "\n\n x", "é", "\xff\xfe", "Hello, y'all!", "0000803f c364aaba", "<s>", "\xe2\x96"} {
		f.Add(s)
	}
	// Seed with llama.cpp's tokenizer test inputs when the shared data is there.
	if dir, err := os.Getwd(); err == nil {
		inp := filepath.Join(dir, "..", "..", "..", "shared", "testdata", "vocab", "ggml-vocab-llama-spm.gguf.inp")
		if b, err := os.ReadFile(inp); err == nil {
			for _, s := range strings.Split(string(b), "\n__ggml_vocab_test__\n") {
				f.Add(s)
			}
		}
	}
	spm, qwen, gpt2 := fuzzVocabs(f)
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range []*Tokenizer{spm, qwen, gpt2} {
			for _, add := range []bool{false, true} {
				ids := tok.Encode(s, add)
				for _, id := range ids {
					if id < 0 || int(id) >= tok.VocabSize() {
						t.Fatalf("%s/%s: id %d out of range", tok.Model(), tok.Pre(), id)
					}
				}
				if add {
					continue
				}
				got, err := tok.Decode(ids)
				if err != nil {
					t.Fatal(err)
				}
				want, check := s, true
				switch {
				case tok.spm:
					// Invalid UTF-8 can swallow bytes of an escaped space.
					check = utf8.ValidString(s) && !strings.Contains(s, "▁")
				case tok.clean:
					check = utf8.ValidString(s)
					want = cleanSpaces([]byte(s))
				default:
					check = utf8.ValidString(s)
				}
				if check && got != want {
					t.Fatalf("%s/%s: Decode(Encode(%q)) = %q (ids %v)", tok.Model(), tok.Pre(), s, got, ids)
				}
			}
		}
	})
}

// hexSpace returns about n bytes of LM-GC hex-space text (8 hex digits per
// float32, little-endian bytes, space separated) of gradient-like values.
func hexSpace(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	var b [4]byte
	for sb.Len() < n {
		if sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(r.NormFloat64()*1e-3)))
		sb.WriteString(hex.EncodeToString(b[:]))
	}
	return sb.String()
}

func benchEncode(b *testing.B, file string) {
	tok := loadVocab(b, file)
	text := hexSpace(1 << 20)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	var n int
	for b.Loop() {
		n = len(tok.Encode(text, true))
	}
	b.ReportMetric(float64(n), "tokens/op")
}

// BenchmarkEncodeHexSpaceLlama tokenizes 1 MB of hex-space text with the
// Llama (SentencePiece) vocabulary.
func BenchmarkEncodeHexSpaceLlama(b *testing.B) { benchEncode(b, "ggml-vocab-llama-spm.gguf") }

// BenchmarkEncodeHexSpaceQwen2 does the same with the Qwen2 vocabulary.
func BenchmarkEncodeHexSpaceQwen2(b *testing.B) { benchEncode(b, "ggml-vocab-qwen2.gguf") }

// BenchmarkEncodeHexSpaceGPT2 does the same with the GPT-2 vocabulary.
func BenchmarkEncodeHexSpaceGPT2(b *testing.B) { benchEncode(b, "ggml-vocab-gpt-2.gguf") }

// BenchmarkEncodeChunkLlama tokenizes one LM-GC chunk (512 bytes of floats
// as hex-space text, about 1150 bytes), the compressor's unit of work.
func BenchmarkEncodeChunkLlama(b *testing.B) {
	tok := loadVocab(b, "ggml-vocab-llama-spm.gguf")
	text := hexSpace(128*9 - 1)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		tok.Encode(text, true)
	}
}
