package gguf

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// fingerprintVersion names the canonical encoding hashed by Fingerprint.
const fingerprintVersion = "lmgc-gguf-fingerprint-v1"

// FingerprintCovers reports whether metadata key is part of the
// fingerprint: every key except those under "general." other than
// "general.architecture" (general.name, general.file_type,
// general.alignment, authors, licenses and the like describe the file, not
// the model's function).
func FingerprintCovers(key string) bool {
	return key == "general.architecture" || !strings.HasPrefix(key, "general.")
}

// Fingerprint returns the hex SHA-256 of a canonical encoding of what
// determines the model's predictions, so that a compressed file can name
// the exact prior it needs:
//
//   - the string fingerprintVersion;
//   - the metadata pairs selected by FingerprintCovers (the architecture,
//     all hyper-parameters such as llama.block_count, and all tokenizer.*
//     keys including the vocabulary, scores, merges and special token ids),
//     sorted by key, each encoded as in a GGUF file (key string, value type,
//     value; arrays with their element type and count);
//   - every tensor sorted by name: name, type, number of dimensions, the
//     dimensions, data size and the data bytes.
//
// All integers are little-endian; strings are prefixed by a uint64 length.
// The fingerprint does not depend on the order of keys or tensors in the
// file, on the alignment, or on the file format version. It returns "" if
// tensor data cannot be read (only possible for files parsed from a failing
// io.ReaderAt).
func (f *File) Fingerprint() string {
	if f.fp != "" {
		return f.fp // metadata was dropped since (DropValue)
	}
	h := sha256.New()
	c := &countWriter{w: bufio.NewWriterSize(h, 1<<16)}
	c.str(fingerprintVersion)

	var keys []int
	for i, kv := range f.KV {
		if FingerprintCovers(kv.Key) {
			keys = append(keys, i)
		}
	}
	sort.Slice(keys, func(a, b int) bool { return f.KV[keys[a]].Key < f.KV[keys[b]].Key })
	c.u64(uint64(len(keys)))
	for _, i := range keys {
		c.str(f.KV[i].Key)
		writeValue(c, f.KV[i].Value)
	}

	ts := make([]int, len(f.Tensors))
	for i := range ts {
		ts[i] = i
	}
	sort.Slice(ts, func(a, b int) bool { return f.Tensors[ts[a]].Name < f.Tensors[ts[b]].Name })
	c.u64(uint64(len(ts)))
	for _, i := range ts {
		t := &f.Tensors[i]
		c.str(t.Name)
		c.u32(uint32(t.Type))
		c.u32(uint32(len(t.Shape)))
		for _, d := range t.Shape {
			c.u64(uint64(d))
		}
		c.u64(uint64(t.Size))
		if err := f.hashTensor(c, t); err != nil {
			return ""
		}
	}
	if err := c.w.Flush(); err != nil || c.err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fingerprintChunk is the piece of a mapped tensor hashed before its
// pages are dropped.
const fingerprintChunk = 4 << 20

// hashTensor writes the tensor's data, in pieces for an unmapped file. A
// mapped tensor is hashed a piece at a time, each piece's pages dropped
// (DropPages) once hashed: reading the whole file must not leave it in the
// resident set next to the copies a loaded model holds (the packed
// weights); pages a model still reads from the mapping come back from the
// page cache when it touches them.
func (f *File) hashTensor(c *countWriter, t *TensorInfo) error {
	if f.mapped != nil {
		b, err := f.TensorData(t)
		if err != nil {
			return err
		}
		for len(b) > 0 {
			n := min(len(b), fingerprintChunk)
			c.Write(b[:n])
			f.DropPages(b[:n])
			b = b[n:]
		}
		return nil
	}
	buf := make([]byte, min(t.Size, 1<<20))
	start := f.DataOffset + int64(t.Offset)
	for done := int64(0); done < t.Size; {
		n := min(int64(len(buf)), t.Size-done)
		if _, err := f.r.ReadAt(buf[:n], start+done); err != nil {
			return err
		}
		c.Write(buf[:n])
		done += n
	}
	return nil
}
