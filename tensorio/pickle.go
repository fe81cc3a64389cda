package tensorio

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A restricted unpickler for the data.pkl of a torch.save archive. It runs
// no code: it knows the opcodes that pickle protocols 2 to 5 use for
// dicts, lists, tuples, strings, numbers and persistent ids, and a short
// allowlist of globals (lookupGlobal), each of which it rebuilds itself.
// Any other opcode or global is refused with an error naming it, before
// anything is built from it.
//
// Every value the unpickler builds is smaller than the pickle bytes that
// describe it, and shared objects (memo references) are shared, not
// copied, so memory stays proportional to the pickle's size.

// Pickle values. None is nil; bool, int64, float64 and string are
// themselves; containers are pointers so that shared references stay
// shared (and a walk can visit each once).
type (
	pkBytes []byte
	pkList  struct{ items []any }
	pkTuple struct{ items []any }
	pkDict  struct {
		keys, vals []any
		index      map[any]int // position of each scalar (comparable) key
	}
	// pkGlobal is an allowlisted global: a function lmgc rebuilds itself,
	// a storage type or a dtype.
	pkGlobal struct {
		module, name string
		kind         globalKind
		dtype        string // storage type or dtype: its tensorio dtype name
	}
	// pkStorage is a persistent id resolved to a storage record.
	pkStorage struct {
		key   string
		dtype string // "U8" for an untyped storage
		numel int64  // elements of dtype (bytes for an untyped storage)
		// viewed is the dtype that _rebuild_tensor_v3 tensors give an
		// untyped storage; "" when none does.
		viewed string
	}
	// pkTensor is a tensor rebuilt by torch._utils._rebuild_tensor*.
	pkTensor struct {
		storage       *pkStorage
		dtype         string
		offset        int64
		shape, stride []int64
	}
)

type globalKind uint8

const (
	gOrderedDict globalKind = iota + 1
	gRebuildTensor
	gRebuildTensorV2
	gRebuildTensorV3
	gRebuildParameter
	gRebuildParameterWithState
	gSize
	gRebuildFromType
	gStorageType
	gDType
	gTensorClass
)

// torchStorageTypes maps torch's legacy typed-storage class names (the
// storage type in a persistent id) to dtype names and element sizes.
var torchStorageTypes = map[string]string{
	"FloatStorage": "F32", "DoubleStorage": "F64", "HalfStorage": "F16", "BFloat16Storage": "BF16",
	"LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
	"ByteStorage": "U8", "BoolStorage": "BOOL",
	"ComplexFloatStorage": "C64", "ComplexDoubleStorage": "C128", "ComplexHalfStorage": "C32",
}

// torchDTypes maps torch dtype names (torch.float32 is pickled as the
// global "torch float32") to dtype names.
var torchDTypes = map[string]string{
	"float32": "F32", "float": "F32", "float64": "F64", "double": "F64",
	"float16": "F16", "half": "F16", "bfloat16": "BF16",
	"int64": "I64", "long": "I64", "int32": "I32", "int": "I32", "int16": "I16", "short": "I16",
	"int8": "I8", "uint8": "U8", "bool": "BOOL",
	"uint16": "U16", "uint32": "U32", "uint64": "U64",
	"complex64": "C64", "cfloat": "C64", "complex128": "C128", "cdouble": "C128",
	"float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2", "float8_e8m0fnu": "F8_E8M0",
	"float8_e4m3fnuz": "F8_E4M3FNUZ", "float8_e5m2fnuz": "F8_E5M2FNUZ",
	"float4_e2m1fn_x2": "F4_E2M1_X2", // two 4-bit values per byte
	"complex32":        "C32", "chalf": "C32",
}

// dtypeBytes gives the element size of each dtype name a .pt file can hold.
var dtypeBytes = map[string]int64{
	"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
	"BOOL": 1, "U16": 2, "U32": 4, "U64": 8, "C32": 4, "C64": 8, "C128": 16,
	"F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1, "F4_E2M1_X2": 1,
}

// lookupGlobal returns the allowlisted global module.name, or ok=false.
func lookupGlobal(module, name string) (pkGlobal, bool) {
	g := pkGlobal{module: module, name: name}
	switch module + "." + name {
	case "collections.OrderedDict":
		g.kind = gOrderedDict
	case "torch._utils._rebuild_tensor":
		g.kind = gRebuildTensor
	case "torch._utils._rebuild_tensor_v2":
		g.kind = gRebuildTensorV2
	case "torch._utils._rebuild_tensor_v3":
		g.kind = gRebuildTensorV3
	case "torch._utils._rebuild_parameter":
		g.kind = gRebuildParameter
	case "torch._utils._rebuild_parameter_with_state":
		g.kind = gRebuildParameterWithState
	case "torch.Size":
		g.kind = gSize
	case "torch._tensor._rebuild_from_type_v2":
		g.kind = gRebuildFromType
	case "torch.Tensor", "torch._tensor.Tensor", "torch.nn.parameter.Parameter":
		g.kind = gTensorClass
	case "torch.UntypedStorage", "torch.storage.UntypedStorage":
		g.kind, g.dtype = gStorageType, "U8"
	default:
		if module != "torch" {
			return g, false
		}
		if dt, ok := torchStorageTypes[name]; ok {
			g.kind, g.dtype = gStorageType, dt
		} else if dt, ok := torchDTypes[name]; ok {
			g.kind, g.dtype = gDType, dt
		} else {
			return g, false
		}
	}
	return g, true
}

func (g pkGlobal) String() string { return g.module + "." + g.name }

// Pickle opcodes.
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opBinFloat       = 'G'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opBinInt2        = 'M'
	opNone           = 'N'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opBinString      = 'T'
	opShortBinString = 'U'
	opBinUnicode     = 'X'
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opEmptyList      = ']'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opAppends        = 'e'
	opBinGet         = 'h'
	opLongBinGet     = 'j'
	opList           = 'l'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opSetItems       = 'u'
	opEmptyDict      = '}'
	opEmptyTuple     = ')'
	opProto          = 0x80
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opLong4          = 0x8b
	opShortBinUni    = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes8      = 0x8e
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
)

// unsupportedOps names the pickle opcodes the unpickler refuses, for the
// error message. Opcodes in neither list are not pickle opcodes at all.
var unsupportedOps = map[byte]string{
	'i': "INST", 'o': "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
	'P': "PERSID", 'I': "INT", 'L': "LONG", 'F': "FLOAT", 'S': "STRING", 'V': "UNICODE", 'g': "GET",
	'p': "PUT", '2': "DUP", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x96: "BYTEARRAY8",
	0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
}

// maxPickleDepth bounds the nesting of containers that the tensor walk
// follows.
const maxPickleDepth = 1000

// unpickler holds the state of one run over a pickle.
type unpickler struct {
	b     []byte
	pos   int
	stack []any
	marks []int // stack lengths at each MARK
	memo  map[uint32]any
	// storage resolves a persistent id to a storage; it is called once per
	// BINPERSID.
	storage func(pid *pkTuple) (*pkStorage, error)
}

type pickleError struct {
	off int
	msg string
}

func (e *pickleError) Error() string { return fmt.Sprintf("data.pkl offset %d: %s", e.off, e.msg) }

func (u *unpickler) errorf(off int, format string, args ...any) error {
	return &pickleError{off, fmt.Sprintf(format, args...)}
}

// unpickle runs the pickle in b and returns the object it builds.
func unpickle(b []byte, storage func(pid *pkTuple) (*pkStorage, error)) (any, error) {
	u := &unpickler{b: b, memo: map[uint32]any{}, storage: storage}
	return u.run()
}

func (u *unpickler) need(n int) ([]byte, error) {
	if n < 0 || n > len(u.b)-u.pos {
		return nil, u.errorf(u.pos, "truncated: %d bytes needed, %d left", n, len(u.b)-u.pos)
	}
	p := u.b[u.pos : u.pos+n]
	u.pos += n
	return p, nil
}

// length reads a little-endian length of size bytes and checks it against
// what is left of the pickle.
func (u *unpickler) length(size int) (int, error) {
	p, err := u.need(size)
	if err != nil {
		return 0, err
	}
	var n uint64
	for i := size - 1; i >= 0; i-- {
		n = n<<8 | uint64(p[i])
	}
	if n > uint64(len(u.b)-u.pos) {
		return 0, u.errorf(u.pos-size, "length %d exceeds the %d bytes left", n, len(u.b)-u.pos)
	}
	return int(n), nil
}

func (u *unpickler) line() (string, error) {
	for i := u.pos; i < len(u.b); i++ {
		if u.b[i] == '\n' {
			s := string(u.b[u.pos:i])
			u.pos = i + 1
			return s, nil
		}
	}
	return "", u.errorf(u.pos, "truncated: no newline")
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop(off int) (any, error) {
	base := 0
	if len(u.marks) > 0 {
		base = u.marks[len(u.marks)-1]
	}
	if len(u.stack) <= base {
		return nil, u.errorf(off, "stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top(off int) (any, error) {
	v, err := u.pop(off)
	if err == nil {
		u.push(v)
	}
	return v, err
}

// popMark pops everything above the last MARK, and the MARK.
func (u *unpickler) popMark(off int) ([]any, error) {
	if len(u.marks) == 0 {
		return nil, u.errorf(off, "no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) run() (any, error) {
	for {
		off := u.pos
		if u.pos >= len(u.b) {
			return nil, u.errorf(off, "truncated: no STOP opcode")
		}
		op := u.b[u.pos]
		u.pos++
		var err error
		switch op {
		case opProto:
			var p []byte
			if p, err = u.need(1); err == nil && p[0] > 5 {
				err = u.errorf(off, "unsupported pickle protocol %d", p[0])
			}
		case opFrame:
			_, err = u.length(8) // frames only group opcodes
		case opStop:
			if len(u.marks) != 0 || len(u.stack) != 1 {
				return nil, u.errorf(off, "STOP with %d values and %d marks on the stack, want 1 value", len(u.stack), len(u.marks))
			}
			return u.stack[0], nil
		case opMark:
			u.marks = append(u.marks, len(u.stack))
		case opPop:
			_, err = u.pop(off)
		case opPopMark:
			_, err = u.popMark(off)
		case opNone:
			u.push(nil)
		case opNewTrue:
			u.push(true)
		case opNewFalse:
			u.push(false)
		case opBinInt:
			var p []byte
			if p, err = u.need(4); err == nil {
				u.push(int64(int32(binary.LittleEndian.Uint32(p))))
			}
		case opBinInt1:
			var p []byte
			if p, err = u.need(1); err == nil {
				u.push(int64(p[0]))
			}
		case opBinInt2:
			var p []byte
			if p, err = u.need(2); err == nil {
				u.push(int64(binary.LittleEndian.Uint16(p)))
			}
		case opLong1, opLong4:
			err = u.long(off, op)
		case opBinFloat:
			var p []byte
			if p, err = u.need(8); err == nil {
				u.push(math.Float64frombits(binary.BigEndian.Uint64(p)))
			}
		case opBinUnicode, opShortBinUni, opBinUnicode8:
			size := lengthSize(op)
			var n int
			var p []byte
			if n, err = u.length(size); err == nil {
				p, _ = u.need(n)
				if !utf8.Valid(p) {
					err = u.errorf(off, "string is not valid UTF-8")
				} else {
					u.push(string(p))
				}
			}
		case opBinString, opShortBinString:
			// Python 2 str: read as Latin-1, as torch.load does.
			var n int
			if n, err = u.length(lengthSize(op)); err == nil {
				p, _ := u.need(n)
				r := make([]rune, len(p))
				for i, c := range p {
					r[i] = rune(c)
				}
				u.push(string(r))
			}
		case opBinBytes, opShortBinBytes, opBinBytes8:
			size := lengthSize(op)
			var n int
			if n, err = u.length(size); err == nil {
				p, _ := u.need(n)
				u.push(pkBytes(p))
			}
		case opEmptyTuple:
			u.push(&pkTuple{})
		case opTuple:
			var items []any
			if items, err = u.popMark(off); err == nil {
				u.push(&pkTuple{items})
			}
		case opTuple1, opTuple2, opTuple3:
			n := int(op-opTuple1) + 1
			items := make([]any, n)
			for i := n - 1; i >= 0 && err == nil; i-- {
				items[i], err = u.pop(off)
			}
			u.push(&pkTuple{items})
		case opEmptyList:
			u.push(&pkList{})
		case opList:
			var items []any
			if items, err = u.popMark(off); err == nil {
				u.push(&pkList{items})
			}
		case opAppend, opAppends:
			var items []any
			if op == opAppend {
				var v any
				if v, err = u.pop(off); err == nil {
					items = []any{v}
				}
			} else {
				items, err = u.popMark(off)
			}
			if err == nil {
				var l any
				if l, err = u.top(off); err == nil {
					if pl, ok := l.(*pkList); ok {
						pl.items = append(pl.items, items...)
					} else {
						err = u.errorf(off, "APPEND to a %s", pkTypeName(l))
					}
				}
			}
		case opEmptyDict:
			u.push(&pkDict{})
		case opDict:
			var items []any
			if items, err = u.popMark(off); err == nil {
				d := &pkDict{}
				err = u.setItems(off, d, items)
				u.push(d)
			}
		case opSetItem, opSetItems:
			var items []any
			if op == opSetItem {
				items = make([]any, 2)
				if items[1], err = u.pop(off); err == nil {
					items[0], err = u.pop(off)
				}
			} else {
				items, err = u.popMark(off)
			}
			if err == nil {
				var d any
				if d, err = u.top(off); err == nil {
					if pd, ok := d.(*pkDict); ok {
						err = u.setItems(off, pd, items)
					} else {
						err = u.errorf(off, "SETITEM on a %s", pkTypeName(d))
					}
				}
			}
		case opBinPut, opLongBinPut:
			size := 1
			if op == opLongBinPut {
				size = 4
			}
			var p []byte
			var v any
			if p, err = u.need(size); err == nil {
				if v, err = u.top(off); err == nil {
					u.memo[memoIndex(p)] = v
				}
			}
		case opMemoize:
			var v any
			if v, err = u.top(off); err == nil {
				u.memo[uint32(len(u.memo))] = v
			}
		case opBinGet, opLongBinGet:
			size := 1
			if op == opLongBinGet {
				size = 4
			}
			var p []byte
			if p, err = u.need(size); err == nil {
				v, ok := u.memo[memoIndex(p)]
				if !ok {
					err = u.errorf(off, "memo entry %d was never stored", memoIndex(p))
				} else {
					u.push(v)
				}
			}
		case opGlobal:
			var module, name string
			if module, err = u.line(); err == nil {
				if name, err = u.line(); err == nil {
					err = u.global(off, module, name)
				}
			}
		case opStackGlobal:
			var m, n any
			if n, err = u.pop(off); err == nil {
				if m, err = u.pop(off); err == nil {
					module, ok1 := m.(string)
					name, ok2 := n.(string)
					if !ok1 || !ok2 {
						err = u.errorf(off, "STACK_GLOBAL with a %s and a %s, want two strings", pkTypeName(m), pkTypeName(n))
					} else {
						err = u.global(off, module, name)
					}
				}
			}
		case opReduce:
			err = u.reduce(off)
		case opBuild:
			err = u.build(off)
		case opBinPersID:
			var v any
			if v, err = u.pop(off); err == nil {
				pid, ok := v.(*pkTuple)
				if !ok {
					err = u.errorf(off, "persistent id is a %s, want a tuple", pkTypeName(v))
				} else {
					var s *pkStorage
					if s, err = u.storage(pid); err != nil {
						err = u.errorf(off, "%v", err)
					} else {
						u.push(s)
					}
				}
			}
		default:
			if name, ok := unsupportedOps[op]; ok {
				return nil, u.errorf(off, "pickle opcode %s (0x%02x) is not supported: lmgc reads only tensors, dicts, lists and plain values", name, op)
			}
			return nil, u.errorf(off, "byte 0x%02x is not a pickle opcode", op)
		}
		if err != nil {
			return nil, err
		}
	}
}

// lengthSize gives the size of the length field of a string opcode.
func lengthSize(op byte) int {
	switch op {
	case opShortBinUni, opShortBinBytes, opShortBinString:
		return 1
	case opBinUnicode8, opBinBytes8:
		return 8
	}
	return 4
}

func memoIndex(p []byte) uint32 {
	if len(p) == 1 {
		return uint32(p[0])
	}
	return binary.LittleEndian.Uint32(p)
}

// long decodes LONG1/LONG4: a little-endian two's-complement integer.
func (u *unpickler) long(off int, op byte) error {
	size := 1
	if op == opLong4 {
		size = 4
	}
	n, err := u.length(size)
	if err != nil {
		return err
	}
	p, _ := u.need(n)
	if n > 8 {
		return u.errorf(off, "integer of %d bytes does not fit in 64 bits", n)
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(p[i])
	}
	if n > 0 && n < 8 && p[n-1]&0x80 != 0 {
		v |= ^uint64(0) << (8 * n) // sign-extend
	}
	u.push(int64(v))
	return nil
}

func (u *unpickler) global(off int, module, name string) error {
	g, ok := lookupGlobal(module, name)
	if !ok {
		return u.errorf(off, "global %s.%s is not allowed: lmgc rebuilds only tensors, storages, dtypes and OrderedDicts, and never runs code from a file", module, name)
	}
	u.push(g)
	return nil
}

func (u *unpickler) setItems(off int, d *pkDict, items []any) error {
	if len(items)%2 != 0 {
		return u.errorf(off, "SETITEMS with an odd number (%d) of values", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		k, v := items[i], items[i+1]
		switch k.(type) {
		case nil, bool, int64, float64, string:
			if d.index == nil {
				d.index = map[any]int{}
			}
			if j, ok := d.index[k]; ok {
				d.vals[j] = v
				continue
			}
			d.index[k] = len(d.keys)
		case *pkTuple, pkBytes:
			// Hashable in Python; rare as keys, kept without deduplication.
			if b, ok := k.(pkBytes); ok {
				k = pkBytes(append([]byte(nil), b...))
			}
		default:
			return u.errorf(off, "dict key is a %s, which is not hashable", pkTypeName(k))
		}
		d.keys = append(d.keys, k)
		d.vals = append(d.vals, v)
	}
	return nil
}

// reduce applies an allowlisted global to its argument tuple.
func (u *unpickler) reduce(off int) error {
	a, err := u.pop(off)
	if err != nil {
		return err
	}
	f, err := u.pop(off)
	if err != nil {
		return err
	}
	g, ok := f.(pkGlobal)
	if !ok {
		return u.errorf(off, "REDUCE calls a %s, not an allowed global", pkTypeName(f))
	}
	args, ok := a.(*pkTuple)
	if !ok {
		return u.errorf(off, "REDUCE of %s with a %s, want an argument tuple", g, pkTypeName(a))
	}
	v, err := callGlobal(g, args.items)
	if err != nil {
		return u.errorf(off, "%s: %v", g, err)
	}
	u.push(v)
	return nil
}

// build handles BUILD, which sets an object's state. Only an OrderedDict's
// attributes (a state_dict's _metadata) are accepted, and ignored: they do
// not change the tensors.
func (u *unpickler) build(off int) error {
	state, err := u.pop(off)
	if err != nil {
		return err
	}
	obj, err := u.top(off)
	if err != nil {
		return err
	}
	if _, ok := obj.(*pkDict); !ok {
		return u.errorf(off, "BUILD on a %s: only a dict's attributes can be set", pkTypeName(obj))
	}
	if _, ok := state.(*pkDict); !ok && state != nil {
		return u.errorf(off, "BUILD with a %s state, want a dict", pkTypeName(state))
	}
	return nil
}

func callGlobal(g pkGlobal, args []any) (any, error) {
	switch g.kind {
	case gOrderedDict:
		if len(args) != 0 {
			return nil, fmt.Errorf("called with %d arguments, want none", len(args))
		}
		return &pkDict{}, nil
	case gSize:
		if len(args) != 1 {
			return nil, fmt.Errorf("called with %d arguments, want 1", len(args))
		}
		t, ok := args[0].(*pkTuple)
		if !ok {
			return nil, fmt.Errorf("argument is a %s, want a tuple", pkTypeName(args[0]))
		}
		return t, nil
	case gRebuildTensor, gRebuildTensorV2, gRebuildTensorV3:
		return rebuildTensor(g.kind, args)
	case gRebuildFromType:
		// torch 2.x pickles a tensor that has Python attributes as
		// _rebuild_from_type_v2(rebuild function, class, its arguments,
		// the attributes). Only the plain Tensor and Parameter classes are
		// accepted; the attributes are ignored.
		if len(args) != 4 {
			return nil, fmt.Errorf("called with %d arguments, want 4", len(args))
		}
		f, ok := args[0].(pkGlobal)
		if !ok || f.kind == gRebuildFromType {
			return nil, fmt.Errorf("function is a %s, want a tensor rebuild function", pkTypeName(args[0]))
		}
		if c, ok := args[1].(pkGlobal); !ok || c.kind != gTensorClass {
			return nil, fmt.Errorf("class is a %s, want torch.Tensor or torch.nn.parameter.Parameter", pkTypeName(args[1]))
		}
		fargs, ok := args[2].(*pkTuple)
		if !ok {
			return nil, fmt.Errorf("arguments are a %s, want a tuple", pkTypeName(args[2]))
		}
		v, err := callGlobal(f, fargs.items)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", f, err)
		}
		if _, ok := v.(*pkTensor); !ok {
			return nil, fmt.Errorf("%s gives a %s, not a tensor", f, pkTypeName(v))
		}
		return v, nil
	case gRebuildParameter, gRebuildParameterWithState:
		want := 3
		if g.kind == gRebuildParameterWithState {
			want = 4
		}
		if len(args) != want {
			return nil, fmt.Errorf("called with %d arguments, want %d", len(args), want)
		}
		t, ok := args[0].(*pkTensor)
		if !ok {
			return nil, fmt.Errorf("data is a %s, want a tensor", pkTypeName(args[0]))
		}
		return t, nil
	}
	return nil, fmt.Errorf("%s is not callable", g.kind.what())
}

func (k globalKind) what() string {
	switch k {
	case gStorageType:
		return "a storage type"
	case gDType:
		return "a dtype"
	case gTensorClass:
		return "a tensor class"
	}
	return "this global"
}

// rebuildTensor checks the arguments of torch._utils._rebuild_tensor
// (storage, storage_offset, size, stride), _rebuild_tensor_v2 (the same,
// requires_grad, backward_hooks[, metadata]) and _rebuild_tensor_v3 (v2's,
// dtype[, metadata]), and returns the tensor they describe.
func rebuildTensor(kind globalKind, args []any) (any, error) {
	lo, hi := 4, 4
	switch kind {
	case gRebuildTensorV2:
		lo, hi = 6, 7
	case gRebuildTensorV3:
		lo, hi = 7, 8
	}
	if len(args) < lo || len(args) > hi {
		return nil, fmt.Errorf("called with %d arguments, want %d to %d", len(args), lo, hi)
	}
	s, ok := args[0].(*pkStorage)
	if !ok {
		return nil, fmt.Errorf("storage is a %s, want a persistent storage", pkTypeName(args[0]))
	}
	offset, ok := args[1].(int64)
	if !ok || offset < 0 {
		return nil, fmt.Errorf("storage offset %v is not a non-negative integer", args[1])
	}
	shape, err := intTuple("size", args[2])
	if err != nil {
		return nil, err
	}
	stride, err := intTuple("stride", args[3])
	if err != nil {
		return nil, err
	}
	if len(shape) != len(stride) {
		return nil, fmt.Errorf("size %s and stride %s differ in length", shapeString(shape), shapeString(stride))
	}
	if kind != gRebuildTensor {
		if _, ok := args[4].(bool); !ok {
			return nil, fmt.Errorf("requires_grad is a %s, want a bool", pkTypeName(args[4]))
		}
		// backward_hooks (args[5]) and metadata are ignored: torch.save
		// writes an empty OrderedDict and a dict of tensor attributes.
	}
	t := &pkTensor{storage: s, dtype: s.dtype, offset: offset, shape: shape, stride: stride}
	if kind == gRebuildTensorV3 {
		g, ok := args[6].(pkGlobal)
		if !ok || g.kind != gDType {
			return nil, fmt.Errorf("dtype is a %s, want a torch dtype", pkTypeName(args[6]))
		}
		t.dtype = g.dtype
	}
	return t, nil
}

func intTuple(what string, v any) ([]int64, error) {
	t, ok := v.(*pkTuple)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, want a tuple", what, pkTypeName(v))
	}
	out := make([]int64, len(t.items))
	for i, x := range t.items {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("%s element %d is %v, want a non-negative integer", what, i, x)
		}
		out[i] = n
	}
	return out, nil
}

// pkTypeName names a pickle value's Python type for error messages.
func pkTypeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case pkBytes:
		return "bytes"
	case *pkList:
		return "list"
	case *pkTuple:
		return "tuple"
	case *pkDict:
		return "dict"
	case pkGlobal:
		return v.String()
	case *pkStorage:
		return "storage"
	case *pkTensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}

// keyString formats a dict key or list index for a tensor's name.
func keyString(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case int64:
		return strconv.FormatInt(k, 10)
	case bool:
		if k {
			return "True"
		}
		return "False"
	case nil:
		return "None"
	case float64:
		return strconv.FormatFloat(k, 'g', -1, 64)
	case *pkTuple:
		// One level only: a tuple key nested in itself (through the memo)
		// must not be formatted at exponential cost.
		var b strings.Builder
		b.WriteByte('(')
		for i, x := range k.items {
			if i > 0 {
				b.WriteString(", ")
			}
			if b.Len() > maxNameLen {
				b.WriteString("...")
				break
			}
			if _, nested := x.(*pkTuple); nested {
				b.WriteString("(...)")
			} else {
				b.WriteString(keyString(x))
			}
		}
		b.WriteByte(')')
		return b.String()
	case pkBytes:
		return fmt.Sprintf("%q", []byte(k))
	}
	return pkTypeName(k)
}
