package prior

import (
	"testing"

	"github.com/lmgc/lmgc/coder"
)

// benchPrior measures a prior's work per byte as the coder drives it:
// Predict, Interval of the coded byte, Push.
func benchPrior(b *testing.B, m Prior) {
	data := laplaceFloats(1<<16, 1e-3, 3)
	bt, _ := m.NewBatch(1)
	out := make([]coder.Dist, 1)
	w, s := []int{0}, []int{0}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bt.Reset(0)
		for _, c := range data {
			bt.Predict(w, out)
			out[0].Interval(int(c))
			s[0] = int(c)
			bt.Push(w, s)
		}
	}
}

func BenchmarkCMCode(b *testing.B) {
	m, _ := NewCM(4, 0)
	benchPrior(b, m)
}

func BenchmarkOrder2Code(b *testing.B) {
	m, _ := NewOrder2(4, 0)
	benchPrior(b, m)
}

func BenchmarkFCMCode(b *testing.B) {
	m, _ := NewFCM(4, false)
	benchPrior(b, m)
}

func BenchmarkFCM2Code(b *testing.B) {
	m, _ := NewFCM(4, true)
	benchPrior(b, m)
}
