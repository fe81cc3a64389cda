package codec

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/lmgc/lmgc/container"
	"github.com/lmgc/lmgc/prior"
	"github.com/lmgc/lmgc/serial"
	"github.com/lmgc/lmgc/tensorio"
)

// Sharding: one file's windows are cut into Count consecutive runs, coded
// on as many machines (EncodeShard), each writing a part file; Merge puts
// the parts together into the file one machine would have written, byte
// for byte. DecodeShard decodes one run of windows into its place in a
// preallocated output, and VerifyOutput checks the assembled file.

// A Shard is shard Index of Count (0 <= Index < Count).
type Shard struct {
	Index, Count int
}

// ParseShard parses "i/n", e.g. "0/4".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q is not i/n (e.g. 0/4)", s)
	}
	sh := Shard{Index: i, Count: n}
	return sh, sh.check()
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

func (s Shard) check() error {
	if s.Count < 1 || s.Count > container.MaxShards {
		return fmt.Errorf("shard count %d out of range (1 to %d)", s.Count, container.MaxShards)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard %d of %d: the index runs from 0 to %d", s.Index, s.Count, s.Count-1)
	}
	return nil
}

// Windows returns the windows [first, end) of shard s in a file of
// windows windows: consecutive runs that differ by at most one window.
func (s Shard) Windows(windows int64) (first, end int64) {
	n := int64(s.Count)
	return int64(s.Index) * windows / n, int64(s.Index+1) * windows / n
}

// Errors of Merge, matched with errors.Is.
var (
	// ErrPartMismatch: the parts come from different inputs, settings,
	// priors or shard counts (*PartMismatchError says which).
	ErrPartMismatch = errors.New("the parts do not belong together")
	// ErrShardMissing: a shard of the count has no part.
	ErrShardMissing = errors.New("shard missing")
	// ErrShardDuplicate: two parts hold the same shard.
	ErrShardDuplicate = errors.New("shard given twice")
	// ErrShardUnsupported: the file's windows cannot be decoded apart
	// (their float bytes are known only by decoding all the windows before).
	ErrShardUnsupported = errors.New("windows cannot be decoded one shard at a time")
	// ErrIncomplete: an output assembled by DecodeShard runs does not
	// have the original's size or SHA-256 (a shard was not run, or failed).
	ErrIncomplete = errors.New("assembled output does not match the original")
)

// PartMismatchError reports a part that does not belong with the first.
type PartMismatchError struct {
	Part, First string // the two parts' names
	What        string // "input", "prior fingerprint", "settings", "shard count", "window count"
	Got, Want   string // the differing values (for input and fingerprint: the hashes)
}

func (e *PartMismatchError) Error() string {
	s := fmt.Sprintf("%s and %s have different %s", e.Part, e.First, e.What)
	if e.Got != "" || e.Want != "" {
		s += fmt.Sprintf(" (%s vs %s)", e.Got, e.Want)
	}
	return s + ": " + ErrPartMismatch.Error()
}

// Is reports whether target is ErrPartMismatch.
func (e *PartMismatchError) Is(target error) bool { return target == ErrPartMismatch }

// EncodeShard codes the windows of shard sh of the size-byte tensor file
// src and writes a part file to dst (shard 0's also holds the non-float
// bytes). The whole file is read (for its SHA-256 and the window count),
// but only the shard's windows are coded. Merge of all the parts gives the
// file Encode writes.
func (e *Encoder) EncodeShard(dst io.Writer, src io.ReaderAt, size int64, name string, sh Shard) (*Stats, error) {
	if err := sh.check(); err != nil {
		return nil, err
	}
	if e.opt.Estimate {
		return nil, errors.New("an estimate codes no part: estimate the whole file")
	}
	if e.opt.LowRank {
		return nil, errors.New("the low-rank transform codes whole tensors: it does not split into shards")
	}
	return e.encode(dst, src, size, name, spoolMemory, &partJob{sh: sh})
}

// partJob is the state of EncodeShard within encode: which windows to
// code, and what the part header records.
type partJob struct {
	sh                  Shard
	windows, first, end int64
	pad                 int
	bits                []float64
}

// codesOther reports whether the non-float bytes are coded: always in a
// whole file, in shard 0 only of a split one.
func (j *partJob) codesOther() bool { return j == nil || j.sh.Index == 0 }

func (j *partJob) addBits(b float64) {
	if j != nil {
		j.bits = append(j.bits, b)
	}
}

// selectWindows counts the windows of split and returns a splitter of the
// shard's. Windows of the byte layouts are counted by a first pass over a
// splitter made by fresh (raw: from the size alone); a prior's own windows
// are all made beforehand anyway.
func (j *partJob) selectWindows(split splitter, fresh func() splitter) (splitter, error) {
	switch s := split.(type) {
	case *sliceSplitter:
		j.windows, j.pad = int64(len(s.windows)), s.padded
		j.first, j.end = j.sh.Windows(j.windows)
		sub := &sliceSplitter{windows: s.windows[j.first:j.end], padded: s.padded}
		for _, w := range sub.windows {
			sub.n += int64(len(w))
		}
		return sub, nil
	case *rawSplitter:
		j.windows = (s.n + int64(s.window) - 1) / int64(s.window)
	default:
		c := fresh()
		for {
			_, err := c.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			j.windows++
		}
		j.pad = c.pad()
	}
	j.first, j.end = j.sh.Windows(j.windows)
	return &rangeSplitter{s: split, j: j}, nil
}

// floatSections returns a reader of the float bytes of src, buffered.
func floatSections(src io.ReaderAt, lay *tensorio.Layout, kind tensorio.Kind) io.Reader {
	var rs []io.Reader
	for _, s := range lay.Segments {
		if s.Kind == kind {
			rs = append(rs, io.NewSectionReader(src, s.Offset, s.Length))
		}
	}
	return bufio.NewReaderSize(io.MultiReader(rs...), 1<<20)
}

// rangeSplitter gives the windows [j.first, j.end) of s, skipping those
// before (read, not coded).
type rangeSplitter struct {
	s  splitter
	j  *partJob
	at int64 // index of the next window of s
}

func (r *rangeSplitter) next() (window, error) {
	for ; r.at < r.j.first; r.at++ {
		if _, err := r.s.next(); err != nil {
			return window{}, r.changed(err)
		}
	}
	if r.at >= r.j.end {
		return window{}, io.EOF
	}
	w, err := r.s.next()
	if err != nil {
		return window{}, r.changed(err)
	}
	r.at++
	return w, nil
}

func (r *rangeSplitter) changed(err error) error {
	if err == io.EOF {
		return fmt.Errorf("the input has fewer windows than counted (%d of %d): did it change while being read?", r.at, r.j.windows)
	}
	return err
}

func (r *rangeSplitter) pad() int { return r.j.pad }

func (r *rangeSplitter) total() int64 {
	return r.s.total() * (r.j.end - r.j.first) / max(r.j.windows, 1)
}

// head returns the function that writes everything before the streams of
// the part file of h: the part header, then h's .lmgc header.
func (j *partJob) head(h *container.Header) (func(io.Writer) error, error) {
	if int64(len(h.Streams)) != j.end-j.first {
		return nil, fmt.Errorf("shard %s: %d windows coded, %d expected", j.sh, len(h.Streams), j.end-j.first)
	}
	ph := &container.PartHeader{Shard: j.sh.Index, Shards: j.sh.Count, Windows: j.windows,
		First: j.first, End: j.end, IdealBits: j.bits}
	if ph.IdealBits == nil {
		ph.IdealBits = []float64{}
	}
	return func(w io.Writer) error { return container.WritePart(w, ph, h) }, nil
}

// PartFile is one part given to Merge: a name for messages, and its bytes.
type PartFile struct {
	Name string
	R    io.ReaderAt
	Size int64
}

// Merge checks that parts are all the shards of one file, coded with the
// same settings and prior, each exactly once, and writes that file to
// dst: byte for byte the file Encode writes on one machine. Nothing is
// written unless every part has been checked (stream checksums are checked
// as the streams are copied: a caller writing to a file keeps it only if
// Merge returns no error).
func Merge(dst io.Writer, parts []PartFile) (*Stats, error) {
	start := time.Now()
	if len(parts) == 0 {
		return nil, errors.New("no parts to merge")
	}
	ps := make([]*container.Part, len(parts))
	for i, pf := range parts {
		p, err := container.NewPartReader(pf.R, pf.Size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pf.Name, err)
		}
		ps[i] = p
	}
	byShard, err := checkParts(parts, ps)
	if err != nil {
		return nil, err
	}
	h := ps[byShard[0]].Header // a copy: the shard-wide fields are everyone's
	h.Streams, h.IdealBits, h.Tokens = nil, 0, 0
	for _, k := range byShard {
		p := ps[k]
		h.Streams = append(h.Streams, p.Header.Streams...)
		for w, b := range p.IdealBits {
			h.IdealBits += b
			h.Tokens += p.Header.Streams[w].Symbols
		}
	}
	cw := &countWriter{w: dst}
	if err := container.WriteHeader(cw, &h); err != nil {
		return nil, err
	}
	first := ps[byShard[0]]
	if err := copyOther(cw, first.Reader); err != nil {
		return nil, fmt.Errorf("%s: %w", parts[byShard[0]].Name, err)
	}
	var buf []byte
	for _, k := range byShard {
		for w := range ps[k].Header.Streams {
			if buf, err = ps[k].ReadStream(w, buf); err != nil {
				return nil, fmt.Errorf("%s: %w", parts[k].Name, err)
			}
			if _, err := cw.Write(buf); err != nil {
				return nil, err
			}
		}
	}
	st := &Stats{}
	st.finish(&h, cw.n, start)
	return st, nil
}

// checkParts checks that ps are the shards of one file and returns their
// indexes in shard order.
func checkParts(parts []PartFile, ps []*container.Part) ([]int, error) {
	ref := ps[0]
	refName := parts[0].Name
	want := shardTemplate(&ref.Header)
	byShard := make([]int, ref.Shards)
	for i := range byShard {
		byShard[i] = -1
	}
	for i, p := range ps {
		name := parts[i].Name
		mismatch := func(what, got, want string) error {
			return &PartMismatchError{Part: name, First: refName, What: what, Got: got, Want: want}
		}
		h := &p.Header
		switch {
		case p.Shards != ref.Shards:
			return nil, mismatch("shard count", strconv.Itoa(p.Shards), strconv.Itoa(ref.Shards))
		case h.Original.SHA256 != ref.Header.Original.SHA256 || h.Original.Size != ref.Header.Original.Size:
			return nil, mismatch("input", fmt.Sprintf("%d bytes, sha256 %s", h.Original.Size, h.Original.SHA256),
				fmt.Sprintf("%d bytes, sha256 %s", ref.Header.Original.Size, ref.Header.Original.SHA256))
		case h.Prior.Fingerprint != ref.Header.Prior.Fingerprint:
			return nil, mismatch("prior fingerprint", h.Prior.Fingerprint, ref.Header.Prior.Fingerprint)
		case shardTemplate(h) != want:
			return nil, mismatch("settings", "", "")
		case p.Windows != ref.Windows:
			return nil, mismatch("window count", strconv.FormatInt(p.Windows, 10), strconv.FormatInt(ref.Windows, 10))
		}
		sh := Shard{Index: p.Shard, Count: p.Shards}
		if first, end := sh.Windows(p.Windows); p.First != first || p.End != end {
			return nil, container.Corruptf("%s: corrupt part file: shard %s holds windows %d to %d, not %d to %d", name, sh, p.First, p.End, first, end)
		}
		if j := byShard[p.Shard]; j >= 0 {
			return nil, fmt.Errorf("%w: shard %s is both %s and %s", ErrShardDuplicate, sh, parts[j].Name, name)
		}
		byShard[p.Shard] = i
		if err := checkPartOther(p); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	var missing []string
	for s, k := range byShard {
		if k < 0 {
			missing = append(missing, strconv.Itoa(s))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: shard %s of %d (%d parts given)", ErrShardMissing, strings.Join(missing, ", "), ref.Shards, len(parts))
	}
	return byShard, nil
}

// shardTemplate returns the header fields every part of a file shares, as
// JSON: all but the streams, the non-float stream, the ideal bits and the
// tokens.
func shardTemplate(h *container.Header) string {
	c := *h
	c.Streams, c.Other, c.IdealBits, c.Tokens = nil, container.Stream{}, 0, 0
	b, _ := json.Marshal(&c) // a header read from JSON marshals again
	return string(b)
}

// checkPartOther checks that shard 0 holds all the non-float bytes and the
// others none.
func checkPartOther(p *container.Part) error {
	var other int64
	for _, s := range p.Header.Original.Segments {
		if s.Kind == "other" {
			other += s.Length
		}
	}
	if p.Shard != 0 {
		other = 0
	}
	if o := p.Header.Other; o.Symbols != other || (other == 0 && o != container.Stream{}) {
		return container.Corruptf("corrupt part file: shard %d of %d holds %d non-float bytes, should hold %d", p.Shard, p.Shards, o.Symbols, other)
	}
	return nil
}

// copyOther copies the non-float stream of f to w, checking its CRC-32C.
func copyOther(w io.Writer, f *container.Reader) error {
	crc := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	if _, err := io.CopyBuffer(io.MultiWriter(w, crc), f.OtherSection(), make([]byte, 1<<20)); err != nil {
		return err
	}
	return f.CheckOther(crc.Sum32())
}

// DecodeShard decodes the windows of shard sh of the size-byte .lmgc file
// src and writes their float bytes at their offsets in the original file to
// dst, which the caller has sized to the original (Header().Original.Size);
// shard 0 also writes the non-float bytes. When every shard has run, dst
// holds the original; VerifyOutput checks it. The file's windows must
// decode apart, which all do but those of the iso serialization and the
// llm prior's paper mode (ErrShardUnsupported). Stats count this shard's
// windows, bytes written and coded bytes read.
func DecodeShard(dst io.WriterAt, src io.ReaderAt, size int64, sh Shard, opt Options) (*Stats, error) {
	if err := sh.check(); err != nil {
		return nil, err
	}
	d, err := openReader(src, size, opt)
	if err != nil {
		return nil, err
	}
	defer closePrior(d.p)
	h, p, start := d.h, d.p, d.start
	for _, s := range h.Original.Segments {
		if s.LowRank != "" {
			return nil, fmt.Errorf("%w: tensor %s went through the low-rank transform, which decodes whole tensors", ErrShardUnsupported, s.Name)
		}
	}
	offs, err := windowOffsets(h, d.sl, p)
	if err != nil {
		return nil, err
	}
	out := &floatPlacer{dst: dst, h: h}
	st := &Stats{Prior: h.Prior.Name, Fingerprint: h.Prior.Fingerprint, FloatBytes: h.FloatBytes}
	if sh.Index == 0 {
		n, err := placeOther(dst, d)
		if err != nil {
			return nil, err
		}
		st.OriginalBytes += n
		st.CompressedBytes += h.Other.Length
	}
	first, end := sh.Windows(int64(len(h.Streams)))
	var total int64
	for _, s := range h.Streams[first:end] {
		total += s.Symbols
		st.CompressedBytes += s.Length
	}
	prog := &progress{total: total, fn: opt.Progress}
	sym, own := p.(prior.Symbolizer)
	batch, workers := decodeSchedule(p, opt, int(end-first))
	next := int(first)
	produce := func() ([]int, bool, error) {
		var idx []int
		for ; next < int(end) && len(idx) < batch; next++ {
			idx = append(idx, next)
		}
		return idx, len(idx) > 0, nil
	}
	pp := startPipe(workers, workers+1, produce, func(idx []int) (decodedGroup, error) {
		return decodeGroup(d, idx, own, prog)
	})
	defer pp.close()
	w := int(first)
	for {
		g, ok, err := pp.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		floats := g.floats
		if own {
			floats = make([][]byte, len(g.syms))
			for k, s := range g.syms {
				if floats[k], err = sym.Desymbolize([][]int32{s}, 0); err != nil {
					return nil, container.Corruptf("corrupt .lmgc file: stream %d: %w", w+k, err)
				}
			}
		}
		for _, b := range floats {
			if int64(len(b)) != offs[w+1]-offs[w] {
				return nil, container.Corruptf("corrupt .lmgc file: stream %d decodes to %d float bytes, its symbols say %d", w, len(b), offs[w+1]-offs[w])
			}
			n, err := out.place(offs[w], b)
			if err != nil {
				return nil, err
			}
			st.OriginalBytes += n
			st.Tokens += h.Streams[w].Symbols
			w++
		}
	}
	prog.finish(st.Tokens)
	st.Windows = int(end - first)
	st.Seconds = time.Since(start).Seconds()
	return st, nil
}

// windowOffsets returns the offset of each window's float bytes in the
// float data (padding included) and, last, their total, from the symbol
// counts alone; ErrShardUnsupported if the layout's windows do not say.
func windowOffsets(h *container.Header, sl layout, p prior.Prior) ([]int64, error) {
	var floatBytes func(n int64) (bytes int64, whole bool)
	_, own := p.(prior.Symbolizer)
	wb, apart := p.(prior.WindowBytes)
	if apart {
		_, apart = wb.WindowFloatBytes(0)
	}
	switch {
	case own && !apart:
		return nil, fmt.Errorf("the %s prior's windows with these settings: %w", h.Prior.Name, ErrShardUnsupported)
	case own:
		floatBytes = wb.WindowFloatBytes
	case sl.isRaw():
		w := int64(sl.width) // 4, or 2 for 16-bit floats
		floatBytes = func(n int64) (int64, bool) { return n, n%w == 0 }
	case sl.chunkSymbols() > 0:
		c := int64(sl.chunkSymbols())
		floatBytes = func(n int64) (int64, bool) { return n / c * serial.ChunkSize, n%c == 0 }
	default:
		return nil, fmt.Errorf("the %s serialization (text of varying length): %w", sl.format, ErrShardUnsupported)
	}
	offs := make([]int64, len(h.Streams)+1)
	for i, s := range h.Streams {
		n, whole := floatBytes(s.Symbols)
		if !whole {
			return nil, container.Corruptf("corrupt .lmgc file: stream %d has %d symbols, not whole floats or chunks", i, s.Symbols)
		}
		offs[i+1] = offs[i] + n
	}
	if want := h.FloatBytes + int64(h.Pad); offs[len(h.Streams)] != want {
		return nil, container.Corruptf("corrupt .lmgc file: the streams hold %d float bytes, header says %d", offs[len(h.Streams)], want)
	}
	return offs, nil
}

// floatPlacer writes float bytes, given by their offset in the float data,
// at their offsets in the original file.
type floatPlacer struct {
	dst  io.WriterAt
	h    *container.Header
	segs []placedSegment
}

// placedSegment is a float segment (32- or 16-bit): its offset in the float data and in
// the file, and its length.
type placedSegment struct{ float, file, n int64 }

// place writes b, the float bytes from offset off on (padding past the
// float data dropped), and returns the bytes written.
func (p *floatPlacer) place(off int64, b []byte) (int64, error) {
	if p.segs == nil {
		var fl, file int64
		for _, s := range p.h.Original.Segments {
			if floatWidth(s.Kind) > 0 {
				p.segs = append(p.segs, placedSegment{fl, file, s.Length})
				fl += s.Length
			}
			file += s.Length
		}
	}
	b = b[:max(0, min(int64(len(b)), p.h.FloatBytes-off))]
	var written int64
	for _, s := range p.segs {
		lo, hi := max(off, s.float), min(off+int64(len(b)), s.float+s.n)
		if lo >= hi {
			continue
		}
		if _, err := p.dst.WriteAt(b[lo-off:hi-off], s.file+lo-s.float); err != nil {
			return written, err
		}
		written += hi - lo
	}
	return written, nil
}

// placeOther decodes the non-float stream of d and writes each "other"
// segment at its offset; it returns the bytes written.
func placeOther(dst io.WriterAt, d *Reader) (int64, error) {
	var o otherSource
	if err := o.open(d.f); err != nil {
		return 0, err
	}
	defer o.close()
	buf := make([]byte, 1<<20)
	var file, written int64
	for _, s := range d.h.Original.Segments {
		if s.Kind == "other" {
			for left := s.Length; left > 0; {
				n, err := io.ReadFull(&o, buf[:min(left, int64(len(buf)))])
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					return written, container.Corruptf("corrupt .lmgc file: %d non-float bytes decoded, header says %d", o.n, d.h.Other.Symbols)
				}
				if err != nil {
					return written, err
				}
				if _, err := dst.WriteAt(buf[:n], file+s.Length-left); err != nil {
					return written, err
				}
				left -= int64(n)
				written += int64(n)
			}
		}
		file += s.Length
	}
	return written, o.finish(d.h)
}

// VerifyOutput checks that the out file (outSize bytes), assembled by
// DecodeShard runs, is the original of the size-byte .lmgc file src: its
// size and SHA-256. It needs no prior. ErrIncomplete if not.
func VerifyOutput(src io.ReaderAt, size int64, out io.Reader, outSize int64) error {
	f, err := container.NewReader(src, size)
	if err != nil {
		return err
	}
	o := f.Header.Original
	if outSize != o.Size {
		return fmt.Errorf("%w: %d bytes, the original has %d", ErrIncomplete, outSize, o.Size)
	}
	sum := sha256.New()
	if _, err := io.CopyBuffer(sum, out, make([]byte, 1<<20)); err != nil {
		return err
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != o.SHA256 {
		return fmt.Errorf("%w: SHA-256 %s, the original's is %s (a shard not run or failed?)", ErrIncomplete, got, o.SHA256)
	}
	return nil
}
