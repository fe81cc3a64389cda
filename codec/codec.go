// Package codec is lmgc's compressor: it splits a tensor file into float
// data (float32, or for the priors that code them 16-bit floats when the
// file has no float32 tensor) and everything else, turns the float data
// into symbol windows (raw bytes or serialized text), codes each window
// with a prior driving a range coder, and writes the .lmgc container.
// Decompression reverses every step and checks the SHA-256 of the
// original file.
//
// An Encoder compresses from an io.ReaderAt and a Reader decompresses from
// one, both window by window with only a few windows per thread in memory,
// so files larger than RAM go through; Compress and Decompress are the
// whole-buffer forms. Priors come from the registry of package prior, and
// a file names the prior and the parameters that rebuild it.
package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/prior"
	"github.com/lmgc/lmgc/prior/llm" // registers the llm prior; Options.LLM
)

// Options configure compression; decompression takes the prior's settings
// from the file and only uses Threads, Progress and what a prior needs
// that the file cannot carry (a model file).
type Options struct {
	// Prior names a registered probability model (prior.Names): "order2"
	// (default), "cm", "fcm", "fcm2" (the float priors, which also code
	// files of bfloat16/float16 tensors), "llm".
	Prior string
	// Format is "raw" (default) or a text serialization of package serial.
	Format        string
	BytesPerGroup int  // text formats: bytes per group (default 4)
	SignFirst     bool // write each float's sign/exponent byte first
	// InputFormat is "raw", "npy", "safetensors" or "pt"; empty detects it from
	// the name and the first bytes.
	InputFormat string
	// Window is the number of symbols per independently coded stream
	// (default 1 MiB).
	Window int
	// Threads is the number of windows coded at once (default: all CPUs).
	Threads int
	// Model is the GGUF file of the "llm" prior (compress and decompress).
	Model string
	// LLM holds the llm prior's settings: Mode ("constrained" or "paper"),
	// Prompt, Batch. Its Format, BytesPerGroup, SignFirst and Window come
	// from the fields above.
	LLM llm.Config
	// BatchMemory bounds the state a batched prior holds for the windows
	// it decodes in lock step (an LLM's KV caches): decoding advances as
	// many windows at once as fit, so that each step is one wide batch
	// (default DefaultBatchMemory).
	BatchMemory int64
	// Estimate computes the ideal size only: no coding, no output.
	Estimate bool
	// Progress, if set, is called from worker goroutines with the symbols
	// done so far and the total; it must be safe for concurrent use. For
	// text formats of varying length (iso) the total is an estimate.
	Progress func(done, total int64)
	// TempDir is where an Encoder spools the coded windows of a large file
	// until the header can be written (default os.TempDir()); the CLI puts
	// it next to the output.
	TempDir string
	// LowRank transforms each 2-D float32 tensor of low rank (the gradient
	// of a linear layer for a minibatch smaller than its dimensions) by
	// package codec/lowrank before coding: its values past the rank are
	// coded as differences from their prediction by the others. Raw
	// serialization, byte priors (not llm) and unsharded files only; each
	// such tensor is held in memory (with a float64 copy) while it is
	// coded, and while it is decoded.
	LowRank bool

	// lockStep codes with the lock-step path even when the prior is a
	// prior.Scorer (tests compare the two paths).
	lockStep bool
}

// DefaultBatchMemory is the default Options.BatchMemory.
const DefaultBatchMemory = 2 << 30

// DefaultWindow is the default number of symbols per window.
const DefaultWindow = 1 << 20

// Stats summarize a run.
type Stats struct {
	OriginalBytes   int64   `json:"original_bytes"`
	CompressedBytes int64   `json:"compressed_bytes"`
	RatePercent     float64 `json:"rate_percent"`
	FloatBytes      int64   `json:"float_bytes"`
	IdealBits       float64 `json:"ideal_bits"`
	IdealBytes      float64 `json:"ideal_bytes"`
	Tokens          int64   `json:"tokens"`
	Windows         int     `json:"windows"`
	BitsPerFloat    float64 `json:"bits_per_float"` // per value: float32, or bfloat16/float16
	TokensPerFloat  float64 `json:"tokens_per_float"`
	Seconds         float64 `json:"seconds"`
	Prior           string  `json:"prior"`
	Fingerprint     string  `json:"fingerprint"`
	Estimate        bool    `json:"estimate,omitempty"`
}

func (s *Stats) finish(h *container.Header, compressed int64, start time.Time) {
	s.OriginalBytes = h.Original.Size
	s.CompressedBytes = compressed
	if s.OriginalBytes > 0 {
		s.RatePercent = 100 * float64(compressed) / float64(s.OriginalBytes)
	}
	s.FloatBytes = h.FloatBytes
	s.IdealBits = h.IdealBits
	s.IdealBytes = h.IdealBits / 8
	s.Tokens = h.Tokens
	s.Windows = len(h.Streams)
	width := int64(4)
	for _, seg := range h.Original.Segments {
		if floatWidth(seg.Kind) == 2 {
			width = 2 // bfloat16/float16 values
		}
	}
	if floats := h.FloatBytes / width; floats > 0 {
		s.BitsPerFloat = 8 * float64(compressed) / float64(floats)
		s.TokensPerFloat = float64(h.Tokens) / float64(floats)
	}
	s.Seconds = time.Since(start).Seconds()
	s.Prior = h.Prior.Name
	s.Fingerprint = h.Prior.Fingerprint
}

const otherCodec = "zstd"

// ErrUnknownPrior is matched by the error for a prior name that is not
// registered in package prior.
var ErrUnknownPrior = errors.New("unknown prior")

// ErrModelRequired is returned when the llm prior is asked for, or a file
// coded with it is decoded, without Options.Model.
var ErrModelRequired = errors.New("the llm prior needs a model file")

// ErrModelMismatch is matched, with errors.Is, by the MismatchError that
// Decompress returns when the prior it rebuilds (for the llm prior: the
// model given in Options.Model) is not the one that coded the file.
var ErrModelMismatch = errors.New("prior mismatch")

// MismatchError reports a file coded with a different prior, or a
// different model, than the one given for decoding. The fingerprints are
// those of package prior.
type MismatchError struct {
	Prior string // the prior's name, as in the file: "order2", "cm", "llm"
	// Model: the prior is built from a model file (the message names it
	// a model mismatch).
	Model bool
	File  string // the fingerprint stored in the file
	Got   string // the fingerprint of the prior built for decoding
}

func (e *MismatchError) Error() string {
	if e.Model {
		return fmt.Sprintf("model mismatch: the file was coded with model %s, this model is %s", e.File, e.Got)
	}
	return fmt.Sprintf("prior mismatch: the file was coded with %s prior %s, this lmgc's %s prior is %s", e.Prior, e.File, e.Prior, e.Got)
}

// Is reports whether target is ErrModelMismatch.
func (e *MismatchError) Is(target error) bool { return target == ErrModelMismatch }

// Compress compresses the tensor file src (named name, for format
// detection) and writes the .lmgc file to dst. It is NewEncoder and
// Encoder.Encode with the coded windows kept in memory.
func Compress(dst *bytes.Buffer, src []byte, name string, opt Options) (*Stats, error) {
	e, err := NewEncoder(opt)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return e.encode(dst, bytes.NewReader(src), int64(len(src)), name, -1, nil)
}

// Decompress decodes the .lmgc file src and returns the original file.
// Nothing is returned unless the whole file decodes and matches the
// stored SHA-256.
func Decompress(src []byte, opt Options) ([]byte, *Stats, error) {
	r, err := NewReader(bytes.NewReader(src), int64(len(src)), opt)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var out bytes.Buffer
	if _, err := r.WriteTo(&out); err != nil {
		return nil, nil, err
	}
	return out.Bytes(), r.Stats(), nil
}

// Inspect parses the header of an .lmgc file.
func Inspect(src []byte) (*container.Header, error) {
	f, err := container.Parse(src)
	if err != nil {
		return nil, err
	}
	return &f.Header, nil
}

// InspectReader reads the header of the size-byte .lmgc file r, reading
// only the header and the stream table.
func InspectReader(r io.ReaderAt, size int64) (*container.Header, error) {
	f, err := container.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	return &f.Header, nil
}

// lookupPrior returns the registered prior of that name ("" is order2).
func lookupPrior(name string) (prior.Info, error) {
	if name == "" {
		name = "order2"
	}
	info, ok := prior.Lookup(name)
	if !ok {
		return info, fmt.Errorf("%w %q (available: %s)", ErrUnknownPrior, name, strings.Join(prior.Names(), ", "))
	}
	return info, nil
}

// priorFromHeader rebuilds the prior a file names from its stored
// parameters and checks that it is exactly the one that coded the file.
func priorFromHeader(h *container.Header, opt Options) (prior.Prior, error) {
	info, err := lookupPrior(h.Prior.Name)
	if err != nil {
		return nil, container.Unsupportedf("file needs prior %q: %w", h.Prior.Name, err)
	}
	if info.NeedsModel && opt.Model == "" {
		return nil, fmt.Errorf("the file was compressed with an %s prior (model fingerprint %s): %w", h.Prior.Name, h.Prior.Fingerprint, ErrModelRequired)
	}
	p, err := info.New(prior.Spec{Params: h.Prior.Params, Decoding: true, Model: opt.Model, Threads: opt.Threads, Config: opt.LLM})
	if errors.Is(err, prior.ErrParams) {
		return nil, container.Corruptf("corrupt .lmgc file: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("file needs prior %q: %w", h.Prior.Name, err)
	}
	if fp := p.Fingerprint(); fp != h.Prior.Fingerprint {
		closePrior(p)
		return nil, &MismatchError{Prior: h.Prior.Name, File: h.Prior.Fingerprint, Got: fp, Model: info.NeedsModel}
	}
	return p, nil
}

func closePrior(p prior.Prior) {
	if c, ok := p.(io.Closer); ok {
		c.Close()
	}
}
