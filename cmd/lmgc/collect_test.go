package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/internal/testenv"
	"github.com/lmgc/lmgc/train/data"
)

func TestCollectMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two ConvNet steps")
	}
	out := filepath.Join(t.TempDir(), "g")
	code, stdout, errs := lmgc(t, "collect", "--arch", "convnet", "--dataset", "mnist", "--steps", "2", "--every", "1",
		"--seed", "1", "--eval=false", "--out", out)
	if code != 0 {
		t.Fatalf("collect: exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "317706 parameters") {
		t.Errorf("collect output lacks the parameter count:\n%s", stdout)
	}
	npys, _ := filepath.Glob(filepath.Join(out, "*.npy"))
	sts, _ := filepath.Glob(filepath.Join(out, "*.safetensors"))
	if len(npys) != 2 || len(sts) != 2 {
		t.Fatalf("%d .npy and %d .safetensors files, want 2 each", len(npys), len(sts))
	}
	fi, _ := os.Stat(npys[0])
	if fi.Size() < 4*317706 {
		t.Errorf("%s: %d bytes, want the 317,706 floats of the gradient", npys[0], fi.Size())
	}
	// And the gradient compresses and decompresses through the CLI.
	if code, _, errs := lmgc(t, "compress", "--quiet", "--verify", npys[0]); code != 0 {
		t.Errorf("compress of a collected gradient: %s", errs)
	}
	for _, bad := range [][]string{
		{"collect", "--arch", "alexnet", "--dataset", "mnist", "--steps", "1", "--out", out},
		{"collect", "--arch", "convnet", "--dataset", filepath.Join(out, "nope"), "--steps", "1", "--out", out},
		{"collect", "--arch", "convnet", "--dataset", "mnist", "--steps", "5", "--warmup", "5", "--out", out},
		{"collect", "--arch", "convnet", "--dataset", "mnist", "--steps", "5", "--cosine-epochs", "-1", "--out", out},
	} {
		if code, _, errs := lmgc(t, bad...); code == 0 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, code, errs)
		}
	}
}

// TestCollectReferenceSchedule runs the paper's recipe (lr 0.1, the cosine
// stepped per epoch over 200 epochs, as the reference's
// CosineAnnealingLR(T_max=200)) for two steps: both steps of the first
// epoch run at the peak lr, where the per-run cosine would have halved it
// for the second (TestSchedule in train checks that one).
func TestCollectReferenceSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two ConvNet steps")
	}
	for _, tc := range []struct {
		flags []string
		lr2   string
	}{
		{[]string{"--cosine-epochs", "200"}, "lr 0.10000"},
	} {
		args := append([]string{"collect", "--arch", "convnet", "--dataset", "mnist", "--steps", "2", "--lr", "0.1",
			"--seed", "1", "--eval=false", "--log-every", "1"}, tc.flags...)
		code, stdout, errs := lmgc(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		var step2 string
		for _, l := range strings.Split(stdout, "\n") {
			if strings.HasPrefix(l, "step 2/2") {
				step2 = l
			}
		}
		if !strings.Contains(step2, tc.lr2) {
			t.Errorf("%v: step 2's log line %q, want %s", tc.flags, step2, tc.lr2)
		}
	}
}

// TestCollectOtherDatasets runs one collect step on Fashion-MNIST (the
// Debian package dataset-fashion-mnist) and CIFAR-10 (../shared), each
// with a warm-up schedule and an evaluation on a spread test subset.
func TestCollectOtherDatasets(t *testing.T) {
	if testing.Short() {
		t.Skip("trains ConvNet steps")
	}
	for _, tc := range []struct {
		dataset, params string
		present         func(t *testing.T)
	}{
		{"fashion-mnist", "317706 parameters", func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "train-images-idx3-ubyte.gz")); err != nil {
				testenv.Unavailable(t, "Fashion-MNIST is not installed (apt install dataset-fashion-mnist): %v", err)
			}
		}},
		{"cifar10", "320010 parameters", func(t *testing.T) { testenv.Shared(t, "datasets", "cifar10-jpg.tar.gz") }},
	} {
		t.Run(tc.dataset, func(t *testing.T) {
			tc.present(t)
			out := filepath.Join(t.TempDir(), "g")
			code, stdout, errs := lmgc(t, "collect", "--arch", "convnet", "--dataset", tc.dataset, "--steps", "2", "--warmup", "1",
				"--every", "1", "--eval-max", "256", "--threads", "2", "--out", out)
			if code != 0 {
				t.Fatalf("collect: exit %d: %s", code, errs)
			}
			for _, want := range []string{tc.params, "step 2/2", "test acc"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("collect output lacks %q:\n%s", want, stdout)
				}
			}
			if npys, _ := filepath.Glob(filepath.Join(out, "*.npy")); len(npys) != 2 {
				t.Errorf("%d gradient files, want 2", len(npys))
			}
		})
	}
}
