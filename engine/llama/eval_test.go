package llama

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

func TestReadTokens(t *testing.T) {
	got, err := ReadTokens(strings.NewReader(" 1 22\n333\t-4 \n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{1, 22, 333, -4}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"1 x 2", "99999999999", "1.5"} {
		if _, err := ReadTokens(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadTokens(%q): no error", bad)
		}
	}
}

func TestWriteLogits(t *testing.T) {
	m := loadTiny(t, tiny("qwen2", gguf.F16))
	toks := tokenWindow(8, 10, m.VocabSize())
	want := forwardAll(t, m, toks, []int{1})
	for _, batch := range []int{1, 4, 100} {
		var buf bytes.Buffer
		if err := m.WriteLogits(&buf, toks, batch); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != 4*len(toks)*m.VocabSize() {
			t.Fatalf("batch %d: %d bytes", batch, buf.Len())
		}
		b := buf.Bytes()
		for p := range want {
			for i, w := range want[p] {
				got := math.Float32frombits(binary.LittleEndian.Uint32(b[4*(p*m.VocabSize()+i):]))
				if math.Float32bits(got) != math.Float32bits(w) {
					t.Fatalf("batch %d: position %d logit %d = %g, want %g", batch, p, i, got, w)
				}
			}
		}
	}
	if err := m.WriteLogits(&bytes.Buffer{}, []int32{1, 300}, 1); err == nil {
		t.Error("token outside the vocabulary: no error")
	}
	if err := m.WriteLogits(&bytes.Buffer{}, nil, 1); err == nil {
		t.Error("no tokens: no error")
	}
}
