package codec

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/lmgc/lmgc/codec/lowrank"
	"github.com/lmgc/lmgc/coder"
	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/prior"
	"github.com/lmgc/lmgc/tensorio"
)

// Memory limits of the streaming paths. Variables so that tests can lower
// them.
var (
	// spoolMemory is how many coded bytes an Encoder keeps in memory before
	// it moves them to a temporary file.
	spoolMemory = 4 << 20
	// otherMemory is the largest non-float stream (before compression on
	// encoding, compressed on decoding) handled in memory in one piece;
	// larger ones are streamed through zstd.
	otherMemory int64 = 32 << 20
)

// An Encoder compresses tensor files with one set of options, validated
// and turned into a prior once. It may be used for many files, one at a
// time; Close releases the prior (an LLM's model file).
type Encoder struct {
	opt Options
	sl  layout
	p   prior.Prior
	// params are the prior parameters stored in every file.
	params map[string]any
	info   prior.Info
	// p16 and params16: the prior built for 16-bit floats (Info.Float16),
	// made for the first file that needs it.
	p16      prior.Prior
	params16 map[string]any
}

// NewEncoder checks the options, fills in the defaults and builds the
// prior.
func NewEncoder(opt Options) (*Encoder, error) {
	info, err := lookupPrior(opt.Prior)
	if err != nil {
		return nil, err
	}
	if info.NeedsModel && opt.Model == "" {
		return nil, fmt.Errorf("the %s prior: %w", info.Name, ErrModelRequired)
	}
	if opt.BytesPerGroup == 0 {
		opt.BytesPerGroup = 4
	}
	if opt.Window == 0 {
		opt.Window = DefaultWindow
		if info.Window > 0 {
			opt.Window = info.Window
		}
	}
	if opt.Window < 0 {
		return nil, fmt.Errorf("negative window of %d symbols", opt.Window)
	}
	if info.TextFormat != "" && (opt.Format == "" || opt.Format == FormatRaw) {
		opt.Format = info.TextFormat
	}
	if info.SignFirst && (opt.Format == "" || opt.Format == FormatRaw) {
		opt.SignFirst = true
	}
	sl, err := newLayout(opt.Format, opt.BytesPerGroup, opt.SignFirst)
	if err != nil {
		return nil, err
	}
	params := map[string]any{"period": sl.period(), "chunk": sl.chunkSymbols()}
	p, err := info.New(prior.Spec{Params: params, Format: opt.Format, BytesPerGroup: opt.BytesPerGroup,
		SignFirst: opt.SignFirst, Window: opt.Window, Model: opt.Model, Threads: opt.Threads, Config: opt.LLM})
	if err != nil {
		return nil, err
	}
	if _, own := p.(prior.Symbolizer); !own {
		if err := sl.checkWindow(opt.Window); err != nil {
			closePrior(p)
			return nil, err
		}
	}
	if pp, ok := p.(prior.Parameterized); ok {
		params = pp.Params()
	}
	if _, own := p.(prior.Symbolizer); opt.LowRank && (own || !sl.isRaw()) {
		closePrior(p)
		return nil, fmt.Errorf("the low-rank transform needs the raw serialization and a byte prior, not %s with %s", info.Name, opt.Format)
	}
	return &Encoder{opt: opt, sl: sl, p: p, params: params, info: info}, nil
}

// Close releases the prior.
func (e *Encoder) Close() error {
	closePrior(e.p)
	if e.p16 != nil {
		closePrior(e.p16)
	}
	return nil
}

// floatKind picks the floats of a file that go to the prior: its float32
// tensors, or, for a file without any and a prior that codes 16-bit floats
// (raw layout, or its own symbols: llm), its bfloat16/float16 tensors. The
// rest is "other".
func (e *Encoder) floatKind(lay *tensorio.Layout) (tensorio.Kind, error) {
	var n32, n16 int64
	for _, s := range lay.Segments {
		switch s.Kind {
		case tensorio.Float32LE:
			n32 += s.Length
		case tensorio.Float16LE:
			n16 += s.Length
		}
	}
	_, own := e.p.(prior.Symbolizer)
	if n32 > 0 || n16 == 0 || !e.info.Float16 || !(e.sl.isRaw() || own) {
		return tensorio.Float32LE, nil
	}
	if e.p16 == nil {
		opt := e.opt
		var p prior.Prior
		var err error
		if rw, ok := e.p.(prior.Rewidth); ok {
			p, err = rw.ForFloatBytes(2) // the same model, not loaded twice
		} else {
			p, err = e.info.New(prior.Spec{Params: map[string]any{"period": 2, "chunk": 0}, Format: opt.Format,
				BytesPerGroup: opt.BytesPerGroup, SignFirst: opt.SignFirst, Window: opt.Window, Model: opt.Model,
				Threads: opt.Threads, Config: opt.LLM, FloatBytes: 2})
		}
		if err != nil {
			return 0, err
		}
		e.p16, e.params16 = p, map[string]any{"period": 2, "chunk": 0}
		if pp, ok := p.(prior.Parameterized); ok {
			e.params16 = pp.Params()
		}
	}
	return tensorio.Float16LE, nil
}

// Encode compresses the size-byte tensor file src (named name, for format
// detection and the header) and writes the .lmgc file to dst. It reads src
// twice, in parallel: once for the SHA-256, once for coding. Coded windows
// beyond a few MiB wait in a temporary file in Options.TempDir, because the
// header that precedes them can only be written at the end. Memory use is
// bounded by the window size times the threads, not by the file size (for
// priors with their own symbols, such as llm, the float data is held).
func (e *Encoder) Encode(dst io.Writer, src io.ReaderAt, size int64, name string) (*Stats, error) {
	return e.encode(dst, src, size, name, spoolMemory, nil)
}

// encode writes the .lmgc file, or with part the part file of one shard
// (shard.go).
func (e *Encoder) encode(dst io.Writer, src io.ReaderAt, size int64, name string, memLimit int, part *partJob) (*Stats, error) {
	start := time.Now()
	opt := e.opt
	format := opt.InputFormat
	if format == "" {
		var head [64]byte
		n, err := src.ReadAt(head[:min(size, 64)], 0)
		if err != nil && !(err == io.EOF && int64(n) == min(size, 64)) {
			return nil, err
		}
		format = tensorio.Detect(name, head[:n])
		if format == "" {
			return nil, fmt.Errorf("cannot tell the format of %s: name it .f32, .bin, .npy, .safetensors or .pt, or set the input format (%w)", name, tensorio.ErrUnknownFormat)
		}
	}
	lay, err := tensorio.ParseLayout(format, src, size)
	if err != nil {
		return nil, err
	}
	p, sl, params := e.p, e.sl, e.params
	kind, err := e.floatKind(lay)
	if err != nil {
		return nil, err
	}
	if kind == tensorio.Float16LE {
		p, sl, params = e.p16, sl.with16(), e.params16
	}

	// The SHA-256 of the whole file, read alongside the coding.
	type sum struct {
		hex string
		err error
	}
	sumc := make(chan sum, 1)
	var stop atomic.Bool
	defer stop.Store(true) // an error: stop hashing
	go func() {
		h := sha256.New()
		_, err := io.CopyBuffer(h, &stoppable{io.NewSectionReader(src, 0, size), &stop}, make([]byte, 1<<20))
		sumc <- sum{hex.EncodeToString(h.Sum(nil)), err}
	}()
	waitSum := func() (string, error) { s := <-sumc; return s.hex, s.err }

	h := &container.Header{
		Original:      container.Original{Name: name, Size: size, Format: format},
		Prior:         container.Prior{Name: p.Name(), Fingerprint: p.Fingerprint(), Params: params},
		Serialization: sl.format,
		SignFirst:     opt.SignFirst,
		Window:        opt.Window,
		OtherCodec:    otherCodec,
	}
	if !sl.isRaw() {
		h.BytesPerGroup = sl.text.BytesPerGroup // 1 or 2 for 16-bit floats
		h.ChunkSize = 512
	}
	var floats, other []io.Reader
	var lowRank []*lowRankReader
	var otherLen int64
	for _, s := range lay.Segments {
		seg := container.Segment{Length: s.Length, Name: s.Name, DType: s.DType, Shape: s.Shape}
		r := io.NewSectionReader(src, s.Offset, s.Length)
		if s.Kind == kind {
			seg.Kind = kindFloat32
			if kind == tensorio.Float16LE {
				seg.Kind = kindFloat16
			}
			if opt.LowRank && kind == tensorio.Float32LE && len(s.Shape) == 2 {
				lr := &lowRankReader{src: r, seg: s, idx: len(h.Original.Segments)}
				lowRank = append(lowRank, lr)
				floats = append(floats, lr)
			} else {
				floats = append(floats, r)
			}
			h.FloatBytes += s.Length
		} else {
			seg.Kind = "other"
			other = append(other, r)
			otherLen += s.Length
		}
		h.Original.Segments = append(h.Original.Segments, seg)
	}

	for _, lr := range lowRank {
		lr.plan = &h.Original.Segments[lr.idx].LowRank
	}

	sp := &spool{limit: memLimit, dir: opt.TempDir}
	defer sp.close()
	if !opt.Estimate && otherLen > 0 && part.codesOther() {
		if err := encodeOther(sp, io.MultiReader(other...), otherLen, &h.Other); err != nil {
			return nil, err
		}
	}

	floatReader := bufio.NewReaderSize(io.MultiReader(floats...), 1<<20)
	var split splitter
	if sym, own := p.(prior.Symbolizer); own {
		if split, err = newSliceSplitter(sym, floatReader, opt.Window); err != nil {
			return nil, err
		}
	} else {
		split = sl.splitter(floatReader, h.FloatBytes, opt.Window)
	}
	if part != nil {
		if split, err = part.selectWindows(split, func() splitter {
			return sl.splitter(floatSections(src, lay, kind), h.FloatBytes, opt.Window)
		}); err != nil {
			return nil, err
		}
	}
	if err := e.codeWindows(p, split, h, sp, part); err != nil {
		return nil, err
	}
	h.Pad = split.pad()
	if h.Original.SHA256, err = waitSum(); err != nil {
		return nil, err
	}
	if opt.Estimate {
		st := &Stats{Estimate: true}
		st.finish(h, 0, start)
		return st, nil
	}
	head := func(w io.Writer) error { return container.WriteHeader(w, h) }
	if part != nil {
		if head, err = part.head(h); err != nil {
			return nil, err
		}
	}
	cw := &countWriter{w: dst}
	if err := head(cw); err != nil {
		return nil, err
	}
	if err := sp.writeTo(cw); err != nil {
		return nil, err
	}
	st := &Stats{}
	st.finish(h, cw.n, start)
	return st, nil
}

// lowRankReader reads a 2-D float32 segment through the low-rank
// transform: on the first Read it reads the whole segment, chooses a plan,
// records it in *plan and serves the transformed bytes (or the segment as
// it is, without a plan). So only the tensor being coded is held in
// memory; its bytes are dropped at its end.
type lowRankReader struct {
	src  *io.SectionReader
	seg  tensorio.Segment
	idx  int     // the segment's index in the header
	plan *string // its header entry's LowRank
	r    io.Reader
}

func (l *lowRankReader) Read(b []byte) (int, error) {
	if l.r == nil {
		lr, plan, err := lowRankForward(l.src, l.seg)
		if err != nil {
			return 0, err
		}
		l.r = l.src
		if plan != "" {
			l.r, *l.plan = lr, plan
		}
	}
	n, err := l.r.Read(b)
	if err == io.EOF {
		l.r = eofReader{}
	}
	return n, err
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// lowRankForward reads the float32 segment s from r and, if it is a 2-D
// tensor that package lowrank finds a plan for, returns a reader of its
// transformed bytes and the plan (EncodePlan); else plan is "".
func lowRankForward(r *io.SectionReader, s tensorio.Segment) (*io.SectionReader, string, error) {
	if len(s.Shape) != 2 || s.Shape[0] <= 0 || s.Shape[1] <= 0 || s.Shape[0] > lowrank.MaxElems || s.Shape[0]*s.Shape[1] > lowrank.MaxElems || s.Shape[0]*s.Shape[1]*4 != s.Length {
		return nil, "", nil
	}
	rows, cols := int(s.Shape[0]), int(s.Shape[1])
	b := make([]byte, s.Length)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, "", err
	}
	v := make([]uint32, rows*cols)
	for i := range v {
		v[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	p := lowrank.Choose(v, rows, cols, 0)
	if len(p.Basis) == 0 {
		return nil, "", nil
	}
	t, err := lowrank.Forward(v, p)
	if err != nil {
		return nil, "", err
	}
	for i, x := range t {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return io.NewSectionReader(bytes.NewReader(b), 0, s.Length), lowrank.EncodePlan(p), nil
}

// encodeOther compresses the n non-float bytes of r with zstd into sp and
// describes the stream in s. Up to otherMemory bytes are compressed in one
// piece, as lmgc always has; larger ones are streamed.
func encodeOther(sp *spool, r io.Reader, n int64, s *container.Stream) error {
	before := sp.n
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	w := io.MultiWriter(sp, crc)
	if n <= otherMemory {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
		body := enc.EncodeAll(b, nil)
		enc.Close()
		if _, err := w.Write(body); err != nil {
			return err
		}
	} else {
		enc, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return err
		}
		if _, err := io.CopyBuffer(enc, r, make([]byte, 1<<20)); err != nil {
			enc.Close()
			return err
		}
		if err := enc.Close(); err != nil {
			return err
		}
	}
	*s = container.Stream{Length: sp.n - before, Symbols: n, CRC32C: crc.Sum32()}
	return nil
}

// codedGroup is the result of coding one batch of windows.
type codedGroup struct {
	coded [][]byte
	ideal []float64
	syms  []int64
}

// codeWindows codes the windows of split, in parallel, and appends each
// coded stream to sp (in order) and its entry to h.Streams.
// With part, each window's ideal bits are recorded in it too.
func (e *Encoder) codeWindows(p prior.Prior, split splitter, h *container.Header, sp *spool, part *partJob) error {
	opt := e.opt
	batch, workers := schedule(p, opt.Threads)
	prog := &progress{total: split.total(), fn: opt.Progress}
	var (
		eof  bool
		made int
	)
	produce := func() (windowGroup, bool, error) {
		g := windowGroup{first: made}
		for !eof && len(g.w) < batch {
			w, err := split.next()
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				return g, false, err
			}
			g.w = append(g.w, w)
		}
		made += len(g.w)
		return g, len(g.w) > 0, nil
	}
	pp := startPipe(workers, workers+1, produce, func(g windowGroup) (codedGroup, error) {
		return encodeGroup(p, g, opt.Estimate, opt.lockStep, prog)
	})
	defer pp.close()
	for {
		g, ok, err := pp.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		for k, c := range g.coded {
			if !opt.Estimate {
				if _, err := sp.Write(c); err != nil {
					return err
				}
			}
			h.Streams = append(h.Streams, container.Stream{Length: int64(len(c)), Symbols: g.syms[k], CRC32C: container.Checksum(c)})
			h.IdealBits += g.ideal[k]
			part.addBits(g.ideal[k])
			h.Tokens += g.syms[k]
		}
	}
	prog.finish(h.Tokens)
	return nil
}

// windowGroup is a batch of consecutive windows, from window first on.
type windowGroup struct {
	first int
	w     []window
}

// encodeGroup codes a batch of windows, each with its own state of p: in
// one Score call when p is a prior.Scorer (and not lockStep), else with
// the windows advancing in lock step, one symbol each per step.
func encodeGroup(p prior.Prior, g windowGroup, estimate, lockStep bool, prog *progress) (codedGroup, error) {
	if sc, ok := p.(prior.Scorer); ok && !lockStep {
		return scoreGroup(sc, g, estimate, prog)
	}
	windows := g.w
	n := len(windows)
	gc := newGroupCoder(g, estimate, prog)
	b, err := p.NewBatch(n)
	if err != nil {
		return gc.out, err
	}
	defer prior.CloseBatch(b)
	var (
		active []int
		syms   []int
		dists  = make([]coder.Dist, n)
	)
	for t := 0; ; t++ {
		active, syms = active[:0], syms[:0]
		for k := range windows {
			if t < windows[k].len() {
				active = append(active, k)
				syms = append(syms, windows[k].at(t))
			}
		}
		if len(active) == 0 {
			break
		}
		if err := b.Predict(active, dists[:len(active)]); err != nil {
			return gc.out, err
		}
		for j, k := range active {
			if err := gc.code(k, t, syms[j], dists[j]); err != nil {
				return gc.out, err
			}
		}
		if err := b.Push(active, syms); err != nil {
			return gc.out, err
		}
	}
	return gc.finish()
}

// groupCoder range-codes the symbols of a batch of windows, each window in
// its own stream, and counts their ideal bits.
type groupCoder struct {
	g        windowGroup
	estimate bool
	prog     *progress
	out      codedGroup
	bufs     []bytes.Buffer
	encs     []*coder.Encoder
	bits     []idealBits
	done     int64
}

func newGroupCoder(g windowGroup, estimate bool, prog *progress) *groupCoder {
	n := len(g.w)
	gc := &groupCoder{g: g, estimate: estimate, prog: prog,
		out:  codedGroup{coded: make([][]byte, n), ideal: make([]float64, n), syms: make([]int64, n)},
		bufs: make([]bytes.Buffer, n), encs: make([]*coder.Encoder, n), bits: make([]idealBits, n)}
	for k := range gc.encs {
		gc.encs[k] = coder.NewEncoder(&gc.bufs[k])
	}
	return gc
}

// code codes symbol t of window k, sym, with distribution d.
func (gc *groupCoder) code(k, t, sym int, d coder.Dist) error {
	cum, f := d.Interval(sym)
	if f == 0 {
		return fmt.Errorf("window %d symbol %d: the prior gives symbol %d no probability", gc.g.first+k, t, sym)
	}
	if !gc.estimate {
		if err := gc.encs[k].EncodeInterval(cum, f, d.Total()); err != nil {
			return fmt.Errorf("window %d symbol %d: %w", gc.g.first+k, t, err)
		}
	}
	gc.bits[k].add(f, d.Total())
	if gc.done++; gc.done >= progressEvery {
		gc.prog.add(gc.done)
		gc.done = 0
	}
	return nil
}

// finish flushes the streams.
func (gc *groupCoder) finish() (codedGroup, error) {
	gc.prog.add(gc.done)
	for k := range gc.g.w {
		if err := gc.encs[k].Close(); err != nil {
			return gc.out, err
		}
		gc.out.coded[k], gc.out.ideal[k], gc.out.syms[k] = gc.bufs[k].Bytes(), gc.bits[k].bits(), int64(gc.g.w[k].len())
	}
	return gc.out, nil
}

// spool holds the coded streams until the header is written: in memory
// up to limit bytes (no limit if negative), then in a temporary file.
type spool struct {
	limit int
	dir   string
	mem   bytes.Buffer
	f     *os.File
	fw    *bufio.Writer
	n     int64
}

func (s *spool) Write(b []byte) (int, error) {
	if s.f == nil && s.limit >= 0 && s.mem.Len()+len(b) > s.limit {
		f, err := os.CreateTemp(s.dir, ".lmgc-spool-*")
		if err != nil {
			return 0, fmt.Errorf("spooling the coded windows: %w", err)
		}
		os.Remove(f.Name()) // unlinked while open where the system allows
		s.f, s.fw = f, bufio.NewWriterSize(f, 1<<20)
		if _, err := s.mem.WriteTo(s.fw); err != nil {
			return 0, err
		}
		s.mem = bytes.Buffer{}
	}
	s.n += int64(len(b))
	if s.f != nil {
		return s.fw.Write(b)
	}
	return s.mem.Write(b)
}

func (s *spool) writeTo(w io.Writer) error {
	if s.f == nil {
		_, err := s.mem.WriteTo(w)
		return err
	}
	if err := s.fw.Flush(); err != nil {
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.CopyBuffer(w, s.f, make([]byte, 1<<20))
	return err
}

func (s *spool) close() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
	}
}

// stoppable reads from r until stop is set.
type stoppable struct {
	r    io.Reader
	stop *atomic.Bool
}

func (s *stoppable) Read(b []byte) (int, error) {
	if s.stop.Load() {
		return 0, errStopped
	}
	return s.r.Read(b)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// progress counts symbols across workers and reports them.
type progress struct {
	done, total int64
	fn          func(done, total int64)
}

func (p *progress) add(n int64) {
	if p.fn != nil {
		p.fn(min(atomic.AddInt64(&p.done, n), p.total), p.total)
	}
}

// finish reports the end with the true total (the estimate may be off).
func (p *progress) finish(total int64) {
	if p.fn != nil {
		p.fn(total, total)
	}
}

func threads(n int) int {
	if n <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return n
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
