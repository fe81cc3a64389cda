package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // ImageFolder decoders
	_ "image/png"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// maxArchive bounds the total bytes read from an archive or directory.
const maxArchive = 4 << 30

// readArchive reads every regular file of a .tar, .tar.gz or .tgz into
// memory, keyed by slash path.
func readArchive(p string) (map[string][]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("dataset: %v", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".tgz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		r = zr
	} else if !strings.HasSuffix(p, ".tar") {
		return nil, fmt.Errorf("%s: not a directory, .tar, .tar.gz or .tgz", p)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(r)
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		var buf bytes.Buffer
		n, err := io.Copy(&buf, io.LimitReader(tr, maxArchive-total+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", p, h.Name, err)
		}
		total += n
		if total > maxArchive {
			return nil, fmt.Errorf("%s: more than %d bytes of data", p, maxArchive)
		}
		files[path.Clean(strings.TrimPrefix(h.Name, "./"))] = buf.Bytes()
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: archive holds no files", p)
	}
	return files, nil
}

// readDir reads the dataset files (images and .bin batches) of a tree.
func readDir(root string) (map[string][]byte, error) {
	files := map[string][]byte{}
	var total int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || !isDataFile(p) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		total += int64(len(b))
		if total > maxArchive {
			return fmt.Errorf("more than %d bytes of data", maxArchive)
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %v", root, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("dataset %s: no image files or CIFAR-10 batches found", root)
	}
	return files, nil
}

func isDataFile(p string) bool {
	switch strings.ToLower(path.Ext(p)) {
	case ".jpg", ".jpeg", ".png", ".bin":
		return true
	}
	return false
}

// cifarBinary reads the official CIFAR-10 binary batches: data_batch_1..5
// for training, test_batch for test; records of 1 label + 3072 pixels.
func cifarBinary(files map[string][]byte) (*Dataset, error) {
	d := &Dataset{C: 3, H: 32, W: 32,
		Classes: []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}}
	setCIFARStats(d)
	find := func(base string) ([]byte, error) {
		for p, b := range files {
			if path.Base(p) == base {
				return b, nil
			}
		}
		return nil, fmt.Errorf("CIFAR-10 binary: missing %s", base)
	}
	add := func(s *Split, base string) error {
		b, err := find(base)
		if err != nil {
			return err
		}
		const rec = 1 + 3072
		if len(b) == 0 || len(b)%rec != 0 {
			return fmt.Errorf("CIFAR-10 binary: %s has %d bytes, not a multiple of %d", base, len(b), rec)
		}
		for i := 0; i < len(b); i += rec {
			if b[i] > 9 {
				return fmt.Errorf("CIFAR-10 binary: %s record %d has label %d", base, i/rec, b[i])
			}
			s.Labels = append(s.Labels, b[i])
			s.Images = append(s.Images, b[i+1:i+rec]...)
			s.N++
		}
		return nil
	}
	for i := 1; i <= 5; i++ {
		if err := add(&d.Train, fmt.Sprintf("data_batch_%d.bin", i)); err != nil {
			return nil, err
		}
	}
	if err := add(&d.Test, "test_batch.bin"); err != nil {
		return nil, err
	}
	return d, nil
}

// imageFolder builds a dataset from paths .../train/<class>/<file> and
// .../test/<class>/<file> (or val/). Classes are the sorted train class
// folder names; files are taken in sorted path order.
func imageFolder(files map[string][]byte) (*Dataset, error) {
	type item struct {
		path, class string
	}
	splits := map[string][]item{}
	for p := range files {
		if !isDataFile(p) || strings.HasSuffix(p, ".bin") {
			continue
		}
		parts := strings.Split(p, "/")
		if len(parts) < 3 {
			continue
		}
		sp := parts[len(parts)-3]
		if sp == "val" {
			sp = "test"
		}
		if sp != "train" && sp != "test" {
			continue
		}
		splits[sp] = append(splits[sp], item{p, parts[len(parts)-2]})
	}
	if len(splits["train"]) == 0 {
		return nil, fmt.Errorf("ImageFolder: no images under train/<class>/ (and no CIFAR-10 binary batches)")
	}
	classSet := map[string]int{}
	for _, it := range splits["train"] {
		classSet[it.class] = 0
	}
	var classes []string
	for c := range classSet {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	if len(classes) > 256 {
		return nil, fmt.Errorf("ImageFolder: %d classes (at most 256 supported)", len(classes))
	}
	for i, c := range classes {
		classSet[c] = i
	}
	d := &Dataset{Classes: classes}
	items2paths := func(items []item) []string {
		ps := make([]string, len(items))
		for i, it := range items {
			ps[i] = it.path
		}
		return ps
	}
	for _, sp := range []string{"train", "test"} {
		items := splits[sp]
		sort.Slice(items, func(i, j int) bool { return items[i].path < items[j].path })
		s := &d.Train
		if sp == "test" {
			s = &d.Test
		}
		if err := decodeAll(d, s, items2paths(items), func(i int) (int, bool) {
			lab, ok := classSet[items[i].class]
			return lab, ok
		}, files); err != nil {
			return nil, err
		}
	}
	d.Mean, d.Std = make([]float32, d.C), make([]float32, d.C)
	for c := range d.Mean {
		d.Mean[c], d.Std[c] = 0.5, 0.5
	}
	if d.C == 3 && d.H == 32 && d.W == 32 && len(classes) == 10 {
		setCIFARStats(d)
	}
	return d, nil
}

// pixels returns the image as CHW bytes (c = 1: gray, c = 3: RGB).
func pixels(img image.Image, c int) []byte {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	out := make([]byte, c*h*w)
	if c == 1 {
		g := image.NewGray(image.Rect(0, 0, w, h))
		draw.Draw(g, g.Bounds(), img, b.Min, draw.Src)
		copy(out, g.Pix)
		return out
	}
	rgba := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	for p := 0; p < h*w; p++ {
		for ch := 0; ch < 3; ch++ {
			out[ch*h*w+p] = rgba.Pix[4*p+ch]
		}
	}
	return out
}

// decodeAll decodes the images at paths into s (in order, on all CPUs;
// each image has its own slot, so the result does not depend on timing).
// The first image fixes the size and channel count.
func decodeAll(d *Dataset, s *Split, paths []string, label func(int) (int, bool), files map[string][]byte) error {
	if len(paths) == 0 {
		return nil
	}
	if d.H == 0 {
		img, _, err := image.Decode(bytes.NewReader(files[paths[0]]))
		if err != nil {
			return fmt.Errorf("ImageFolder: %s: %v", paths[0], err)
		}
		d.H, d.W, d.C = img.Bounds().Dy(), img.Bounds().Dx(), 3
		if _, gray := img.(*image.Gray); gray {
			d.C = 1
		}
	}
	size := d.C * d.H * d.W
	s.N = len(paths)
	s.Images = make([]byte, s.N*size)
	s.Labels = make([]uint8, s.N)
	errs := make([]error, s.N)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < s.N; i += workers {
				lab, ok := label(i)
				if !ok {
					errs[i] = fmt.Errorf("ImageFolder: %s: class is not a train class", paths[i])
					continue
				}
				img, _, err := image.Decode(bytes.NewReader(files[paths[i]]))
				if err != nil {
					errs[i] = fmt.Errorf("ImageFolder: %s: %v", paths[i], err)
					continue
				}
				if b := img.Bounds(); b.Dy() != d.H || b.Dx() != d.W {
					errs[i] = fmt.Errorf("ImageFolder: %s is %dx%d, the first image is %dx%d", paths[i], b.Dx(), b.Dy(), d.W, d.H)
					continue
				}
				copy(s.Images[i*size:], pixels(img, d.C))
				s.Labels[i] = uint8(lab)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
