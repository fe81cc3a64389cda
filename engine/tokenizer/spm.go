package tokenizer

// SentencePiece-style tokenization (llama.cpp's llm_tokenizer_spm): the
// text is cut into UTF-8 characters, then the adjacent pair whose
// concatenation is a token with the highest score is merged, repeatedly,
// ties going to the leftmost pair. Symbols left that are not tokens are
// emitted as byte tokens.

// symbol is one node of the doubly linked list of text pieces.
type symbol struct {
	prev, next int // indices in the symbol slice, -1 at the ends
	off, n     int // byte range of the piece in the text; n == 0 once merged away
}

// spmBigram is a candidate merge of symbols left and right.
type spmBigram struct {
	left, right int
	score       float32
	size        int // byte length of the merged text, to detect stale entries
}

// before orders SentencePiece candidates: highest score first, ties to the
// smaller left index (the order of llama.cpp's priority queue comparator).
func (b spmBigram) before(o spmBigram) bool {
	return b.score > o.score || (b.score == o.score && b.left < o.left)
}

type spmSession struct {
	t    *Tokenizer
	text string
	syms []symbol
	heap priorityQueue[spmBigram]
}

func newSPM(t *Tokenizer) *spmSession { return &spmSession{t: t} }

// utf8Len is llama.cpp's unicode_len_utf8: the sequence length announced by
// a leading byte, without validation (continuation bytes count as 1).
func utf8Len(b byte) int {
	return [16]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}[b>>4]
}

// tokenize appends the ids of text (already space-escaped) to out.
func (s *spmSession) tokenize(text string, out []int32) []int32 {
	s.text = text
	if cap(s.syms) < len(text) {
		s.syms = make([]symbol, 0, len(text))
		s.heap = make(priorityQueue[spmBigram], 0, len(text))
	}
	s.syms = s.syms[:0]
	s.heap = s.heap[:0]
	n := len(text)
	for off := 0; off < n; {
		l := min(utf8Len(text[off]), n-off)
		idx := len(s.syms)
		next := idx + 1
		if off+l == n {
			next = -1
		}
		s.syms = append(s.syms, symbol{prev: idx - 1, next: next, off: off, n: l})
		off += l
	}
	for i := 1; i < len(s.syms); i++ {
		s.tryBigram(i-1, i)
	}
	for len(s.heap) > 0 {
		b := s.heap.pop()
		left, right := &s.syms[b.left], &s.syms[b.right]
		if left.n == 0 || right.n == 0 || left.n+right.n != b.size {
			continue
		}
		left.n += right.n
		right.n = 0
		left.next = right.next
		if right.next >= 0 {
			s.syms[right.next].prev = b.left
		}
		s.tryBigram(left.prev, b.left)
		s.tryBigram(b.left, left.next)
	}
	if len(s.syms) == 0 {
		return out
	}
	for i := 0; i != -1; i = s.syms[i].next {
		sym := s.syms[i]
		piece := text[sym.off : sym.off+sym.n]
		if id, ok := s.t.ids.get(piece); ok {
			out = append(out, id)
			continue
		}
		// Not a token: only unmerged single characters get here (every
		// merge produces a token), so fall back to bytes.
		for j := 0; j < len(piece); j++ {
			id := s.t.byteTok[piece[j]]
			if id == NoToken {
				id = s.t.v.UNK
			}
			if id != NoToken {
				out = append(out, id)
			}
		}
	}
	return out
}

func (s *spmSession) tryBigram(left, right int) {
	if left == -1 || right == -1 {
		return
	}
	l, r := s.syms[left], s.syms[right]
	text := s.text[l.off : l.off+l.n+r.n]
	id, ok := s.t.ids.get(text)
	if !ok {
		return
	}
	s.heap.push(spmBigram{left: left, right: right, score: s.t.scores[id], size: l.n + r.n})
}
