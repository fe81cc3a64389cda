package codec

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/lmgc/lmgc/codec/lowrank"
	"github.com/lmgc/lmgc/coder"
	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/prior"
)

// A Reader decompresses an .lmgc file read through an io.ReaderAt. Windows
// are decoded in order as the output is read, Threads at a time, with only
// a few of them per thread in memory. The SHA-256 of the original is
// checked at the end: the Read that would return io.EOF returns an error
// matching container.ErrCorrupt instead if it differs, so a caller that
// writes the output to a file must treat it as valid only after io.EOF.
// Close releases the prior and stops the decoding goroutines.
type Reader struct {
	f     *container.Reader
	h     *container.Header
	size  int64
	start time.Time
	p     prior.Prior
	sl    layout

	floats floatSource
	other  otherSource
	seg    int // current segment
	// lr holds the rest of the current segment when it is a low-rank
	// transformed one (decoded whole, then inverted); lrSeg is the segment
	// it was loaded for (-1: none).
	lr    []byte
	lrSeg int
	left  int64 // bytes of it still to read
	sum   hash.Hash
	err   error // sticky: io.EOF after a good end
	stats *Stats
}

// NewReader reads the header of the size-byte .lmgc file r, rebuilds the
// prior it names (Options.Model for the llm prior) and checks that it is
// the one that coded the file. Options other than Threads, Model, LLM and
// Progress are ignored.
func NewReader(r io.ReaderAt, size int64, opt Options) (*Reader, error) {
	d, err := openReader(r, size, opt)
	if err != nil {
		return nil, err
	}
	d.sum = sha256.New()
	f, h := d.f, d.h
	if err := d.other.open(f); err != nil {
		closePrior(d.p)
		return nil, err
	}
	d.floats.start(d, opt)
	if len(h.Original.Segments) > 0 {
		d.left = h.Original.Segments[0].Length
	}
	return d, nil
}

// openReader reads the header and the stream table and rebuilds the
// prior: a Reader that decodes nothing yet.
func openReader(r io.ReaderAt, size int64, opt Options) (*Reader, error) {
	start := time.Now()
	f, err := container.NewReader(r, size)
	if err != nil {
		return nil, err
	}
	h := &f.Header
	sl, err := newLayout(h.Serialization, h.BytesPerGroup, h.SignFirst)
	if err != nil {
		return nil, container.Corruptf("corrupt .lmgc file: %w", err)
	}
	for _, s := range h.Original.Segments {
		if s.Kind == kindFloat16 {
			sl = sl.with16()
			break
		}
	}
	p, err := priorFromHeader(h, opt)
	if err != nil {
		return nil, err
	}
	if err := checkFloatWidth(p, sl); err != nil {
		closePrior(p)
		return nil, err
	}
	for _, s := range h.Original.Segments {
		if s.LowRank == "" {
			continue
		}
		if _, err := lowRankPlan(s); err != nil {
			closePrior(p)
			return nil, err
		}
	}
	return &Reader{f: f, h: h, size: size, start: start, p: p, sl: sl, lrSeg: -1}, nil
}

// checkFloatWidth checks that the prior rebuilt from a header reads floats
// of the segments' width: 16-bit floats go through the raw layout or a
// prior with its own symbols (llm) built for them.
func checkFloatWidth(p prior.Prior, sl layout) error {
	_, own := p.(prior.Symbolizer)
	if sl.width == 2 && !sl.isRaw() && !own {
		return container.Corruptf("corrupt .lmgc file: 16-bit floats in the %s serialization", sl.format)
	}
	if fs, ok := p.(prior.FloatSized); ok && own && fs.FloatBytes() != sl.width {
		return container.Corruptf("corrupt .lmgc file: %d-byte float segments, the %s prior's parameters say %d-byte floats", sl.width, p.Name(), fs.FloatBytes())
	}
	return nil
}

// Header returns the file's header.
func (d *Reader) Header() *container.Header { return d.h }

// Stats returns the summary of the decoding; nil until Read has returned
// io.EOF.
func (d *Reader) Stats() *Stats { return d.stats }

// Close stops decoding and releases the prior.
func (d *Reader) Close() error {
	if d.floats.pipe != nil {
		d.floats.pipe.close()
		d.floats.pipe = nil
	}
	d.other.close()
	if d.p != nil {
		closePrior(d.p)
		d.p = nil
	}
	if d.err == nil {
		d.err = errClosed
	}
	return nil
}

var errClosed = errors.New("lmgc codec: read from a closed Reader")

// Read implements io.Reader.
func (d *Reader) Read(b []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	segs := d.h.Original.Segments
	for d.seg < len(segs) && d.left == 0 {
		d.seg++
		if d.seg < len(segs) {
			d.left = segs[d.seg].Length
		}
	}
	if d.seg == len(segs) {
		d.err = d.finish()
		return 0, d.err
	}
	if len(b) == 0 {
		return 0, nil
	}
	b = b[:min(int64(len(b)), d.left)]
	var n int
	var err error
	if segs[d.seg].LowRank != "" {
		n, err = d.readLowRank(b)
	} else if floatWidth(segs[d.seg].Kind) > 0 {
		n, err = d.floats.Read(b)
	} else {
		n, err = d.other.Read(b)
	}
	d.sum.Write(b[:n])
	d.left -= int64(n)
	if err == io.EOF {
		switch {
		case n > 0:
			err = nil
		case floatWidth(segs[d.seg].Kind) > 0:
			err = container.Corruptf("corrupt .lmgc file: %d float bytes decoded, header says %d", d.floats.n, d.h.FloatBytes)
		default:
			err = container.Corruptf("corrupt .lmgc file: %d non-float bytes decoded, header says %d", d.other.n, d.h.Other.Symbols)
		}
	}
	if err != nil {
		d.err = err
	}
	return n, nil
}

// lowRankPlan returns the plan of the low-rank segment s of a header, an
// error matching container.ErrCorrupt if it does not fit the segment.
func lowRankPlan(s container.Segment) (*lowrank.Plan, error) {
	if s.Kind != kindFloat32 || len(s.Shape) != 2 || s.Shape[0] < 0 || s.Shape[1] < 0 ||
		s.Shape[0] > lowrank.MaxElems || s.Shape[1] > lowrank.MaxElems || s.Shape[0]*s.Shape[1]*4 != s.Length {
		return nil, container.Corruptf("corrupt .lmgc file: low-rank plan on segment %s (%s, shape %v, %d bytes)", s.Name, s.Kind, s.Shape, s.Length)
	}
	p, err := lowrank.DecodePlan(s.LowRank, int(s.Shape[0]), int(s.Shape[1]))
	if err != nil {
		return nil, container.Corruptf("corrupt .lmgc file: segment %s: %w", s.Name, err)
	}
	return p, nil
}

// readLowRank reads from the current segment, a low-rank transformed one:
// the first call decodes its float bytes whole and inverts the transform.
func (d *Reader) readLowRank(b []byte) (int, error) {
	if d.lrSeg != d.seg {
		s := d.h.Original.Segments[d.seg]
		p, err := lowRankPlan(s)
		if err != nil {
			return 0, err
		}
		buf := make([]byte, s.Length)
		if _, err := io.ReadFull(&d.floats, buf); err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return 0, err
		}
		v := make([]uint32, len(buf)/4)
		for i := range v {
			v[i] = binary.LittleEndian.Uint32(buf[4*i:])
		}
		if v, err = lowrank.Inverse(v, p); err != nil {
			return 0, container.Corruptf("corrupt .lmgc file: segment %s: %w", s.Name, err)
		}
		for i, x := range v {
			binary.LittleEndian.PutUint32(buf[4*i:], x)
		}
		d.lr, d.lrSeg = buf, d.seg
	}
	n := copy(b, d.lr)
	d.lr = d.lr[n:]
	return n, nil
}

// WriteTo implements io.WriterTo.
func (d *Reader) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, 1<<20)
	var total int64
	for {
		n, err := d.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// finish checks, after the last segment, that both streams are used up
// exactly and that the output has the original's SHA-256.
func (d *Reader) finish() error {
	h := d.h
	if err := d.floats.finish(h); err != nil {
		return err
	}
	if err := d.other.finish(h); err != nil {
		return err
	}
	if hex.EncodeToString(d.sum.Sum(nil)) != h.Original.SHA256 {
		return container.Corruptf("corrupt .lmgc file: decoded data does not match the original's SHA-256 %s", h.Original.SHA256)
	}
	d.stats = &Stats{}
	d.stats.finish(h, d.size, d.start)
	return io.EOF
}

// floatSource gives the decoded float bytes in order.
type floatSource struct {
	pipe  *pipe[decodedGroup]
	queue [][]byte
	cur   []byte
	n     int64 // float bytes produced so far, padding included
	// own: the prior has its own symbols; its windows are collected and
	// turned into floats at once (padding trimmed).
	own     prior.Symbolizer
	pad     int
	trimmed bool
	err     error
}

// decodedGroup is the result of decoding a batch of windows: float bytes
// per window, or symbols for a prior with its own.
type decodedGroup struct {
	floats [][]byte
	syms   [][]int32
}

func (s *floatSource) start(d *Reader, opt Options) {
	h := d.h
	var total int64
	for _, st := range h.Streams {
		total += st.Symbols
	}
	prog := &progress{total: total, fn: opt.Progress}
	s.own, _ = d.p.(prior.Symbolizer)
	s.pad = h.Pad
	batch, workers := decodeSchedule(d.p, opt, len(h.Streams))
	next := 0
	produce := func() ([]int, bool, error) {
		var idx []int
		for ; next < len(h.Streams) && len(idx) < batch; next++ {
			idx = append(idx, next)
		}
		return idx, len(idx) > 0, nil
	}
	s.pipe = startPipe(workers, workers+1, produce, func(idx []int) (decodedGroup, error) {
		return decodeGroup(d, idx, s.own != nil, prog)
	})
}

func (s *floatSource) Read(b []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if len(s.queue) > 0 {
			s.cur, s.queue = s.queue[0], s.queue[1:]
			continue
		}
		if s.err = s.fill(); s.err != nil {
			return 0, s.err
		}
	}
	n := copy(b, s.cur)
	s.cur = s.cur[n:]
	s.n += int64(n)
	return n, nil
}

// fill queues the float bytes of the next decoded batch (for a prior with
// its own symbols: of all of them, padding trimmed); io.EOF after the last.
func (s *floatSource) fill() error {
	if s.pipe == nil {
		return io.EOF
	}
	if s.own == nil {
		g, ok, err := s.pipe.next()
		if err != nil {
			return err
		}
		if !ok {
			return io.EOF
		}
		s.queue = g.floats
		return nil
	}
	var all [][]int32
	for {
		g, ok, err := s.pipe.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		all = append(all, g.syms...)
	}
	s.pipe.close()
	s.pipe = nil
	floats, err := s.own.Desymbolize(all, s.pad)
	if err != nil {
		return container.Corruptf("corrupt .lmgc file: %w", err)
	}
	s.queue, s.trimmed = [][]byte{floats}, true
	return nil
}

// finish checks that what is left after the last float segment is exactly
// the padding.
func (s *floatSource) finish(h *container.Header) error {
	rest := int64(len(s.cur))
	s.cur = nil
	for {
		for _, b := range s.queue {
			rest += int64(len(b))
		}
		s.queue = nil
		if err := s.fill(); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
	}
	pad := int64(s.pad)
	if s.trimmed {
		pad = 0
	}
	if rest != pad {
		return container.Corruptf("corrupt .lmgc file: %d float bytes decoded, header says %d", s.n+rest-pad, h.FloatBytes)
	}
	return nil
}

// decodeGroup decodes the windows idx, in lock step, and turns each into
// float bytes (or, for a prior with its own symbols, returns the symbols).
func decodeGroup(d *Reader, idx []int, own bool, prog *progress) (decodedGroup, error) {
	h := d.h
	var out decodedGroup
	b, err := d.p.NewBatch(len(idx))
	if err != nil {
		return out, err
	}
	defer prior.CloseBatch(b)
	decs := make([]*coder.Decoder, len(idx))
	bytesOut := make([][]byte, len(idx))
	symsOut := make([][]int32, len(idx))
	for k, i := range idx {
		body, err := d.f.ReadStream(i, nil)
		if err != nil {
			return out, err
		}
		if decs[k], err = coder.NewDecoder(bytes.NewReader(body)); err != nil {
			return out, container.Corruptf("corrupt .lmgc file: stream %d: %w", i, err)
		}
		// Outputs grow with the decoding work actually done, so a header
		// that claims absurd sizes cannot make us allocate them up front.
		c := min(h.Streams[i].Symbols, int64(len(body))*64+1024)
		if own {
			symsOut[k] = make([]int32, 0, c)
		} else {
			bytesOut[k] = make([]byte, 0, c)
		}
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
			return out, err
		}
		for j, k := range active {
			s, err := decs[k].Decode(dists[j])
			if err != nil {
				return out, container.Corruptf("corrupt .lmgc file: stream %d symbol %d: %w", idx[k], t, err)
			}
			syms = append(syms, s)
			if own {
				symsOut[k] = append(symsOut[k], int32(s))
			} else {
				if s < 0 || s > 255 {
					return out, container.Corruptf("corrupt .lmgc file: stream %d symbol %d: %d is not a byte", idx[k], t, s)
				}
				bytesOut[k] = append(bytesOut[k], byte(s))
			}
		}
		if err := b.Push(active, syms); err != nil {
			return out, err
		}
		if done += int64(len(active)); done >= progressEvery {
			prog.add(done)
			done = 0
		}
	}
	prog.add(done)
	if own {
		out.syms = symsOut
		return out, nil
	}
	out.floats = make([][]byte, len(idx))
	for k, i := range idx {
		if out.floats[k], err = d.sl.windowFloats(bytesOut[k]); err != nil {
			return out, container.Corruptf("corrupt .lmgc file: stream %d: %w", i, err)
		}
	}
	return out, nil
}

// otherSource gives the decompressed non-float bytes in order: from memory
// when the stream is small (its checksum checked first), else streamed
// through zstd with the checksum checked at the end.
type otherSource struct {
	r    io.Reader
	dec  *zstd.Decoder
	crc  hash.Hash32
	sect *bufio.Reader
	f    *container.Reader
	n    int64
}

func (o *otherSource) open(f *container.Reader) error {
	h := &f.Header
	o.f = f
	if h.Other.Length == 0 && h.Other.Symbols == 0 {
		if err := f.CheckOther(container.Checksum(nil)); err != nil {
			return err
		}
		o.r = bytes.NewReader(nil)
		return nil
	}
	if h.OtherCodec != otherCodec {
		return container.Unsupportedf("unknown codec %q for the non-float bytes", h.OtherCodec)
	}
	if h.Other.Length <= otherMemory {
		body, err := f.ReadOther(nil)
		if err != nil {
			return err
		}
		if h.Other.Symbols <= otherMemory {
			dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max(h.Other.Symbols, 0))+8<<20))
			other, err := dec.DecodeAll(body, nil)
			dec.Close()
			if err != nil {
				return container.Corruptf("corrupt .lmgc file: non-float bytes: %w", err)
			}
			if int64(len(other)) != h.Other.Symbols {
				return container.Corruptf("corrupt .lmgc file: %d non-float bytes decoded, header says %d", len(other), h.Other.Symbols)
			}
			o.r = bytes.NewReader(other)
			return nil
		}
		return o.stream(bytes.NewReader(body))
	}
	o.crc = crc32.New(crc32.MakeTable(crc32.Castagnoli))
	o.sect = bufio.NewReaderSize(io.TeeReader(f.OtherSection(), o.crc), 1<<20)
	return o.stream(o.sect)
}

func (o *otherSource) stream(r io.Reader) error {
	// lmgc's streamed frames use zstd's 8 MiB window; a frame made in one
	// piece (EncodeAll) may declare a window as large as its content, the
	// size the header gives, which the in-memory path would hold anyway.
	window := uint64(max(64<<20, o.f.Header.Other.Symbols))
	dec, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(min(window, zstd.MaxWindowSize)))
	if err != nil {
		return container.Corruptf("corrupt .lmgc file: non-float bytes: %w", err)
	}
	o.dec, o.r = dec, dec
	return nil
}

func (o *otherSource) Read(b []byte) (int, error) {
	n, err := o.r.Read(b)
	o.n += int64(n)
	if err != nil && err != io.EOF {
		err = container.Corruptf("corrupt .lmgc file: non-float bytes: %w", err)
	}
	if o.n > o.f.Header.Other.Symbols {
		return n, container.Corruptf("corrupt .lmgc file: more non-float bytes decoded than the header's %d", o.f.Header.Other.Symbols)
	}
	return n, err
}

// finish checks that the stream holds no more bytes than were used and,
// when streamed, its checksum.
func (o *otherSource) finish(h *container.Header) error {
	var one [1]byte
	if n, _ := o.Read(one[:]); n != 0 || o.n != h.Other.Symbols {
		return container.Corruptf("corrupt .lmgc file: %d non-float bytes decoded, header says %d", o.n, h.Other.Symbols)
	}
	if o.sect != nil {
		if _, err := io.Copy(io.Discard, o.sect); err != nil {
			return err
		}
		if err := o.f.CheckOther(o.crc.Sum32()); err != nil {
			return err
		}
	}
	return nil
}

func (o *otherSource) close() {
	if o.dec != nil {
		o.dec.Close()
		o.dec = nil
	}
}
