"""Generate the reference files in this directory with NumPy itself.

Run from this directory:  python3 gen.py   (needs numpy; made with 1.24.2)

The .npy files are written by np.save / np.lib.format, so the Go reader and
writer are checked against NumPy's real output. The .safetensors files are
written here by hand following the format spec (8-byte LE header size, JSON
header, data), with spacing and key order that differ from the Go writer.
"""
import json
import struct

import numpy as np

rng = np.random.default_rng(7)
g = rng.standard_normal((3, 4)).astype(np.float32)

np.save("f32_c.npy", g)
np.save("f32_fortran.npy", np.asfortranarray(g))
np.save("f16.npy", rng.standard_normal(5).astype(np.float16))
np.save("f64_scalar.npy", np.array(3.25, dtype=np.float64))
np.save("i64.npy", np.arange(6, dtype=np.int64).reshape(2, 3))
np.save("f32_be.npy", g.astype(">f4"))
np.save("f32_empty.npy", np.zeros((0, 3), dtype=np.float32))
# ml_dtypes.bfloat16 is saved by np.save with descr '<V2'; plain NumPy void
# writes '|V2'.
np.save("v2.npy", np.frombuffer(rng.bytes(8), dtype="V2"))
for v in [(2, 0), (3, 0)]:
    with open("f32_v%d.npy" % v[0], "wb") as f:
        np.lib.format.write_array(f, g[:2], version=v)


def safetensors(path, header, data):
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


a = rng.standard_normal((2, 3)).astype(np.float32).tobytes()
b = rng.standard_normal(4).astype(np.float16).tobytes()
c = np.arange(3, dtype=np.int64).tobytes()
# Tensors listed out of file order; metadata in the middle.
safetensors("mixed.safetensors", {
    "c.int": {"dtype": "I64", "shape": [3], "data_offsets": [len(a) + len(b), len(a) + len(b) + len(c)]},
    "__metadata__": {"format": "pt"},
    "a.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, len(a)]},
    "b.half": {"dtype": "F16", "shape": [4], "data_offsets": [len(a), len(a) + len(b)]},
}, a + b + c)
# A gap of 4 bytes between tensors and 2 trailing bytes.
safetensors("gaps.safetensors", {
    "x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    "y": {"dtype": "BF16", "shape": [2], "data_offsets": [12, 16]},
}, a[:8] + b"\0\0\0\0" + b[:4] + b"zz")
