package llm

import (
	"fmt"

	"github.com/lmgc/lmgc/prior"
)

func init() {
	prior.Register(prior.Info{
		Name:       "llm",
		Summary:    "a language model from a GGUF file predicts the floats' text (needs a model)",
		NeedsModel: true,
		TextFormat: "hex-space",
		Float16:    true,
		Window:     2048,
		Rank:       2,
		New:        newFromSpec,
	})
}

// newFromSpec builds the prior from the codec's settings (compressing, with
// an optional Config for the mode, prompt and batch) or from a file's
// parameters (decoding, where only Threads, Batch and Loaded come from the Config).
func newFromSpec(s prior.Spec) (prior.Prior, error) {
	given, _ := s.Config.(Config)
	var c Config
	if s.Decoding {
		var err error
		if c, err = ConfigFromParams(s.Params); err != nil {
			return nil, fmt.Errorf("%w: %w", prior.ErrParams, err)
		}
		c.Threads, c.Batch, c.Loaded = given.Threads, given.Batch, given.Loaded
	} else {
		c = given
		c.Format, c.BytesPerGroup, c.SignFirst, c.Window = s.Format, s.BytesPerGroup, s.SignFirst, s.Window
		c.FloatBytes = s.FloatBytes
		if c.Format == "raw" {
			c.Format = ""
		}
	}
	if c.Threads == 0 {
		c.Threads = s.Threads
	}
	p, err := Open(s.Model, c)
	if err != nil {
		return nil, err
	}
	return p, nil
}
