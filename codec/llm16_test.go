package codec

import (
	"bytes"
	"errors"
	"testing"

	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/prior/llm"
	"github.com/lmgc/lmgc/tensorio"
)

// TestLLMFloat16 codes bfloat16 and float16 tensors (safetensors BF16/F16,
// npy "<f2") with the llm prior in both modes: they go to the prior as
// 2-byte floats (one 4-hex-digit group each), not to zstd, the header
// says so, and they decode exactly (encoding scores whole windows,
// decoding runs them in lock step: the same distributions, bit for bit).
func TestLLMFloat16(t *testing.T) {
	model := tinyModel(t, 1)
	f32 := sampleFloats(t, 1200) // 300 real gradient floats
	var npy bytes.Buffer
	if err := tensorio.WriteNPY(&npy, "<f2", []int64{300}, false, toF16(f32)); err != nil {
		t.Fatal(err)
	}
	inputs := []struct {
		name string
		src  []byte
		n16  int
	}{
		{"bf16.safetensors", safetensors16(t,
			tensorio.Tensor{Name: "w", DType: "BF16", Shape: []int64{20, 10}, Data: toBF16(f32)[:400]},
			tensorio.Tensor{Name: "b", DType: "BF16", Shape: []int64{100}, Data: toBF16(f32)[400:]}), 600},
		{"f16.safetensors", safetensors16(t, tensorio.Tensor{Name: "w", DType: "F16", Shape: []int64{300}, Data: toF16(f32)}), 600},
		{"h.npy", npy.Bytes(), 600},
	}
	for _, in := range inputs {
		for _, mode := range []string{llm.Constrained, llm.Paper} {
			name := in.name + "/" + mode
			opt := Options{Prior: "llm", Model: model, Window: 300, LLM: llm.Config{Mode: mode, Batch: 3}}
			var buf bytes.Buffer
			st, err := Compress(&buf, in.src, in.name, opt)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if st.FloatBytes != int64(in.n16) {
				t.Errorf("%s: %d float bytes coded by the prior, want %d", name, st.FloatBytes, in.n16)
			}
			h, err := Inspect(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if h.Other.Symbols >= int64(len(in.src)-in.n16+1) {
				t.Errorf("%s: %d bytes went to zstd, more than the %d non-float bytes", name, h.Other.Symbols, len(in.src)-in.n16)
			}
			if h.Prior.Params["float_bytes"] != 2.0 || h.BytesPerGroup != 2 || h.Serialization != "hex-space" {
				t.Errorf("%s: params %v, %d bytes per group, %s", name, h.Prior.Params, h.BytesPerGroup, h.Serialization)
			}
			for _, s := range h.Original.Segments {
				if s.DType != "" && s.Kind != kindFloat16 {
					t.Errorf("%s: segment %s (%s) is %q", name, s.Name, s.DType, s.Kind)
				}
			}
			// Constrained: 4 digits per value, each coded.
			if mode == llm.Constrained && (st.Tokens != int64(2*in.n16) || st.TokensPerFloat != 4) {
				t.Errorf("%s: %d symbols coded, %.2f per value; want %d, 4", name, st.Tokens, st.TokensPerFloat, 2*in.n16)
			}
			got, _, err := Decompress(buf.Bytes(), Options{Model: model})
			if err != nil || !bytes.Equal(got, in.src) {
				t.Fatalf("%s: round trip: %v", name, err)
			}
			t.Logf("%s: %d values, %d symbols, file %d bytes (%.2f%%)", name, in.n16/2, st.Tokens, buf.Len(), st.RatePercent)
		}
	}
}

// TestLLMFloat16Sharded: constrained-mode windows of 16-bit floats hold
// whole values, so shards decode on their own.
func TestLLMFloat16Sharded(t *testing.T) {
	model := tinyModel(t, 1)
	src := safetensors16(t, tensorio.Tensor{Name: "g", DType: "BF16", Shape: []int64{400}, Data: toBF16(sampleFloats(t, 1600))})
	opt := Options{Prior: "llm", Model: model, Window: 300, LLM: llm.Config{Mode: llm.Constrained, Batch: 2}}
	checkSharded(t, src, "g.safetensors", opt, true, 3)
}

// TestLLMFloat16Corrupt: a header whose llm parameters disagree with the
// float width of its segments is refused as corrupt, before decoding.
func TestLLMFloat16Corrupt(t *testing.T) {
	model := tinyModel(t, 1)
	f32 := sampleFloats(t, 400)
	half := safetensors16(t, tensorio.Tensor{Name: "g", DType: "BF16", Shape: []int64{100}, Data: toBF16(f32)})
	var b16, b32 bytes.Buffer
	opt := Options{Prior: "llm", Model: model, Window: 300}
	if _, err := Compress(&b16, half, "g.safetensors", opt); err != nil {
		t.Fatal(err)
	}
	if _, err := Compress(&b32, f32, "g.f32", opt); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string][]byte{
		"16-bit segments, float32 params": rewriteHeader(t, b16.Bytes(), func(h *container.Header) { delete(h.Prior.Params, "float_bytes") }),
		"float32 segments, 16-bit params": rewriteHeader(t, b32.Bytes(), func(h *container.Header) { h.Prior.Params["float_bytes"] = 2 }),
		"3-byte floats":                   rewriteHeader(t, b16.Bytes(), func(h *container.Header) { h.Prior.Params["float_bytes"] = 3 }),
	} {
		if _, _, err := Decompress(file, Options{Model: model}); !errors.Is(err, container.ErrCorrupt) {
			t.Errorf("%s: %v, want a corrupt-file error", name, err)
		}
	}
	// A text serialization of 16-bit floats for a byte prior is corrupt too.
	var cm bytes.Buffer
	if _, err := Compress(&cm, f32, "g.f32", Options{Prior: "cm", Format: "hs"}); err != nil {
		t.Fatal(err)
	}
	bad := rewriteHeader(t, cm.Bytes(), func(h *container.Header) {
		for i := range h.Original.Segments {
			h.Original.Segments[i].Kind = kindFloat16
		}
	})
	if _, _, err := Decompress(bad, Options{}); !errors.Is(err, container.ErrCorrupt) {
		t.Errorf("cm, hex-space, 16-bit segments: %v, want a corrupt-file error", err)
	}
}

// TestLLMFloat16WithFloat32: a file with float32 tensors gives those to
// the llm prior and keeps its 16-bit ones in the other stream.
func TestLLMFloat16WithFloat32(t *testing.T) {
	model := tinyModel(t, 1)
	f32 := sampleFloats(t, 800)
	src := safetensors16(t,
		tensorio.Tensor{Name: "w", DType: "F32", Shape: []int64{100}, Data: f32[:400]},
		tensorio.Tensor{Name: "h", DType: "BF16", Shape: []int64{100}, Data: toBF16(f32[400:])})
	var buf bytes.Buffer
	st, err := Compress(&buf, src, "m.safetensors", Options{Prior: "llm", Model: model, Window: 300})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := Inspect(buf.Bytes())
	if st.FloatBytes != 400 || h.Prior.Params["float_bytes"] != nil {
		t.Errorf("%d float bytes (want the 400 of the float32 tensor), params %v", st.FloatBytes, h.Prior.Params)
	}
	if got, _, err := Decompress(buf.Bytes(), Options{Model: model}); err != nil || !bytes.Equal(got, src) {
		t.Fatalf("round trip: %v", err)
	}
}
