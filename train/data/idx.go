package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxIDX bounds what an IDX header may ask for (far above any dataset
// here); the data itself must then really be that long.
const maxIDX = 1 << 31

// ReadIDX reads an unsigned-byte IDX file (magic 0x08, any rank) and
// returns its dimensions and data. The data length must match the header
// exactly; memory grows only with bytes actually read.
func ReadIDX(r io.Reader) (dims []int, data []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, fmt.Errorf("idx: reading header: %v", err)
	}
	if hdr[0] != 0 || hdr[1] != 0 || hdr[2] != 0x08 || hdr[3] == 0 || hdr[3] > 4 {
		return nil, nil, fmt.Errorf("idx: bad magic % x (want 00 00 08 <rank 1-4>)", hdr)
	}
	dims = make([]int, hdr[3])
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("idx: reading dimension %d: %v", i, err)
		}
		dims[i] = int(d)
		if d == 0 || total > maxIDX/int(d) {
			return nil, nil, fmt.Errorf("idx: bad dimensions %v", dims[:i+1])
		}
		total *= int(d)
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, int64(total)+1))
	if err != nil {
		return nil, nil, fmt.Errorf("idx: reading data: %v", err)
	}
	if n != int64(total) {
		return nil, nil, fmt.Errorf("idx: header says %v = %d bytes of data, file has %d", dims, total, n)
	}
	return dims, buf.Bytes(), nil
}

func readIDXFile(dir, base string) ([]int, []byte, error) {
	path := filepath.Join(dir, base)
	f, err := os.Open(path + ".gz")
	gz := err == nil
	if err != nil {
		f, err = os.Open(path)
		if err != nil {
			return nil, nil, fmt.Errorf("missing %s(.gz): %v", path, err)
		}
	}
	defer f.Close()
	var r io.Reader = f
	if gz {
		path += ".gz"
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", path, err)
		}
		r = zr
	}
	dims, data, err := ReadIDX(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	return dims, data, nil
}

// LoadIDX loads an MNIST-style directory: train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
// each optionally gzipped. name picks the normalisation statistics
// ("mnist", "fashion-mnist"; others use mean 0.5, std 0.5).
func LoadIDX(dir, name string) (*Dataset, error) {
	d := &Dataset{Name: name, C: 1}
	for _, sp := range []struct {
		prefix string
		s      *Split
	}{{"train", &d.Train}, {"t10k", &d.Test}} {
		idims, img, err := readIDXFile(dir, sp.prefix+"-images-idx3-ubyte")
		if err != nil {
			return nil, err
		}
		ldims, lab, err := readIDXFile(dir, sp.prefix+"-labels-idx1-ubyte")
		if err != nil {
			return nil, err
		}
		if len(idims) != 3 || len(ldims) != 1 || idims[0] != ldims[0] {
			return nil, fmt.Errorf("%s: %s images %v and labels %v do not match", dir, sp.prefix, idims, ldims)
		}
		if d.H != 0 && (d.H != idims[1] || d.W != idims[2]) {
			return nil, fmt.Errorf("%s: train and test image sizes differ", dir)
		}
		d.H, d.W = idims[1], idims[2]
		for i, l := range lab {
			if l > 9 {
				return nil, fmt.Errorf("%s: %s label %d is %d (want 0-9)", dir, sp.prefix, i, l)
			}
		}
		*sp.s = Split{N: idims[0], Images: img, Labels: lab}
	}
	d.Classes = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	switch name {
	case "mnist":
		d.Mean, d.Std = []float32{0.1307}, []float32{0.3081}
	case "fashion-mnist":
		d.Mean, d.Std = []float32{0.2860}, []float32{0.3530}
		d.Classes = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	default:
		d.Mean, d.Std = []float32{0.5}, []float32{0.5}
	}
	return d, nil
}
