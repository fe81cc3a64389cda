package gguf

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// mappingRSS returns the resident bytes (/proc/self/smaps "Rss") of the
// mapping that holds address p.
func mappingRSS(t *testing.T, p uintptr) int64 {
	t.Helper()
	fh, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 && strings.Contains(line, " ") && !strings.HasSuffix(strings.Fields(line)[0], ":") {
			in = lo <= p && p < hi
			continue
		}
		if f := strings.Fields(line); in && len(f) == 3 && f[0] == "Rss:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no mapping holds %#x", p)
	return 0
}

// TestFingerprintDropsPages checks that Fingerprint, which reads every
// tensor byte of a mapped file, does not leave the file in the process's
// resident set (where it would sit next to the packed copy a loaded model
// holds): after it, the mapping's resident pages are at most the header's
// and a page per hashed piece.
func TestFingerprintDropsPages(t *testing.T) {
	w := NewWriter()
	w.AddKV("general.architecture", "llama")
	const n = 3 << 20 // floats: 12 MiB in three tensors
	for i := range 3 {
		data := make([]byte, 4*n/3)
		for j := range data {
			data[j] = byte(j*7 + i)
		}
		if err := w.AddTensor(fmt.Sprintf("t%d", i), F32, []int64{n / 3}, data); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "big.gguf")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(out); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.mapped)))
	// Touch every page: the whole file is resident.
	var sum byte
	for i := 0; i < len(f.mapped); i += os.Getpagesize() {
		sum += f.mapped[i]
	}
	if got := mappingRSS(t, base); got < int64(len(f.mapped))*9/10 {
		t.Skipf("the mapping shows %d resident bytes of %d after touching every page: smaps does not count it here", got, len(f.mapped))
	}
	fp := f.Fingerprint()
	if fp == "" {
		t.Fatal("no fingerprint")
	}
	got := mappingRSS(t, base)
	pieces := int64(len(f.mapped)/fingerprintChunk + len(f.Tensors))
	if limit := f.DataOffset + 2*pieces*int64(os.Getpagesize()) + 64<<10; got > limit {
		t.Errorf("after Fingerprint %d of the file's %d bytes are resident, want at most %d", got, len(f.mapped), limit)
	}
	// The dropped pages read back the same bytes.
	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Fingerprint() != fp || f.Fingerprint() != fp {
		t.Error("fingerprint changed after the pages were dropped")
	}
	t.Logf("resident after Fingerprint: %d of %d bytes (checksum %d)", got, len(f.mapped), sum)
}
