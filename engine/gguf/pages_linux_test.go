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

// openResident writes w to a temporary file, opens it mapped and touches
// every page, so that the whole file is resident; it returns the path,
// the File, the mapping's address and a checksum of the bytes touched. It
// skips the test where smaps does not count the mapping.
func openResident(t *testing.T, w *Writer) (string, *File, uintptr, byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.gguf")
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
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.mapped)))
	var sum byte
	for i := 0; i < len(f.mapped); i += os.Getpagesize() {
		sum += f.mapped[i]
	}
	if got := mappingRSS(t, base); got < int64(len(f.mapped))*9/10 {
		f.Close()
		t.Skipf("the mapping shows %d resident bytes of %d after touching every page: smaps does not count it here", got, len(f.mapped))
	}
	return path, f, base, sum
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
	path, f, base, sum := openResident(t, w)
	defer f.Close()
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

// TestDropMappedPages checks that DropMappedPages leaves none of a mapped
// file resident, header and small tensors included (those Fingerprint and
// per-tensor drops keep: the pages around a small tensor, which the system
// may map as one 2 MiB folio), and that the bytes read back the same.
func TestDropMappedPages(t *testing.T) {
	w := NewWriter()
	w.AddKV("general.architecture", "llama")
	var want [][]byte
	for i := range 6 {
		n := 4 << 20 // a big tensor, then a norm-sized one
		if i%2 == 1 {
			n = 2304
		}
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(j*5 + i)
		}
		want = append(want, data)
		if err := w.AddTensor(fmt.Sprintf("t%d", i), F32, []int64{int64(n / 4)}, data); err != nil {
			t.Fatal(err)
		}
	}
	_, f, base, sum := openResident(t, w)
	defer f.Close()
	f.DropMappedPages()
	if got := mappingRSS(t, base); got > 0 {
		t.Errorf("after DropMappedPages %d of the file's %d bytes are resident, want 0", got, len(f.mapped))
	}
	for i := range want {
		ti, _ := f.Tensor(fmt.Sprintf("t%d", i))
		b, err := f.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(want[i]) {
			t.Fatalf("tensor t%d reads back different bytes after the drop", i)
		}
	}
	t.Logf("checksum %d", sum)
}
