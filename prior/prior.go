// Package prior defines the probability-model ("prior") interface that
// drives the range coder, and its implementations.
//
// A prior predicts a stream of symbols window by window. Windows are
// independent: the prediction for a symbol depends only on the symbols
// before it in the same window. A Batch advances many windows by one symbol
// in one call, so that a model that evaluates windows as one batch (an LLM)
// can do so; the results must not depend on which windows share a batch.
// Optional interfaces let such a model go faster: a Scorer codes windows
// whose symbols are all known (encoding) in wide batches, and Sized tells
// the codec how many windows' state fit in its memory budget (decoding).
//
// Each prior registers itself by name (Register, from an init function in
// its own file) with a factory that builds it from a Spec; the codec, the
// command line and the benchmarks find priors only through the registry,
// and a decoder rebuilds a file's prior from the parameters it stores.
package prior

import (
	"io"

	"github.com/lmgc/lmgc/coder"
)

// Prior is a deterministic probability model over symbols 0..Symbols()-1.
type Prior interface {
	// Name identifies the kind of prior and its parameters, e.g. "order2".
	Name() string
	// Fingerprint identifies the prior exactly: two priors with the same
	// fingerprint give bit-identical distributions. For an LLM it is a hash
	// of the model's tensors and tokenizer.
	Fingerprint() string
	// Symbols is the alphabet size.
	Symbols() int
	// NewBatch returns a predictor for n independent windows, all empty.
	NewBatch(n int) (Batch, error)
}

// Batch holds the state of n windows. A Batch that holds memory the Go
// collector does not manage (an LLM's KV caches) also implements
// io.Closer; whoever makes a Batch closes it when done (CloseBatch), and
// the codec does.
type Batch interface {
	// Predict sets out[i] to the distribution of the next symbol of window
	// windows[i], given the symbols pushed to it since its last Reset.
	// The returned Dists stay valid until the next call on the Batch.
	Predict(windows []int, out []coder.Dist) error
	// Push appends syms[i] to window windows[i].
	Push(windows []int, syms []int) error
	// Reset empties window w.
	Reset(w int)
}

// Symbolizer is implemented by priors that define their own symbols for the
// float data instead of taking its bytes (an LLM prior serializes the floats
// as text and tokenizes it). The codec then uses it in place of its byte
// layouts.
type Symbolizer interface {
	// Symbolize turns the float bytes (float32, or 16-bit floats for a
	// FloatSized prior of width 2) into windows of at most window
	// symbols each and returns the padding it added (recorded in the file).
	Symbolize(data []byte, window int) (windows [][]int32, pad int, err error)
	// Desymbolize inverts Symbolize.
	Desymbolize(windows [][]int32, pad int) ([]byte, error)
}

// FloatSized is implemented by Symbolizers that read floats of one width
// (4: float32, 2: bfloat16 or float16), so that the codec can check a
// file's segments against the prior its parameters rebuild.
type FloatSized interface {
	FloatBytes() int
}

// Rewidth is implemented by FloatSized priors that can make, from
// themselves, the prior for floats of another width sharing their model
// (what a Spec with that FloatBytes builds, without loading it again). The
// prior made must stay usable until the original is closed; closing it
// releases nothing.
type Rewidth interface {
	ForFloatBytes(w int) (Prior, error)
}

// WindowBytes is implemented by Symbolizers whose windows each hold whole
// floats and decode on their own (Desymbolize of one window, padding 0,
// gives its float bytes), which lets a machine decode some windows of a
// file into their place in the output without the others.
type WindowBytes interface {
	// WindowFloatBytes returns the float bytes a window of n symbols
	// decodes to and whether n symbols are whole floats. With the
	// settings that make windows cut the text of a chunk (so that they
	// only decode together), whole is false for every n, 0 included.
	WindowFloatBytes(n int64) (bytes int64, whole bool)
}

// Batched is implemented by priors that evaluate many windows at once
// (their own threads split the work inside one call). The codec then runs
// BatchWindows windows in lock step in a single worker instead of one
// window per worker.
type Batched interface {
	BatchWindows() int
}

// Scorer is implemented by priors that code a window whose symbols are
// all known (encoding) faster than a Batch can, one symbol per call: an LLM
// runs each window's tokens through the model in large batched forwards,
// as llama.cpp's prompt processing does. Score must give exactly the
// distributions that Predict and Push on a fresh Batch give, bit for bit;
// the codec uses it to encode and a Batch to decode.
type Scorer interface {
	// Score calls fn(w, t, d) with the distribution d of symbol t of
	// windows[w] given its symbols 0..t-1, once for every symbol, in order
	// of t within each window (calls for different windows may
	// interleave). d is valid only during the call; an error from fn stops
	// Score and is returned.
	Score(windows [][]int32, fn func(w, t int, d coder.Dist) error) error
}

// Sized is implemented by Batched priors whose state per window is large
// (an LLM's KV cache). The codec decodes as many windows in lock step as
// its memory budget holds at WindowBytes each, so that one decoding step
// is as wide a batch as possible.
type Sized interface {
	// WindowBytes is the memory one window of a Batch holds.
	WindowBytes() int64
}

// Parameterized priors report the parameters that rebuild them; the codec
// stores them in the file.
type Parameterized interface {
	Params() map[string]any
}

// CloseBatch closes b if it is an io.Closer (see Batch).
func CloseBatch(b Batch) error {
	if c, ok := b.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
