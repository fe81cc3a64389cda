package train

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/lmgc/lmgc/train/data"
	"github.com/lmgc/lmgc/train/nn"
)

// synthetic returns a small 3-channel 16×16 dataset whose class decides
// where a bright square sits, plus noise, so a ConvNet can learn it fast.
func synthetic(n int) *data.Dataset {
	r := nn.NewRNG(42)
	d := &data.Dataset{Name: "synthetic", C: 3, H: 16, W: 16,
		Classes: []string{"0", "1", "2", "3"},
		Mean:    []float32{0.5, 0.5, 0.5}, Std: []float32{0.25, 0.25, 0.25}}
	fill := func(s *data.Split, n int) {
		for i := 0; i < n; i++ {
			c := r.Intn(4)
			img := make([]byte, 3*16*16)
			for j := range img {
				img[j] = byte(64 + r.Intn(64))
			}
			y0, x0 := 2+8*(c/2), 2+8*(c%2)
			for ch := 0; ch < 3; ch++ {
				for y := y0; y < y0+4; y++ {
					for x := x0; x < x0+4; x++ {
						img[ch*256+y*16+x] = 230
					}
				}
			}
			s.Images = append(s.Images, img...)
			s.Labels = append(s.Labels, uint8(c))
			s.N++
		}
	}
	fill(&d.Train, n)
	fill(&d.Test, n/4)
	return d
}

func TestLossFalls(t *testing.T) {
	// No augmentation: a flip would swap the synthetic classes.
	off := false
	res, err := Run(Config{Arch: "convnet", Data: synthetic(640), Steps: 20, Seed: 1, Threads: 2,
		Width: 16, Batch: 32, LR: 0.05, Eval: true, Augment: &off})
	if err != nil {
		t.Fatal(err)
	}
	first := (res.Losses[0] + res.Losses[1] + res.Losses[2]) / 3
	last := (res.Losses[17] + res.Losses[18] + res.Losses[19]) / 3
	if !(last < 0.5*first) {
		t.Errorf("loss did not fall: first steps %.3f, last steps %.3f (%v)", first, last, res.Losses)
	}
	if res.TestAcc < 0.9 {
		t.Errorf("test accuracy %.2f after 20 steps, want ≥ 0.9", res.TestAcc)
	}
}

func TestLossFallsMNIST(t *testing.T) {
	if _, err := data.MNISTDir(); err != nil {
		t.Skip(err)
	}
	d, err := data.Load("mnist", "")
	if err != nil {
		t.Fatal(err)
	}
	// A 2,000-image subset keeps this quick.
	d.Train.N, d.Test.N = 2000, 500
	res, err := Run(Config{Arch: "convnet", Data: d, Steps: 20, Seed: 3, Threads: 2, Width: 16, Batch: 64, LR: 0.05, Eval: true})
	if err != nil {
		t.Fatal(err)
	}
	first := (res.Losses[0] + res.Losses[1] + res.Losses[2]) / 3
	last := (res.Losses[17] + res.Losses[18] + res.Losses[19]) / 3
	if !(last < 0.6*first) || res.TestAcc < 0.6 {
		t.Errorf("MNIST: loss %.3f → %.3f, test accuracy %.2f", first, last, res.TestAcc)
	}
}

// TestSavedGradients checks the files: the same bits for 1 and 3
// threads, safetensors names/shapes in parameter order, and the .npy
// holding the same floats flattened.
func TestSavedGradients(t *testing.T) {
	d := synthetic(128)
	var runs [2]string
	for i, th := range []int{1, 3} {
		runs[i] = t.TempDir()
		res, err := Run(Config{Arch: "convnet", Data: d, Steps: 4, Every: 2, Seed: 9, Threads: th, Width: 8, Batch: 16, OutDir: runs[i]})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Saved) != 2 || filepath.Base(res.Saved[1]) != "grad-000002.safetensors" {
			t.Fatalf("saved %v", res.Saved)
		}
	}
	for _, f := range []string{"grad-000000.safetensors", "grad-000000.npy", "grad-000002.safetensors", "grad-000002.npy"} {
		a, err := os.ReadFile(filepath.Join(runs[0], f))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(runs[1], f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between 1 and 3 threads", f)
		}
	}
	st, _ := os.ReadFile(filepath.Join(runs[0], "grad-000002.safetensors"))
	hlen := binary.LittleEndian.Uint64(st)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(st[8:8+hlen], &hdr); err != nil {
		t.Fatal(err)
	}
	model := nn.NewConvNet(3, 16, 4, 8, 3, nn.NewRNG(1))
	var flat []byte
	for _, p := range model.Params() {
		var e struct {
			Dtype   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(hdr[p.Name], &e); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if e.Dtype != "F32" || len(e.Shape) != len(p.Shape) || e.Offsets[1]-e.Offsets[0] != 4*len(p.W) {
			t.Fatalf("%s: %+v, want F32 %v", p.Name, e, p.Shape)
		}
		if e.Offsets[0] != len(flat) {
			t.Fatalf("%s at offset %d, want %d (parameter order)", p.Name, e.Offsets[0], len(flat))
		}
		flat = append(flat, st[8+int(hlen)+e.Offsets[0]:8+int(hlen)+e.Offsets[1]]...)
	}
	npy, _ := os.ReadFile(filepath.Join(runs[0], "grad-000002.npy"))
	if !bytes.HasSuffix(npy, flat) || len(npy)-len(flat) > 256 {
		t.Errorf(".npy does not end with the %d gradient bytes of the safetensors file (len %d)", len(flat), len(npy))
	}
	var meta map[string]string
	json.Unmarshal(hdr["__metadata__"], &meta)
	if meta["step"] != "2" || meta["arch"] != "convnet" {
		t.Errorf("metadata %v", meta)
	}
}

func TestConfigErrors(t *testing.T) {
	d := synthetic(64)
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no data", Config{Arch: "convnet", Steps: 1}},
		{"no length", Config{Arch: "convnet", Data: d}},
		{"bad arch", Config{Arch: "lenet", Data: d, Steps: 1, Batch: 16}},
		{"no out", Config{Arch: "convnet", Data: d, Steps: 1, Every: 1, Batch: 16}},
		{"batch too big", Config{Arch: "convnet", Data: d, Steps: 1, Batch: 1000}},
		{"warm-up too long", Config{Arch: "convnet", Data: d, Steps: 10, Warmup: 10, Batch: 16}},
		{"negative warm-up", Config{Arch: "convnet", Data: d, Steps: 10, Warmup: -1, Batch: 16}},
	} {
		if _, err := Run(tc.cfg); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestCropFlip(t *testing.T) {
	const c, h, w = 2, 5, 6
	img := make([]float32, c*h*w)
	for i := range img {
		img[i] = float32(i + 1)
	}
	r := nn.NewRNG(5)
	shifts := map[[3]int]bool{}
	for trial := 0; trial < 200; trial++ {
		got := append([]float32(nil), img...)
		state := *r
		cropFlip(got, c, h, w, 2, r)
		// Recover the draw and check every pixel against its definition.
		dy, dx := state.Intn(5)-2, state.Intn(5)-2
		flip := state.Intn(2) == 1
		shifts[[3]int{dy, dx, map[bool]int{false: 0, true: 1}[flip]}] = true
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					sx := x
					if flip {
						sx = w - 1 - x
					}
					sy, sx := y+dy, sx+dx
					want := float32(0)
					if sy >= 0 && sy < h && sx >= 0 && sx < w {
						want = img[ch*h*w+sy*w+sx]
					}
					if g := got[ch*h*w+y*w+x]; g != want {
						t.Fatalf("dy=%d dx=%d flip=%v: (%d,%d,%d) = %v, want %v", dy, dx, flip, ch, y, x, g, want)
					}
				}
			}
		}
	}
	if len(shifts) < 40 {
		t.Errorf("only %d of 50 crop/flip combinations drawn in 200 trials", len(shifts))
	}
}

// TestEvaluateSpread checks that a capped evaluation samples the whole
// (class-sorted) test split: a model that always answers class 0 must
// score 1/4, not the 1/2 a prefix would give.
func TestEvaluateSpread(t *testing.T) {
	d := synthetic(8)
	d.Test.N = 40
	d.Test.Images = make([]byte, 40*d.ImageSize())
	d.Test.Labels = make([]uint8, 40)
	for i := range d.Test.Labels {
		d.Test.Labels[i] = uint8(i / 10)
	}
	lin := nn.NewLinear("l", d.ImageSize(), 4, nn.NewRNG(1))
	clear(lin.Weight.W)
	clear(lin.Bias.W)
	lin.Bias.W[0] = 1
	model := &nn.Sequential{Layers: []nn.Layer{&nn.Flatten{}, lin}}
	if acc := Evaluate(model, d, 7, 1, 20); acc != 0.25 {
		t.Errorf("accuracy on 20 of 40 sorted images: %v, want 0.25", acc)
	}
	if acc := Evaluate(model, d, 7, 1, 0); acc != 0.25 {
		t.Errorf("accuracy on all: %v, want 0.25", acc)
	}
}
