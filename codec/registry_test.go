package codec

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/lmgc/lmgc/coder"
	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/prior"
)

// uniformPrior is a prior defined outside the codec, registered from this
// file alone: the codec finds it by name when compressing and rebuilds it
// from the stored parameters when decoding, with no switch to edit.
type uniformPrior struct{ symbols int }

func init() {
	prior.Register(prior.Info{
		Name:    "test-uniform",
		Summary: "every byte equally likely (a test prior)",
		Rank:    10,
		New: func(s prior.Spec) (prior.Prior, error) {
			n := 256
			if s.Decoding {
				var err error
				if n, err = prior.IntParam(s.Params, "symbols"); err != nil {
					return nil, fmt.Errorf("%w: %w", prior.ErrParams, err)
				}
			}
			if n != 256 {
				return nil, fmt.Errorf("%w: test-uniform codes bytes, not %d symbols", prior.ErrParams, n)
			}
			return &uniformPrior{symbols: n}, nil
		},
	})
}

func (u *uniformPrior) Name() string                        { return "test-uniform" }
func (u *uniformPrior) Fingerprint() string                 { return fmt.Sprintf("uniform-%d", u.symbols) }
func (u *uniformPrior) Symbols() int                        { return u.symbols }
func (u *uniformPrior) Params() map[string]any              { return map[string]any{"symbols": u.symbols} }
func (u *uniformPrior) NewBatch(n int) (prior.Batch, error) { return uniformBatch(u.symbols), nil }

type uniformBatch int

func (b uniformBatch) Predict(windows []int, out []coder.Dist) error {
	for i := range windows {
		out[i] = coder.Uniform(b)
	}
	return nil
}
func (b uniformBatch) Push([]int, []int) error { return nil }
func (b uniformBatch) Reset(int)               {}

func TestRegisteredPrior(t *testing.T) {
	src := gaussian(5000, 1, 8)
	var buf bytes.Buffer
	st, err := Compress(&buf, src, "x.f32", Options{Prior: "test-uniform", Window: 8000})
	if err != nil {
		t.Fatal(err)
	}
	// A uniform byte model costs 8 bits a byte: the ideal size is the input.
	if st.IdealBytes < float64(len(src))-1 || st.IdealBytes > float64(len(src))+1 {
		t.Errorf("ideal %.1f bytes for %d uniform bytes", st.IdealBytes, len(src))
	}
	h, _ := Inspect(buf.Bytes())
	if h.Prior.Name != "test-uniform" || h.Prior.Params["symbols"] != float64(256) {
		t.Errorf("stored prior %+v", h.Prior)
	}
	got, _, err := Decompress(buf.Bytes(), Options{})
	if err != nil || !bytes.Equal(got, src) {
		t.Fatalf("round trip: %v", err)
	}
	// Parameters the factory rejects make the file corrupt, not a crash.
	bad := rewriteHeader(t, buf.Bytes(), func(h *container.Header) { h.Prior.Params["symbols"] = 7 })
	if _, _, err := Decompress(bad, Options{}); !errors.Is(err, container.ErrCorrupt) {
		t.Errorf("bad params: %v, want ErrCorrupt", err)
	}
	if _, ok := prior.Lookup("test-uniform"); !ok {
		t.Error("not in the registry")
	}
}
