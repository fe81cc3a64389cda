package tokenizer

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// spmVocab builds a small SentencePiece vocabulary: <unk>, <s>, </s>, the
// 256 byte tokens (ids 3..258), then the given normal tokens with scores.
func spmVocab(extra []string, scores []float32, types []int32) Vocab {
	v := Vocab{Model: "llama", BOS: 1, EOS: 2, UNK: 0, PAD: NoToken, AddBOS: true, AddSpacePrefix: true}
	v.Tokens = []string{"<unk>", "<s>", "</s>"}
	v.Types = []int32{TypeUnknown, TypeControl, TypeControl}
	for b := 0; b < 256; b++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("<0x%02X>", b))
		v.Types = append(v.Types, TypeByte)
	}
	v.Scores = make([]float32, len(v.Tokens))
	v.Tokens = append(v.Tokens, extra...)
	v.Scores = append(v.Scores, scores...)
	for i := range extra {
		typ := TypeNormal
		if types != nil {
			typ = types[i]
		}
		v.Types = append(v.Types, typ)
	}
	return v
}

func mustNew(t testing.TB, v Vocab) *Tokenizer {
	t.Helper()
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// ids maps token texts to ids, failing on unknown texts.
func idsOf(t *testing.T, tok *Tokenizer, texts ...string) []int32 {
	t.Helper()
	var out []int32
	for _, s := range texts {
		id, ok := tok.ids.get(s)
		if !ok {
			t.Fatalf("no token %q", s)
		}
		out = append(out, id)
	}
	return out
}

func TestSPMEncode(t *testing.T) {
	extra := []string{"▁", "a", "b", "c", "ab", "bc", "▁a", "abc", "x", "y", "xy", "yx", "▁x", "<tag>"}
	scores := []float32{-5, -6, -6, -6, -1, -2, -3, -0.5, -6, -6, -1, -1, -4, 0}
	types := make([]int32, len(extra))
	for i := range types {
		types[i] = TypeNormal
	}
	types[len(types)-1] = TypeUserDefined
	tok := mustNew(t, spmVocab(extra, scores, types))

	for _, tc := range []struct {
		text       string
		addSpecial bool
		want       []string
	}{
		{"", false, nil},
		{"", true, []string{"<s>"}},
		// "ab" (-1) beats "▁a" (-3); then "abc" (-0.5).
		{"abc", false, []string{"▁", "abc"}},
		{"abc", true, []string{"<s>", "▁", "abc"}},
		// "xy" and "yx" tie: the leftmost pair merges first.
		{"xyx", false, []string{"▁", "xy", "x"}},
		{"a", false, []string{"▁a"}},
		// spaces become ▁; "▁b" is no token.
		{"a b", false, []string{"▁a", "▁", "b"}},
		// unknown characters fall back to bytes.
		{"é", false, []string{"▁", "<0xC3>", "<0xA9>"}},
		{"\n", false, []string{"▁", "<0x0A>"}},
		// user-defined tokens are split out; the text after one gets the
		// space prefix again, as in llama.cpp.
		{"a<tag>b", false, []string{"▁a", "<tag>", "▁", "b"}},
		{"<tag>", false, []string{"<tag>"}},
		// control tokens in the text are plain text.
		{"<s>", false, []string{"▁", "<0x3C>", "<0x73>", "<0x3E>"}},
	} {
		got := tok.Encode(tc.text, tc.addSpecial)
		want := idsOf(t, tok, tc.want...)
		if !slices.Equal(got, want) {
			t.Errorf("Encode(%q, %v) = %v, want %v %v", tc.text, tc.addSpecial, got, want, tc.want)
		}
	}
}

func TestSPMNoSpacePrefix(t *testing.T) {
	v := spmVocab([]string{"▁", "a", "b", "▁b"}, []float32{-1, -1, -1, -1}, nil)
	v.AddSpacePrefix = false
	tok := mustNew(t, v)
	got := tok.Encode("a b", false)
	if want := idsOf(t, tok, "a", "▁b"); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if s, _ := tok.Decode(got); s != "a b" {
		t.Errorf("Decode = %q", s)
	}
}

func TestSPMDecode(t *testing.T) {
	v := spmVocab([]string{"▁", "▁a", "b"}, []float32{-1, -1, -1}, []int32{TypeNormal, TypeNormal, TypeUnused})
	v.AddEOS = true
	tok := mustNew(t, v)
	for _, tc := range []struct {
		ids  []string
		want string
	}{
		{nil, ""},
		{[]string{"▁a"}, "a"},                           // the dummy-prefix space is removed
		{[]string{"<s>", "▁a"}, " a"},                   // ...but not after BOS, as llama.cpp
		{[]string{"<s>", "▁a", "</s>"}, " a"},           // control tokens render as nothing
		{[]string{"▁a", "▁a"}, "a a"},                   // only the first piece loses its space
		{[]string{"<0xC3>", "<0xA9>", "▁a"}, "é a"},     // bytes are reassembled
		{[]string{"<unk>", "▁a"}, " a"},                 // unknown renders as nothing and uses up the strip
		{[]string{"▁a", "b"}, "a"},                      // unused tokens render as nothing
		{[]string{"▁", "▁", "<0x0A>"}, " \n"},           // "▁" pieces
		{[]string{"<0xFF>"}, "\xff"},                    // a lone byte need not be UTF-8
		{[]string{"</s>", "▁a"}, " a"},                  // EOS first is not removed
		{[]string{"▁a", "</s>", "</s>"}, "a"},           // only one trailing EOS is removed, the other renders empty
		{[]string{"<s>", "<s>", "▁a"}, " a"},            //
		{[]string{"▁a", "<s>", "▁a", "<0x41>"}, "a aA"}, //
	} {
		got, err := tok.Decode(idsOf(t, tok, tc.ids...))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("Decode(%v) = %q, want %q", tc.ids, got, tc.want)
		}
	}
	if _, err := tok.Decode([]int32{0, int32(tok.VocabSize())}); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("Decode of a bad id: err = %v", err)
	}
	if _, err := tok.Decode([]int32{-1}); err == nil {
		t.Error("Decode(-1) did not fail")
	}
	for id, want := range map[int32]string{1: "<s>", 3 + 0x41: "A", 259: " ", 260: " a", -1: "", 1 << 20: ""} {
		if got := tok.Piece(id); got != want {
			t.Errorf("Piece(%d) = %q, want %q", id, got, want)
		}
	}
}

// bpeVocab builds a byte-level vocabulary: the 256 byte characters in
// byte order (id = byte), then one token per merge result.
func bpeVocab(pre string, merges ...string) Vocab {
	v := Vocab{Model: "gpt2", Pre: pre, BOS: NoToken, EOS: NoToken, UNK: NoToken, PAD: NoToken}
	for b := 0; b < 256; b++ {
		v.Tokens = append(v.Tokens, byteUTF8[b])
	}
	for _, m := range merges {
		v.Tokens = append(v.Tokens, strings.Replace(m, " ", "", 1))
	}
	v.Merges = merges
	return v
}

func TestBPEEncode(t *testing.T) {
	tok := mustNew(t, bpeVocab("gpt-2", "h e", "l l", "he ll", "hell o", "Ġ w", "a b", "b c"))
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"hello world", []string{"hello", "Ġw", "o", "r", "l", "d"}},
		{"abc", []string{"ab", "c"}}, // rank 5 before rank 6
		{"\n", []string{"Ċ"}},
		{"é", []string{"Ã", "©"}},
		{"\xff", []string{"ï", "¿", "½"}}, // invalid UTF-8 becomes U+FFFD, as llama.cpp
	} {
		got := tok.Encode(tc.text, false)
		want := idsOf(t, tok, tc.want...)
		if !slices.Equal(got, want) {
			t.Errorf("Encode(%q) = %v, want %v %v", tc.text, got, want, tc.want)
		}
		if !strings.Contains(tc.text, "\xff") {
			if s, err := tok.Decode(got); err != nil || s != tc.text {
				t.Errorf("Decode(Encode(%q)) = %q, %v", tc.text, s, err)
			}
		}
	}
	tok = mustNew(t, bpeVocab("gpt-2", "b c", "a b"))
	if got, want := tok.Encode("abc", false), idsOf(t, tok, "a", "bc"); !slices.Equal(got, want) {
		t.Errorf("reversed ranks: got %v, want %v", got, want)
	}
}

// TestBPEMergePartNotToken checks merges through a symbol that is not a
// token (llama.cpp keys its ranks by the parts' text, so such a merge
// applies): "a b" makes "ab", which is no token, and "ab c" then makes
// the token "abc"; without the second merge "ab" falls back to its bytes.
func TestBPEMergePartNotToken(t *testing.T) {
	v := bpeVocab("gpt-2", "a b", "ab c")
	v.Tokens = slices.DeleteFunc(v.Tokens, func(s string) bool { return s == "ab" })
	tok := mustNew(t, v)
	if _, ok := tok.ids.get("ab"); ok {
		t.Fatal("ab is a token")
	}
	if got, want := tok.Encode("abc", false), idsOf(t, tok, "abc"); !slices.Equal(got, want) {
		t.Errorf("Encode(abc) = %v, want %v", got, want)
	}
	if got, want := tok.Encode("abd", false), idsOf(t, tok, "a", "b", "d"); !slices.Equal(got, want) {
		t.Errorf("Encode(abd) = %v, want %v", got, want)
	}
}

func TestBPESpecials(t *testing.T) {
	v := bpeVocab("qwen2", "a b")
	v.Tokens = append(v.Tokens, "<|im_end|>", "<|endoftext|>", "[PAD1]")
	v.Types = make([]int32, len(v.Tokens))
	for i := range v.Types {
		v.Types[i] = TypeNormal
	}
	v.Types[len(v.Types)-1] = TypeUserDefined
	v.Types[len(v.Types)-3] = TypeUserDefined // made control by llama.cpp's override
	imEnd := int32(len(v.Tokens) - 3)
	eot := int32(len(v.Tokens) - 2)
	v.BOS, v.EOS = eot, eot
	v.AddEOS = true
	tok := mustNew(t, v)
	if tok.TokenType(eot) != TypeControl {
		t.Errorf("<|endoftext|> type %d, want control (llama.cpp's override)", tok.TokenType(eot))
	}
	got := tok.Encode("ab[PAD1]ab", true)
	want := append(idsOf(t, tok, "ab", "[PAD1]", "ab"), eot)
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if s, _ := tok.Decode(got); s != "ab[PAD1]ab" {
		t.Errorf("Decode = %q", s)
	}
	// A control token's text is not split out without parse_special.
	if got := tok.Encode("<|endoftext|>", false); slices.Contains(got, eot) {
		t.Errorf("control token text encoded as the token: %v", got)
	}
	if got := tok.Encode("<|im_end|>", false); slices.Contains(got, imEnd) {
		t.Errorf("user-defined token made control is split out: %v", got)
	}
}

func TestPreTokenizers(t *testing.T) {
	for _, tc := range []struct {
		pre, text string
		want      []string
	}{
		{"gpt-2", "Hello world", []string{"Hello", " world"}},
		{"gpt-2", "  Hello", []string{" ", " Hello"}},
		{"gpt-2", "I'm 33 years", []string{"I", "'m", " 33", " years"}},
		{"gpt-2", "IT'S", []string{"IT", "'", "S"}},
		{"gpt-2", "a  \n b", []string{"a", "  \n", " b"}},
		{"gpt-2", "hi!!  ", []string{"hi", "!!", "  "}},
		{"gpt-2", "x ,y", []string{"x", " ,", "y"}},
		{"gpt-2", "x\u00a0\u00a0y", []string{"x", "\u00a0", "\u00a0", "y"}},
		{"qwen2", "IT'S", []string{"IT", "'S"}},
		{"qwen2", "3333", []string{"3", "3", "3", "3"}},
		{"qwen2", "Hello\n\nworld", []string{"Hello", "\n\n", "world"}},
		{"qwen2", "a  \n b", []string{"a", "  \n", " b"}},
		{"qwen2", "x!!\n\ny", []string{"x", "!!\n\n", "y"}},
		{"qwen2", "¿Qué?", []string{"¿Qué", "?"}},
		{"qwen2", "\tHello  ", []string{"\tHello", "  "}},
		{"qwen2", "a   b", []string{"a", "  ", " b"}},
		{"qwen2", "a \t1", []string{"a", " ", "\t", "1"}},
		{"qwen2", "0000803f c364aaba", []string{"0", "0", "0", "0", "8", "0", "3", "f", " c", "3", "6", "4", "aaba"}},
		{"llama3", "12345", []string{"123", "45"}},
		{"llama3", "IT'S", []string{"IT", "'S"}},
		{"smollm", "abc123 def", []string{"abc", "1", "2", "3", " def"}},
		{"smollm", "x 12", []string{"x", " ", "1", "2"}},
		{"gpt-2", "x 12", []string{"x", " 12"}},
		{"default", "a+=b", []string{"a", "+=", "b"}},
		{"default", "x 12345", []string{"x", " ", "123", "45"}},
		{"default", "x12345678", []string{"x", "123", "456", "78"}},
		{"default", "a`b", []string{"a", "`", "b"}},
		{"default", "¿Qué?", []string{"¿", "Qué", "?"}},
		{"falcon", "a`b 1234", []string{"a", "`", "b", " ", "123", "4"}},
		{"", "a  ,b", []string{"a", "  ", ",", "b"}}, // a segment's end counts as the end of text
	} {
		p, _, err := lookupPre(tc.pre)
		if err != nil {
			t.Fatal(err)
		}
		c := []rune(tc.text)
		var got []string
		lo := 0
		for _, hi := range p.split(c, nil) {
			got = append(got, string(c[lo:hi]))
			lo = hi
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s %q: got %q, want %q", tc.pre, tc.text, got, tc.want)
		}
	}
}

func TestCleanSpaces(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"a , b .":           "a, b.",
		"don 't":            "don 't",
		"it 's we 're I 'm": "it's we're I'm",
		"a ' b":             "a'b",
		" ?":                "?",
		"x":                 "x",
	} {
		if got := cleanSpaces([]byte(in)); got != want {
			t.Errorf("cleanSpaces(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	good := spmVocab([]string{"a"}, []float32{0}, nil)
	for name, tc := range map[string]struct {
		mod  func(v *Vocab)
		want string
	}{
		"empty":      {func(v *Vocab) { v.Tokens = nil }, "no tokens"},
		"model":      {func(v *Vocab) { v.Model = "bert" }, "unsupported tokenizer model"},
		"pre":        {func(v *Vocab) { v.Model, v.Pre = "gpt2", "nonesuch" }, "unsupported pre-tokenizer"},
		"scores":     {func(v *Vocab) { v.Scores = v.Scores[:3] }, "scores"},
		"types":      {func(v *Vocab) { v.Types = v.Types[:3] }, "token types"},
		"duplicate":  {func(v *Vocab) { v.Tokens = append(slices.Clone(v.Tokens[:len(v.Tokens)-1]), "<s>") }, "duplicate token"},
		"bos absent": {func(v *Vocab) { v.BOS = 1 << 20 }, "AddBOS"},
	} {
		v := good
		tc.mod(&v)
		_, err := New(v)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tc.want)
		}
	}
}

func TestEmptyTokenRenamed(t *testing.T) {
	v := spmVocab([]string{"", "a"}, []float32{0, 0}, nil)
	tok := mustNew(t, v)
	if got := tok.TokenText(259); got != "[EMPTY_259]" {
		t.Errorf("empty token text %q", got)
	}
}

// TestConcurrentEncode checks that one Tokenizer serves several goroutines
// (run with -race).
func TestConcurrentEncode(t *testing.T) {
	spm, qwen, gpt2 := fuzzVocabs(t)
	texts := []string{"ab ba aba", "0000803f c364aaba", "é a\n\nb", ""}
	for _, tok := range []*Tokenizer{spm, qwen, gpt2} {
		want := make([][]int32, len(texts))
		for i, s := range texts {
			want[i] = tok.Encode(s, true)
		}
		done := make(chan error)
		for g := 0; g < 4; g++ {
			go func() {
				for k := 0; k < 50; k++ {
					for i, s := range texts {
						if got := tok.Encode(s, true); !slices.Equal(got, want[i]) {
							done <- fmt.Errorf("%q: got %v, want %v", s, got, want[i])
							return
						}
					}
				}
				done <- nil
			}()
		}
		for g := 0; g < 4; g++ {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
}
