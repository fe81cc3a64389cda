package tokenizer

import (
	"bufio"
	"fmt"
	"github.com/lmgc/lmgc/internal/testenv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// sharedDir returns ../shared next to the repository root, skipping the test
// when it is absent (as on a fresh clone).
func sharedDir(t testing.TB) string {
	t.Helper()
	return filepath.Dir(filepath.Dir(testenv.Shared(t, "testdata", "vocab")))
}

var (
	loadMu sync.Mutex
	loaded = map[string]*Tokenizer{}
)

// loadVocab loads (once per test binary) a vocab GGUF from shared/testdata/vocab.
func loadVocab(t testing.TB, name string) *Tokenizer {
	t.Helper()
	path := filepath.Join(sharedDir(t), "testdata", "vocab", name)
	loadMu.Lock()
	defer loadMu.Unlock()
	if tok, ok := loaded[path]; ok {
		return tok
	}
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	loaded[path] = tok
	return tok
}

type vocabCase struct {
	text string
	ids  []int32
}

// readCases reads llama.cpp's test-tokenizer-0 files: inputs separated by
// "\n__ggml_vocab_test__\n" in .inp (a trailing separator ends the last
// one), one line of space-separated ids per input in .out.
func readCases(t *testing.T, base string) []vocabCase {
	t.Helper()
	inp, err := os.ReadFile(base + ".inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(base + ".out")
	if err != nil {
		t.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	var texts []string
	for s := string(inp); s != ""; {
		i := strings.Index(s, sep)
		if i < 0 {
			texts = append(texts, s)
			break
		}
		texts = append(texts, s[:i])
		s = s[i+len(sep):]
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%s: %d inputs but %d output lines", base, len(texts), len(lines))
	}
	cases := make([]vocabCase, len(texts))
	for i, line := range lines {
		cases[i].text = texts[i]
		for _, f := range strings.Fields(line) {
			id, err := strconv.ParseInt(f, 10, 32)
			if err != nil {
				t.Fatalf("%s.out line %d: %v", base, i+1, err)
			}
			cases[i].ids = append(cases[i].ids, int32(id))
		}
	}
	return cases
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLlamaCppVocab checks every case of llama.cpp's test-tokenizer-0 for
// the SentencePiece, GPT-2 and Qwen2 vocabularies (add_special = false,
// parse_special = false, as that test calls it).
func TestLlamaCppVocab(t *testing.T) {
	for _, tc := range []struct {
		file, model, pre string
	}{
		{"ggml-vocab-llama-spm.gguf", "llama", "default"},
		{"ggml-vocab-gpt-2.gguf", "gpt2", "gpt-2"},
		{"ggml-vocab-qwen2.gguf", "gpt2", "qwen2"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			tok := loadVocab(t, tc.file)
			if tok.Model() != tc.model || tok.Pre() != tc.pre {
				t.Fatalf("model/pre = %q/%q, want %q/%q", tok.Model(), tok.Pre(), tc.model, tc.pre)
			}
			base := filepath.Join(sharedDir(t), "testdata", "vocab", tc.file)
			cases := readCases(t, base)
			for i, c := range cases {
				got := tok.Encode(c.text, false)
				if !equalIDs(got, c.ids) {
					t.Errorf("case %d %q:\n got %v\nwant %v", i, c.text, got, c.ids)
					continue
				}
				// Decoding gives the text back, up to llama.cpp's clean-up
				// of spaces for vocabularies that ask for it.
				dec, err := tok.Decode(got)
				if err != nil {
					t.Fatalf("case %d: %v", i, err)
				}
				want := c.text
				if tok.clean {
					want = cleanSpaces([]byte(want))
				}
				if dec != want {
					t.Errorf("case %d: Decode(Encode(%q)) = %q, want %q", i, c.text, dec, want)
				}
			}
		})
	}
}

// TestSerializationVectors checks the Llama-2 ids (with BOS) of the LM-GC
// serialization formats, produced by SentencePiece with the Llama-2
// tokenizer.model, against the llama-spm vocab GGUF (same vocabulary).
func TestSerializationVectors(t *testing.T) {
	tok := loadVocab(t, "ggml-vocab-llama-spm.gguf")
	f, err := os.Open(filepath.Join(sharedDir(t), "testdata", "serialization-vectors.txt"))
	if err != nil {
		t.Skipf("serialization vectors not available: %v", err)
	}
	defer f.Close()
	var text string
	var haveText bool
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "#") || trimmed == "":
		case strings.HasPrefix(trimmed, "ids="):
			if !haveText {
				t.Fatalf("ids line without a text: %q", line)
			}
			want := parseIDList(t, strings.TrimPrefix(trimmed, "ids="))
			got := tok.Encode(text, true)
			if !equalIDs(got, want) {
				t.Errorf("%q:\n got %v\nwant %v", text, got, want)
			}
			n++
		case strings.HasPrefix(line, " "):
			// pieces= and after-skip= lines
		default:
			// "<format>  '<python repr>'"
			i := strings.IndexAny(line, "'\"")
			if i < 0 {
				continue // e.g. the "float32 LE bytes:" line
			}
			s, err := parsePyRepr(line[i:])
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			text, haveText = s, true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no ids= lines found")
	}
}

func parseIDList(t *testing.T, s string) []int32 {
	t.Helper()
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	var ids []int32
	for _, f := range strings.Split(s, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil {
			t.Fatalf("bad id list %q: %v", s, err)
		}
		ids = append(ids, int32(id))
	}
	return ids
}

// parsePyRepr decodes a Python str repr ('...' or "...").
func parsePyRepr(s string) (string, error) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') {
		return "", fmt.Errorf("not a quoted string: %q", s)
	}
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == q:
			return b.String(), nil
		case c != '\\':
			r, n := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r)
			i += n
			continue
		}
		if i+1 >= len(s) {
			break
		}
		e := s[i+1]
		i += 2
		switch e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'x', 'u', 'U':
			w := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+w > len(s) {
				return "", fmt.Errorf("short \\%c escape in %q", e, s)
			}
			v, err := strconv.ParseUint(s[i:i+w], 16, 32)
			if err != nil {
				return "", err
			}
			b.WriteRune(rune(v)) // a Python str holds code points
			i += w
		default:
			return "", fmt.Errorf("unknown escape \\%c in %q", e, s)
		}
	}
	return "", fmt.Errorf("unterminated string %q", s)
}

// TestRoundTrip follows llama.cpp's test-tokenizer-1-spm/-bpe: every normal
// token's text, and every code point outside the surrogates and the
// unassigned planes 4-14, survives decode(encode(s)).
func TestRoundTrip(t *testing.T) {
	for _, file := range []string{"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-qwen2.gguf"} {
		t.Run(file, func(t *testing.T) {
			tok := loadVocab(t, file)
			check := func(what string, s string) {
				t.Helper()
				got, err := tok.Decode(tok.Encode(s, false))
				if err != nil {
					t.Fatal(err)
				}
				if got != s {
					t.Errorf("%s: Decode(Encode(%q)) = %q", what, s, got)
				}
			}
			for id := range int32(tok.VocabSize()) {
				if tok.TokenType(id) != TypeNormal {
					continue
				}
				s, err := tok.Decode([]int32{id})
				if err != nil {
					t.Fatal(err)
				}
				if !utf8.ValidString(s) {
					continue // part of a character: llama.cpp's test skips these too
				}
				check(fmt.Sprintf("token %d", id), s)
			}
			stride := rune(1)
			if testing.Short() {
				stride = 13
			}
			for cp := rune(0); cp < 0x110000; cp += stride {
				if (0xD800 <= cp && cp <= 0xDFFF) || (0x40000 <= cp && cp <= 0xE0000) || (tok.spm && cp == '▁') {
					continue
				}
				s := string(cp)
				if tok.clean {
					s = cleanSpaces([]byte(s))
				}
				check(fmt.Sprintf("code point %U", cp), s)
			}
		})
	}
}
