package llama

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

// fuzzTypes are the tensor types FuzzLoad gives its weights: the ones the
// loader uses as they are, the ones it converts to Q8_0, and some it must
// refuse.
var fuzzTypes = []gguf.Type{gguf.F32, gguf.F16, gguf.BF16, gguf.Q8_0, gguf.Q4_0, gguf.Q4_1,
	gguf.Q5_0, gguf.Q5_1, gguf.Q4_K, gguf.Q5_K, gguf.Q6_K, gguf.Q2_K, gguf.I8, gguf.IQ4_NL}

// fuzzKeys are the metadata keys FuzzLoad can override (after the
// "<arch>." prefix, except general.*).
var fuzzKeys = []string{"embedding_length", "block_count", "attention.head_count", "attention.head_count_kv",
	"attention.key_length", "feed_forward_length", "context_length", "rope.dimension_count",
	"attention.layer_norm_rms_epsilon", "rope.freq_base", "general.architecture", "general.alignment"}

// fuzzModel is a small model description decoded from fuzz arguments.
type fuzzModel struct {
	arch                                  string
	wtype                                 gguf.Type
	heads, kvHeads, headDim, ff, vocab, n int // n: layers
	tied                                  bool
}

func (s fuzzModel) dim() int { return s.heads * s.headDim }

// valid reports whether the unperturbed model is one Load must accept:
// every matrix row length is whole blocks of the weight type, and the type
// is one the loader reads.
func (s fuzzModel) valid() bool {
	switch s.wtype {
	case gguf.Q2_K, gguf.I8, gguf.IQ4_NL:
		return false
	}
	bs := s.wtype.BlockSize()
	if s.wtype != gguf.F32 && s.wtype != gguf.F16 && s.wtype != gguf.BF16 && s.wtype != gguf.Q8_0 {
		bs = max(bs, 32) // converted to Q8_0: whole 32-blocks too
	}
	return s.dim()%bs == 0 && s.ff%bs == 0
}

// fuzzTensor is one tensor of a fuzzModel, before perturbation.
type fuzzTensor struct {
	name  string
	typ   gguf.Type
	shape []int64
}

func (s fuzzModel) tensors() []fuzzTensor {
	d, q, kv := int64(s.dim()), int64(s.heads*s.headDim), int64(s.kvHeads*s.headDim)
	mat := func(name string, rows, cols int64) fuzzTensor { return fuzzTensor{name, s.wtype, []int64{cols, rows}} }
	vec := func(name string, n int64) fuzzTensor { return fuzzTensor{name, gguf.F32, []int64{n}} }
	ts := []fuzzTensor{mat("token_embd.weight", int64(s.vocab), d)}
	for l := 0; l < s.n; l++ {
		b := fmt.Sprintf("blk.%d.", l)
		ts = append(ts, vec(b+"attn_norm.weight", d), mat(b+"attn_q.weight", q, d), mat(b+"attn_k.weight", kv, d),
			mat(b+"attn_v.weight", kv, d))
		if s.arch == "qwen2" {
			ts = append(ts, vec(b+"attn_q.bias", q), vec(b+"attn_k.bias", kv), vec(b+"attn_v.bias", kv))
		}
		ts = append(ts, mat(b+"attn_output.weight", d, q), vec(b+"ffn_norm.weight", d),
			mat(b+"ffn_gate.weight", int64(s.ff), d), mat(b+"ffn_up.weight", int64(s.ff), d),
			mat(b+"ffn_down.weight", d, int64(s.ff)))
	}
	ts = append(ts, vec("output_norm.weight", d))
	if !s.tied {
		ts = append(ts, mat("output.weight", int64(s.vocab), d))
	}
	return ts
}

// fill returns n bytes cycled from pattern (zeros if it is empty).
func fill(n int64, pattern []byte) []byte {
	b := make([]byte, n)
	if len(pattern) > 0 {
		for i := range b {
			b[i] = pattern[i%len(pattern)]
		}
	}
	return b
}

// FuzzLoad builds small GGUF models in memory from its arguments, perturbs
// one metadata value and one tensor, and loads them: Load must accept every
// unperturbed model, reject every bad one with an error (never a panic, a
// hang or a huge allocation on a header's say-so), and a model it loads
// must evaluate. The inputs are a few numbers and a short weight pattern,
// so a run does thousands of models a second; damaged bytes of the file
// itself are gguf.FuzzParse's job.
func FuzzLoad(f *testing.F) {
	// arch, wtype, heads, kvDiv, headDim, ff, vocab, layers, tied,
	// key, keyKind, keyVal, tensor, op, opArg, weights
	f.Add(uint8(0), uint8(0), uint8(2), uint8(2), uint8(8), uint8(32), uint8(8), uint8(1), false,
		uint8(255), uint8(0), uint32(0), uint8(0), uint8(0), uint8(0), []byte{0x3c, 0x00, 0x80, 0xbf})
	f.Add(uint8(1), uint8(3), uint8(2), uint8(1), uint8(7), uint8(31), uint8(8), uint8(1), true,
		uint8(255), uint8(0), uint32(0), uint8(0), uint8(0), uint8(0), []byte{0x11, 0x22, 0x33, 0x00})
	f.Add(uint8(0), uint8(4), uint8(4), uint8(2), uint8(8), uint8(32), uint8(5), uint8(2), false,
		uint8(0), uint8(0), uint32(1<<31), uint8(3), uint8(1), uint8(0), []byte{0x00, 0x30, 0x10})
	f.Add(uint8(0), uint8(8), uint8(4), uint8(1), uint8(31), uint8(255), uint8(8), uint8(1), false,
		uint8(255), uint8(0), uint32(0), uint8(0), uint8(0), uint8(0), []byte{0x01, 0x3c, 0x55, 0x00})
	f.Add(uint8(1), uint8(0), uint8(3), uint8(0), uint8(3), uint8(9), uint8(8), uint8(1), false,
		uint8(6), uint8(1), uint32(0xffffffff), uint8(5), uint8(2), uint8(7), []byte{0xff, 0x7f})
	f.Fuzz(func(t *testing.T, arch, wtype, heads, kvDiv, headDim, ff, vocab, layers uint8, tied bool,
		key, keyKind uint8, keyVal uint32, tensor, op, opArg uint8, weights []byte) {
		s := fuzzModel{
			arch:    []string{"llama", "qwen2"}[arch%2],
			wtype:   fuzzTypes[int(wtype)%len(fuzzTypes)],
			heads:   1 + int(heads%4),
			headDim: 2 * (1 + int(headDim%32)),
			ff:      1 + int(ff),
			vocab:   2 + int(vocab%32),
			n:       1 + int(layers%2),
			tied:    tied,
		}
		s.kvHeads = s.heads
		if d := 1 + int(kvDiv)%s.heads; s.heads%d == 0 {
			s.kvHeads = s.heads / d
		}
		if len(weights) > 64 {
			weights = weights[:64]
		}
		w := gguf.NewWriter()
		p := s.arch + "."
		w.AddKV("general.architecture", s.arch)
		w.AddKV(p+"context_length", uint32(64))
		w.AddKV(p+"embedding_length", uint32(s.dim()))
		w.AddKV(p+"block_count", uint32(s.n))
		w.AddKV(p+"feed_forward_length", uint32(s.ff))
		w.AddKV(p+"attention.head_count", uint32(s.heads))
		w.AddKV(p+"attention.head_count_kv", uint32(s.kvHeads))
		w.AddKV(p+"attention.layer_norm_rms_epsilon", float32(1e-5))
		w.AddKV(p+"rope.freq_base", float32(10000))
		perturbed := false
		if int(key) < len(fuzzKeys) {
			perturbed = true
			k := fuzzKeys[key]
			if k[:8] != "general." {
				k = p + k
			}
			var v any
			switch keyKind % 6 {
			case 0:
				v = keyVal
			case 1:
				v = int32(keyVal)
			case 2:
				v = math.Float32frombits(keyVal)
			case 3:
				v = uint64(keyVal) << 32
			case 4:
				v = fmt.Sprint(keyVal)
			case 5:
				v = keyVal%2 == 1
			}
			if k == "general.alignment" && (keyKind%6 != 0 || keyVal == 0 || keyVal&(keyVal-1) != 0 || keyVal > 65536) {
				v = uint32(32) // the Writer refuses other alignments; gguf.FuzzParse covers the reader
			}
			w.AddKV(k, v)
		}
		ts := s.tensors()
		victim := int(tensor) % len(ts)
		if op%8 != 0 {
			perturbed = true
		}
		var size int64
		for i, ft := range ts {
			if i == victim {
				switch op % 8 {
				case 1: // missing
					continue
				case 2: // one dimension off
					ft.shape = append([]int64(nil), ft.shape...)
					ft.shape[int(opArg)%len(ft.shape)] += 1 + int64(opArg%3)
				case 3: // another type
					ft.typ = fuzzTypes[int(opArg)%len(fuzzTypes)]
				case 4: // a dimension more
					ft.shape = append(append([]int64(nil), ft.shape...), 1+int64(opArg%2))
				case 5: // a dimension less
					if len(ft.shape) > 1 {
						ft.shape = ft.shape[:1]
					} else {
						ft.shape = nil
					}
				case 6: // rows and columns swapped
					ft.shape = append([]int64(nil), ft.shape...)
					for a, b := 0, len(ft.shape)-1; a < b; a, b = a+1, b-1 {
						ft.shape[a], ft.shape[b] = ft.shape[b], ft.shape[a]
					}
				case 7: // a tensor the model does not have
					ft.name = "blk.9.attn_q.weight"
				}
			}
			var n int64 = 1
			for _, d := range ft.shape {
				n *= d
			}
			if len(ft.shape) == 0 {
				continue // a scalar: the loader must report the tensor missing
			}
			rb, err := ft.typ.RowBytes(ft.shape[0])
			if err != nil {
				continue // not whole blocks: the Writer cannot store it, so it is missing
			}
			nb := rb * (n / ft.shape[0])
			if size += nb; size > 1<<19 {
				t.Skip("model too large for a fuzz run")
			}
			if err := w.AddTensor(ft.name, ft.typ, ft.shape, fill(nb, weights)); err != nil {
				t.Fatalf("%s %v%v: %v", ft.name, ft.typ, ft.shape, err)
			}
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatalf("writing the model: %v", err)
		}
		gf, err := gguf.Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("a file gguf.Writer wrote does not parse: %v", err)
		}
		m, err := Load(gf, WithThreads(1))
		if err != nil {
			if !perturbed && s.valid() {
				t.Fatalf("valid %s model (%v, %d heads of %d, %d KV heads, ff %d, vocab %d, %d layers) rejected: %v",
					s.arch, s.wtype, s.heads, s.headDim, s.kvHeads, s.ff, s.vocab, s.n, err)
			}
			return
		}
		if c := m.Config(); !perturbed && (c.Dim != s.dim() || c.Vocab != s.vocab || c.FFDim != s.ff || c.Layers != s.n || c.TiedOutput != s.tied) {
			t.Fatalf("loaded config %+v, built %+v", c, s)
		}
		st, err := m.NewState(2, 3)
		if err != nil {
			return
		}
		v := m.VocabSize()
		lg := [][]float32{make([]float32, v), nil, make([]float32, v)}
		if err := st.Forward([]int{0, 1, 0}, []int32{0, int32(v - 1), int32(v / 2)}, lg); err != nil {
			t.Fatalf("Forward on a loaded model: %v", err)
		}
	})
}
