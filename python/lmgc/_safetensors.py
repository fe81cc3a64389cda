"""A small safetensors writer and reader (no safetensors package needed).

Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian
header length N, N bytes of JSON (``{"__metadata__": {str: str}, name:
{"dtype", "shape", "data_offsets": [begin, end]}, ...}``, padded with spaces
to a multiple of 8), then the tensors' little-endian bytes back to back.
The writer lists ``__metadata__`` first and the tensors in the given order,
stored in that order, like lmgc's Go writer (tensorio.WriteSafetensors).
"""

from __future__ import annotations

import json
import struct
from typing import Dict, List, Optional, Tuple

import numpy as np

# safetensors dtype -> little-endian numpy dtype of the same bytes. BF16 has
# no numpy dtype: its bytes are carried as uint16.
DTYPES: Dict[str, np.dtype] = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"), "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"), "C64": np.dtype("<c8"),
}

# numpy kind+itemsize -> safetensors dtype (for numpy arrays).
_FROM_NUMPY = {
    ("f", 8): "F64", ("f", 4): "F32", ("f", 2): "F16",
    ("i", 8): "I64", ("i", 4): "I32", ("i", 2): "I16", ("i", 1): "I8",
    ("u", 8): "U64", ("u", 4): "U32", ("u", 2): "U16", ("u", 1): "U8",
    ("b", 1): "BOOL", ("c", 8): "C64",
}

MAX_HEADER = 100_000_000  # the safetensors library's limit


class Entry:
    """One tensor: name, safetensors dtype, shape and little-endian bytes."""

    __slots__ = ("name", "dtype", "shape", "data")

    def __init__(self, name: str, dtype: str, shape: Tuple[int, ...], data: bytes):
        self.name, self.dtype, self.shape, self.data = name, dtype, tuple(int(d) for d in shape), data


def numpy_dtype_name(dt: np.dtype) -> str:
    """The safetensors dtype of a numpy dtype; TypeError if it has none."""
    name = _FROM_NUMPY.get((dt.kind, dt.itemsize))
    if name is None or dt.fields is not None:
        raise TypeError("numpy dtype %s has no safetensors dtype (supported: float64, float32, float16, "
                        "int64, int32, int16, int8, uint64, uint32, uint16, uint8, bool, complex64)" % dt)
    return name


def entry_from_numpy(name: str, arr: np.ndarray, dtype: Optional[str] = None) -> Entry:
    """An Entry holding arr's elements in C order, little-endian."""
    if dtype is None:
        dtype = numpy_dtype_name(arr.dtype)
    le = DTYPES[dtype]
    data = np.ascontiguousarray(arr).astype(le, copy=False).tobytes()
    return Entry(name, dtype, arr.shape, data)


def write(entries: List[Entry], metadata: Optional[Dict[str, str]] = None) -> bytes:
    """Returns the safetensors file holding entries (in order) and metadata."""
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata)}
    off = 0
    for e in entries:
        if not isinstance(e.name, str):
            raise TypeError("tensor names must be strings, got %r" % (e.name,))
        if e.name == "__metadata__" or e.name in header:
            raise ValueError("tensor name %r is reserved or repeated" % e.name)
        n = 1
        for d in e.shape:
            n *= d
        if n * DTYPES[e.dtype].itemsize != len(e.data):
            raise ValueError("tensor %r: shape %s of %s needs %d bytes, have %d"
                             % (e.name, list(e.shape), e.dtype, n * DTYPES[e.dtype].itemsize, len(e.data)))
        header[e.name] = {"dtype": e.dtype, "shape": list(e.shape), "data_offsets": [off, off + len(e.data)]}
        off += len(e.data)
    h = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return b"".join([struct.pack("<Q", len(h)), h] + [e.data for e in entries])


def read(buf: bytes) -> Tuple[List[Entry], Dict[str, str]]:
    """Parses a safetensors file: its entries in header order, and metadata.

    Every size is checked against the file before use; a malformed file
    raises ValueError naming the problem.
    """
    mv = memoryview(buf)
    if len(mv) < 8:
        raise ValueError("safetensors: %d bytes is shorter than the 8-byte header size" % len(mv))
    (n,) = struct.unpack("<Q", mv[:8])
    if n > len(mv) - 8 or n > MAX_HEADER or n < 2:
        raise ValueError("safetensors: bad header size %d for a file of %d bytes" % (n, len(mv)))
    try:
        header = json.loads(bytes(mv[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError("safetensors: header is not valid JSON: %s" % e) from None
    if not isinstance(header, dict):
        raise ValueError("safetensors: header is not a JSON object")
    base = 8 + n
    size = len(mv) - base
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("safetensors: __metadata__ is not an object of strings")
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise ValueError("safetensors: tensor %r: entry is not an object" % name)
        dtype, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in DTYPES:
            raise ValueError("safetensors: tensor %r has dtype %r, not one of %s" % (name, dtype, ", ".join(DTYPES)))
        if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)):
            raise ValueError("safetensors: tensor %r has a bad shape %r" % (name, shape))
        if (not isinstance(offs, list) or len(offs) != 2 or not all(isinstance(o, int) for o in offs)
                or not 0 <= offs[0] <= offs[1] <= size):
            raise ValueError("safetensors: tensor %r: data_offsets %r outside the %d data bytes" % (name, offs, size))
        count = 1
        for d in shape:
            count *= d
        if count * DTYPES[dtype].itemsize != offs[1] - offs[0]:
            raise ValueError("safetensors: tensor %r: shape %s of %s needs %d bytes, data_offsets give %d"
                             % (name, shape, dtype, count * DTYPES[dtype].itemsize, offs[1] - offs[0]))
        entries.append(Entry(name, dtype, tuple(shape), mv[base + offs[0]:base + offs[1]]))
    return entries, metadata


def to_numpy(e: Entry) -> np.ndarray:
    """The entry as a new, writable numpy array (BF16 as its uint16 bits)."""
    return np.frombuffer(e.data, dtype=DTYPES[e.dtype]).reshape(e.shape).copy()
