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

// TestCollectRelViT runs the reference's ViT (--arch relvit) for two steps
// of a small batch, twice with the same seed: with the head dropout on (the
// default 0.3, lmgc's seeded mask) the gradient files must be identical,
// and with --dropout 0 the step-1 gradient must differ (the mask was used).
// Flags that do not apply to the recipe are refused.
func TestCollectRelViT(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two RelViT steps")
	}
	dir := t.TempDir()
	run := func(name string, extra ...string) []byte {
		t.Helper()
		out := filepath.Join(dir, name)
		args := append([]string{"collect", "--arch", "relvit", "--dataset", "mnist", "--steps", "2", "--every", "1",
			"--batch", "4", "--seed", "3", "--eval=false", "--out", out}, extra...)
		code, stdout, errs := lmgc(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		if !strings.Contains(stdout, "relvit on mnist") {
			t.Errorf("collect output lacks the model line:\n%s", stdout)
		}
		b, err := os.ReadFile(filepath.Join(out, "grad-000001.npy"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := run("a"), run("b"), run("c", "--dropout", "0")
	if string(a) != string(b) {
		t.Error("two runs with the same seed gave different gradients")
	}
	if string(a) == string(c) {
		t.Error("--dropout 0 gave the same gradient as the default dropout 0.3")
	}
	out := filepath.Join(dir, "bad")
	for _, bad := range [][]string{
		{"collect", "--arch", "convnet", "--dataset", "mnist", "--steps", "1", "--dropout", "0.1", "--out", out},
		{"collect", "--arch", "relvit", "--dataset", "mnist", "--steps", "1", "--dropout", "1", "--out", out},
		{"collect", "--arch", "relvit", "--dataset", "mnist", "--steps", "5", "--warmup", "2", "--out", out},
		{"collect", "--arch", "relvit", "--dataset", "mnist", "--steps", "5", "--cosine-epochs", "200", "--out", out},
	} {
		if code, _, errs := lmgc(t, bad...); code == 0 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, code, errs)
		}
	}
}
