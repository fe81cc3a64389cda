package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func TestReadIDX(t *testing.T) {
	dims, data, err := ReadIDX(bytes.NewReader(idxBytes([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6})))
	if err != nil || len(dims) != 2 || dims[0] != 2 || dims[1] != 3 || !bytes.Equal(data, []byte{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("got %v %v %v", dims, data, err)
	}
	bad := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "header"},
		{"magic", []byte{0, 0, 9, 1, 0, 0, 0, 1, 5}, "bad magic"},
		{"short", idxBytes([]int{2, 3}, []byte{1, 2}), "file has 2"},
		{"long", idxBytes([]int{1}, []byte{1, 2}), "file has 2"},
		{"huge header", idxBytes([]int{65535, 65535, 65535}, []byte{1}), "bad dimensions"},
		{"big but short", idxBytes([]int{60000, 28, 28}, []byte{1}), "file has 1"},
		{"zero dim", idxBytes([]int{0}, nil), "bad dimensions"},
	}
	for _, tc := range bad {
		_, _, err := ReadIDX(bytes.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	f.Add(idxBytes([]int{1, 2, 2}, []byte{1, 2, 3, 4}))
	f.Add([]byte{0, 0, 8, 1, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		dims, data, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		if n != len(data) || len(data) > len(b) {
			t.Fatalf("dims %v but %d bytes from %d input bytes", dims, len(data), len(b))
		}
	})
}

func writeIDXDir(t *testing.T, dir string, n int, labels []byte) {
	t.Helper()
	img := make([]byte, n*4*4)
	for i := range img {
		img[i] = byte(i)
	}
	for _, p := range []string{"train", "t10k"} {
		os.WriteFile(filepath.Join(dir, p+"-images-idx3-ubyte"), idxBytes([]int{n, 4, 4}, img), 0o644)
		os.WriteFile(filepath.Join(dir, p+"-labels-idx1-ubyte"), idxBytes([]int{n}, labels), 0o644)
	}
}

func TestLoadIDXDir(t *testing.T) {
	dir := t.TempDir()
	writeIDXDir(t, dir, 3, []byte{0, 9, 4})
	d, err := LoadPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.N != 3 || d.Test.N != 3 || d.H != 4 || d.W != 4 || d.C != 1 || d.Train.Labels[1] != 9 || d.Train.Images[17] != 17 {
		t.Fatalf("unexpected dataset %+v", d)
	}
	writeIDXDir(t, dir, 3, []byte{0, 10, 4})
	if _, err := LoadPath(dir); err == nil || !strings.Contains(err.Error(), "label 1 is 10") {
		t.Errorf("bad label: err %v", err)
	}
	writeIDXDir(t, dir, 3, []byte{0, 9, 4})
	os.Remove(filepath.Join(dir, "t10k-labels-idx1-ubyte"))
	if _, err := LoadPath(dir); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: err %v", err)
	}
}

func tarGz(t *testing.T, path string, files map[string][]byte) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	tw.Close()
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCIFARBinary(t *testing.T) {
	files := map[string][]byte{}
	for i := 1; i <= 6; i++ {
		name := fmt.Sprintf("cifar-10-batches-bin/data_batch_%d.bin", i)
		if i == 6 {
			name = "cifar-10-batches-bin/test_batch.bin"
		}
		rec := make([]byte, 2*3073)
		rec[0], rec[3073] = byte(i%10), 7
		rec[1], rec[3073+3072] = 200, 100
		files[name] = rec
	}
	dir := t.TempDir()
	for name, b := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	tgz := filepath.Join(t.TempDir(), "cifar-10-binary.tar.gz")
	tarGz(t, tgz, files)
	for _, p := range []string{dir, tgz} {
		d, err := LoadPath(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if d.Train.N != 10 || d.Test.N != 2 || d.C != 3 || d.H != 32 || d.Train.Labels[2] != 2 || d.Train.Images[0] != 200 || d.Test.Images[2*3072-1] != 100 {
			t.Fatalf("%s: unexpected dataset N=%d/%d labels=%v", p, d.Train.N, d.Test.N, d.Train.Labels)
		}
	}
	files["cifar-10-batches-bin/test_batch.bin"] = make([]byte, 100)
	tarGz(t, tgz, files)
	if _, err := LoadPath(tgz); err == nil || !strings.Contains(err.Error(), "not a multiple") {
		t.Errorf("truncated batch: err %v", err)
	}
}

func pngBytes(c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := 0; i < 6; i++ {
		img.Set(i%3, i/3, c)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func TestImageFolder(t *testing.T) {
	files := map[string][]byte{
		"ds/train/cat/1.png": pngBytes(color.RGBA{10, 20, 30, 255}),
		"ds/train/ant/1.png": pngBytes(color.RGBA{1, 2, 3, 255}),
		"ds/train/ant/2.png": pngBytes(color.RGBA{4, 5, 6, 255}),
		"ds/test/cat/9.png":  pngBytes(color.RGBA{7, 8, 9, 255}),
	}
	tgz := filepath.Join(t.TempDir(), "ds.tgz")
	tarGz(t, tgz, files)
	d, err := LoadPath(tgz)
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.N != 3 || d.Test.N != 1 || d.C != 3 || d.H != 2 || d.W != 3 || d.Classes[0] != "ant" {
		t.Fatalf("unexpected %+v", d)
	}
	// Sorted paths: ant/1, ant/2, cat/1. CHW: image 2 channel 1 = 20.
	if d.Train.Labels[2] != 1 || d.Train.Images[2*18+6] != 20 || d.Test.Images[12] != 9 {
		t.Fatalf("labels %v images %v", d.Train.Labels, d.Train.Images)
	}
	files["ds/test/dog/1.png"] = pngBytes(color.RGBA{})
	tarGz(t, tgz, files)
	if _, err := LoadPath(tgz); err == nil || !strings.Contains(err.Error(), "not a train class") {
		t.Errorf("unknown class: err %v", err)
	}
	delete(files, "ds/test/dog/1.png")
	files["ds/train/cat/2.png"] = []byte("not a png")
	tarGz(t, tgz, files)
	if _, err := LoadPath(tgz); err == nil || !strings.Contains(err.Error(), "cat/2.png") {
		t.Errorf("corrupt image: err %v", err)
	}
}

// repoRoot walks up from the test's directory to go.mod.
func repoRoot(t *testing.T) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func TestRealDatasets(t *testing.T) {
	t.Run("mnist", func(t *testing.T) {
		if _, err := MNISTDir(); err != nil {
			t.Skip(err)
		}
		d, err := Load("mnist", "")
		if err != nil {
			t.Fatal(err)
		}
		if d.Train.N != 60000 || d.Test.N != 10000 || d.H != 28 || d.C != 1 {
			t.Fatalf("MNIST: %d/%d %dx%dx%d", d.Train.N, d.Test.N, d.C, d.H, d.W)
		}
	})
	t.Run("fashion-mnist", func(t *testing.T) {
		if _, err := os.Stat(FashionMNISTDir); err != nil {
			t.Skip("dataset-fashion-mnist is not installed")
		}
		d, err := Load("fashion-mnist", "")
		if err != nil {
			t.Fatal(err)
		}
		if d.Train.N != 60000 || d.Test.N != 10000 || d.H != 28 {
			t.Fatalf("Fashion-MNIST: %d/%d", d.Train.N, d.Test.N)
		}
	})
	t.Run("cifar10-jpg", func(t *testing.T) {
		p := filepath.Join(repoRoot(t), "..", "shared", "datasets", "cifar10-jpg.tar.gz")
		if _, err := os.Stat(p); err != nil {
			t.Skip("../shared/datasets/cifar10-jpg.tar.gz is absent (only in the project's shared checkout)")
		}
		if testing.Short() {
			t.Skip("decoding 60,000 JPEGs; skipped in -short")
		}
		d, err := Load("cifar10", p)
		if err != nil {
			t.Fatal(err)
		}
		if d.Train.N != 50000 || d.Test.N != 10000 || d.C != 3 || d.H != 32 || d.Classes[0] != "airplane" || d.Classes[9] != "truck" {
			t.Fatalf("CIFAR-10: %d/%d %dx%dx%d %v", d.Train.N, d.Test.N, d.C, d.H, d.W, d.Classes)
		}
		counts := make([]int, 10)
		for _, l := range d.Train.Labels {
			counts[l]++
		}
		for c, n := range counts {
			if n != 5000 {
				t.Errorf("class %d has %d train images", c, n)
			}
		}
	})
}
