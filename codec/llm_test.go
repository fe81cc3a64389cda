package codec

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/modelgen"
	"github.com/lmgc/lmgc/prior/llm"
	"github.com/lmgc/lmgc/sample"
	"github.com/lmgc/lmgc/tensorio"
)

func tinyModel(t *testing.T, seed uint64) string {
	s, err := modelgen.Lookup("tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if _, err := modelgen.Generate(path, s, modelgen.Options{Type: gguf.Q8_0, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return path
}

// sampleFloats returns the first n bytes of the embedded real gradient's
// float data.
func sampleFloats(t *testing.T, n int) []byte {
	src := sample.Gradient
	lay, err := tensorio.ParseLayout(tensorio.FormatNPY, bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range lay.Segments {
		if s.Kind == tensorio.Float32LE {
			return src[s.Offset : s.Offset+int64(n)]
		}
	}
	t.Fatal("no float data in the sample")
	return nil
}

func TestLLMRoundTripAndWrongModel(t *testing.T) {
	model, other := tinyModel(t, 1), tinyModel(t, 2)
	data := sampleFloats(t, 1200)
	for _, mode := range []string{llm.Constrained, llm.Paper} {
		opt := Options{Prior: "llm", Model: model, Window: 300, LLM: llm.Config{Mode: mode, Batch: 3}}
		var buf bytes.Buffer
		st, err := Compress(&buf, data, "g.f32", opt)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := Decompress(buf.Bytes(), Options{Model: model})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: round trip: %v", mode, err)
		}
		// The streams' bytes stay within 0.1% of the ideal plus the
		// flush of each window.
		f, _ := Inspect(buf.Bytes())
		var coded int64
		for _, s := range f.Streams {
			coded += s.Length
		}
		if float64(coded) > st.IdealBytes*1.001+float64(len(f.Streams)) {
			t.Errorf("%s: coded %d bytes, ideal %.1f", mode, coded, st.IdealBytes)
		}
		t.Logf("%s: %d floats, %d tokens, coded %d, ideal %.1f, file %d", mode, len(data)/4, st.Tokens, coded, st.IdealBytes, buf.Len())
		if h, _ := Inspect(buf.Bytes()); h.Prior.Params["mode"] != mode {
			t.Errorf("header mode %v", h.Prior.Params["mode"])
		}
		_, _, err = Decompress(buf.Bytes(), Options{Model: other})
		var me *MismatchError
		if !errors.Is(err, ErrModelMismatch) || !errors.As(err, &me) || me.File != st.Fingerprint ||
			!strings.Contains(err.Error(), "model mismatch") || !strings.Contains(err.Error(), st.Fingerprint) {
			t.Errorf("%s: wrong model: %v", mode, err)
		}
		_, _, err = Decompress(buf.Bytes(), Options{})
		if !errors.Is(err, ErrModelRequired) || strings.Contains(err.Error(), "--") {
			t.Errorf("%s: no model: %v, want ErrModelRequired with no flag named", mode, err)
		}
	}
}

func TestLLMEstimate(t *testing.T) {
	model := tinyModel(t, 1)
	data := sampleFloats(t, 400)
	var buf bytes.Buffer
	est, err := Compress(&buf, data, "g.f32", Options{Prior: "llm", Model: model, Window: 300, Estimate: true})
	if err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 || !est.Estimate {
		t.Fatalf("estimate wrote %d bytes", buf.Len())
	}
	st, err := Compress(&buf, data, "g.f32", Options{Prior: "llm", Model: model, Window: 300})
	if err != nil {
		t.Fatal(err)
	}
	if est.IdealBits != st.IdealBits {
		t.Errorf("estimate %v bits, coding run %v", est.IdealBits, st.IdealBits)
	}
}
