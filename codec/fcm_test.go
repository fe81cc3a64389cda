package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"testing"

	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/tensorio"
)

// toBF16 rounds little-endian float32 bytes to bfloat16 (to nearest, ties
// to even), as torch's .to(torch.bfloat16) does for finite values.
func toBF16(f32 []byte) []byte {
	out := make([]byte, len(f32)/2)
	for i := 0; i+4 <= len(f32); i += 4 {
		u := binary.LittleEndian.Uint32(f32[i:])
		u += 0x7fff + (u>>16)&1
		binary.LittleEndian.PutUint16(out[i/2:], uint16(u>>16))
	}
	return out
}

// toF16 converts little-endian float32 bytes to IEEE float16 by way of
// float64 (the values used here are normal float16 numbers or zero).
func toF16(f32 []byte) []byte {
	out := make([]byte, len(f32)/2)
	for i := 0; i+4 <= len(f32); i += 4 {
		v := math.Float32frombits(binary.LittleEndian.Uint32(f32[i:]))
		var h uint16
		if v < 0 {
			h, v = 0x8000, -v
		}
		if v >= 1.0/16384 {
			e := math.Floor(math.Log2(float64(v)))
			m := math.Round((float64(v)/math.Exp2(e) - 1) * 1024)
			if m == 1024 {
				m, e = 0, e+1
			}
			h |= uint16(e+15)<<10 | uint16(m)
		}
		binary.LittleEndian.PutUint16(out[i/2:], h)
	}
	return out
}

func safetensors16(t *testing.T, tensors ...tensorio.Tensor) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tensorio.WriteSafetensors(&b, tensors, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFloat16RoundTrips codes bfloat16 and float16 tensors with the float
// priors (2-byte layout, several windows) and checks that they are coded
// as floats, decode exactly and do not depend on the thread count.
func TestFloat16RoundTrips(t *testing.T) {
	g := gaussian(6000, 1e-3, 11)
	for _, dt := range []string{"BF16", "F16"} {
		half := toBF16(g)
		if dt == "F16" {
			half = toF16(g)
		}
		src := safetensors16(t,
			tensorio.Tensor{Name: "w", DType: dt, Shape: []int64{50, 100}, Data: half[:10000]},
			tensorio.Tensor{Name: "b", DType: dt, Shape: []int64{1000}, Data: half[10000:]})
		for _, pr := range []string{"fcm", "fcm2"} {
			opt := Options{Prior: pr, Window: 8000, Threads: 1}
			st, file := roundTrip(t, src, "h.safetensors", opt)
			if st.FloatBytes != int64(len(half)) {
				t.Errorf("%s %s: %d float bytes, want %d", dt, pr, st.FloatBytes, len(half))
			}
			h, err := Inspect(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range h.Original.Segments {
				if s.DType == dt && s.Kind != kindFloat16 {
					t.Errorf("%s %s: segment %s is %q", dt, pr, s.Name, s.Kind)
				}
			}
			// bfloat16: 1 sign, ~3 exponent, 7 mantissa bits of 16; float16:
			// 10 mantissa bits, and windows of 4000 floats to learn from.
			limit := map[string]float64{"BF16": 80, "F16": 97}[dt]
			t.Logf("%s %s: %.2f%%", dt, pr, st.RatePercent)
			if st.RatePercent > limit {
				t.Errorf("%s %s: rate %.2f%% above %.0f%%: the exponent is not learnt", dt, pr, st.RatePercent, limit)
			}
			opt.Threads = 3
			var again bytes.Buffer
			if _, err := Compress(&again, src, "h.safetensors", opt); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), file) {
				t.Errorf("%s %s: output depends on the thread count", dt, pr)
			}
		}
		// A prior without a 2-byte layout leaves them to zstd, as before.
		st, _ := roundTrip(t, src, "h.safetensors", Options{Prior: "order2"})
		if st.FloatBytes != 0 {
			t.Errorf("%s order2: %d float bytes, want 0", dt, st.FloatBytes)
		}
	}
}

// TestFloat16WithFloat32 checks that a file with float32 tensors keeps
// its 16-bit ones in the other stream (one float width per file).
func TestFloat16WithFloat32(t *testing.T) {
	g := gaussian(2000, 1e-3, 12)
	src := safetensors16(t,
		tensorio.Tensor{Name: "w", DType: "F32", Shape: []int64{1000}, Data: g[:4000]},
		tensorio.Tensor{Name: "h", DType: "BF16", Shape: []int64{1000}, Data: toBF16(g[4000:])})
	st, _ := roundTrip(t, src, "m.safetensors", Options{Prior: "fcm"})
	if st.FloatBytes != 4000 {
		t.Errorf("%d float bytes, want the 4000 of the float32 tensor", st.FloatBytes)
	}
}

// TestFCMBeatsZstdOnBF16 is the real-data check of the 16-bit layout: a
// gradient of the repository's testdata rounded to bfloat16 must code at
// least 10% smaller with fcm2 than the zstd -19 fallback (order2 file).
func TestFCMBeatsZstdOnBF16(t *testing.T) {
	raw, err := os.ReadFile("../testdata/gradients/convnet-mnist-2ep/grad-000465.npy")
	if err != nil {
		t.Fatal(err)
	}
	lay, err := tensorio.ParseLayout("npy", bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	d := lay.Segments[1]
	f32 := raw[d.Offset : d.Offset+d.Length][:4*100000]
	src := safetensors16(t, tensorio.Tensor{Name: "g", DType: "BF16", Shape: []int64{100000}, Data: toBF16(f32)})
	strong, _ := roundTrip(t, src, "g.safetensors", Options{Prior: "fcm2"})
	fallback, _ := roundTrip(t, src, "g.safetensors", Options{Prior: "order2"})
	t.Logf("bfloat16 gradient: fcm2 %.2f%% (ideal %.0f bytes), zstd fallback %.2f%%", strong.RatePercent, strong.IdealBytes, fallback.RatePercent)
	if strong.RatePercent > 0.9*fallback.RatePercent {
		t.Errorf("fcm2 %.2f%% is not 10%% below the zstd fallback's %.2f%%", strong.RatePercent, fallback.RatePercent)
	}
}

// TestFCMErrors: the float priors refuse text formats, and a header
// mixing float widths or missing the byte order is corrupt.
func TestFCMErrors(t *testing.T) {
	if _, err := NewEncoder(Options{Prior: "fcm", Format: "hs"}); err == nil {
		t.Error("fcm with a text format: no error")
	}
	var buf bytes.Buffer
	if _, err := Compress(&buf, gaussian(500, 1e-3, 13), "x.f32", Options{Prior: "fcm"}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	noOrder := rewriteHeader(t, good, func(h *container.Header) {
		h.Prior.Params = map[string]any{"period": 4, "chunk": 0}
	})
	if _, _, err := Decompress(noOrder, Options{}); !errors.Is(err, container.ErrCorrupt) {
		t.Errorf("fcm file without the byte order: %v, want a corrupt-file error", err)
	}
	badWidth := rewriteHeader(t, good, func(h *container.Header) {
		h.Prior.Params = map[string]any{"period": 3, "chunk": 0, "order": "sign-first"}
	})
	if _, _, err := Decompress(badWidth, Options{}); err == nil {
		t.Error("fcm file with 3-byte floats decoded")
	}
	src := safetensors16(t,
		tensorio.Tensor{Name: "a", DType: "F32", Shape: []int64{10}, Data: gaussian(10, 1, 1)},
		tensorio.Tensor{Name: "b", DType: "BF16", Shape: []int64{10}, Data: make([]byte, 20)})
	buf.Reset()
	if _, err := Compress(&buf, src, "m.safetensors", Options{Prior: "fcm"}); err != nil {
		t.Fatal(err)
	}
	mixed := rewriteHeader(t, buf.Bytes(), func(h *container.Header) {
		for i := range h.Original.Segments {
			if h.Original.Segments[i].DType == "BF16" {
				h.Original.Segments[i].Kind = kindFloat16
			}
		}
	})
	if _, _, err := Decompress(mixed, Options{}); !errors.Is(err, container.ErrCorrupt) {
		t.Errorf("float32 and float16 segments in one file: %v, want a corrupt-file error", err)
	}
}

// TestFCMDeadUnits: rows of exact zeros (dead units, unused embedding
// rows) cost the float priors little: a tensor with three rows in four
// dead codes within 10% of its live rows coded alone.
func TestFCMDeadUnits(t *testing.T) {
	const rows, cols = 256, 64
	g := gaussian(rows*cols, 1e-3, 14)
	var live []byte
	for row := 0; row < rows; row++ {
		r := g[row*cols*4 : (row+1)*cols*4]
		if row%4 != 0 {
			clear(r)
		} else {
			live = append(live, r...)
		}
	}
	for _, pr := range []string{"fcm", "fcm2"} {
		all, _ := roundTrip(t, g, "dead.f32", Options{Prior: pr})
		alone, _ := roundTrip(t, live, "live.f32", Options{Prior: pr})
		t.Logf("%s: %d bytes with the dead rows, %d for the live rows alone", pr, all.CompressedBytes, alone.CompressedBytes)
		if float64(all.CompressedBytes) > 1.1*float64(alone.CompressedBytes) {
			t.Errorf("%s: the dead rows cost %d bytes, more than 10%% of the live rows' %d", pr, all.CompressedBytes-alone.CompressedBytes, alone.CompressedBytes)
		}
	}
}

// TestFCMDeterministicAcrossThreads: float32 files coded by the float
// priors do not depend on the thread count (windows of 10,000 floats).
func TestFCMDeterministicAcrossThreads(t *testing.T) {
	src := gaussian(30000, 1e-3, 15)
	for _, pr := range []string{"fcm", "fcm2"} {
		_, one := roundTrip(t, src, "x.f32", Options{Prior: pr, Threads: 1, Window: 40000})
		_, three := roundTrip(t, src, "x.f32", Options{Prior: pr, Threads: 3, Window: 40000})
		if !bytes.Equal(one, three) {
			t.Errorf("%s: output depends on the thread count", pr)
		}
	}
}
