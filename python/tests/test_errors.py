"""Failures surface as lmgc.LmgcError carrying the Go message."""

import os
import subprocess

import numpy as np
import pytest

import lmgc
import lmgc._cli

A = (np.random.default_rng(3).standard_normal(5000) * 1e-3).astype(np.float32)


@pytest.fixture(scope="module")
def blob():
    return lmgc.compress(A)


def flip(data, i):
    b = bytearray(data)
    b[i] ^= 1
    return bytes(b)


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b"garbage", "not an .lmgc file (wrong magic)"),
    (lambda b: b"", "truncated .lmgc file: 0 bytes, shorter than the magic"),
    (lambda b: b[:-10], "truncated .lmgc file: stream 0 needs"),
    (lambda b: b + b"x", "corrupt .lmgc file: 1 unexpected bytes after the last stream"),
    (lambda b: flip(b, len(b) - 50), "corrupt .lmgc file: checksum mismatch in stream 0"),
    (lambda b: flip(b, 40), "corrupt .lmgc file: header checksum mismatch"),
])
def test_corrupt_input(blob, mutate, message):
    with pytest.raises(lmgc.LmgcError) as e:
        lmgc.decompress(mutate(blob))
    assert str(e.value).startswith("lmgc decompress: " + message)
    assert e.value.message == str(e.value)
    assert e.value.returncode == 1


def test_message_is_the_clis(blob, tmp_path):
    bad = tmp_path / "bad.lmgc"
    bad.write_bytes(flip(blob, len(blob) - 50))
    r = subprocess.run([lmgc.binary(), "decompress", bad, "-o", tmp_path / "out"], capture_output=True, text=True)
    assert r.returncode == 1
    with pytest.raises(lmgc.LmgcError) as e:
        lmgc.decompress_file(bad, tmp_path / "out")
    assert str(e.value) == r.stderr.strip()
    assert not (tmp_path / "out").exists()  # no partial output
    assert os.listdir(tmp_path) == ["bad.lmgc"]


@pytest.mark.parametrize("call, message", [
    (lambda: lmgc.compress(A, prior="nope"), 'lmgc compress: unknown prior "nope" (available: order2, cm, fcm, llm, fcm2)'),
    (lambda: lmgc.compress(b"abcdefgh"), "lmgc compress: cannot tell the format of data"),
    (lambda: lmgc.compress(np.zeros(2, dtype=[("a", "<i4")])),
     "lmgc compress: npy: structured dtypes (descr is a list) are not supported"),
    (lambda: lmgc.compress(A, format="hs", bytes_per_group=5), "lmgc compress: serial: bytes per group 5"),
    (lambda: lmgc.compress(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}"), "lmgc compress: npy: header keys are"),
    (lambda: lmgc.compress(A, prior="llm", model="/nonexistent/m.gguf"), "lmgc compress: model /nonexistent/m.gguf: no such file or directory"),
    (lambda: lmgc.decompress_file("/nonexistent/x.lmgc"), "lmgc decompress: /nonexistent/x.lmgc: no such file or directory"),
])
def test_bad_input(call, message):
    with pytest.raises(lmgc.LmgcError) as e:
        call()
    assert str(e.value).startswith(message)


def test_existing_output_is_kept(tmp_path, blob):
    src = tmp_path / "a.npy"
    np.save(src, A)
    dst = tmp_path / "a.npy.lmgc"
    dst.write_bytes(b"keep me")
    with pytest.raises(lmgc.LmgcError, match="already exists"):
        lmgc.compress_file(src)
    assert dst.read_bytes() == b"keep me"
    lmgc.compress_file(src, force=True)
    assert lmgc.inspect(dst)["original"]["name"] == str(src)
    with pytest.raises(lmgc.LmgcError, match="already exists"):
        lmgc.decompress_file(dst)
    lmgc.decompress_file(dst, force=True)
    assert np.array_equal(np.load(src), A)


def test_unknown_option_and_type():
    with pytest.raises(TypeError, match="unknown options: colour"):
        lmgc.compress_file("x.npy", colour="red")
    with pytest.raises(TypeError, match="cannot compress"):
        lmgc.compress("a string")
    with pytest.raises(ValueError, match="to must be"):
        lmgc.decode(b"", to="jax")


def test_bad_lmgc_bin(monkeypatch, tmp_path):
    monkeypatch.setattr(lmgc._cli, "_cached", None)
    monkeypatch.setenv("LMGC_BIN", str(tmp_path / "missing"))
    with pytest.raises(lmgc.LmgcError, match="is not an executable file"):
        lmgc.compress(A)
    monkeypatch.setattr(lmgc._cli, "_cached", None)
    monkeypatch.delenv("LMGC_BIN")
    real = lmgc.binary()
    assert os.access(real, os.X_OK)
    copy = tmp_path / "my-lmgc"
    copy.write_bytes(open(real, "rb").read())
    copy.chmod(0o755)
    monkeypatch.setattr(lmgc._cli, "_cached", None)
    monkeypatch.setenv("LMGC_BIN", str(copy))
    assert lmgc.binary() == str(copy)
    assert np.array_equal(lmgc.decompress(lmgc.compress(A)), A)


@pytest.mark.parametrize("progress", [True, lambda stage, f: None])
def test_error_with_progress_bar(progress, capsys):
    """The bar's redraws do not leak into the message."""
    blob = lmgc.compress(np.ones(300000, np.float32))
    with pytest.raises(lmgc.LmgcError) as e:
        lmgc.decompress(flip(blob, len(blob) - 5), progress=progress)
    assert str(e.value).startswith("lmgc decompress: corrupt .lmgc file: checksum mismatch in stream")
    assert "\x1b" not in e.value.stderr and "\r" not in e.value.stderr
