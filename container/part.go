package container

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// PartMagic starts every part file: one shard of an .lmgc file, coded on
// its own machine and put together with the others by a merge.
const PartMagic = "LMGP\r\n\x1a\n"

// PartVersion is the part format version this package writes and reads.
const PartVersion = 1

// MaxShards bounds the shard count accepted from a part file.
const MaxShards = 1 << 14

// ErrNotPart is returned for input that does not start with PartMagic.
var ErrNotPart = errors.New("not an lmgc part file (wrong magic)")

// PartHeader says which shard of which file a part holds. The rest of the
// part is an .lmgc file (its Header) whose header fields are those of the
// whole file except the window streams (the shard's only), the non-float
// stream (shard 0's only; empty in the others), IdealBits and Tokens (the
// shard's).
type PartHeader struct {
	Shard  int `json:"shard"`  // this part's index, 0 <= Shard < Shards
	Shards int `json:"shards"` // the number of shards the file was cut into
	// Windows is the number of windows of the whole file; the part holds
	// windows First to End-1 of them.
	Windows int64 `json:"windows"`
	First   int64 `json:"first"`
	End     int64 `json:"end"`
	// IdealBits are each window's ideal bits, so that a merge sums them in
	// the order one machine would.
	IdealBits []float64 `json:"ideal_bits"`
}

// WritePart writes everything before the stream bodies of a part file: its
// magic, version, part header, and then the .lmgc header of h (WriteHeader).
// The caller writes the bodies after it: the non-float stream (shard 0),
// then each window of the shard in order.
func WritePart(w io.Writer, ph *PartHeader, h *Header) error {
	head, err := framed(PartMagic, PartVersion, ph)
	if err != nil {
		return err
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	return WriteHeader(w, h)
}

// Part is a parsed part file: its part header and the .lmgc file it holds
// (whose Reader gives the shard's streams).
type Part struct {
	PartHeader
	*Reader
}

// NewPartReader reads the part header, the .lmgc header and the stream
// table of the size-byte part file r and checks their structure: checksums,
// a shard inside its count, a window range inside the file's windows, one
// stream and one ideal-bits entry per window of the range. Stream checksums
// are checked as each stream is read.
func NewPartReader(r io.ReaderAt, size int64) (*Part, error) {
	pb, plen, err := readFramed(r, size, PartMagic, "part file", ErrNotPart, func(v uint32) error {
		return Unsupportedf("part format version %d is not supported (want %d)", v, PartVersion)
	}, PartVersion)
	if err != nil {
		return nil, err
	}
	p := &Part{}
	dec := json.NewDecoder(bytes.NewReader(pb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.PartHeader); err != nil {
		return nil, Corruptf("corrupt part file: part header: %w", err)
	}
	ph := &p.PartHeader
	switch {
	case ph.Shards < 1 || ph.Shards > MaxShards:
		return nil, Corruptf("corrupt part file: %d shards (1 to %d allowed)", ph.Shards, MaxShards)
	case ph.Shard < 0 || ph.Shard >= ph.Shards:
		return nil, Corruptf("corrupt part file: shard %d of %d", ph.Shard, ph.Shards)
	case ph.Windows < 0 || ph.Windows > MaxStreams:
		return nil, Corruptf("corrupt part file: %d windows (limit %d)", ph.Windows, MaxStreams)
	case ph.First < 0 || ph.First > ph.End || ph.End > ph.Windows:
		return nil, Corruptf("corrupt part file: windows %d to %d of %d", ph.First, ph.End, ph.Windows)
	case int64(len(ph.IdealBits)) != ph.End-ph.First:
		return nil, Corruptf("corrupt part file: %d ideal-bits entries for %d windows", len(ph.IdealBits), ph.End-ph.First)
	}
	off := 16 + plen + 4
	f, err := NewReader(io.NewSectionReader(r, off, size-off), size-off)
	if errors.Is(err, ErrNotLMGC) {
		return nil, Corruptf("corrupt part file: no .lmgc header after the part header")
	}
	if err != nil {
		return nil, fmt.Errorf("part file: %w", err)
	}
	if int64(len(f.Header.Streams)) != ph.End-ph.First {
		return nil, Corruptf("corrupt part file: %d streams for windows %d to %d", len(f.Header.Streams), ph.First, ph.End)
	}
	p.Reader = f
	return p, nil
}
