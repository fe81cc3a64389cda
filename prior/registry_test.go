package prior

import (
	"errors"
	"slices"
	"testing"
)

func TestRegistry(t *testing.T) {
	names := Names()
	for _, want := range []string{"order2", "cm"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s not registered (have %v)", want, names)
		}
	}
	info, _ := Lookup("order2")
	// Compressing (ints from the codec) and decoding (float64 from JSON)
	// build the same prior.
	a, err := info.New(Spec{Params: map[string]any{"period": 4, "chunk": 0}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := info.New(Spec{Params: map[string]any{"period": 4.0, "chunk": 0.0}, Decoding: true})
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("the same parameters give different priors")
	}
	for _, p := range []map[string]any{{"period": 4}, {"period": 4.5, "chunk": 0}, {"period": "4", "chunk": 0}} {
		if _, err := info.New(Spec{Params: p, Decoding: true}); !errors.Is(err, ErrParams) {
			t.Errorf("params %v: %v, want ErrParams", p, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice did not panic")
		}
	}()
	Register(Info{Name: "order2", New: info.New})
}
