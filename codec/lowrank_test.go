package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/lmgc/lmgc/codec/lowrank"
	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/tensorio"
)

func lowRankGrad(rows, cols, batch int, seed uint64) []byte {
	return lowrank.SyntheticBytes(rows, cols, batch, seed)
}

func lowRankFile(t testing.TB) []byte {
	nan := lowRankGrad(20, 30, 4, 9)
	binary.LittleEndian.PutUint32(nan[8:], 0x7fc00001)
	var st bytes.Buffer
	err := tensorio.WriteSafetensors(&st, []tensorio.Tensor{
		{Name: "fc1.weight", DType: "F32", Shape: []int64{64, 150}, Data: lowRankGrad(64, 150, 12, 1)},
		{Name: "fc1.bias", DType: "F32", Shape: []int64{64}, Data: gaussian(64, 1e-3, 2)},
		{Name: "fc2.weight", DType: "F32", Shape: []int64{90, 40}, Data: lowRankGrad(90, 40, 7, 3)}, // transposed plan
		{Name: "nan.weight", DType: "F32", Shape: []int64{20, 30}, Data: nan},                       // not transformed
		{Name: "full.weight", DType: "F32", Shape: []int64{10, 12}, Data: gaussian(120, 1, 4)},      // full rank
		{Name: "zero.weight", DType: "F32", Shape: []int64{8, 9}, Data: make([]byte, 4*72)},
		{Name: "conv.weight", DType: "F32", Shape: []int64{4, 2, 3, 3}, Data: gaussian(72, 1, 5)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st.Bytes()
}

func TestLowRankRoundTrip(t *testing.T) {
	src := lowRankFile(t)
	for _, pr := range []string{"order2", "fcm", "fcm2"} {
		plain, _ := roundTrip(t, src, "g.safetensors", Options{Prior: pr, Threads: 2})
		lr, file := roundTrip(t, src, "g.safetensors", Options{Prior: pr, Threads: 2, LowRank: true, Window: 5000})
		h, err := Inspect(file)
		if err != nil {
			t.Fatal(err)
		}
		var planned []string
		for _, s := range h.Original.Segments {
			if s.LowRank != "" {
				planned = append(planned, s.Name)
			}
		}
		if len(planned) != 2 || planned[0] != "fc1.weight" || planned[1] != "fc2.weight" {
			t.Errorf("%s: transformed %v, want fc1.weight and fc2.weight", pr, planned)
		}
		if lr.CompressedBytes >= plain.CompressedBytes*9/10 {
			t.Errorf("%s: %d bytes with the low-rank transform, %d without", pr, lr.CompressedBytes, plain.CompressedBytes)
		}
	}
}

func TestLowRankRefusals(t *testing.T) {
	if _, err := NewEncoder(Options{Format: "hs", LowRank: true}); err == nil {
		t.Error("text serialization with LowRank: no error")
	}
	enc, err := NewEncoder(Options{LowRank: true})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	src := lowRankFile(t)
	var buf bytes.Buffer
	if _, err := enc.EncodeShard(&buf, bytes.NewReader(src), int64(len(src)), "g.safetensors", Shard{0, 2}); err == nil {
		t.Error("EncodeShard with LowRank: no error")
	}
	var file bytes.Buffer
	if _, err := Compress(&file, src, "g.safetensors", Options{LowRank: true}); err != nil {
		t.Fatal(err)
	}
	dst := &sliceWriterAt{}
	if _, err := DecodeShard(dst, bytes.NewReader(file.Bytes()), int64(file.Len()), Shard{0, 1}, Options{}); !errors.Is(err, ErrShardUnsupported) {
		t.Errorf("DecodeShard of a low-rank file: %v, want ErrShardUnsupported", err)
	}
}

type sliceWriterAt struct{ b []byte }

func (w *sliceWriterAt) WriteAt(p []byte, off int64) (int, error) {
	if need := int(off) + len(p); need > len(w.b) {
		w.b = append(w.b, make([]byte, need-len(w.b))...)
	}
	return copy(w.b[off:], p), nil
}

// A damaged plan is a corrupt file, never a panic or a wrong output.
func TestLowRankBadPlans(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Compress(&buf, lowRankFile(t), "g.safetensors", Options{LowRank: true}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	edits := map[string]func(s *container.Segment){
		"not base64":   func(s *container.Segment) { s.LowRank = "@@" },
		"other plan":   func(s *container.Segment) { s.LowRank = "AAEAAA==" }, // rank 1: basis 0, pivot 0
		"wrong shape":  func(s *container.Segment) { s.Shape = []int64{150, 64} },
		"1-D":          func(s *container.Segment) { s.Shape = []int64{64 * 150} },
		"huge shape":   func(s *container.Segment) { s.Shape = []int64{1 << 40, 1 << 40} },
		"truncated":    func(s *container.Segment) { s.LowRank = s.LowRank[:8] },
		"on the bias":  nil,
		"empty string": func(s *container.Segment) { s.LowRank = "" },
	}
	for name, edit := range edits {
		bad := rewriteHeader(t, good, func(h *container.Header) {
			for i := range h.Original.Segments {
				s := &h.Original.Segments[i]
				switch {
				case edit == nil && s.Name == "fc1.bias":
					s.LowRank = h.Original.Segments[i-1].LowRank
				case edit != nil && s.Name == "fc1.weight":
					edit(s)
				}
			}
		})
		_, _, err := Decompress(bad, Options{})
		if !errors.Is(err, container.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// The seed file codec/testdata/seed-order2-lowrank.lmgc (a 24 x 40 rank-4
// tensor) holds a plan: TestSeedFiles decoding it to its SHA-256 keeps the
// prediction's arithmetic from changing under old files.
func TestLowRankSeedHasPlan(t *testing.T) {
	b, err := os.ReadFile("testdata/seed-order2-lowrank.lmgc")
	if err != nil {
		t.Fatal(err)
	}
	h, err := Inspect(b)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range h.Original.Segments {
		if s.LowRank != "" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d segments with a plan, want 1", n)
	}
}
