package tokenizer

import (
	"fmt"
	"unicode/utf8"
)

// Byte-level BPE (llama.cpp's llm_tokenizer_bpe): the text is split into
// words by the pre-tokenizer, each word's UTF-8 bytes are mapped to
// printable code points (GPT-2's bytes_to_unicode), and within each word the
// adjacent pair with the lowest merge rank is merged, repeatedly, ties going
// to the leftmost pair.

// byteRune is GPT-2's byte-to-unicode table; runeByte its inverse
// (indexed by code point, valid where runeByteOK).
var (
	byteRune   [256]rune
	byteUTF8   [256]string
	runeByte   [324]byte
	runeByteOK [324]bool
)

func init() {
	keep := func(b int) bool {
		return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	n := 0
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !keep(b) {
			r = rune(256 + n)
			n++
		}
		byteRune[b] = r
		byteUTF8[b] = string(r)
		runeByte[r] = byte(b)
		runeByteOK[r] = true
	}
}

// decodeByteLevel maps a byte-level token text back to bytes, as llama.cpp's
// llama_decode_text (code points outside the table are kept as an
// "[UNK_BYTE_0x..]" marker).
func decodeByteLevel(text string) string {
	out := make([]byte, 0, len(text))
	for _, r := range text {
		if r >= 0 && int(r) < len(runeByte) && runeByteOK[r] {
			out = append(out, runeByte[r])
			continue
		}
		out = append(out, "[UNK_BYTE_0x"...)
		for _, b := range []byte(string(r)) {
			out = fmt.Appendf(out, "%02x", b)
		}
		out = append(out, text...)
		out = append(out, ']')
	}
	return string(out)
}

// cpsFromUTF8 decodes text into code points as llama.cpp's
// unicode_cpts_from_utf8: sequences are decoded by their leading byte
// without checking for overlong forms or surrogates, and a byte that starts
// no complete sequence becomes U+FFFD.
func cpsFromUTF8(text string, c []rune) []rune {
	c = c[:0]
	for i := 0; i < len(text); {
		b0 := text[i]
		cont := func(k int) bool { return i+k < len(text) && text[i+k]&0xC0 == 0x80 }
		switch {
		case b0&0x80 == 0:
			c = append(c, rune(b0))
			i++
			continue
		case b0&0x40 == 0:
		case b0&0x20 == 0:
			if cont(1) {
				c = append(c, rune(b0&0x1F)<<6|rune(text[i+1]&0x3F))
				i += 2
				continue
			}
		case b0&0x10 == 0:
			if cont(1) && cont(2) {
				c = append(c, rune(b0&0x0F)<<12|rune(text[i+1]&0x3F)<<6|rune(text[i+2]&0x3F))
				i += 3
				continue
			}
		case b0&0x08 == 0:
			if cont(1) && cont(2) && cont(3) {
				c = append(c, rune(b0&0x07)<<18|rune(text[i+1]&0x3F)<<12|rune(text[i+2]&0x3F)<<6|rune(text[i+3]&0x3F))
				i += 4
				continue
			}
		}
		c = append(c, utf8.RuneError)
		i++
	}
	return c
}

// appendCp appends the UTF-8 encoding of a code point as llama.cpp's
// unicode_cpt_to_utf8 (surrogates are encoded like any other 3-byte code
// point). Code points above U+10FFFF, where llama.cpp throws, become U+FFFD.
func appendCp(dst []byte, r rune) []byte {
	switch {
	case r < 0:
		return utf8.AppendRune(dst, utf8.RuneError)
	case r <= 0x7F:
		return append(dst, byte(r))
	case r <= 0x7FF:
		return append(dst, 0xC0|byte(r>>6), 0x80|byte(r&0x3F))
	case r <= 0xFFFF:
		return append(dst, 0xE0|byte(r>>12), 0x80|byte(r>>6&0x3F), 0x80|byte(r&0x3F))
	case r <= 0x10FFFF:
		return append(dst, 0xF0|byte(r>>18), 0x80|byte(r>>12&0x3F), 0x80|byte(r>>6&0x3F), 0x80|byte(r&0x3F))
	}
	return utf8.AppendRune(dst, utf8.RuneError)
}

type bpeBigram struct {
	left, right int
	rank        int32
	size        int
}

// before orders BPE candidates: lowest rank first, ties to the smaller left index.
func (b bpeBigram) before(o bpeBigram) bool {
	return b.rank < o.rank || (b.rank == o.rank && b.left < o.left)
}

type bpeSession struct {
	t    *Tokenizer
	cps  []rune
	ends []int
	raw  []byte
	word []byte
	syms []symbol
	heap priorityQueue[bpeBigram]
}

func newBPE(t *Tokenizer) *bpeSession { return &bpeSession{t: t} }

// tokenize appends the ids of a raw-text fragment to out.
func (s *bpeSession) tokenize(text string, out []int32) []int32 {
	s.cps = cpsFromUTF8(text, s.cps)
	s.ends = s.t.pre.split(s.cps, s.ends)
	lo := 0
	for _, hi := range s.ends {
		s.raw = s.raw[:0]
		for _, r := range s.cps[lo:hi] {
			s.raw = appendCp(s.raw, r)
		}
		lo = hi
		s.word = s.word[:0]
		for _, b := range s.raw {
			s.word = append(s.word, byteUTF8[b]...)
		}
		out = s.merge(string(s.word), out)
	}
	return out
}

// merge applies the BPE merges to one byte-encoded word.
func (s *bpeSession) merge(word string, out []int32) []int32 {
	if s.t.pre.ignoreMerges {
		if id, ok := s.t.ids.get(word); ok {
			return append(out, id)
		}
	}
	s.syms = s.syms[:0]
	s.heap = s.heap[:0]
	for off := 0; off < len(word); {
		l := min(utf8Len(word[off]), len(word)-off)
		idx := len(s.syms)
		next := idx + 1
		if off+l == len(word) {
			next = -1
		}
		s.syms = append(s.syms, symbol{prev: idx - 1, next: next, off: off, n: l})
		off += l
	}
	for i := 1; i < len(s.syms); i++ {
		s.tryBigram(word, i-1, i)
	}
	for len(s.heap) > 0 {
		b := s.heap.pop()
		left, right := &s.syms[b.left], &s.syms[b.right]
		// A stale entry: one side merged away, or grown so that the pair
		// no longer spells the bigram's text.
		if left.n == 0 || right.n == 0 || left.n+right.n != b.size {
			continue
		}
		left.n += right.n
		right.n = 0
		left.next = right.next
		if right.next >= 0 {
			s.syms[right.next].prev = b.left
		}
		s.tryBigram(word, left.prev, b.left)
		s.tryBigram(word, b.left, left.next)
	}
	for _, sym := range s.syms {
		if sym.n == 0 {
			continue
		}
		piece := word[sym.off : sym.off+sym.n]
		if id, ok := s.t.ids.get(piece); ok {
			out = append(out, id)
			continue
		}
		// As llama.cpp: look each byte of the piece up as a one-byte
		// token, dropping those that are not.
		for j := 0; j < len(piece); j++ {
			if id, ok := s.t.ids.get(piece[j : j+1]); ok {
				out = append(out, id)
			}
		}
	}
	return out
}

func (s *bpeSession) tryBigram(word string, left, right int) {
	if left == -1 || right == -1 {
		return
	}
	l, r := s.syms[left], s.syms[right]
	rank, ok := s.t.rank(word[l.off:l.off+l.n], word[r.off:r.off+r.n])
	if !ok {
		return
	}
	s.heap.push(bpeBigram{left: left, right: right, rank: rank, size: l.n + r.n})
}
