package data

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/tensorio"
)

// TestWriteNPZ checks the members' names, .npy headers and data bytes of
// a small dataset's archive (numpy itself reads a real one in
// python/tests/test_export_data.py).
func TestWriteNPZ(t *testing.T) {
	d := &Dataset{Name: "tiny", C: 3, H: 2, W: 2, Classes: []string{"a", "b", "c"},
		Train: Split{N: 2, Images: make([]byte, 24), Labels: []uint8{2, 0}},
		Test:  Split{N: 1, Images: make([]byte, 12), Labels: []uint8{1}}}
	for i := range d.Train.Images {
		d.Train.Images[i] = byte(i * 7)
	}
	for i := range d.Test.Images {
		d.Test.Images[i] = byte(200 + i)
	}
	var b bytes.Buffer
	if err := d.WriteNPZ(&b); err != nil {
		t.Fatal(err)
	}
	z, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	labels := func(l []uint8) []byte {
		out := make([]byte, 8*len(l))
		for i, v := range l {
			binary.LittleEndian.PutUint64(out[8*i:], uint64(v))
		}
		return out
	}
	want := []struct {
		name, header string
		data         []byte
	}{
		{"x.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 2, 2), }", d.Train.Images},
		{"y.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", labels(d.Train.Labels)},
		{"x_test.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 3, 2, 2), }", d.Test.Images},
		{"y_test.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", labels(d.Test.Labels)},
	}
	if len(z.File) != len(want) {
		t.Fatalf("%d members, want %d", len(z.File), len(want))
	}
	for i, f := range z.File {
		w := want[i]
		if f.Name != w.name || f.Method != zip.Store {
			t.Fatalf("member %d: %s (method %d), want %s stored", i, f.Name, f.Method, w.name)
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tensorio.ParseLayout(tensorio.FormatNPY, bytes.NewReader(raw), int64(len(raw))); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if !strings.Contains(string(raw[:len(raw)-len(w.data)]), w.header) {
			t.Errorf("%s: header %q, want %q", f.Name, raw[10:len(raw)-len(w.data)], w.header)
		}
		if !bytes.Equal(raw[len(raw)-len(w.data):], w.data) || (len(raw)-len(w.data))%64 != 0 {
			t.Errorf("%s: data not at the end of a 64-aligned header", f.Name)
		}
	}
	d.Train.Labels = d.Train.Labels[:1]
	if err := d.WriteNPZ(io.Discard); err == nil || !strings.Contains(err.Error(), "labels") {
		t.Errorf("inconsistent split: %v, want an error naming the labels", err)
	}
}
