// Package tokenizer implements the text tokenizers of GGUF language models
// the way llama.cpp does, so that token ids agree with llama.cpp's
// llama_tokenize bit for bit.
//
// Two tokenizer models are supported, chosen by the GGUF key
// tokenizer.ggml.model:
//
//   - "llama": SentencePiece-style BPE over Unicode characters (llama.cpp's
//     llm_tokenizer_spm). Spaces become "▁" (U+2581), a dummy-prefix space is
//     added at the start of each text fragment, adjacent symbols are merged by
//     highest token score, and characters that form no token fall back to
//     byte tokens <0xNN>.
//   - "gpt2": byte-level BPE with merge ranks (llama.cpp's llm_tokenizer_bpe).
//     Text is first split by a pre-tokenizer (tokenizer.ggml.pre: "gpt-2",
//     "qwen2", "smollm", "llama3", "default", "falcon" and the llama.cpp
//     names that share their expressions), each piece is
//     mapped through GPT-2's byte-to-unicode table, and merges are applied by
//     lowest rank.
//
// In both, user-defined tokens (type 4) found in the text are split out
// before tokenization, as llama.cpp does with parse_special = false; control
// tokens such as "<s>" in the text are tokenized as plain text.
package tokenizer

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Token types as stored in the GGUF key tokenizer.ggml.token_type
// (llama.cpp's llama_token_type).
const (
	TypeUndefined   int32 = 0
	TypeNormal      int32 = 1
	TypeUnknown     int32 = 2
	TypeControl     int32 = 3
	TypeUserDefined int32 = 4
	TypeUnused      int32 = 5
	TypeByte        int32 = 6
)

// Token attributes (llama.cpp's llama_token_attr), derived from the types.
const (
	attrUndefined uint8 = 0
	attrUnknown   uint8 = 1 << 0
	attrUnused    uint8 = 1 << 1
	attrNormal    uint8 = 1 << 2
	attrControl   uint8 = 1 << 3
	attrUser      uint8 = 1 << 4
	attrByte      uint8 = 1 << 5
)

// NoToken marks an absent special token id in a Vocab.
const NoToken int32 = -1

// Vocab is the tokenizer description read from a GGUF file's tokenizer.ggml.*
// keys (see VocabFromGGUF), or built by hand.
type Vocab struct {
	Model  string    // "llama" (SentencePiece) or "gpt2" (byte-level BPE)
	Pre    string    // pre-tokenizer name for "gpt2": "gpt-2", "qwen2", "smollm", ...
	Tokens []string  // token texts; the index is the id
	Scores []float32 // per-token scores (SentencePiece merge priority); nil means all 0
	Types  []int32   // per-token types (Type*); nil means all TypeNormal
	Merges []string  // BPE merges "left right", in rank order ("gpt2" only)

	BOS, EOS, UNK, PAD int32 // special ids, NoToken when absent

	AddBOS         bool // add BOS when Encode is called with addSpecial
	AddEOS         bool // add EOS when Encode is called with addSpecial
	AddSpacePrefix bool // "llama": add the dummy-prefix space; decoding strips it again
}

// mergeKey is a BPE merge's key: the symbol ids (symbolID) of its left and
// right parts, left in the high half. Keyed by two ids instead of two
// strings the rank table is a third of the size (SmolLM2's 48,900 merges:
// about 1 MB instead of 3-5 MB), with the same answers: two symbols have a
// rank exactly when both are merge parts and that pair is a merge.
type mergeKey uint64

func newMergeKey(left, right uint32) mergeKey { return mergeKey(uint64(left)<<32 | uint64(right)) }

// Tokenizer encodes text to token ids and back. It is safe for concurrent
// use once built.
type Tokenizer struct {
	v     Vocab
	spm   bool
	pre   preTokenizer // "gpt2" only
	clean bool         // llama.cpp clean_spaces for decoding

	ids     tokenIndex
	attr    []uint8
	scores  []float32
	pieces  []string           // llama.cpp token_to_piece(special=true) per id
	byteTok [256]int32         // SPM byte fallback <0xNN>, NoToken if absent
	ranks   map[mergeKey]int32 // BPE merge ranks
	// parts are the ids of merge parts that are not tokens (from
	// len(Tokens) on); a token's id is its own.
	parts   map[string]uint32
	special []int32 // user-defined tokens, longest text first
}

// New builds a tokenizer from a vocabulary. It checks the vocabulary for
// consistency (sizes, duplicate tokens, special ids) and returns an error
// naming the problem.
func New(v Vocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, errors.New("tokenizer: vocabulary has no tokens")
	}
	if n > 1<<31-1 {
		return nil, fmt.Errorf("tokenizer: vocabulary has %d tokens, more than int32 ids allow", n)
	}
	if v.Scores != nil && len(v.Scores) < n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(v.Scores), n)
	}
	if v.Types != nil && len(v.Types) < n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(v.Types), n)
	}
	t := &Tokenizer{v: v}
	switch v.Model {
	case "llama":
		t.spm = true
	case "gpt2":
		pre, clean, err := lookupPre(v.Pre)
		if err != nil {
			return nil, err
		}
		t.pre, t.clean = pre, clean
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q (want \"llama\" or \"gpt2\")", v.Model)
	}

	// Token texts: llama.cpp renames empty tokens and rejects duplicates.
	toks := make([]string, n)
	t.ids = newTokenIndex(toks)
	for i, s := range v.Tokens {
		if s == "" {
			s = fmt.Sprintf("[EMPTY_%d]", i)
		}
		toks[i] = s
		if j, ok := t.ids.add(int32(i)); !ok {
			return nil, fmt.Errorf("tokenizer: duplicate token %q with ids %d and %d", s, j, i)
		}
	}
	t.v.Tokens = toks

	t.scores = make([]float32, n)
	if v.Scores != nil {
		copy(t.scores, v.Scores[:n])
	}
	t.attr = make([]uint8, n)
	for i := range t.attr {
		typ := TypeNormal
		if v.Types != nil {
			typ = v.Types[i]
		}
		t.attr[i] = typeAttr(typ)
	}
	t.fixAttrs()

	for _, p := range []*int32{&t.v.BOS, &t.v.EOS, &t.v.UNK, &t.v.PAD} {
		if *p < 0 || int(*p) >= n {
			*p = NoToken
		}
	}
	if v.AddBOS && t.v.BOS == NoToken {
		return nil, fmt.Errorf("tokenizer: AddBOS is set but BOS id %d is not a token", v.BOS)
	}
	if v.AddEOS && t.v.EOS == NoToken {
		return nil, fmt.Errorf("tokenizer: AddEOS is set but EOS id %d is not a token", v.EOS)
	}

	for b := range t.byteTok {
		id, ok := t.ids.get(fmt.Sprintf("<0x%02X>", b))
		if !ok {
			id, ok = t.ids.get(string([]byte{byte(b)}))
		}
		if !ok {
			id = NoToken
		}
		t.byteTok[b] = id
	}

	if !t.spm {
		t.ranks = make(map[mergeKey]int32, len(v.Merges))
		part := func(s string) uint32 {
			if id, ok := t.symbolID(s); ok {
				return id
			}
			if t.parts == nil {
				t.parts = make(map[string]uint32)
			}
			id := uint32(n + len(t.parts)) // n < 2^31: no wrap below 2^31 parts
			t.parts[s] = id
			return id
		}
		for i, m := range v.Merges {
			// As llama.cpp: split at the first space after the first byte; a
			// merge without one maps the empty pair.
			left, right := "", ""
			if k := strings.IndexByte(m[min(1, len(m)):], ' '); k >= 0 {
				k += min(1, len(m))
				left, right = m[:k], m[k+1:]
			}
			key := newMergeKey(part(left), part(right))
			if _, ok := t.ranks[key]; !ok {
				t.ranks[key] = int32(i)
			}
		}
	}

	// Without parse_special llama.cpp splits out only the user-defined
	// tokens that are not also control or unknown.
	for id, a := range t.attr {
		if a&attrUser != 0 && a&(attrControl|attrUnknown) == 0 {
			t.special = append(t.special, int32(id))
		}
	}
	sort.SliceStable(t.special, func(i, j int) bool {
		return len(toks[t.special[i]]) > len(toks[t.special[j]])
	})

	t.pieces = make([]string, n)
	for id := range t.pieces {
		t.pieces[id] = t.piece(int32(id))
	}
	// Kept in their own form above (scores, attr, ranks): the caller's
	// arrays may go (DropVocab).
	t.v.Scores, t.v.Types, t.v.Merges = nil, nil, nil
	return t, nil
}

// symbolID returns the id of s as a BPE merge part: its token id, or its
// id in parts; false if s is neither (then no merge has it as a part).
func (t *Tokenizer) symbolID(s string) (uint32, bool) {
	if id, ok := t.ids.get(s); ok {
		return uint32(id), true
	}
	id, ok := t.parts[s]
	return id, ok
}

// rank returns the merge rank of the adjacent symbols left and right.
func (t *Tokenizer) rank(left, right string) (int32, bool) {
	l, ok := t.symbolID(left)
	if !ok {
		return 0, false
	}
	r, ok := t.symbolID(right)
	if !ok {
		return 0, false
	}
	rank, ok := t.ranks[newMergeKey(l, r)]
	return rank, ok
}

func typeAttr(typ int32) uint8 {
	switch typ {
	case TypeUnknown:
		return attrUnknown
	case TypeUnused:
		return attrUnused
	case TypeNormal:
		return attrNormal
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUser
	case TypeByte:
		return attrByte
	}
	return attrUndefined
}

// controlTexts are token texts llama.cpp marks as control tokens whatever
// their stored type (its end-of-generation auto-detection).
var controlTexts = []string{
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
	"<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
	"_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
	"<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
}

// userTexts are token texts llama.cpp always treats as user-defined.
var userTexts = []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}

// fixAttrs applies llama.cpp's text-based attribute overrides.
func (t *Tokenizer) fixAttrs() {
	for _, s := range controlTexts {
		if id, ok := t.ids.get(s); ok {
			t.attr[id] |= attrControl
		}
	}
	for _, s := range userTexts {
		if id, ok := t.ids.get(s); ok {
			t.attr[id] = attrUser
		}
	}
}

// piece is llama.cpp's token_to_piece with special = true and no lstrip.
func (t *Tokenizer) piece(id int32) string {
	a := t.attr[id]
	text := t.v.Tokens[id]
	if a&(attrUnknown|attrControl|attrUser) != 0 {
		return text
	}
	if a&attrNormal != 0 {
		if t.spm {
			return strings.ReplaceAll(text, "▁", " ")
		}
		return decodeByteLevel(text)
	}
	if a&attrByte != 0 {
		return string([]byte{tokenByte(text)})
	}
	return ""
}

// tokenByte parses a byte token "<0xNN>" like llama.cpp's strtol on the two
// hex digits (invalid digits end the number).
func tokenByte(text string) byte {
	if len(text) < 4 {
		return 0
	}
	s := text[3:min(5, len(text))]
	var b byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return b
		}
		b = b<<4 | d
	}
	return b
}

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.v.Tokens) }

// Model returns the tokenizer model name ("llama" or "gpt2").
func (t *Tokenizer) Model() string { return t.v.Model }

// Pre returns the pre-tokenizer name (empty for "llama").
func (t *Tokenizer) Pre() string { return t.v.Pre }

// BOS returns the beginning-of-sequence id, or NoToken.
func (t *Tokenizer) BOS() int32 { return t.v.BOS }

// EOS returns the end-of-sequence id, or NoToken.
func (t *Tokenizer) EOS() int32 { return t.v.EOS }

// AddBOS reports whether Encode(text, true) starts with BOS.
func (t *Tokenizer) AddBOS() bool { return t.v.AddBOS }

// TokenText returns the vocabulary text of a token ("▁Hello", "<0x0A>",
// "Ġthe"), or "" for an id out of range.
func (t *Tokenizer) TokenText(id int32) string {
	if id < 0 || int(id) >= len(t.v.Tokens) {
		return ""
	}
	return t.v.Tokens[id]
}

// TokenType returns a token's attribute class as a Type* constant, after
// llama.cpp's text-based overrides; TypeUndefined for an id out of range.
func (t *Tokenizer) TokenType(id int32) int32 {
	if id < 0 || int(id) >= len(t.attr) {
		return TypeUndefined
	}
	a := t.attr[id]
	switch {
	case a&attrUser != 0:
		return TypeUserDefined
	case a&attrControl != 0:
		return TypeControl
	case a&attrUnknown != 0:
		return TypeUnknown
	case a&attrByte != 0:
		return TypeByte
	case a&attrUnused != 0:
		return TypeUnused
	case a&attrNormal != 0:
		return TypeNormal
	}
	return TypeUndefined
}

// Piece returns the text a token stands for, as llama.cpp's token_to_piece
// with special tokens rendered: "▁" becomes a space, byte tokens become
// their single byte (possibly not valid UTF-8 on its own), control and
// user-defined tokens their text. It returns "" for an id out of range.
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// Encode tokenizes text as llama.cpp's llama_tokenize(text, add_special,
// parse_special = false). With addSpecial, BOS is prepended when the vocab
// says add_bos and EOS appended when it says add_eos.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int32 {
	out := make([]int32, 0, len(text)+2)
	if addSpecial && t.v.AddBOS {
		out = append(out, t.v.BOS)
	}
	frags := t.partition(text)
	if t.spm {
		prevSpecial := true
		var buf []byte
		s := newSPM(t)
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				prevSpecial = true
				continue
			}
			buf = buf[:0]
			if t.v.AddSpacePrefix && prevSpecial {
				buf = append(buf, "▁"...)
			}
			buf = appendEscaped(buf, text[f.lo:f.hi])
			out = s.tokenize(string(buf), out)
			prevSpecial = false
		}
	} else {
		b := newBPE(t)
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, f.tok)
				continue
			}
			out = b.tokenize(text[f.lo:f.hi], out)
		}
	}
	if addSpecial && t.v.AddEOS {
		out = append(out, t.v.EOS)
	}
	return out
}

// appendEscaped appends s with every space replaced by "▁".
func appendEscaped(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		dst = append(dst, "▁"...)
		s = s[i+1:]
	}
}

// fragment is a raw-text range [lo, hi) of the input, or a token (tok >= 0).
type fragment struct {
	lo, hi int
	tok    int32
}

// partition splits text at occurrences of user-defined tokens, longest
// token first, as llama.cpp's tokenizer_st_partition with parse_special =
// false. Empty input gives no fragments.
func (t *Tokenizer) partition(text string) []fragment {
	if text == "" {
		return nil
	}
	frags := []fragment{{0, len(text), -1}}
	if len(t.special) == 0 {
		return frags
	}
	var present [256]bool // bytes of text, to skip tokens quickly
	for i := 0; i < len(text); i++ {
		present[text[i]] = true
	}
	for _, id := range t.special {
		tok := t.v.Tokens[id]
		if !present[tok[0]] || !strings.Contains(text, tok) {
			continue
		}
		var next []fragment
		changed := false
		for _, f := range frags {
			if f.tok >= 0 {
				next = append(next, f)
				continue
			}
			lo := f.lo
			for lo < f.hi {
				k := strings.Index(text[lo:f.hi], tok)
				if k < 0 {
					break
				}
				changed = true
				if k > 0 {
					next = append(next, fragment{lo, lo + k, -1})
				}
				next = append(next, fragment{tok: id})
				lo += k + len(tok)
			}
			if lo < f.hi {
				next = append(next, fragment{lo, f.hi, -1})
			}
		}
		if changed {
			frags = next
		}
	}
	return frags
}

// Decode turns token ids back into text as llama.cpp's llama_detokenize
// with remove_special = true and unparse_special = false: a leading BOS and
// a trailing EOS are dropped when the vocab adds them, other control and
// unknown tokens produce nothing,
// byte tokens are reassembled into bytes, and, when the vocab adds a space
// prefix, one leading space of the first piece is removed (unless the ids
// start with BOS: llama.cpp then keeps it). Byte-level BPE vocabularies
// whose pre-tokenizer asks for it get llama.cpp's clean-up of spaces before
// punctuation. The result need not be valid UTF-8 when the ids split a
// character. It fails only for ids out of range.
func (t *Tokenizer) Decode(ids []int32) (string, error) {
	var sb strings.Builder
	removeSpace := t.v.AddSpacePrefix
	if len(ids) > 0 && t.v.AddBOS && ids[0] == t.v.BOS {
		removeSpace = false
		ids = ids[1:]
	}
	if len(ids) > 0 && t.v.AddEOS && ids[len(ids)-1] == t.v.EOS {
		ids = ids[:len(ids)-1]
	}
	for i, id := range ids {
		if id < 0 || int(id) >= len(t.pieces) {
			return "", fmt.Errorf("tokenizer: token id %d at position %d out of range [0, %d)", id, i, len(t.pieces))
		}
		p := t.pieces[id]
		if t.attr[id]&(attrUnknown|attrControl) != 0 {
			p = ""
		}
		if removeSpace && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		removeSpace = false
		sb.WriteString(p)
	}
	if !t.clean {
		return sb.String(), nil
	}
	return cleanSpaces([]byte(sb.String())), nil
}

// cleanSpaces is llama.cpp's clean_spaces post-processing of decoded text:
// " ?", " !", " .", " ," lose the space, a lone " ' " loses both spaces, and
// " 's", " 'm", " 're", " 've" lose the space.
func cleanSpaces(text []byte) string {
	// first pass: space before ?!.,
	n := len(text)
	total := min(n, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if text[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			total--
		}
		text[total] = x
		total++
	}
	// second pass: single apostrophe between spaces
	n = total
	total = min(n, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if x == '\'' && i+1 < n && text[i-1] == ' ' && text[i+1] == ' ' {
			total--
			i++
			text[i] = 0
		}
		text[total] = x
		total++
	}
	// third pass: apostrophe contractions
	n = total
	total = min(n, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if text[i-1] == ' ' && x == '\'' && i+1 < n {
			x1 := text[i+1]
			switch {
			case x1 == 't' || x1 == 'd':
			case x1 == 's' || x1 == 'm':
				total--
			case i+2 < n:
				x2 := text[i+2]
				if (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e') {
					total--
				}
			}
		}
		text[total] = x
		total++
	}
	return string(text[:total])
}
