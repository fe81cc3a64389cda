package tokenizer

import (
	"fmt"
	"testing"
)

// TestTokenIndex checks the text-to-id table against a map: every token
// found with its id, a duplicate text refused with the first id, absent
// texts (prefixes, extensions, the empty string) not found.
func TestTokenIndex(t *testing.T) {
	toks := make([]string, 5000)
	for i := range toks {
		toks[i] = fmt.Sprintf("t%x", i*7919)
	}
	toks[4999] = toks[123] // a duplicate
	x := newTokenIndex(toks)
	want := map[string]int32{}
	for i := range toks {
		id, ok := x.add(int32(i))
		if first, dup := want[toks[i]]; dup {
			if ok || id != first {
				t.Fatalf("add(%d) of duplicate %q: %d, %v; want %d, false", i, toks[i], id, ok, first)
			}
			continue
		}
		if !ok || id != int32(i) {
			t.Fatalf("add(%d): %d, %v", i, id, ok)
		}
		want[toks[i]] = int32(i)
	}
	for s, id := range want {
		if got, ok := x.get(s); !ok || got != id {
			t.Fatalf("get(%q) = %d, %v; want %d", s, got, ok, id)
		}
		for _, other := range []string{s[:len(s)-1], s + "0", "x" + s} {
			if _, dup := want[other]; dup {
				continue
			}
			if got, ok := x.get(other); ok {
				t.Fatalf("get(%q) = %d: not a token", other, got)
			}
		}
	}
	if _, ok := x.get(""); ok {
		t.Error(`get("") found a token`)
	}
	var empty tokenIndex
	if _, ok := empty.get("t0"); ok {
		t.Error("the zero tokenIndex found a token")
	}
}
