package tensorio

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"sort"
	"strings"
)

// PyTorch files: the zip archives torch.save writes (torch >= 1.6). The
// archive holds <name>/data.pkl, a pickle of the saved object in which
// every storage is a persistent id ('storage', storage type, key,
// location, numel); the storage's bytes are the entry <name>/data/<key>,
// stored uncompressed (torch aligns them to 64 bytes). Newer versions add
// <name>/byteorder ("little" or "big"), <name>/version and a few small
// records.
//
// The pickle is read by a restricted unpickler (pickle.go) that runs no
// code. Every storage entry becomes a segment of its dtype; the zip
// headers, the pickle and the other records are Other bytes.

// maxPickleSize bounds data.pkl. A state dict of a 100,000-tensor model
// pickles to about 20 MB.
const maxPickleSize = 1 << 28

// PTTensor is one tensor of a torch.save file: a view of a storage.
type PTTensor struct {
	// Name is the tensor's path in the saved object: the key of a
	// state_dict ("fc.weight"), keys and list indices joined by dots for
	// nested containers ("grads.0"), "" for a lone tensor.
	Name   string
	DType  string  // element type: "F32", "BF16", "F16", "I64", ... (safetensors' names)
	Shape  []int64 // sizes
	Stride []int64 // strides, in elements
	Offset int64   // storage offset, in elements
	// Storage is the key of the storage the tensor views: its bytes are
	// the zip entry <archive>/data/<Storage>.
	Storage string
}

// PTStorage is one storage of a torch.save file.
type PTStorage struct {
	Key    string
	DType  string // "U8" for an untyped storage no tensor gives a dtype
	Numel  int64  // elements of DType
	Offset int64  // file offset of the storage's bytes; -1 when the entry is compressed
	Length int64  // Numel times the element size
}

// PTFile is the contents of a torch.save file.
type PTFile struct {
	Archive   string // the archive's top folder ("archive" or the saved file's stem)
	Version   string // the version record, "" when absent
	ByteOrder string // "little" or "big"
	Storages  []PTStorage
	Tensors   []PTTensor // in the pickle's order; a tensor reached twice is listed once
}

// ParsePT reads the structure of a torch.save file: it unpickles data.pkl
// (refusing any global or opcode that is not needed for tensors, dicts and
// lists), and checks that every tensor's view lies inside its storage and
// every storage inside the file.
func ParsePT(r io.ReaderAt, size int64) (*PTFile, error) {
	pt, _, err := parsePTFile(r, size)
	return pt, err
}

// ptEntries maps an archive's records (the names after "<archive>/") to
// their zip entries.
type ptEntries map[string]*zipEntry

// parsePTFile reads a torch.save archive; every error it returns is a
// FormatError (errors.Is ErrFormat).
func parsePTFile(r io.ReaderAt, size int64) (*PTFile, []zipEntry, error) {
	pt, entries, err := parsePTRecords(r, size)
	if err != nil && !errors.Is(err, ErrFormat) {
		err = &FormatError{Format: FormatPT, Err: err}
	}
	return pt, entries, err
}

func parsePTRecords(r io.ReaderAt, size int64) (*PTFile, []zipEntry, error) {
	entries, err := readZip(r, size)
	if err != nil {
		if head, herr := readAt(r, 0, min(size, 16)); herr == nil && isLegacyTorch(head) {
			return nil, nil, errors.New("pt: legacy torch.save format (torch < 1.6 or _use_new_zipfile_serialization=False) is not supported: save it again with a newer torch")
		}
		return nil, nil, fmt.Errorf("pt: %w", err)
	}
	pt := &PTFile{ByteOrder: "little"}
	rec := ptEntries{}
	for i := range entries {
		e := &entries[i]
		dir, name, ok := strings.Cut(e.name, "/")
		if ok && name == "data.pkl" {
			if pt.Archive != "" {
				return nil, nil, fmt.Errorf("pt: two data.pkl records (%s/ and %s/)", pt.Archive, dir)
			}
			pt.Archive = dir
		}
	}
	if pt.Archive == "" {
		return nil, nil, errors.New("pt: no <archive>/data.pkl record: not a torch.save file")
	}
	for i := range entries {
		e := &entries[i]
		if name, ok := strings.CutPrefix(e.name, pt.Archive+"/"); ok {
			if rec[name] != nil {
				return nil, nil, fmt.Errorf("pt: record %s appears twice", e.name)
			}
			rec[name] = e
		}
	}
	if rec["constants.pkl"] != nil {
		return nil, nil, errors.New("pt: a TorchScript archive (torch.jit.save) holds code, not just tensors: save the state_dict with torch.save instead")
	}
	if e := rec["byteorder"]; e != nil {
		b, err := readRecord(r, e, 16)
		if err != nil {
			return nil, nil, err
		}
		switch string(b) {
		case "little", "big":
			pt.ByteOrder = string(b)
		default:
			return nil, nil, fmt.Errorf("pt: byteorder record is %q, want little or big", b)
		}
	}
	if e := rec["version"]; e != nil {
		b, err := readRecord(r, e, 64)
		if err != nil {
			return nil, nil, err
		}
		pt.Version = strings.TrimSpace(string(b))
	}
	pkl, err := readRecord(r, rec["data.pkl"], maxPickleSize)
	if err != nil {
		return nil, nil, err
	}
	if err := pt.readPickle(pkl, rec); err != nil {
		return nil, nil, fmt.Errorf("pt: %w", err)
	}
	return pt, entries, nil
}

// readPickle unpickles data.pkl and fills in pt's tensors and storages;
// rec holds the archive's records.
func (pt *PTFile) readPickle(pkl []byte, rec ptEntries) error {
	storages := map[string]*pkStorage{}
	var order []string
	resolve := func(pid *pkTuple) (*pkStorage, error) {
		s, err := storageFromPID(pid, rec, storages)
		if err == nil && len(order) < len(storages) {
			order = append(order, s.key)
		}
		return s, err
	}
	root, err := unpickle(pkl, resolve)
	if err != nil {
		return err
	}
	tensors, err := collectTensors(root)
	if err != nil {
		return err
	}
	for _, t := range tensors {
		s := t.storage
		if t.dtype != s.dtype {
			if s.dtype != "U8" || s.viewed != "" && s.viewed != t.dtype {
				return fmt.Errorf("tensor %q views storage %s (%s) as %s", t.name, s.key, s.dtype, t.dtype)
			}
			s.viewed = t.dtype
		}
	}
	for _, t := range tensors {
		if err := checkView(t); err != nil {
			return err
		}
		pt.Tensors = append(pt.Tensors, PTTensor{Name: t.name, DType: t.dtype, Shape: t.shape, Stride: t.stride,
			Offset: t.offset, Storage: t.storage.key})
	}
	for _, k := range order {
		s := storages[k]
		e := rec["data/"+k]
		dt, numel := s.dtype, s.numel
		if s.viewed != "" { // an untyped storage that tensors view as viewed
			dt, numel = s.viewed, s.numel/dtypeBytes[s.viewed]
		}
		ps := PTStorage{Key: k, DType: dt, Numel: numel, Offset: e.dataOffset, Length: numel * dtypeBytes[dt]}
		if e.method != zipStored {
			ps.Offset = -1
		}
		pt.Storages = append(pt.Storages, ps)
	}
	return nil
}

// isLegacyTorch reports whether head starts like the pre-1.6 torch.save
// format: a protocol-2 pickle of torch's magic number.
func isLegacyTorch(head []byte) bool {
	return bytes.HasPrefix(head, []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"))
}

// readRecord returns the uncompressed bytes of a small record, checking its
// CRC, and refuses records over limit bytes.
func readRecord(r io.ReaderAt, e *zipEntry, limit int64) ([]byte, error) {
	if e == nil {
		return nil, errors.New("pt: no data.pkl record")
	}
	if e.usize > limit {
		return nil, fmt.Errorf("pt: record %s of %d bytes exceeds the %d-byte limit", e.name, e.usize, limit)
	}
	raw, err := readAt(r, e.dataOffset, e.csize)
	if err != nil {
		return nil, fmt.Errorf("pt: reading %s: %v", e.name, err)
	}
	b := raw
	switch e.method {
	case zipStored:
	case zipDeflated:
		b, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), e.usize+1))
		if err != nil {
			return nil, fmt.Errorf("pt: inflating %s: %v", e.name, err)
		}
		if int64(len(b)) != e.usize {
			return nil, fmt.Errorf("pt: %s inflates to %d bytes, the zip says %d", e.name, len(b), e.usize)
		}
	default:
		return nil, fmt.Errorf("pt: record %s uses compression method %d (torch stores records uncompressed)", e.name, e.method)
	}
	if crc32.ChecksumIEEE(b) != e.crc32 {
		return nil, fmt.Errorf("pt: record %s fails its CRC-32 check", e.name)
	}
	return b, nil
}

// storageFromPID resolves a persistent id ('storage', storage type, key,
// location, numel) to its record, once per key.
func storageFromPID(pid *pkTuple, rec ptEntries, storages map[string]*pkStorage) (*pkStorage, error) {
	it := pid.items
	if len(it) != 5 || it[0] != "storage" {
		return nil, fmt.Errorf("persistent id is not ('storage', type, key, location, numel)")
	}
	g, ok := it[1].(pkGlobal)
	if !ok || g.kind != gStorageType {
		return nil, fmt.Errorf("persistent id's storage type is a %s", pkTypeName(it[1]))
	}
	key, ok := it[2].(string)
	if !ok {
		return nil, fmt.Errorf("persistent id's storage key is a %s, want a str", pkTypeName(it[2]))
	}
	if _, ok := it[3].(string); !ok {
		return nil, fmt.Errorf("storage %s: location is a %s, want a str", key, pkTypeName(it[3]))
	}
	numel, ok := it[4].(int64)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("storage %s: numel %v is not a non-negative integer", key, it[4])
	}
	if s := storages[key]; s != nil {
		if s.dtype != g.dtype || s.numel != numel {
			return nil, fmt.Errorf("storage %s is referenced as %d %s and as %d %s", key, s.numel, s.dtype, numel, g.dtype)
		}
		return s, nil
	}
	e := rec["data/"+key]
	if e == nil {
		return nil, fmt.Errorf("storage %s: record data/%s is missing from the archive", key, key)
	}
	n, ok := mulBits(numel, int(8*dtypeBytes[g.dtype]))
	if !ok || n != e.usize {
		return nil, fmt.Errorf("storage %s: %d %s elements need %d bytes, record data/%s has %d", key, numel, g.dtype, n, key, e.usize)
	}
	s := &pkStorage{key: key, dtype: g.dtype, numel: numel}
	storages[key] = s
	return s, nil
}

// namedTensor is a tensor found in the unpickled object, with its path.
type namedTensor struct {
	*pkTensor
	name string
}

const maxNameLen = 1024

// collectTensors walks the unpickled object depth first, in container
// order, and returns its tensors, each once (the first path names it).
// Each container is visited once, so a pickle that shares objects costs no
// more to walk than to read.
func collectTensors(root any) ([]namedTensor, error) {
	var out []namedTensor
	seen := map[any]bool{}
	var walk func(v any, name string, depth int) error
	walk = func(v any, name string, depth int) error {
		if depth > maxPickleDepth {
			return fmt.Errorf("data.pkl nests containers deeper than %d", maxPickleDepth)
		}
		switch v.(type) {
		case *pkTensor, *pkDict, *pkList, *pkTuple:
			if seen[v] {
				return nil
			}
			seen[v] = true
		}
		child := func(k string) string {
			if name == "" {
				return k
			}
			if len(name) > maxNameLen {
				return name
			}
			return name + "." + k
		}
		var err error
		switch v := v.(type) {
		case *pkTensor:
			out = append(out, namedTensor{v, name})
		case *pkDict:
			for i, k := range v.keys {
				if err = walk(v.vals[i], child(keyString(k)), depth+1); err != nil {
					break
				}
			}
		case *pkList:
			for i, x := range v.items {
				if err = walk(x, child(fmt.Sprint(i)), depth+1); err != nil {
					break
				}
			}
		case *pkTuple:
			for i, x := range v.items {
				if err = walk(x, child(fmt.Sprint(i)), depth+1); err != nil {
					break
				}
			}
		}
		return err
	}
	err := walk(root, "", 0)
	return out, err
}

// checkView checks that the elements a tensor views lie inside its
// storage: offset + sum((size-1)*stride) < numel, for a non-empty tensor.
func checkView(t namedTensor) error {
	numel := t.storage.numel
	if t.dtype != t.storage.dtype { // a typed view of an untyped storage
		numel /= dtypeBytes[t.dtype]
	}
	last := uint64(t.offset)
	for i, d := range t.shape {
		if d == 0 {
			return nil // no elements
		}
		hi, lo := bits.Mul64(uint64(d-1), uint64(t.stride[i]))
		var c uint64
		last, c = bits.Add64(last, lo, 0)
		if hi != 0 || c != 0 || last > math.MaxInt64 {
			return fmt.Errorf("tensor %q: size %s stride %s overflows", t.name, shapeString(t.shape), shapeString(t.stride))
		}
	}
	if last >= uint64(numel) {
		return fmt.Errorf("tensor %q: offset %d size %s stride %s reaches element %d of storage %s, which has %d",
			t.name, t.offset, shapeString(t.shape), shapeString(t.stride), last, t.storage.key, numel)
	}
	return nil
}

// parsePT reads the layout of a torch.save file. Each stored storage
// record is one segment: Float32LE for float32 storages of a little-endian
// archive, Other (with its dtype) for every other dtype.
func parsePT(r io.ReaderAt, size int64) (*Layout, error) {
	pt, _, err := parsePTFile(r, size)
	if err != nil {
		return nil, err
	}
	// Name each storage after the first tensor that views it; give it that
	// tensor's shape when the tensor is the whole storage, contiguous.
	first := map[string]*PTTensor{}
	for i := range pt.Tensors {
		t := &pt.Tensors[i]
		if first[t.Storage] == nil {
			first[t.Storage] = t
		}
	}
	ss := append([]PTStorage(nil), pt.Storages...)
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].Offset < ss[j].Offset })
	l := &Layout{Format: FormatPT, Size: size}
	var off int64
	prev := ""
	for _, s := range ss {
		if s.Offset < 0 || s.Length == 0 {
			continue // compressed or empty: part of the Other bytes
		}
		if s.Offset < off {
			return nil, fmt.Errorf("pt: storages %s and %s overlap", prev, s.Key)
		}
		l.add(Segment{Offset: off, Length: s.Offset - off, Kind: Other, Name: "zip"})
		seg := Segment{Offset: s.Offset, Length: s.Length, Kind: Other, Name: "data/" + s.Key, DType: s.DType,
			Shape: []int64{s.Numel}}
		if t := first[s.Key]; t != nil {
			if t.Name != "" {
				seg.Name = t.Name
			}
			if n, _ := numElements(t.Shape); t.Offset == 0 && n == s.Numel && isContiguous(t.Shape, t.Stride) {
				seg.Shape = t.Shape
			}
		}
		if pt.ByteOrder == "little" {
			switch s.DType {
			case "F32":
				seg.Kind = Float32LE
			case "BF16", "F16":
				seg.Kind = Float16LE
			}
		}
		l.add(seg)
		off, prev = s.Offset+s.Length, s.Key
	}
	l.add(Segment{Offset: off, Length: size - off, Kind: Other, Name: "zip"})
	return l, nil
}

// isContiguous reports whether stride is the row-major stride of shape.
func isContiguous(shape, stride []int64) bool {
	want := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] != 1 && stride[i] != want {
			return false
		}
		want *= shape[i]
	}
	return true
}
