"""lmgc: lossless compression of neural-network gradients and tensors.

This package drives the Go ``lmgc`` command-line program, so what it writes
are ``.lmgc`` files exactly as ``lmgc compress`` writes them, and it reads
any file the CLI wrote. It adds the conversions between Python objects and
the tensor files the CLI codes:

- a numpy array is coded as its ``.npy`` file (any dtype; float32 data goes
  through the prior, everything else through zstd);
- a torch tensor, a ``state_dict`` (any mapping of names to torch tensors)
  or a mapping of names to numpy arrays is coded as a ``.safetensors`` file
  whose ``__metadata__`` records which of these it was, so that
  :func:`decompress` gives back the same kind of object.

Example::

    import lmgc, numpy as np
    g = np.random.default_rng(0).standard_normal(10000).astype(np.float32)
    blob = lmgc.compress(g)                  # bytes of an .lmgc file
    assert (lmgc.decompress(blob) == g).all()

Errors of the CLI (bad input, a corrupt file, a wrong model) are raised as
:class:`LmgcError` carrying the Go message. See :func:`binary` for how the
CLI is found.
"""

from __future__ import annotations

import collections
import io
import json
import os
import struct
import sys
import tempfile
from typing import Any, Mapping, Optional, Tuple

import numpy as np

from . import _safetensors as st
from ._cli import LmgcError, Progress, binary, run

__all__ = [
    "LmgcError", "binary", "compress", "decompress", "compress_file", "decompress_file",
    "save", "load", "inspect", "encode", "decode",
]

__version__ = "0.1.0"

#: The safetensors ``__metadata__`` key that records the Python kind.
KIND_KEY = "lmgc.python"
KIND_TENSOR = "torch.Tensor"         # one torch tensor, stored under the name "tensor"
KIND_STATE_DICT = "torch.state_dict"  # a mapping of names to torch tensors
KIND_NUMPY_DICT = "numpy.dict"        # a mapping of names to numpy arrays
#: The metadata key recording that a mapping was a plain ``dict`` ("dict");
#: absent, the mapping comes back as an ``OrderedDict``.
MAPPING_KEY = "lmgc.mapping"
#: The metadata key holding a state_dict's ``_metadata`` (module versions) as JSON.
STATE_DICT_METADATA_KEY = "lmgc.state_dict._metadata"

_TORCH_DTYPES = {  # torch dtype name -> safetensors dtype
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
    "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8",
    "bool": "BOOL", "complex64": "C64",
}


# ---------------------------------------------------------------- conversion

def _torch():
    """The torch module if the caller has imported it (None otherwise)."""
    return sys.modules.get("torch")


def _is_tensor(x) -> bool:
    t = _torch()
    return t is not None and isinstance(x, t.Tensor)


def _tensor_entry(name: str, t) -> st.Entry:
    torch = _torch()
    dname = str(t.dtype).replace("torch.", "")
    dtype = _TORCH_DTYPES.get(dname)
    if dtype is None:
        raise TypeError("tensor %r has dtype %s, which safetensors cannot hold (supported: %s)"
                        % (name, t.dtype, ", ".join(_TORCH_DTYPES)))
    if t.layout != torch.strided:
        raise TypeError("tensor %r has layout %s; only dense (strided) tensors are supported" % (name, t.layout))
    t = t.detach().cpu().contiguous()
    if dtype == "C64":
        t = t.resolve_conj()
    if dtype == "BF16":
        arr = t.view(torch.int16).numpy().view(np.uint16)
    else:
        arr = t.numpy()
    return st.entry_from_numpy(name, arr, dtype)


def encode(obj: Any) -> Tuple[bytes, str]:
    """Returns ``(file_bytes, file_name)``: the tensor file lmgc codes for obj.

    - numpy array (or numpy scalar): its ``.npy`` file, ``"tensor.npy"``
      (``numpy.lib.format``, no pickles: object arrays are refused);
    - torch tensor: a safetensors file holding it as ``"tensor"``,
      ``"tensor.safetensors"``;
    - mapping of str to torch tensors (a ``state_dict``) or to numpy arrays:
      a safetensors file with the entries in the mapping's order,
      ``"tensor.safetensors"``;
    - bytes-like: the bytes themselves, ``"data"`` (a tensor file already:
      npy and safetensors are recognised by content; give
      ``input_format="raw"`` to :func:`compress` for raw float32).

    The name is the one :func:`compress` gives the CLI (the ``.lmgc`` header
    records it). Raises TypeError for anything else.
    """
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj), "data"
    if isinstance(obj, np.generic):
        obj = np.asarray(obj)
    if isinstance(obj, np.ndarray):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, obj, allow_pickle=False)
        return buf.getvalue(), "tensor.npy"
    if _is_tensor(obj):
        return st.write([_tensor_entry("tensor", obj)], {KIND_KEY: KIND_TENSOR}), "tensor.safetensors"
    if isinstance(obj, Mapping):
        items = [(k, np.asarray(v) if isinstance(v, np.generic) else v) for k, v in obj.items()]
        tensors = sum(1 for _, v in items if _is_tensor(v))
        arrays = sum(1 for _, v in items if isinstance(v, np.ndarray))
        for k, v in items:
            if not isinstance(k, str):
                raise TypeError("mapping keys must be strings, got %r" % (k,))
        meta = {}
        if tensors == len(items) and items:
            entries = [_tensor_entry(k, v) for k, v in items]
            meta[KIND_KEY] = KIND_STATE_DICT
            # nn.Module.state_dict() attaches the modules' versions, which
            # load_state_dict reads; keep them when they are plain JSON.
            sdm = getattr(obj, "_metadata", None)
            if isinstance(sdm, Mapping):
                try:
                    meta[STATE_DICT_METADATA_KEY] = json.dumps(sdm, separators=(",", ":"))
                except (TypeError, ValueError):
                    pass
        elif arrays == len(items):
            entries = [st.entry_from_numpy(k, v) for k, v in items]
            meta[KIND_KEY] = KIND_NUMPY_DICT
        else:
            bad = next(k for k, v in items if not (_is_tensor(v) if tensors else isinstance(v, np.ndarray)))
            raise TypeError("mapping values must be all torch tensors or all numpy arrays; %r is %s"
                            % (bad, type(dict(items)[bad]).__name__))
        if type(obj) is dict:
            meta[MAPPING_KEY] = "dict"
        return st.write(entries, meta), "tensor.safetensors"
    raise TypeError("cannot compress %s: give a numpy array, a torch tensor, a mapping of names to "
                    "tensors or arrays (e.g. a state_dict), or bytes" % type(obj).__name__)


def _entry_to_torch(e: st.Entry):
    import torch
    arr = st.to_numpy(e)
    if e.dtype == "BF16":
        return torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
    if e.dtype in ("U16", "U32", "U64"):
        raise TypeError("tensor %r has dtype %s, which torch lacks; decode with to='numpy'" % (e.name, e.dtype))
    return torch.from_numpy(arr)


def _entry_to_numpy(e: st.Entry) -> np.ndarray:
    if e.dtype == "BF16":
        raise TypeError("tensor %r is bfloat16, which numpy lacks; decode with to='torch'" % e.name)
    return st.to_numpy(e)


def decode(data: bytes, to: Optional[str] = None) -> Any:
    """Turns a tensor file's bytes back into a Python object (see :func:`encode`).

    ``.npy`` bytes give a numpy array; safetensors bytes written by
    :func:`encode` give the kind recorded in their metadata (a torch tensor,
    an ``OrderedDict`` of torch tensors, or an ``OrderedDict`` of numpy
    arrays; a plain ``dict`` when the original was one); other safetensors files give an ``OrderedDict`` of numpy
    arrays. ``to="numpy"`` or ``to="torch"`` overrides the kind of the
    arrays. Any other bytes are returned unchanged (as ``bytes``).
    """
    if to not in (None, "numpy", "torch"):
        raise ValueError("to must be None, 'numpy' or 'torch', not %r" % (to,))
    data = bytes(data)
    if data.startswith(b"\x93NUMPY"):
        arr = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
        if to == "torch":
            import torch
            return torch.from_numpy(arr)
        return arr
    try:
        entries, meta = st.read(data)
    except ValueError:
        return data
    kind = meta.get(KIND_KEY)
    as_torch = to == "torch" or (to is None and kind in (KIND_TENSOR, KIND_STATE_DICT))
    conv = _entry_to_torch if as_torch else _entry_to_numpy
    if kind == KIND_TENSOR and len(entries) == 1 and entries[0].name == "tensor":
        return conv(entries[0])
    mapping = dict if meta.get(MAPPING_KEY) == "dict" else collections.OrderedDict
    out = mapping((e.name, conv(e)) for e in entries)
    if kind == KIND_STATE_DICT and STATE_DICT_METADATA_KEY in meta:
        try:
            sdm = json.loads(meta[STATE_DICT_METADATA_KEY])
        except ValueError:
            sdm = None
        if isinstance(sdm, dict) and mapping is collections.OrderedDict:  # as nn.Module.state_dict makes it
            out._metadata = collections.OrderedDict(sdm)
    return out


# -------------------------------------------------------------- CLI options

def _compress_flags(prior, input_format, format, bytes_per_group, sign_first, window, threads,
                    model, mode, prompt, batch, verify):
    # No prior: the CLI's default (its fast level), so that compress(a)
    # is the file `lmgc compress` writes.
    args = [] if prior is None else ["--prior", prior]
    if input_format is not None:
        args += ["--input-format", input_format]
    if format is not None:
        args += ["--format", format]
    if bytes_per_group is not None:
        args += ["--bytes-per-group", int(bytes_per_group)]
    if sign_first:
        args.append("--sign-first")
    if window is not None:
        args += ["--window", int(window)]
    args += _common_flags(threads, model, batch)
    if mode is not None:
        args += ["--mode", mode]
    if prompt is not None:
        args += ["--prompt=" + prompt]
    if verify:
        args.append("--verify")
    return args


def _common_flags(threads, model, batch):
    args = []
    if threads is not None:
        args += ["--threads", int(threads)]
    if model is not None:
        args += ["--model", os.path.abspath(os.fspath(model))]  # runs may change directory
    if batch is not None:
        args += ["--batch", int(batch)]
    return args


def _arg_path(p) -> str:
    """A path argument for the CLI; a leading '-' would read as a flag."""
    p = os.fspath(p)
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    if p.startswith("-") and p != "-":
        p = os.path.join(".", p)
    return p


# --------------------------------------------------------------------- API

def compress(obj: Any, prior: Optional[str] = None, *, input_format: Optional[str] = None,
             format: Optional[str] = None, bytes_per_group: Optional[int] = None,
             sign_first: bool = False, window: Optional[int] = None, threads: Optional[int] = None,
             model=None, mode: Optional[str] = None, prompt: Optional[str] = None,
             batch: Optional[int] = None, verify: bool = False, progress: Progress = None,
             return_stats: bool = False):
    """Compresses obj and returns the bytes of an ``.lmgc`` file.

    obj is a numpy array, a torch tensor, a ``state_dict`` / mapping of
    names to tensors or arrays, or the bytes of a tensor file (see
    :func:`encode`). The result is exactly what ``lmgc compress`` writes for
    the file :func:`encode` makes, named as encode names it.

    Options map to the CLI's flags: ``prior`` (None: the CLI's default,
    ``fcm``; or ``order2``, ``cm``, ``fcm2``, ``llm``),
    ``input_format`` (``raw``, ``npy``, ``safetensors``), ``format`` (the
    serialization: ``raw``, ``iso``, ``hn``, ``hs``, ...),
    ``bytes_per_group``, ``sign_first``, ``window``, ``threads``, and for
    the LLM prior ``model`` (a GGUF path), ``mode``, ``prompt``, ``batch``;
    ``verify`` decompresses the result and checks it before returning.
    ``progress``: True relays the CLI's progress bar to stderr; a callable
    is called as ``progress(stage, fraction)`` (stage ``"compress"`` or
    ``"verify"``, fraction in [0, 1]); None shows nothing.
    ``return_stats=True`` returns ``(data, stats)`` with the CLI's
    ``--json`` summary as a dict.

    Raises :class:`LmgcError` with the Go message when lmgc fails, and
    TypeError for an object it cannot code.
    """
    data, name = encode(obj)
    flags = _compress_flags(prior, input_format, format, bytes_per_group, sign_first, window,
                            threads, model, mode, prompt, batch, verify)
    with tempfile.TemporaryDirectory(prefix="lmgc-") as d:
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        stats = run(["compress", "--json"] + flags + [name, "-o", name + ".lmgc"], cwd=d, progress=progress)
        with open(os.path.join(d, name + ".lmgc"), "rb") as f:
            out = f.read()
    return (out, stats) if return_stats else out


def decompress(data: bytes, *, to: Optional[str] = None, threads: Optional[int] = None,
               model=None, batch: Optional[int] = None, progress: Progress = None) -> Any:
    """Decompresses the bytes of an ``.lmgc`` file into a Python object.

    A file made from a numpy array gives the numpy array (same dtype, shape
    and memory order); from a torch tensor, a torch tensor (on the CPU);
    from a ``state_dict`` or a mapping of arrays, an ``OrderedDict`` in the
    original order. A file the CLI made from a ``.npy`` or
    ``.safetensors`` file gives a numpy array or an ``OrderedDict`` of
    numpy arrays; from any other file (raw float32), the file's bytes. See
    :func:`decode` for ``to`` (``"numpy"`` or ``"torch"``).

    ``model`` is the GGUF file an LLM-prior file was compressed with;
    ``threads``, ``batch`` and ``progress`` are as for :func:`compress`.
    Raises :class:`LmgcError` with the Go message for a corrupt or
    truncated file, a wrong model, or any other failure.
    """
    out = _decompress_bytes(data, threads, model, batch, progress)
    if _original_format(data) not in ("npy", "safetensors"):
        return out
    return decode(out, to=to)


_MAGIC = b"LMGC\r\n\x1a\n"


def _original_format(data: bytes) -> Optional[str]:
    """original.format from an .lmgc header (docs/FORMAT.md), or None."""
    if len(data) < 16 or bytes(data[:8]) != _MAGIC:
        return None
    (n,) = struct.unpack("<I", data[12:16])
    try:
        h = json.loads(bytes(data[16:16 + n]).decode("utf-8"))
        return h["original"]["format"]
    except (ValueError, KeyError, TypeError):
        return None


def _decompress_bytes(data, threads, model, batch, progress) -> bytes:
    with tempfile.TemporaryDirectory(prefix="lmgc-") as d:
        with open(os.path.join(d, "in.lmgc"), "wb") as f:
            f.write(data)
        run(["decompress", "--json"] + _common_flags(threads, model, batch) + ["in.lmgc", "-o", "out"],
            cwd=d, progress=progress)
        with open(os.path.join(d, "out"), "rb") as f:
            return f.read()


def compress_file(src, dst=None, prior: Optional[str] = None, *, force: bool = False, **options) -> dict:
    """Compresses the tensor file src into dst, as ``lmgc compress src -o dst``.

    dst defaults to src + ``".lmgc"``. The CLI reads src itself, so any
    input it accepts works (``.f32``/``.bin`` raw float32, ``.npy``,
    ``.safetensors``, and whatever formats later CLIs add), and dst is
    byte for byte the file the CLI writes. An existing dst is refused
    unless ``force``; on failure no dst is written. Keyword options are
    those of :func:`compress` (``return_stats`` aside). Returns the CLI's
    ``--json`` summary (sizes, bits per float, time) as a dict.
    """
    progress = options.pop("progress", None)
    flags = _compress_flags(prior, options.pop("input_format", None), options.pop("format", None),
                            options.pop("bytes_per_group", None), options.pop("sign_first", False),
                            options.pop("window", None), options.pop("threads", None),
                            options.pop("model", None), options.pop("mode", None),
                            options.pop("prompt", None), options.pop("batch", None),
                            options.pop("verify", False))
    if options:
        raise TypeError("compress_file got unknown options: %s" % ", ".join(sorted(options)))
    args = ["compress", "--json"] + flags + (["--force"] if force else []) + [_arg_path(src)]
    if dst is not None:
        args += ["-o", _arg_path(dst)]
    return run(args, progress=progress)


def decompress_file(src, dst=None, *, force: bool = False, threads: Optional[int] = None,
                    model=None, batch: Optional[int] = None, progress: Progress = None) -> dict:
    """Restores the original file from the ``.lmgc`` file src, as
    ``lmgc decompress src -o dst``.

    dst defaults to src without ``.lmgc``. The output is the original file
    byte for byte (its SHA-256 is checked before anything is written); an
    existing dst is refused unless ``force``. Returns the CLI's ``--json``
    summary as a dict; raises :class:`LmgcError` on any failure.
    """
    args = ["decompress", "--json"] + _common_flags(threads, model, batch) + (["--force"] if force else [])
    args.append(_arg_path(src))
    if dst is not None:
        args += ["-o", _arg_path(dst)]
    return run(args, progress=progress)


def save(obj: Any, path, prior: Optional[str] = None, **options) -> dict:
    """Compresses obj (as :func:`compress`) into the file path.

    Like ``numpy.save`` and ``torch.save``, it replaces an existing file;
    the file appears only when complete. Keyword options are those of
    :func:`compress`. Returns the CLI's ``--json`` summary.
    """
    options.pop("return_stats", None)
    data, stats = compress(obj, prior, return_stats=True, **options)
    path = os.fspath(path)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp-",
                               dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return stats


def load(path, **options) -> Any:
    """Reads the ``.lmgc`` file path and decompresses it (as :func:`decompress`)."""
    with open(path, "rb") as f:
        data = f.read()
    return decompress(data, **options)


def inspect(src) -> dict:
    """Returns the header of an ``.lmgc`` file as a dict (``lmgc inspect --json``).

    src is a path or the file's bytes. The header names the original file
    (``original``: name, size, sha256, format, segments), the prior, the
    serialization and the streams (docs/FORMAT.md).
    """
    if isinstance(src, (bytes, bytearray, memoryview)):
        with tempfile.TemporaryDirectory(prefix="lmgc-") as d:
            with open(os.path.join(d, "in.lmgc"), "wb") as f:
                f.write(src)
            return run(["inspect", "--json", "in.lmgc"], cwd=d)
    return run(["inspect", "--json", _arg_path(src)])
