package prior

import (
	"testing"

	"github.com/lmgc/lmgc/coder"
)

func TestOrder2DistIsValid(t *testing.T) {
	m, err := NewOrder2(4, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.NewBatch(2)
	data := laplaceFloats(30000, 1e-3, 1)
	out := make([]coder.Dist, 1)
	for i, c := range data {
		if err := b.Predict([]int{1}, out); err != nil {
			t.Fatal(err)
		}
		if i%4999 == 0 || i < 8 {
			checkDist(t, out[0], 256)
		}
		if err := b.Push([]int{1}, []int{int(c)}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOrder2Compresses(t *testing.T) {
	data := laplaceFloats(100000, 1e-3, 2)
	m, _ := NewOrder2(4, 0)
	bits := idealBits(t, m, data)
	rate := 100 * bits / 8 / float64(len(data))
	t.Logf("order2 on %d Laplace floats: %.2f%% of original", len(data)/4, rate)
	if rate > 86 {
		t.Errorf("rate %.2f%%: the model did not learn the exponent distribution", rate)
	}
	m2, _ := NewOrder2(4, 0)
	if b2 := idealBits(t, m2, data); b2 != bits {
		t.Errorf("second run gave %v bits, first %v", b2, bits)
	}
}

func TestLog2Fixed(t *testing.T) {
	for _, c := range []struct {
		x    uint32
		want int32
	}{{1, 0}, {2, 64}, {4, 128}, {65536, 16 * 64}, {3, 101}} {
		if got := log2Fixed(c.x); got != c.want {
			t.Errorf("log2Fixed(%d) = %d, want %d", c.x, got, c.want)
		}
	}
}
