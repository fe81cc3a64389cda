"""The package's own safetensors writer and reader, against lmgc's Go ones."""

import collections
import struct

import numpy as np
import pytest

import lmgc
from lmgc import _safetensors as st


def test_writer_matches_go_writer(gradient_file):
    """Rewriting a safetensors file that lmgc's Go writer made (lmgc collect)
    gives the same bytes."""
    data = gradient_file.read_bytes()
    entries, meta = st.read(data)
    assert meta["arch"] == "convnet" and len(entries) > 4
    assert st.write(entries, meta) == data


def test_real_gradient_file(gradient_file, tmp_path):
    """A real gradient through compress_file; load gives its tensors."""
    dst = tmp_path / "g.lmgc"
    stats = lmgc.compress_file(gradient_file, dst)
    assert stats["compressed_bytes"] < 0.95 * stats["original_bytes"]
    got = lmgc.load(dst)  # no lmgc kind in the metadata: numpy arrays
    entries, _ = st.read(gradient_file.read_bytes())
    assert list(got) == [e.name for e in entries]
    for e in entries:
        assert got[e.name].dtype == np.float32 and got[e.name].shape == e.shape
        assert got[e.name].tobytes() == bytes(e.data)
    lmgc.decompress_file(dst, tmp_path / "g.safetensors")
    assert (tmp_path / "g.safetensors").read_bytes() == gradient_file.read_bytes()


def test_go_reads_the_layout():
    d = collections.OrderedDict([("z", np.ones((2, 3), np.float32)), ("a", np.arange(4, dtype=np.int16)),
                                 ("e", np.zeros(0, np.float32)), ("s", np.float32(1.0))])
    h = lmgc.inspect(lmgc.compress(d))
    segs = [(s["kind"], s.get("name"), s.get("dtype"), s.get("shape", [])) for s in h["original"]["segments"]]
    # the empty tensor has no bytes, hence no segment
    assert segs == [("other", "header", None, []), ("float32le", "z", "F32", [2, 3]),
                    ("other", "a", "I16", [4]), ("float32le", "s", "F32", [])]
    got = lmgc.decompress(lmgc.compress(d))
    assert list(got) == list(d) and got["s"].shape == () and got["e"].shape == (0,)
    assert h["original"]["format"] == "safetensors"


def header(obj):
    import json
    h = json.dumps(obj).encode()
    return struct.pack("<Q", len(h)) + h


@pytest.mark.parametrize("data, message", [
    (b"\x01\x00", "shorter than the 8-byte header size"),
    (struct.pack("<Q", 1000) + b"{}", "bad header size 1000"),
    (struct.pack("<Q", 3) + b"{x}", "not valid JSON"),
    (header({"t": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}) + b"\0" * 4, "dtype 'F99'"),
    (header({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}) + b"\0" * 4, "needs 8 bytes"),
    (header({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}}) + b"\0" * 4, "outside the 4 data bytes"),
    (header({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}) + b"\0" * 4, "bad shape"),
    (header({"__metadata__": {"a": 1}}), "__metadata__ is not an object of strings"),
])
def test_reader_rejects_malformed(data, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        st.read(data)


def test_unsupported_numpy_dtype():
    with pytest.raises(TypeError, match="no safetensors dtype"):
        lmgc.compress({"x": np.zeros(2, np.float128 if hasattr(np, "float128") else np.complex128)})
