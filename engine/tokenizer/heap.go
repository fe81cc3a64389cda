package tokenizer

// prioritized is an element of a priorityQueue: x.before(y) when x must come
// out first.
type prioritized[T any] interface {
	before(other T) bool
}

// priorityQueue is a binary heap of merge candidates, shared by the
// SentencePiece and BPE tokenizers (which order their candidates
// differently through before).
type priorityQueue[T prioritized[T]] []T

func (h *priorityQueue[T]) push(b T) {
	*h = append(*h, b)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !s[i].before(s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *priorityQueue[T]) pop() T {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(s) {
			break
		}
		m := l
		if r := l + 1; r < len(s) && s[r].before(s[l]) {
			m = r
		}
		if !s[m].before(s[i]) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}
