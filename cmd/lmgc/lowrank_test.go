package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/codec/lowrank"
	"github.com/lmgc/lmgc/tensorio"
)

// writeLowRank writes a safetensors file with one 40 x 100 tensor of rank 6
// (a float32 sum of 6 outer products) and a bias.
func writeLowRank(t *testing.T, path string) []byte {
	const n, m = 40, 100
	w := lowrank.SyntheticBytes(n, m, 6, 5)
	var st bytes.Buffer
	if err := tensorio.WriteSafetensors(&st, []tensorio.Tensor{
		{Name: "fc.weight", DType: "F32", Shape: []int64{n, m}, Data: w},
		{Name: "fc.bias", DType: "F32", Shape: []int64{n}, Data: w[:4*n]},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, st.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return st.Bytes()
}

func TestLowRankFlagAndCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "g.safetensors")
	orig := writeLowRank(t, in)
	for _, args := range [][]string{{"--level", "strong"}, {}} {
		lr := filepath.Join(dir, "lr.lmgc")
		plain := filepath.Join(dir, "plain.lmgc")
		if code, _, errs := lmgc(t, append([]string{"compress", "--lowrank", "--verify", "--force", "-o", lr, in}, args...)...); code != 0 {
			t.Fatalf("compress --lowrank %v: %s", args, errs)
		}
		if code, _, errs := lmgc(t, append([]string{"compress", "--force", "-o", plain, in}, args...)...); code != 0 {
			t.Fatalf("compress %v: %s", args, errs)
		}
		back := filepath.Join(dir, "back.safetensors")
		if code, _, errs := lmgc(t, "decompress", "--force", "-o", back, lr); code != 0 {
			t.Fatalf("decompress: %s", errs)
		}
		if got, _ := os.ReadFile(back); !bytes.Equal(got, orig) {
			t.Fatal("decompressed file differs")
		}
		if code, out, _ := lmgc(t, "inspect", lr); code != 0 || !strings.Contains(out, "low-rank transform: rank 6") {
			t.Errorf("inspect: %d %q", code, out)
		}
		a, _ := os.Stat(lr)
		b, _ := os.Stat(plain)
		if a.Size() >= b.Size()*9/10 {
			t.Errorf("%v: %d bytes with --lowrank, %d without", args, a.Size(), b.Size())
		}
	}
	if code, _, errs := lmgc(t, "compress", "--lowrank", "--format", "hs", "--force", in); code == 0 || !strings.Contains(errs, "low-rank") {
		t.Errorf("--lowrank --format hs: code %d, %q", code, errs)
	}
	// The experimental transform command: forward then inverse is the
	// identity, and a plan list for another file is refused.
	tr, plans, back := filepath.Join(dir, "t.safetensors"), filepath.Join(dir, "p.lr"), filepath.Join(dir, "b.safetensors")
	if code, _, errs := lmgc(t, "lowrank", "forward", in, tr, plans); code != 0 || !strings.Contains(errs, "rank 6") {
		t.Fatalf("lowrank forward: %d %s", code, errs)
	}
	if code, _, errs := lmgc(t, "lowrank", "inverse", tr, plans, back); code != 0 {
		t.Fatalf("lowrank inverse: %s", errs)
	}
	if got, _ := os.ReadFile(back); !bytes.Equal(got, orig) {
		t.Fatal("lowrank inverse differs")
	}
	os.WriteFile(plans, []byte("LMGCLR1\n\x05\x00\x00\x00"), 0o644)
	if code, _, _ := lmgc(t, "lowrank", "inverse", tr, plans, back); code == 0 {
		t.Error("lowrank inverse with a damaged plan list: exit 0")
	}
}
