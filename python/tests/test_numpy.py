"""numpy arrays through lmgc: round trips and identity with the CLI."""

import io
import os

import numpy as np
import pytest

import lmgc

rng = np.random.default_rng(12)


def gradient_like(n):
    """float32 values shaped like a gradient: small, signed, heavy-tailed."""
    return (rng.standard_normal(n) * 1e-3 * rng.exponential(1.0, n)).astype(np.float32)


ARRAYS = {
    "f32_1d": gradient_like(5000),
    "f32_2d": gradient_like(3 * 257).reshape(3, 257),
    "f32_4d_fortran": np.asfortranarray(gradient_like(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)),
    "f32_big_endian": gradient_like(100).astype(">f4"),
    "f32_empty": np.zeros((0, 7), np.float32),
    "f32_scalar": np.float32(3.25),
    "f32_odd_values": np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38], np.float32),
    "f64": rng.standard_normal((17, 3)),
    "f16": rng.standard_normal(999).astype(np.float16),
    "i64": rng.integers(-2**62, 2**62, 300, dtype=np.int64),
    "u8": rng.integers(0, 255, (5, 5, 3), dtype=np.uint8),
    "bool": rng.random(33) < 0.5,
    "c64": (rng.standard_normal(10) + 1j * rng.standard_normal(10)).astype(np.complex64),
    "u16_3d": rng.integers(0, 65535, (2, 3, 4), dtype=np.uint16),
}


def assert_same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.flags.f_contiguous == b.flags.f_contiguous or a.ndim < 2
    assert a.tobytes() == b.tobytes()  # bitwise: NaN payloads, -0.0


@pytest.mark.parametrize("name", list(ARRAYS))
def test_array_round_trip(name):
    a = ARRAYS[name]
    blob = lmgc.compress(a)
    assert blob.startswith(b"LMGC\r\n\x1a\n")
    assert_same(lmgc.decompress(blob), a)


@pytest.mark.parametrize("prior", ["order2", "cm"])
def test_float32_goes_through_the_prior(prior):
    a = gradient_like(20000)
    blob, stats = lmgc.compress(a, prior=prior, return_stats=True)
    assert stats["prior"] == prior
    assert stats["float_bytes"] == a.nbytes
    assert stats["original_bytes"] == len(lmgc.encode(a)[0])
    assert stats["compressed_bytes"] == len(blob)
    assert len(blob) < a.nbytes  # gradient-like floats compress
    h = lmgc.inspect(blob)
    assert h["prior"]["name"] == prior
    assert [s["kind"] for s in h["original"]["segments"]] == ["other", "float32le"]
    assert_same(lmgc.decompress(blob), a)


def test_options_reach_the_cli():
    a = gradient_like(4096)
    blob = lmgc.compress(a, format="hs", bytes_per_group=2, sign_first=True, window=4000, threads=1,
                         verify=True)
    h = lmgc.inspect(blob)
    assert h["serialization"] == "hex-space"
    assert h["bytes_per_group"] == 2 and h["sign_first"] is True and h["window"] == 4000
    assert_same(lmgc.decompress(blob), a)


def test_same_bytes_as_the_cli(tmp_path, cli):
    """compress(a) is the .lmgc file `lmgc compress tensor.npy` writes for np.save's file."""
    a = gradient_like(3000).reshape(30, 100)
    np.save(tmp_path / "tensor.npy", a)
    cli("compress", "tensor.npy", cwd=tmp_path)
    want = (tmp_path / "tensor.npy.lmgc").read_bytes()
    assert lmgc.compress(a) == want
    assert lmgc.encode(a) == ((tmp_path / "tensor.npy").read_bytes(), "tensor.npy")
    # and the CLI decompresses the package's file to np.save's bytes
    (tmp_path / "pkg.lmgc").write_bytes(lmgc.compress(a, prior="cm"))
    cli("decompress", "pkg.lmgc", "-o", "back.npy", cwd=tmp_path)
    assert (tmp_path / "back.npy").read_bytes() == (tmp_path / "tensor.npy").read_bytes()


def test_compress_file_same_bytes_as_the_cli(tmp_path, cli):
    src = tmp_path / "g.npy"
    np.save(src, ARRAYS["f32_2d"])
    cli("compress", "--prior", "cm", src, "-o", tmp_path / "cli.lmgc")
    stats = lmgc.compress_file(src, tmp_path / "pkg.lmgc", prior="cm")
    assert (tmp_path / "pkg.lmgc").read_bytes() == (tmp_path / "cli.lmgc").read_bytes()
    assert stats["compressed_bytes"] == os.path.getsize(tmp_path / "pkg.lmgc")
    # default output name, as the CLI's
    lmgc.compress_file(src, prior="cm")
    assert (tmp_path / "g.npy.lmgc").read_bytes() == (tmp_path / "cli.lmgc").read_bytes()
    os.remove(src)
    lmgc.decompress_file(tmp_path / "pkg.lmgc", src)
    assert_same(np.load(src), ARRAYS["f32_2d"])


def test_numpy_dict_round_trip(tmp_path):
    d = {"w": gradient_like(600).reshape(20, 30), "b": ARRAYS["f64"], "steps": np.int64(7) * np.ones(3, np.int64),
         "mask": ARRAYS["bool"], "empty": np.zeros(0, np.float32)}
    got = lmgc.decompress(lmgc.compress(d))
    assert list(got) == list(d)
    for k in d:
        assert_same(got[k], d[k])
    stats = lmgc.save(d, tmp_path / "d.lmgc")
    assert stats["float_bytes"] == d["w"].nbytes
    got = lmgc.load(tmp_path / "d.lmgc")
    assert list(got) == list(d)


def test_raw_float32_bytes(tmp_path):
    a = gradient_like(1001)
    blob = lmgc.compress(a.tobytes(), input_format="raw")
    assert lmgc.inspect(blob)["original"]["format"] == "raw"
    out = lmgc.decompress(blob)
    assert isinstance(out, bytes) and out == a.tobytes()
    # npy bytes are recognised by content
    buf = io.BytesIO()
    np.save(buf, a)
    assert_same(lmgc.decompress(lmgc.compress(buf.getvalue())), a)


def test_progress_callback():
    calls = []
    a = gradient_like(100000)
    blob = lmgc.compress(a, verify=True, progress=lambda stage, f: calls.append((stage, f)))
    stages = [s for s, _ in calls]
    assert "compress" in stages and "verify" in stages
    assert all(0.0 <= f <= 1.0 for _, f in calls)
    assert calls[-1] == ("verify", 1.0)
    assert_same(lmgc.decompress(blob, progress=lambda s, f: calls.append((s, f))), a)
    assert calls[-1] == ("decompress", 1.0)


def test_progress_bar_relayed(capsys):
    a = gradient_like(50000)
    assert_same(lmgc.decompress(lmgc.compress(a, progress=True)), a)
    err = capsys.readouterr().err
    assert "compress [" in err and "100.0%" in err


def test_public_functions_documented():
    for name in lmgc.__all__:
        doc = getattr(lmgc, name).__doc__
        assert doc and len(doc.strip()) > 40, name
