package data

import (
	"archive/zip"
	"fmt"
	"io"

	"github.com/lmgc/lmgc/tensorio"
)

// WriteNPZ writes the dataset's decoded pixels and labels as a NumPy .npz
// archive (what numpy.savez writes: a zip of stored, uncompressed .npy
// members): x (N, C, H, W) uint8 and y (N,) int64 for the train split,
// x_test and y_test for the test split. The bytes are exactly the ones
// training reads (the same decoder, before normalisation), so another
// program (scripts/torchref/torchref.py --pixels) can train on the same
// images.
func (d *Dataset) WriteNPZ(w io.Writer) error {
	z := zip.NewWriter(w)
	for _, m := range []struct {
		name string
		s    *Split
	}{{"", &d.Train}, {"_test", &d.Test}} {
		if len(m.s.Images) != m.s.N*d.ImageSize() || len(m.s.Labels) != m.s.N {
			return fmt.Errorf("data: %s%s: %d images of %d bytes and %d labels do not fit %d images",
				d.Name, m.name, len(m.s.Images), d.ImageSize(), len(m.s.Labels), m.s.N)
		}
		shape := []int64{int64(m.s.N), int64(d.C), int64(d.H), int64(d.W)}
		if err := writeMember(z, "x"+m.name+".npy", "|u1", shape, m.s.Images); err != nil {
			return err
		}
		y := make([]byte, 8*m.s.N)
		for i, l := range m.s.Labels {
			y[8*i] = l // little-endian int64 of a label < 256
		}
		if err := writeMember(z, "y"+m.name+".npy", "<i8", []int64{int64(m.s.N)}, y); err != nil {
			return err
		}
	}
	return z.Close()
}

// writeMember adds one stored .npy member to z.
func writeMember(z *zip.Writer, name, descr string, shape []int64, data []byte) error {
	f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
	if err != nil {
		return err
	}
	return tensorio.WriteNPY(f, descr, shape, false, data)
}
