package prior

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/lmgc/lmgc/coder"
)

func TestFCMDistIsValid(t *testing.T) {
	for _, width := range []int{2, 4} {
		for _, strong := range []bool{false, true} {
			m, err := NewFCM(width, strong)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := m.NewBatch(1)
			data := laplaceFloats(1500, 1e-3, 2)
			out := make([]coder.Dist, 1)
			for i, c := range data {
				if err := b.Predict([]int{0}, out); err != nil {
					t.Fatal(err)
				}
				if i%499 == 0 || i < 8 {
					checkDist(t, out[0], 256)
				}
				if err := b.Push([]int{0}, []int{int(c)}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := NewFCM(3, false); err == nil {
		t.Error("3-byte floats accepted")
	}
}

// signFirst returns float32 bytes with each float's bytes reversed.
func signFirst(b []byte) []byte {
	out := make([]byte, len(b))
	for i := 0; i+4 <= len(b); i += 4 {
		binary.BigEndian.PutUint32(out[i:], binary.LittleEndian.Uint32(b[i:]))
	}
	return out
}

// TestFCMBeatsCMOnGradients is the real-data check: on the first 100,000
// floats of a committed MNIST and a CIFAR-10 gradient, fcm2's ideal size is
// below cm's, and fcm's is no more than cm's plus 0.1%.
func TestFCMBeatsCMOnGradients(t *testing.T) {
	for _, path := range []string{
		"../testdata/gradients/convnet-mnist-2ep/grad-000465.npy",
		"../testdata/gradients/convnet-cifar10-2ep/grad-000390.npy",
	} {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		hdr := int(binary.LittleEndian.Uint16(raw[8:]))
		data := raw[10+hdr:][:4*100000]
		cm, _ := NewCM(4, 0)
		fast, _ := NewFCM(4, false)
		strong, _ := NewFCM(4, true)
		bc := idealBits(t, cm, data)
		bf := idealBits(t, fast, signFirst(data))
		bs := idealBits(t, strong, signFirst(data))
		n := float64(len(data) / 4)
		t.Logf("%s: bits per float: cm %.4f, fcm %.4f, fcm2 %.4f", path, bc/n, bf/n, bs/n)
		if bs >= bc*0.998 {
			t.Errorf("%s: fcm2 %.0f bits is not 0.2%% below cm's %.0f", path, bs, bc)
		}
		if bf > bc*1.001 {
			t.Errorf("%s: fcm %.0f bits is more than cm's %.0f + 0.1%%", path, bf, bc)
		}
	}
}

// TestFCMWindowsIndependent checks that a window's distributions do not
// depend on the other windows of its batch.
func TestFCMWindowsIndependent(t *testing.T) {
	m, _ := NewFCM(4, true)
	a, b := laplaceFloats(300, 1e-2, 3), laplaceFloats(300, 1e-4, 4)
	one, _ := m.NewBatch(1)
	two, _ := m.NewBatch(2)
	o1, o2 := make([]coder.Dist, 1), make([]coder.Dist, 2)
	for i := range a {
		one.Predict([]int{0}, o1)
		two.Predict([]int{0, 1}, o2)
		c1, f1 := o1[0].Interval(int(a[i]))
		c2, f2 := o2[0].Interval(int(a[i]))
		if c1 != c2 || f1 != f2 {
			t.Fatalf("symbol %d: [%d,+%d) alone, [%d,+%d) in a batch", i, c1, f1, c2, f2)
		}
		one.Push([]int{0}, []int{int(a[i])})
		two.Push([]int{0, 1}, []int{int(a[i]), int(b[i])})
	}
}
