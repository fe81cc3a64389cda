package train

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/internal/testenv"
	"github.com/lmgc/lmgc/train/nn"
)

// relvitFixture is written by `scripts/torchref/torchref.py fixture --arch
// relvit --n 4` (PyTorch 1.13): the reference's RelViT (torchref.py's
// relvit, which is utils/models/vit.py of hui-po-wang/LM-GC) at a small
// size, two AdamW steps per case, the OneCycle schedule, and the full-size
// model's parameter names, shapes and weight-decay group.
const relvitFixture = "testdata/torchref/relvit-step.safetensors"

// relvitSmall is the fixture's configuration; head dropout is 0 because
// PyTorch's dropout mask cannot be replayed.
var relvitSmall = nn.RelViTConfig{Channels: 16, HeadChannels: 8, Blocks: 2, Patch: 2, Hidden: 8}

// fixtureMeta reads the __metadata__ of a safetensors file.
func fixtureMeta(t *testing.T, rel string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8 {
		t.Fatalf("%s: too short", rel)
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		t.Fatalf("%s: header length %d past the end", rel, n)
	}
	var h struct {
		Meta map[string]string `json:"__metadata__"`
	}
	if err := json.Unmarshal(b[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	return h.Meta
}

// TestRelViTFullSize checks the full-size --arch relvit against PyTorch's
// named_parameters of the reference's ViT(10, 32): 6,482,138 values in 161
// tensors, the same names, shapes and order (so a gradient file's layout
// is torchref's), and the same weight-decay group (the 51 conv/linear
// weights); that torchref.py replays its initialisation; and the
// initialisation's distributions (kaiming-normal
// weights, zero biases, LayerNorm 1/0, N(0, 0.02²) tables, gammas 0).
func TestRelViTFullSize(t *testing.T) {
	meta := fixtureMeta(t, relvitFixture)
	model, err := NewModel("relvit", 3, 32, 10, nn.NewRNG(1))
	if err != nil {
		t.Fatal(err)
	}
	params := model.Params()
	if n := nn.CountParams(params); n != 6482138 || strconv.Itoa(n) != meta["full_params"] {
		t.Errorf("%d parameters, want 6,482,138 (PyTorch: %s)", n, meta["full_params"])
	}
	names := strings.Split(meta["full_names"], ",")
	shapes := strings.Split(meta["full_shapes"], ";")
	if len(params) != 161 || len(names) != len(params) || len(shapes) != len(params) {
		t.Fatalf("%d tensors, PyTorch %d names and %d shapes, want 161", len(params), len(names), len(shapes))
	}
	// torchref.py's lmgc_init_relvit (train --arch vit --init lmgc) must
	// replay this initialisation exactly, or a side-by-side run would not
	// start from the same weights.
	fx := readFixtureFile(t, relvitFixture)
	for _, p := range params {
		idx, ref := fx["lmgcinit/idx/"+p.Name], fx["lmgcinit/"+p.Name]
		if len(idx) == 0 || len(idx) != len(ref) {
			t.Fatalf("fixture: no lmgcinit samples for %s", p.Name)
		}
		for i, f := range idx {
			if got := p.W[int(f)]; got != ref[i] {
				t.Errorf("%s[%d]: initial value %v, torchref's lmgc_init_relvit %v", p.Name, int(f), got, ref[i])
				break
			}
		}
	}
	decay := map[string]bool{}
	for _, n := range strings.Split(meta["full_decay"], ",") {
		decay[n] = true
	}
	if len(decay) != 51 {
		t.Errorf("PyTorch's decay group has %d tensors, want 51", len(decay))
	}
	for i, p := range params {
		var dims []string
		for _, d := range p.Shape {
			dims = append(dims, strconv.Itoa(d))
		}
		if p.Name != names[i] || strings.Join(dims, "x") != shapes[i] {
			t.Errorf("parameter %d: %s %v, PyTorch %s %s", i, p.Name, p.Shape, names[i], shapes[i])
		}
		if p.Decay != decay[p.Name] {
			t.Errorf("%s: weight decay %v, PyTorch's group %v", p.Name, p.Decay, decay[p.Name])
		}
		var s, q float64
		for _, v := range p.W {
			s += float64(v)
			q += float64(v) * float64(v)
		}
		mean, std := s/float64(len(p.W)), math.Sqrt(q/float64(len(p.W)))
		want := -1.0 // exactly constant
		switch {
		case p.Decay: // kaiming_normal_: std √(2/fan_in)
			want = math.Sqrt(2 / float64(len(p.W)/p.Shape[0]))
		case strings.HasSuffix(p.Name, "pos_enc") || strings.HasSuffix(p.Name, "pos_embedding"):
			want = 0.02
		}
		if want < 0 {
			c := float32(0)
			if strings.HasSuffix(p.Name, "norm.weight") {
				c = 1
			}
			for _, v := range p.W {
				if v != c {
					t.Fatalf("%s: initial value %v, want %v", p.Name, v, c)
				}
			}
			continue
		}
		if len(p.W) >= 2560 && (math.Abs(std/want-1) > 0.05 || math.Abs(mean) > 0.05*want) {
			t.Errorf("%s: initial mean %.3g std %.4g, want 0 and %.4g", p.Name, mean, std, want)
		}
	}
}

// TestRelViTSchedule checks oneCycle, stepped once per epoch with 391 steps
// per epoch over 200 epochs, against PyTorch's OneCycleLR (lr and the
// cycled beta1).
func TestRelViTSchedule(t *testing.T) {
	fx := readFixtureFile(t, relvitFixture)
	for i, e := range fx["sched/epoch"] {
		lr, b1 := oneCycle(1e-3, int(e), OneCycleEpochs*391)
		if want := float64(fx["sched/lr"][i]); math.Abs(lr-want) > 1e-6*want {
			t.Errorf("epoch %v: lr %.8g, PyTorch %.8g", e, lr, want)
		}
		if want := float64(fx["sched/beta1"][i]); math.Abs(b1-want) > 1e-7 {
			t.Errorf("epoch %v: beta1 %.8g, PyTorch %.8g", e, b1, want)
		}
	}
	// The reference's run stays near OneCycle's start: lr 4e-5, beta1 0.95.
	if lr, b1 := oneCycle(1e-3, 0, OneCycleEpochs*391); math.Abs(lr-4e-5) > 1e-15 || math.Abs(b1-0.95) > 1e-15 {
		t.Errorf("epoch 0: lr %v beta1 %v, want 4e-5 and 0.95", lr, b1)
	}
	if lr, _ := oneCycle(1e-3, 200, OneCycleEpochs*391); lr > 4.02e-5 {
		t.Errorf("epoch 200: lr %v, want about 4.017e-5", lr)
	}
}

// TestMatchesPyTorchRelViT loads PyTorch's weights of the small RelViT
// into nn.NewRelViT, runs two steps with train's loss and grouped AdamW on
// PyTorch's batches, and requires PyTorch's loss (1e-5 relative), every
// gradient (1e-4 relative L2; exactly 0 where PyTorch's is exactly 0, as
// every gradient inside the blocks at step 0 with gammas 0) and every
// parameter's AdamW update (2e-3 relative L2 of the change, plus the
// float32 resolution of a difference of weights). Case "ref" is the reference's init and
// schedule (lr and beta1 from oneCycle, checked against the fixture's);
// case "perturbed" moves gammas, norms, biases and position tables so
// that every backward path carries a real gradient.
func TestMatchesPyTorchRelViT(t *testing.T) {
	fx := readFixtureFile(t, relvitFixture)
	for _, tc := range []string{"ref", "perturbed"} {
		t.Run(tc, func(t *testing.T) {
			get := func(key string, n int) []float32 {
				t.Helper()
				v, ok := fx[tc+"/"+key]
				if !ok {
					t.Fatalf("fixture has no tensor %s/%s", tc, key)
				}
				if n >= 0 && len(v) != n {
					t.Fatalf("fixture %s/%s has %d values, want %d", tc, key, len(v), n)
				}
				return v
			}
			model, err := nn.NewRelViT(3, 8, 10, relvitSmall, nn.NewRNG(1))
			if err != nil {
				t.Fatal(err)
			}
			params := model.Params()
			for _, p := range params {
				copy(p.W, get("init/"+p.Name, len(p.W)))
			}
			opt := newAdamW(params, 0.1)
			opt.groups = true
			ctx := &nn.Ctx{Threads: 2, Train: true}
			const n = 4
			for step := 0; step < 2; step++ {
				lr, b1 := 1e-3, 0.9
				if tc == "ref" {
					lr, b1 = oneCycle(1e-3, step, OneCycleEpochs*391)
				}
				if w := float64(get(fmt.Sprintf("lr%d", step), 1)[0]); math.Abs(lr-w) > 1e-6*w {
					t.Fatalf("step %d: lr %v, PyTorch %v", step, lr, w)
				}
				if w := float64(get(fmt.Sprintf("beta1_%d", step), 1)[0]); math.Abs(b1-w) > 1e-7 {
					t.Fatalf("step %d: beta1 %v, PyTorch %v", step, b1, w)
				}
				fixtureStep(t, get, model, ctx, step, n, 3, 8)
				zeros := 0
				for _, p := range params {
					ref := get(fmt.Sprintf("grad%d/%s", step, p.Name), len(p.G))
					if l2(ref) == 0 {
						zeros++
						if l2(p.G) != 0 {
							t.Errorf("step %d: gradient of %s has norm %.3g; PyTorch's is exactly 0", step, p.Name, l2(p.G))
						}
						continue
					}
					if strings.HasSuffix(p.Name, "to_keys.bias") {
						// The softmax over the keys removes a key bias
						// (it adds the same score to every key of a
						// query): 0 but for rounding, in both.
						if w := l2(get(fmt.Sprintf("grad%d/%s", step, strings.TrimSuffix(p.Name, "bias")+"weight"), -1)); l2(p.G) > 1e-4*w || l2(ref) > 1e-4*w {
							t.Errorf("step %d: gradient of %s has norm %.3g (PyTorch %.3g), want 0 but for rounding (weight's %.3g)", step, p.Name, l2(p.G), l2(ref), w)
						}
						continue
					}
					if e := relErr(p.G, ref); e > 1e-4 {
						t.Errorf("step %d: gradient of %s differs from PyTorch's by %.3g (relative L2; norm %.3g)", step, p.Name, e, l2(ref))
					}
				}
				if tc == "ref" && step == 0 && zeros == 0 {
					t.Errorf("step 0 with gammas 0: no gradient is exactly 0")
				}
				before := make([][]float32, len(params))
				for i, p := range params {
					before[i] = append([]float32(nil), p.W...)
				}
				opt.beta1 = b1
				opt.step(float32(lr))
				for i, p := range params {
					if strings.HasSuffix(p.Name, "to_keys.bias") {
						continue // AdamW's update of a rounding-level gradient is ±lr either way
					}
					ref := get(fmt.Sprintf("after%d/%s", step, p.Name), len(p.W))
					prev := get(fmt.Sprintf("init/%s", p.Name), len(p.W))
					if step > 0 {
						prev = get(fmt.Sprintf("after%d/%s", step-1, p.Name), len(p.W))
					}
					got, wantD := make([]float32, len(p.W)), make([]float32, len(p.W))
					for j := range p.W {
						got[j] = p.W[j] - before[i][j]
						wantD[j] = ref[j] - prev[j]
					}
					// Both sides are differences of float32 weights: each
					// is resolved to about one rounding of w (2^-24·|w|),
					// which matters where the update is the weight decay
					// alone (lr·0.1·w, a gradient of exactly 0).
					if e, floor := relErr(got, wantD), 2*l2(p.W)/(1<<24)/l2(wantD); e > 2e-3+floor {
						t.Errorf("step %d: AdamW update of %s differs from PyTorch's by %.3g (relative L2; norm %.3g)", step, p.Name, e, l2(wantD))
					}
				}
			}
		})
	}
}
