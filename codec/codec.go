// Package codec is lmgc's compressor: it splits a tensor file into float32
// data and everything else, turns the float data into symbol windows
// (raw bytes or serialized text), codes each window with a prior driving a
// range coder, and writes the .lmgc container. Decompression reverses every
// step and checks the SHA-256 of the original file.
package codec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/lmgc/lmgc/coder"
	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/prior"
	"github.com/lmgc/lmgc/prior/llm"
	"github.com/lmgc/lmgc/tensorio"
)

// Options configure compression; decompression takes the prior's settings
// from the file and only uses Threads, Progress and what a prior needs
// that the file cannot carry (a model file).
type Options struct {
	// Prior names the probability model: "order2" (default) or "cm".
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
	// Estimate computes the ideal size only: no coding, no output.
	Estimate bool
	// Progress, if set, is called from worker goroutines with the symbols
	// done so far and the total; it must be safe for concurrent use.
	Progress func(done, total int64)
}

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
	BitsPerFloat    float64 `json:"bits_per_float"`
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
	if floats := h.FloatBytes / 4; floats > 0 {
		s.BitsPerFloat = 8 * float64(compressed) / float64(floats)
		s.TokensPerFloat = float64(h.Tokens) / float64(floats)
	}
	s.Seconds = time.Since(start).Seconds()
	s.Prior = h.Prior.Name
	s.Fingerprint = h.Prior.Fingerprint
}

const otherCodec = "zstd"

// ErrUnknownPrior is matched by the error for a prior name that lmgc does
// not have.
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
	File  string // the fingerprint stored in the file
	Got   string // the fingerprint of the prior built for decoding
}

func (e *MismatchError) Error() string {
	if e.Prior == "llm" {
		return fmt.Sprintf("model mismatch: the file was coded with model %s, this model is %s", e.File, e.Got)
	}
	return fmt.Sprintf("prior mismatch: the file was coded with %s prior %s, this lmgc's %s prior is %s", e.Prior, e.File, e.Prior, e.Got)
}

// Is reports whether target is ErrModelMismatch.
func (e *MismatchError) Is(target error) bool { return target == ErrModelMismatch }

// Compress compresses the tensor file src (named name, for format
// detection) and writes the .lmgc file to dst.
func Compress(dst *bytes.Buffer, src []byte, name string, opt Options) (*Stats, error) {
	start := time.Now()
	format := opt.InputFormat
	if format == "" {
		format = tensorio.Detect(name, src[:min(len(src), 64)])
		if format == "" {
			return nil, fmt.Errorf("cannot tell the format of %s: name it .f32, .bin, .npy, .safetensors or .pt, or set the input format (%w)", name, tensorio.ErrUnknownFormat)
		}
	}
	lay, err := tensorio.ParseLayout(format, bytes.NewReader(src), int64(len(src)))
	if err != nil {
		return nil, err
	}
	if opt.BytesPerGroup == 0 {
		opt.BytesPerGroup = 4
	}
	if opt.Window == 0 {
		opt.Window = DefaultWindow
		if opt.Prior == "llm" {
			opt.Window = 2048
		}
	}
	if opt.Prior == "llm" && (opt.Format == "" || opt.Format == FormatRaw) {
		opt.Format = "hex-space" // the LLM reads text
	}
	sl, err := newLayout(opt.Format, opt.BytesPerGroup, opt.SignFirst)
	if err != nil {
		return nil, err
	}
	// A window holds whole chunks: it must hold the longest chunk text, or
	// a stream would exceed the header's window and not decode.
	if opt.Prior != "llm" && !sl.isRaw() && opt.Window < sl.maxChunkSymbols() {
		return nil, fmt.Errorf("window of %d symbols is smaller than one chunk (up to %d symbols in %s)", opt.Window, sl.maxChunkSymbols(), sl.format)
	}
	p, params, err := newPrior(opt, sl)
	if err != nil {
		return nil, err
	}
	defer closePrior(p)
	sum := sha256.Sum256(src)
	h := &container.Header{
		Original: container.Original{
			Name: name, Size: int64(len(src)), SHA256: hex.EncodeToString(sum[:]), Format: format,
		},
		Prior:         container.Prior{Name: p.Name(), Fingerprint: p.Fingerprint(), Params: params},
		Serialization: sl.format,
		SignFirst:     opt.SignFirst,
		Window:        opt.Window,
		OtherCodec:    otherCodec,
	}
	if !sl.isRaw() {
		h.BytesPerGroup = opt.BytesPerGroup
		h.ChunkSize = 512
	}
	var floats, other []byte
	for _, s := range lay.Segments {
		seg := container.Segment{Length: s.Length, Name: s.Name, DType: s.DType, Shape: s.Shape}
		b := src[s.Offset:s.End()]
		if s.Kind == tensorio.Float32LE {
			seg.Kind = "float32le"
			floats = append(floats, b...)
		} else {
			seg.Kind = "other"
			other = append(other, b...)
		}
		h.Original.Segments = append(h.Original.Segments, seg)
	}
	h.FloatBytes = int64(len(floats))

	windows, pad, err := symbolizerFor(p, sl).Symbolize(floats, opt.Window)
	if err != nil {
		return nil, err
	}
	h.Pad = pad
	bodies := make([][]byte, 1+len(windows))
	if len(other) > 0 {
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
		bodies[0] = enc.EncodeAll(other, nil)
		enc.Close()
	}
	h.Other = container.Stream{Length: int64(len(bodies[0])), Symbols: int64(len(other)), CRC32C: container.Checksum(bodies[0])}

	coded, ideal, err := encodeWindows(p, windows, opt)
	if err != nil {
		return nil, err
	}
	if opt.Estimate {
		for i, w := range windows {
			h.IdealBits += ideal[i]
			h.Tokens += int64(len(w))
		}
		st := &Stats{Estimate: true}
		st.finish(h, 0, start)
		return st, nil
	}
	h.Streams = make([]container.Stream, len(windows))
	for i, w := range windows {
		bodies[1+i] = coded[i]
		h.Streams[i] = container.Stream{Length: int64(len(coded[i])), Symbols: int64(len(w)), CRC32C: container.Checksum(coded[i])}
		h.IdealBits += ideal[i]
		h.Tokens += int64(len(w))
	}
	before := dst.Len()
	if err := container.Write(dst, h, bodies); err != nil {
		return nil, err
	}
	st := &Stats{}
	st.finish(h, int64(dst.Len()-before), start)
	return st, nil
}

// newPrior builds the prior opt names for the layout and returns the
// parameters that rebuild it.
func newPrior(opt Options, sl layout) (prior.Prior, map[string]any, error) {
	params := map[string]any{"period": sl.period(), "chunk": sl.chunkSymbols()}
	switch opt.Prior {
	case "", "order2":
		p, err := prior.NewOrder2(sl.period(), sl.chunkSymbols())
		return p, params, err
	case "cm":
		p, err := prior.NewCM(sl.period(), sl.chunkSymbols())
		return p, params, err
	case "llm":
		if opt.Model == "" {
			return nil, nil, ErrModelRequired
		}
		c := opt.LLM
		c.Format, c.BytesPerGroup, c.SignFirst, c.Window = opt.Format, opt.BytesPerGroup, opt.SignFirst, opt.Window
		if c.Format == FormatRaw {
			c.Format = ""
		}
		if c.Threads == 0 {
			c.Threads = opt.Threads
		}
		p, err := llm.Open(opt.Model, c)
		if err != nil {
			return nil, nil, err
		}
		return p, p.Params(), nil
	}
	return nil, nil, fmt.Errorf("%w %q (available: order2, cm, llm)", ErrUnknownPrior, opt.Prior)
}

func closePrior(p prior.Prior) {
	if c, ok := p.(io.Closer); ok {
		c.Close()
	}
}

// priorFromHeader rebuilds the prior a file names and checks that it is
// exactly the one that coded the file.
func priorFromHeader(h *container.Header, sl layout, opt Options) (prior.Prior, error) {
	opt.Prior = h.Prior.Name
	if h.Prior.Name == "llm" {
		c, err := llm.ConfigFromParams(h.Prior.Params)
		if err != nil {
			return nil, container.Corruptf("corrupt .lmgc file: %w", err)
		}
		if opt.Model == "" {
			return nil, fmt.Errorf("the file was compressed with an LLM prior (model fingerprint %s): %w", h.Prior.Fingerprint, ErrModelRequired)
		}
		c.Threads, c.Batch = opt.LLM.Threads, opt.LLM.Batch
		if c.Threads == 0 {
			c.Threads = opt.Threads
		}
		opt.LLM = c
		opt.Format, opt.BytesPerGroup, opt.SignFirst, opt.Window = c.Format, c.BytesPerGroup, c.SignFirst, c.Window
	}
	p, _, err := newPrior(opt, sl)
	if errors.Is(err, ErrUnknownPrior) {
		return nil, container.Unsupportedf("file needs prior %q: %w", h.Prior.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("file needs prior %q: %w", h.Prior.Name, err)
	}
	if fp := p.Fingerprint(); fp != h.Prior.Fingerprint {
		closePrior(p)
		return nil, &MismatchError{Prior: h.Prior.Name, File: h.Prior.Fingerprint, Got: fp}
	}
	return p, nil
}

// symbolizerFor returns the prior's own symbolizer if it has one, else the
// byte layout.
func symbolizerFor(p prior.Prior, sl layout) prior.Symbolizer {
	if s, ok := p.(prior.Symbolizer); ok {
		return s
	}
	return sl
}

// progress counts symbols across workers and reports them.
type progress struct {
	done, total int64
	fn          func(done, total int64)
}

func (p *progress) add(n int64) {
	if p.fn != nil {
		p.fn(atomic.AddInt64(&p.done, n), p.total)
	}
}

func threads(n int) int {
	if n <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return n
}

// forWindows runs fn on every window index with n workers and returns the
// first error.
func forWindows(count, n int, fn func(i int) error) error {
	var (
		next  int64 = -1
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for w := 0; w < min(n, count); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(atomic.AddInt64(&next, 1))
				if i >= count {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

const progressEvery = 1 << 16

// schedule returns how many windows run in lock step in one batch and how
// many workers run batches side by side.
func schedule(p prior.Prior, threadsOpt int) (batch, workers int) {
	if b, ok := p.(prior.Batched); ok {
		return max(1, b.BatchWindows()), 1
	}
	return 1, threads(threadsOpt)
}

// runBatches splits windows 0..n-1 into consecutive batches and runs fn on
// each, batches in parallel where the prior allows.
func runBatches(p prior.Prior, n, threadsOpt int, fn func(b prior.Batch, idx []int) error) error {
	batch, workers := schedule(p, threadsOpt)
	groups := (n + batch - 1) / batch
	return forWindows(groups, workers, func(g int) error {
		idx := make([]int, 0, batch)
		for i := g * batch; i < min(n, (g+1)*batch); i++ {
			idx = append(idx, i)
		}
		b, err := p.NewBatch(len(idx))
		if err != nil {
			return err
		}
		return fn(b, idx)
	})
}

// idealBits accumulates -sum log2(freq/total) as a product kept in range
// with Frexp: a division and a multiplication per symbol instead of a
// logarithm.
type idealBits struct {
	mant float64 // product of the probabilities, scaled by 2^-exp
	exp  int
	init bool
}

func (a *idealBits) add(freq, total uint32) {
	if !a.init {
		a.mant, a.init = 1, true
	}
	a.mant *= float64(freq) / float64(total)
	if a.mant < 0x1p-900 {
		m, e := math.Frexp(a.mant)
		a.mant, a.exp = m, a.exp+e
	}
}

func (a *idealBits) bits() float64 {
	if !a.init {
		return 0
	}
	return -(math.Log2(a.mant) + float64(a.exp))
}

// encodeWindows codes every window with its own state of p and returns the
// coded streams and their ideal lengths in bits. The windows of a batch
// advance in lock step, one symbol each per step.
func encodeWindows(p prior.Prior, windows [][]int32, opt Options) ([][]byte, []float64, error) {
	coded := make([][]byte, len(windows))
	ideal := make([]float64, len(windows))
	var total int64
	for _, w := range windows {
		total += int64(len(w))
	}
	prog := &progress{total: total, fn: opt.Progress}
	err := runBatches(p, len(windows), opt.Threads, func(b prior.Batch, idx []int) error {
		bufs := make([]bytes.Buffer, len(idx))
		encs := make([]*coder.Encoder, len(idx))
		for k := range idx {
			encs[k] = coder.NewEncoder(&bufs[k])
		}
		var (
			active []int
			syms   []int
			dists  = make([]coder.Dist, len(idx))
			bits   = make([]idealBits, len(idx))
			done   int64
		)
		for t := 0; ; t++ {
			active, syms = active[:0], syms[:0]
			for k, i := range idx {
				if t < len(windows[i]) {
					active = append(active, k)
					syms = append(syms, int(windows[i][t]))
				}
			}
			if len(active) == 0 {
				break
			}
			if err := b.Predict(active, dists[:len(active)]); err != nil {
				return err
			}
			for j, k := range active {
				d := dists[j]
				cum, f := d.Interval(syms[j])
				if f == 0 {
					return fmt.Errorf("window %d symbol %d: the prior gives symbol %d no probability", idx[k], t, syms[j])
				}
				if !opt.Estimate {
					if err := encs[k].EncodeInterval(cum, f, d.Total()); err != nil {
						return fmt.Errorf("window %d symbol %d: %w", idx[k], t, err)
					}
				}
				bits[k].add(f, d.Total())
			}
			if err := b.Push(active, syms); err != nil {
				return err
			}
			if done += int64(len(active)); done >= progressEvery {
				prog.add(done)
				done = 0
			}
		}
		prog.add(done)
		for k, i := range idx {
			if err := encs[k].Close(); err != nil {
				return err
			}
			coded[i], ideal[i] = bufs[k].Bytes(), bits[k].bits()
		}
		return nil
	})
	return coded, ideal, err
}

// Decompress decodes the .lmgc file src and writes the original file to
// dst. Nothing is written unless the whole file decodes and matches the
// stored SHA-256.
func Decompress(src []byte, opt Options) ([]byte, *Stats, error) {
	start := time.Now()
	f, err := container.Parse(src)
	if err != nil {
		return nil, nil, err
	}
	h := &f.Header
	sl, err := newLayout(h.Serialization, h.BytesPerGroup, h.SignFirst)
	if err != nil {
		return nil, nil, container.Corruptf("corrupt .lmgc file: %w", err)
	}
	p, err := priorFromHeader(h, sl, opt)
	if err != nil {
		return nil, nil, err
	}
	defer closePrior(p)
	other, err := f.Other()
	if err != nil {
		return nil, nil, err
	}
	if len(other) > 0 || h.Other.Symbols > 0 {
		if h.OtherCodec != otherCodec {
			return nil, nil, container.Unsupportedf("unknown codec %q for the non-float bytes", h.OtherCodec)
		}
		dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max(h.Other.Symbols, 0))+8<<20))
		other, err = dec.DecodeAll(other, nil)
		dec.Close()
		if err != nil {
			return nil, nil, container.Corruptf("corrupt .lmgc file: non-float bytes: %w", err)
		}
	}
	if int64(len(other)) != h.Other.Symbols {
		return nil, nil, container.Corruptf("corrupt .lmgc file: %d non-float bytes decoded, header says %d", len(other), h.Other.Symbols)
	}
	syms, err := decodeWindows(f, p, opt)
	if err != nil {
		return nil, nil, err
	}
	floats, err := symbolizerFor(p, sl).Desymbolize(syms, h.Pad)
	if err != nil {
		return nil, nil, container.Corruptf("corrupt .lmgc file: %w", err)
	}
	if int64(len(floats)) != h.FloatBytes {
		return nil, nil, container.Corruptf("corrupt .lmgc file: %d float bytes decoded, header says %d", len(floats), h.FloatBytes)
	}
	out := make([]byte, 0, len(floats)+len(other))
	for _, s := range h.Original.Segments {
		src := &other
		if s.Kind == "float32le" {
			src = &floats
		}
		if int64(len(*src)) < s.Length {
			return nil, nil, container.Corruptf("corrupt .lmgc file: segments exceed the decoded data")
		}
		out = append(out, (*src)[:s.Length]...)
		*src = (*src)[s.Length:]
	}
	sum := sha256.Sum256(out)
	if hex.EncodeToString(sum[:]) != h.Original.SHA256 {
		return nil, nil, container.Corruptf("corrupt .lmgc file: decoded data does not match the original's SHA-256 %s", h.Original.SHA256)
	}
	st := &Stats{}
	st.finish(h, int64(len(src)), start)
	return out, st, nil
}

func decodeWindows(f *container.File, p prior.Prior, opt Options) ([][]int32, error) {
	h := &f.Header
	var total int64
	for _, s := range h.Streams {
		total += s.Symbols
	}
	// Outputs grow with the decoding work actually done, so a header that
	// claims absurd sizes cannot make us allocate them up front.
	out := make([][]int32, len(h.Streams))
	prog := &progress{total: total, fn: opt.Progress}
	err := runBatches(p, len(h.Streams), opt.Threads, func(b prior.Batch, idx []int) error {
		decs := make([]*coder.Decoder, len(idx))
		for k, i := range idx {
			body, err := f.Stream(i)
			if err != nil {
				return err
			}
			if decs[k], err = coder.NewDecoder(bytes.NewReader(body)); err != nil {
				return container.Corruptf("corrupt .lmgc file: stream %d: %w", i, err)
			}
			out[i] = make([]int32, 0, min(h.Streams[i].Symbols, int64(len(body))*64+1024))
		}
		var (
			active []int
			syms   []int
			dists  = make([]coder.Dist, len(idx))
			done   int64
		)
		for t := int64(0); ; t++ {
			active, syms = active[:0], syms[:0]
			for k, i := range idx {
				if t < h.Streams[i].Symbols {
					active = append(active, k)
				}
			}
			if len(active) == 0 {
				break
			}
			if err := b.Predict(active, dists[:len(active)]); err != nil {
				return err
			}
			for j, k := range active {
				s, err := decs[k].Decode(dists[j])
				if err != nil {
					return container.Corruptf("corrupt .lmgc file: stream %d symbol %d: %w", idx[k], t, err)
				}
				syms = append(syms, s)
				out[idx[k]] = append(out[idx[k]], int32(s))
			}
			if err := b.Push(active, syms); err != nil {
				return err
			}
			if done += int64(len(active)); done >= progressEvery {
				prog.add(done)
				done = 0
			}
		}
		prog.add(done)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Inspect parses the header of an .lmgc file.
func Inspect(src []byte) (*container.Header, error) {
	f, err := container.Parse(src)
	if err != nil {
		return nil, err
	}
	return &f.Header, nil
}
