package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	} {
		if code, _, errs := lmgc(t, bad...); code == 0 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, code, errs)
		}
	}
}
