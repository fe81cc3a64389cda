package train

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/lmgc/lmgc/internal/testenv"
	"github.com/lmgc/lmgc/train/data"
)

// TestReproducesCommittedGradients re-runs the first step of the committed
// two-epoch ConvNet runs (testdata/gradients/*-2ep, made by `lmgc collect`
// with --threads 2 on an earlier build of the kernels) and requires the
// step-0 gradient file to come out byte for byte the same: the data
// pipeline, initialisation, augmentation and every kernel's accumulation
// order are pinned, on any thread count.
func TestReproducesCommittedGradients(t *testing.T) {
	root := testenv.RepoRoot(t)
	for _, tc := range []struct{ set, dataset string }{
		{"convnet-mnist-2ep", "mnist"},
		{"convnet-cifar10-2ep", "cifar10"},
	} {
		t.Run(tc.dataset, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(root, "testdata", "gradients", tc.set, "grad-000000.npy"))
			if err != nil {
				t.Fatal(err)
			}
			var d *data.Dataset
			if tc.dataset == "mnist" {
				if _, err := data.MNISTDir(); err != nil {
					testenv.Unavailable(t, "MNIST: %v", err)
				}
				d, err = data.Load("mnist", "")
			} else {
				d, err = data.Load("cifar10", testenv.Shared(t, "datasets", "cifar10-jpg.tar.gz"))
			}
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			if _, err := Run(Config{Arch: "convnet", Data: d, Steps: 1, Every: 1, Seed: 1, Threads: 3,
				LR: 0.01, OutDir: out}); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(out, "grad-000000.npy"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				n := 0
				for n < min(len(got), len(want)) && got[n] == want[n] {
					n++
				}
				t.Fatalf("step-0 gradient differs from testdata/gradients/%s/grad-000000.npy (first difference at byte %d of %d)", tc.set, n, len(want))
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	// Warm-up 0 is the paper's cosine: peak at step 0, half way at T/2.
	if got := schedule(0.1, 0, 100, 0); got != 0.1 {
		t.Errorf("step 0: lr %v, want 0.1", got)
	}
	if got := schedule(0.1, 50, 100, 0); got < 0.0499999 || got > 0.0500001 {
		t.Errorf("step 50 of 100: lr %v, want 0.05", got)
	}
	// Warm-up 10 of 110: 0.01, 0.02, ..., 0.1 at step 9, then the cosine
	// over the remaining 100 steps.
	for s, want := range map[int]float64{0: 0.01, 4: 0.05, 9: 0.1, 10: 0.1, 60: 0.05} {
		if got := schedule(0.1, s, 110, 10); got < want-1e-9 || got > want+1e-9 {
			t.Errorf("warm-up 10 of 110, step %d: lr %v, want %v", s, got, want)
		}
	}
	// Per-epoch cosine (CosineAnnealingLR(T_max=200) stepped per epoch).
	for e, want := range map[int]float64{0: 0.1, 1: 0.1 * (1 + math.Cos(math.Pi/200)) / 2, 100: 0.05, 200: 0} {
		if got := epochSchedule(0.1, e, 200); math.Abs(got-want) > 1e-12 {
			t.Errorf("epoch %d of 200: lr %v, want %v", e, got, want)
		}
	}
	prev := 1.0
	for s := 10; s < 110; s++ {
		lr := schedule(0.1, s, 110, 10)
		if lr > prev || lr <= 0 {
			t.Fatalf("step %d: lr %v after %v: the cosine must fall and stay positive", s, lr, prev)
		}
		prev = lr
	}
}
