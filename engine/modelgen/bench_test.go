package modelgen

import (
	"io"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

func BenchmarkFill(b *testing.B) {
	for _, typ := range []gguf.Type{gguf.F32, gguf.F16, gguf.Q8_0} {
		g := tensorGen{name: "x", kind: kindMatrix, std: 0.02, seed: 1, typ: typ, n: 1 << 20}
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(g.n) // one byte per weight: MB/s reads as Mweights/s
			for b.Loop() {
				if err := g.fill(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
