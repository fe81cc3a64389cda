package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShardsCLI(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "g.npy")
	orig := writeGaussianNPY(t, in, 30000)
	one := filepath.Join(dir, "one.lmgc")
	flags := []string{"--prior", "cm", "--window", "8192", "--quiet"}
	if code, _, errs := lmgc(t, append([]string{"compress", in, "-o", one}, flags...)...); code != 0 {
		t.Fatalf("compress: %s", errs)
	}
	const n = 3
	var parts []string
	for i := 0; i < n; i++ {
		part := filepath.Join(dir, fmt.Sprintf("part.%d", i))
		if code, _, errs := lmgc(t, append([]string{"compress", "--shard", fmt.Sprintf("%d/%d", i, n), in, "-o", part}, flags...)...); code != 0 {
			t.Fatalf("compress --shard %d/%d: %s", i, n, errs)
		}
		parts = append(parts, part)
	}
	merged := filepath.Join(dir, "m.lmgc")

	// A missing shard: a clear error, no output file.
	code, _, errs := lmgc(t, "merge", parts[0], parts[2], "-o", merged)
	if code != 1 || !strings.Contains(errs, "shard missing: shard 1 of 3") {
		t.Fatalf("merge without shard 1: %d %q", code, errs)
	}
	if _, err := os.Stat(merged); !os.IsNotExist(err) {
		t.Fatalf("a failed merge left %s", merged)
	}
	if code, _, errs := lmgc(t, "merge", parts[2], parts[0], parts[1], "-o", merged, "--quiet"); code != 0 {
		t.Fatalf("merge: %s", errs)
	}
	want, _ := os.ReadFile(one)
	got, _ := os.ReadFile(merged)
	if !bytes.Equal(got, want) {
		t.Fatalf("merged file (%d bytes) differs from the one-machine file (%d bytes)", len(got), len(want))
	}

	out := filepath.Join(dir, "restored.npy")
	for i := n - 1; i >= 1; i-- {
		if code, _, errs := lmgc(t, "decompress", "--shard", fmt.Sprintf("%d/%d", i, n), merged, "-o", out, "--quiet"); code != 0 {
			t.Fatalf("decompress --shard %d/%d: %s", i, n, errs)
		}
	}
	// Shard 0 not run yet: the check fails and nothing appears at out.
	code, _, errs = lmgc(t, "decompress", "--verify", merged, "-o", out)
	if code != 1 || !strings.Contains(errs, "does not match the original") {
		t.Fatalf("verify with a shard missing: %d %q", code, errs)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a failed verify left %s", out)
	}
	if code, _, errs := lmgc(t, "decompress", "--shard", "0/3", merged, "-o", out, "--quiet"); code != 0 {
		t.Fatalf("decompress --shard 0/3: %s", errs)
	}
	code, stdout, errs := lmgc(t, "decompress", "--verify", merged, "-o", out)
	if code != 0 || !strings.Contains(stdout, "verified") {
		t.Fatalf("verify: %d %s %s", code, stdout, errs)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, orig) {
		t.Fatal("restored file differs from the original")
	}
	if _, err := os.Stat(workFile(out)); !os.IsNotExist(err) {
		t.Fatal("the work file is still there after --verify")
	}

	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"compress", "--shard", "3/3", in}, 1, "the index runs from 0 to 2"},
		{[]string{"compress", "--shard", "1/3", "--estimate", in}, 2, "--shard"},
		{[]string{"decompress", "--shard", "0/2", "--verify", merged, "-o", out + "2"}, 2, "separate runs"},
		{[]string{"merge", parts[0]}, 2, "usage"},
		{[]string{"merge", in, "-o", filepath.Join(dir, "x.lmgc")}, 1, "not an lmgc part file"},
	} {
		code, _, errs := lmgc(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: %d %q, want %d and %q", c.args, code, errs, c.code, c.msg)
		}
	}
}
