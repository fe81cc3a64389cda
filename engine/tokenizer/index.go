package tokenizer

import (
	"hash/maphash"
	"math/bits"
)

// tokenIndex finds a token's id from its text: an open-addressing hash
// table (linear probing) of ids whose texts stay in the token list. A slot
// is 4 bytes, at most half full: about 0.5 MB for a 50k vocabulary, where
// a map[string]int32 holds 2 MB.
type tokenIndex struct {
	seed  maphash.Seed
	toks  []string
	slots []int32 // id+1; 0 is empty
}

// newTokenIndex returns an empty index over toks for up to len(toks) ids.
func newTokenIndex(toks []string) tokenIndex {
	n := 1 << bits.Len(uint(2*len(toks)))
	return tokenIndex{seed: maphash.MakeSeed(), toks: toks, slots: make([]int32, n)}
}

// add enters id (whose text is toks[id]); if another id has the same
// text, it returns that one and false, and enters nothing.
func (x *tokenIndex) add(id int32) (int32, bool) {
	s := x.toks[id]
	mask := uint64(len(x.slots) - 1)
	for i := maphash.String(x.seed, s) & mask; ; i = (i + 1) & mask {
		e := x.slots[i]
		if e == 0 {
			x.slots[i] = id + 1
			return id, true
		}
		if x.toks[e-1] == s {
			return e - 1, false
		}
	}
}

// get returns the id of the token with text s.
func (x *tokenIndex) get(s string) (int32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for i := maphash.String(x.seed, s) & mask; ; i = (i + 1) & mask {
		e := x.slots[i]
		if e == 0 {
			return 0, false
		}
		if x.toks[e-1] == s {
			return e - 1, true
		}
	}
}
