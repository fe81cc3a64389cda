package tokenizer

import (
	"fmt"
	"unicode"
)

// Pre-tokenizers split text (as code points) into words before byte-level
// BPE. llama.cpp defines them as regular expressions applied one after the
// other, each to the pieces left by the previous one; Go's regexp has no
// lookahead, so each expression is implemented here as a small scanner that
// reproduces llama.cpp's matches (its hand-written splitters for the GPT-2
// and Llama-3 expressions, and std::regex's ECMAScript semantics for the
// others).

// splitFunc appends to ends the end offsets of the words of c[lo:hi], in
// order; the last one appended is hi.
type splitFunc func(c []rune, lo, hi int, ends []int) []int

type preTokenizer struct {
	name         string
	stages       []splitFunc
	ignoreMerges bool // emit a word as one token when it is in the vocabulary
}

// preSpec describes a llama.cpp pre-tokenizer type.
type preSpec struct {
	stages       []splitFunc
	clean        bool // llama.cpp clean_spaces
	ignoreMerges bool
	addBOS       bool // llama.cpp sets add_bos by default
}

var (
	gpt2Stages   = []splitFunc{splitGPT2}
	qwen2Stages  = []splitFunc{splitQwen2}
	llama3Stages = []splitFunc{splitLlama3}
	smollmStages = []splitFunc{splitNumbers, splitGPT2}
	// llama.cpp's default: [\p{P}\$\+<=>\^~\|]+ , the GPT-2 expression,
	// \p{N}+ , [0-9][0-9][0-9]
	defaultStages = []splitFunc{splitPunctRuns("$+<=>^~|"), splitGPT2, splitNumberRuns, splitDigitTriples}
	// falcon: [\p{P}\$\+<=>\^~\|`]+ , the GPT-2 expression, [0-9][0-9][0-9]
	falconStages = []splitFunc{splitPunctRuns("$+<=>^~|`"), splitGPT2, splitDigitTriples}
)

// preSpecs maps tokenizer.ggml.pre names to pre-tokenizers, with llama.cpp's
// per-name settings (llama-vocab.cpp).
var preSpecs = map[string]preSpec{
	// llama.cpp uses "default" when tokenizer.ggml.pre is absent.
	"":        {stages: defaultStages, clean: true},
	"default": {stages: defaultStages, clean: true},
	"falcon":  {stages: falconStages, clean: true},

	// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
	"gpt-2":           {stages: gpt2Stages, clean: true},
	"gpt2":            {stages: gpt2Stages, clean: true}, // alias, not a llama.cpp name
	"phi-2":           {stages: gpt2Stages, clean: true},
	"jina-es":         {stages: gpt2Stages, clean: true},
	"jina-de":         {stages: gpt2Stages, clean: true},
	"gigachat":        {stages: gpt2Stages, clean: true},
	"jina-v2-es":      {stages: gpt2Stages, clean: true},
	"jina-v2-de":      {stages: gpt2Stages, clean: true},
	"a.x-4.0":         {stages: gpt2Stages, clean: true},
	"mellum":          {stages: gpt2Stages, clean: true},
	"modern-bert":     {stages: gpt2Stages, clean: true},
	"exaone4":         {stages: gpt2Stages, clean: true},
	"mpt":             {stages: gpt2Stages, clean: true},
	"olmo":            {stages: gpt2Stages, clean: true},
	"jais":            {stages: gpt2Stages, clean: true},
	"trillion":        {stages: gpt2Stages},
	"granite-docling": {stages: gpt2Stages},

	// (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
	"qwen2":            {stages: qwen2Stages},
	"deepseek-r1-qwen": {stages: qwen2Stages},
	"kormo":            {stages: qwen2Stages},
	"f2llmv2":          {stages: qwen2Stages},
	"hunyuan":          {stages: qwen2Stages},
	"solar-open":       {stages: qwen2Stages},
	"megrez":           {stages: qwen2Stages, clean: true},
	"stablelm2":        {stages: qwen2Stages, clean: true},

	// \p{N}, then the GPT-2 expression
	"smollm":     {stages: smollmStages},
	"command-r":  {stages: smollmStages},
	"starcoder":  {stages: smollmStages, clean: true},
	"refact":     {stages: smollmStages, clean: true},
	"codeshell":  {stages: smollmStages, clean: true},
	"exaone":     {stages: smollmStages, clean: true},
	"minerva-7b": {stages: smollmStages, clean: true},
	"mellum2":    {stages: smollmStages, clean: true},

	// as qwen2 but \p{N}{1,3}
	"llama3":       {stages: llama3Stages, clean: true, ignoreMerges: true, addBOS: true},
	"llama-v3":     {stages: llama3Stages, clean: true, ignoreMerges: true, addBOS: true},
	"llama-bpe":    {stages: llama3Stages, clean: true, ignoreMerges: true, addBOS: true},
	"falcon3":      {stages: llama3Stages, clean: true, ignoreMerges: true, addBOS: true},
	"falcon-h1":    {stages: llama3Stages, clean: true, ignoreMerges: true, addBOS: true},
	"pixtral":      {stages: llama3Stages, clean: true, ignoreMerges: true, addBOS: true},
	"midm-2.0":     {stages: llama3Stages, clean: true, ignoreMerges: true, addBOS: true},
	"lfm2":         {stages: llama3Stages, clean: true, ignoreMerges: true, addBOS: true},
	"jina-v5-nano": {stages: llama3Stages, clean: true, ignoreMerges: true, addBOS: true},
	"dbrx":         {stages: llama3Stages, clean: true},
	"smaug-bpe":    {stages: llama3Stages, clean: true},
}

func lookupPre(name string) (preTokenizer, bool, error) {
	s, ok := preSpecs[name]
	if !ok {
		return preTokenizer{}, false, fmt.Errorf("tokenizer: unsupported pre-tokenizer %q for model \"gpt2\"", name)
	}
	return preTokenizer{name: name, stages: s.stages, ignoreMerges: s.ignoreMerges}, s.clean, nil
}

// split returns the end offsets of the words of c.
func (p preTokenizer) split(c []rune, ends []int) []int {
	ends = append(ends[:0], len(c))
	var next []int
	for _, f := range p.stages {
		next = next[:0]
		lo := 0
		for _, hi := range ends {
			next = f(c, lo, hi, next)
			lo = hi
		}
		ends, next = next, ends
	}
	return ends
}

// Code point classes, as llama.cpp's unicode flags and its collapsed
// std::regex classes agree on them: \s is the Unicode White_Space property,
// \p{L} and \p{N} the general categories.
const (
	clsOther uint8 = iota
	clsSpace
	clsLetter
	clsNumber
)

var asciiClass [128]uint8

func init() {
	for r := 0; r < 128; r++ {
		asciiClass[r] = slowClass(rune(r))
	}
}

func slowClass(r rune) uint8 {
	switch {
	case unicode.Is(unicode.White_Space, r):
		return clsSpace
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	}
	return clsOther
}

func class(r rune) uint8 {
	if r >= 0 && r < 128 {
		return asciiClass[r]
	}
	return slowClass(r)
}

// scanner holds one segment c[lo:hi] of a split; at returns the class of
// position i, or 255 outside the segment (llama.cpp's empty flags).
type scanner struct {
	c      []rune
	lo, hi int
}

const clsNone uint8 = 255

func (s scanner) cls(i int) uint8 {
	if i < s.lo || i >= s.hi {
		return clsNone
	}
	return class(s.c[i])
}

func (s scanner) cp(i int) rune {
	if i < s.lo || i >= s.hi {
		return -1
	}
	return s.c[i]
}

// contraction returns the length (2 or 3) of 's 't 're 've 'm 'll 'd at i,
// or 0. With fold, ASCII upper case letters match as well.
func (s scanner) contraction(i int, fold bool) int {
	if s.cp(i) != '\'' || i+1 >= s.hi {
		return 0
	}
	lower := func(r rune) rune {
		if fold && 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	n := lower(s.c[i+1])
	switch n {
	case 's', 't', 'm', 'd':
		return 2
	}
	if i+2 < s.hi {
		nn := lower(s.c[i+2])
		if (n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') || (n == 'l' && nn == 'l') {
			return 3
		}
	}
	return 0
}

// spaceRun returns the end of the run of whitespace starting at i and the
// position after the last \r or \n in it (0 if none).
func (s scanner) spaceRun(i int) (end, afterNL int) {
	end = i
	for s.cls(end) == clsSpace {
		if r := s.c[end]; r == '\r' || r == '\n' {
			afterNL = end + 1
		}
		end++
	}
	return end, afterNL
}

// splitGPT2 implements
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// as llama.cpp's unicode_regex_split_custom_gpt2.
func splitGPT2(c []rune, lo, hi int, ends []int) []int {
	s := scanner{c, lo, hi}
	for pos := lo; pos < hi; {
		if n := s.contraction(pos, false); n > 0 {
			pos += n
			ends = append(ends, pos)
			continue
		}
		cl := s.cls(pos)
		cl2 := cl
		if c[pos] == ' ' {
			cl2 = s.cls(pos + 1)
		}
		if cl2 == clsLetter || cl2 == clsNumber || cl2 == clsOther {
			// <space>?\p{L}+ , <space>?\p{N}+ , <space>?[^\s\p{L}\p{N}]+
			if c[pos] == ' ' {
				pos++
			}
			for s.cls(pos) == cl2 {
				pos++
			}
			ends = append(ends, pos)
			continue
		}
		end, _ := s.spaceRun(pos)
		switch {
		case end-pos > 1 && end < hi: // \s+(?!\S)
			pos = end - 1
		case end > pos: // \s+
			pos = end
		default:
			pos++
		}
		ends = append(ends, pos)
	}
	return ends
}

// splitQwen2 implements Qwen2's
//
//	(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// with ECMAScript semantics (first matching alternative, greedy with
// backtracking), as llama.cpp's std::regex fallback matches it.
func splitQwen2(c []rune, lo, hi int, ends []int) []int {
	return splitLlama3Like(c, lo, hi, ends, 1)
}

// splitLlama3 implements Llama-3's expression, which is Qwen2's with
// \p{N}{1,3} for \p{N}, as llama.cpp's unicode_regex_split_custom_llama3.
func splitLlama3(c []rune, lo, hi int, ends []int) []int {
	return splitLlama3Like(c, lo, hi, ends, 3)
}

func splitLlama3Like(c []rune, lo, hi int, ends []int, maxDigits int) []int {
	s := scanner{c, lo, hi}
	for pos := lo; pos < hi; {
		if n := s.contraction(pos, true); n > 0 {
			pos += n
			ends = append(ends, pos)
			continue
		}
		r, cl := c[pos], s.cls(pos)
		// [^\r\n\p{L}\p{N}]?\p{L}+
		if cl == clsLetter || (r != '\r' && r != '\n' && cl != clsNumber && s.cls(pos+1) == clsLetter) {
			pos++
			for s.cls(pos) == clsLetter {
				pos++
			}
			ends = append(ends, pos)
			continue
		}
		// \p{N}{1,maxDigits}
		if cl == clsNumber {
			n := 0
			for n < maxDigits && s.cls(pos) == clsNumber {
				pos++
				n++
			}
			ends = append(ends, pos)
			continue
		}
		// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
		start := pos
		if r == ' ' && s.cls(pos+1) == clsOther {
			start++
		}
		if s.cls(start) == clsOther {
			pos = start
			for s.cls(pos) == clsOther {
				pos++
			}
			for r := s.cp(pos); r == '\r' || r == '\n'; r = s.cp(pos) {
				pos++
			}
			ends = append(ends, pos)
			continue
		}
		end, afterNL := s.spaceRun(pos)
		switch {
		case afterNL > 0: // \s*[\r\n]+
			pos = afterNL
		case end-pos > 1 && end < hi: // \s+(?!\S)
			pos = end - 1
		case end > pos: // \s+(?!\S) at the end, or \s+
			pos = end
		default:
			pos++
		}
		ends = append(ends, pos)
	}
	return ends
}

// splitNumbers implements \p{N} as a std::regex split: every number code
// point is a word, and so is every run of other code points between them.
func splitNumbers(c []rune, lo, hi int, ends []int) []int {
	s := scanner{c, lo, hi}
	for pos := lo; pos < hi; {
		if s.cls(pos) == clsNumber {
			pos++
		} else {
			for pos < hi && s.cls(pos) != clsNumber {
				pos++
			}
		}
		ends = append(ends, pos)
	}
	return ends
}

// isPunct reports whether r is in \p{P} as llama.cpp's collapsed std::regex
// sees it (non-ASCII whitespace is never punctuation there).
func isPunct(r rune) bool {
	if r >= 0 && r < 128 {
		return unicode.IsPunct(r)
	}
	return !unicode.Is(unicode.White_Space, r) && unicode.IsPunct(r)
}

// splitPunctRuns returns a std::regex split by [\p{P}extra]+ (extra being
// ASCII characters): each run of such code points is a word, and so is each
// run of other code points between them.
func splitPunctRuns(extra string) splitFunc {
	var set [128]bool
	for i := 0; i < len(extra); i++ {
		set[extra[i]] = true
	}
	in := func(r rune) bool { return (r >= 0 && r < 128 && set[r]) || isPunct(r) }
	return func(c []rune, lo, hi int, ends []int) []int {
		for pos := lo; pos < hi; {
			want := in(c[pos])
			for pos < hi && in(c[pos]) == want {
				pos++
			}
			ends = append(ends, pos)
		}
		return ends
	}
}

// splitNumberRuns is a std::regex split by \p{N}+ .
func splitNumberRuns(c []rune, lo, hi int, ends []int) []int {
	for pos := lo; pos < hi; {
		want := class(c[pos]) == clsNumber
		for pos < hi && (class(c[pos]) == clsNumber) == want {
			pos++
		}
		ends = append(ends, pos)
	}
	return ends
}

// splitDigitTriples is a std::regex split by [0-9][0-9][0-9]: matches are
// found left to right without overlap; the text between them is a word too.
func splitDigitTriples(c []rune, lo, hi int, ends []int) []int {
	digit := func(i int) bool { return c[i] >= '0' && c[i] <= '9' }
	prev := lo
	for pos := lo; pos+3 <= hi; {
		if digit(pos) && digit(pos+1) && digit(pos+2) {
			if pos > prev {
				ends = append(ends, pos)
			}
			pos += 3
			ends = append(ends, pos)
			prev = pos
			continue
		}
		pos++
	}
	if prev < hi {
		ends = append(ends, hi)
	}
	return ends
}
