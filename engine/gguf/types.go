package gguf

import (
	"fmt"
	"math/bits"
)

// Type is a tensor element type, numbered as ggml's enum ggml_type.
type Type uint32

// Tensor types (ggml.h). Numbers 4, 5, 31-33 and 36-38 were removed from
// ggml and are rejected.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
	MXFP4   Type = 39
)

// QK_K is the super-block size of the k-quants and i-quants.
const qkK = 256

type typeTraits struct {
	name      string
	blockSize int // elements per block
	typeSize  int // bytes per block
}

// traits follows ggml's type_traits table (ggml.c) and the block structs of
// ggml-common.h.
var traits = map[Type]typeTraits{
	F32:     {"f32", 1, 4},
	F16:     {"f16", 1, 2},
	Q4_0:    {"q4_0", 32, 2 + 16},
	Q4_1:    {"q4_1", 32, 2 + 2 + 16},
	Q5_0:    {"q5_0", 32, 2 + 4 + 16},
	Q5_1:    {"q5_1", 32, 2 + 2 + 4 + 16},
	Q8_0:    {"q8_0", 32, 2 + 32},
	Q8_1:    {"q8_1", 32, 2 + 2 + 32},
	Q2_K:    {"q2_K", qkK, 16 + 64 + 2 + 2},
	Q3_K:    {"q3_K", qkK, 32 + 64 + 12 + 2},
	Q4_K:    {"q4_K", qkK, 2 + 2 + 12 + 128},
	Q5_K:    {"q5_K", qkK, 2 + 2 + 12 + 32 + 128},
	Q6_K:    {"q6_K", qkK, 128 + 64 + 16 + 2},
	Q8_K:    {"q8_K", qkK, 4 + 256 + 32},
	IQ2_XXS: {"iq2_xxs", qkK, 2 + 64},
	IQ2_XS:  {"iq2_xs", qkK, 2 + 64 + 8},
	IQ3_XXS: {"iq3_xxs", qkK, 2 + 96},
	IQ1_S:   {"iq1_s", qkK, 2 + 32 + 16},
	IQ4_NL:  {"iq4_nl", 32, 2 + 16},
	IQ3_S:   {"iq3_s", qkK, 2 + 64 + 8 + 32 + 4},
	IQ2_S:   {"iq2_s", qkK, 2 + 64 + 8 + 8},
	IQ4_XS:  {"iq4_xs", qkK, 2 + 2 + 4 + 128},
	I8:      {"i8", 1, 1},
	I16:     {"i16", 1, 2},
	I32:     {"i32", 1, 4},
	I64:     {"i64", 1, 8},
	F64:     {"f64", 1, 8},
	IQ1_M:   {"iq1_m", qkK, 32 + 16 + 8},
	BF16:    {"bf16", 1, 2},
	TQ1_0:   {"tq1_0", qkK, 48 + 4 + 2},
	TQ2_0:   {"tq2_0", qkK, 64 + 2},
	MXFP4:   {"mxfp4", 32, 1 + 16},
}

// Valid reports whether t is a tensor type this package knows the layout of.
func (t Type) Valid() bool { _, ok := traits[t]; return ok }

// String returns ggml's name of the type ("f32", "q8_0", "q4_K", ...), or
// "type(N)" for an unknown number.
func (t Type) String() string {
	if tr, ok := traits[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block (1 for plain types, 0
// for an unknown type).
func (t Type) BlockSize() int { return traits[t].blockSize }

// TypeSize is the number of bytes of one block (0 for an unknown type).
func (t Type) TypeSize() int { return traits[t].typeSize }

// ParseType returns the type with ggml's name s (case-insensitive).
func ParseType(s string) (Type, error) {
	for t, tr := range traits {
		if equalFold(tr.name, s) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("gguf: unknown tensor type %q", s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// RowBytes returns the number of bytes n elements of type t occupy. n must
// be a non-negative multiple of the block size.
func (t Type) RowBytes(n int64) (int64, error) {
	tr, ok := traits[t]
	if !ok {
		return 0, fmt.Errorf("gguf: unknown tensor type %d", uint32(t))
	}
	if n < 0 {
		return 0, fmt.Errorf("gguf: negative element count %d", n)
	}
	if n%int64(tr.blockSize) != 0 {
		return 0, fmt.Errorf("gguf: %d elements of type %s is not a multiple of its block size %d", n, tr.name, tr.blockSize)
	}
	hi, lo := bits.Mul64(uint64(n/int64(tr.blockSize)), uint64(tr.typeSize))
	if hi != 0 || lo > 1<<62 {
		return 0, fmt.Errorf("gguf: %d elements of type %s overflow", n, tr.name)
	}
	return int64(lo), nil
}

// ValueType is the type of a metadata value (enum gguf_type).
type ValueType uint32

// Metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

// String returns the name of the value type.
func (v ValueType) String() string {
	if int(v) < len(valueTypeNames) {
		return valueTypeNames[v]
	}
	return fmt.Sprintf("valuetype(%d)", uint32(v))
}

// size returns the encoded size of a fixed-size value type, 0 for string
// and array, -1 for an unknown type.
func (v ValueType) size() int {
	switch v {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	case TypeString, TypeArray:
		return 0
	}
	return -1
}
