"""The data as lmgc reads it, for torchref.py and the Python tests: MNIST
from the GoMNIST module's IDX files, CIFAR-10's ImageFolder tar.gz in
lmgc's order (decoded with PIL), or lmgc's own decode (`lmgc collect
--export-data F.npz`). numpy only: no torch."""

import gzip
import io
import os
import struct
import subprocess
import tarfile

import numpy as np

MNIST_MODULE = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"


def mnist_dir():
    cache = os.environ.get("GOMODCACHE")
    if not cache:
        try:
            cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            cache = os.path.join(os.environ.get("GOPATH", os.path.expanduser("~/go")), "pkg", "mod")
    return os.path.join(cache, MNIST_MODULE, "data")


def read_idx(path):
    with open(path, "rb") as f:
        b = f.read()
    if b[:2] == b"\x1f\x8b":
        b = gzip.decompress(b)
    nd = b[3]
    dims = struct.unpack(">" + "I" * nd, b[4 : 4 + 4 * nd])
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def load_mnist():
    d = mnist_dir()
    x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
    return x[:, None, :, :].copy(), y.astype(np.int64)


def default_cifar():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("LMGC_CIFAR10", os.path.join(here, "..", "..", "..", "shared", "datasets", "cifar10-jpg.tar.gz"))


def cifar_train_members(tf):
    """The training images of an open ImageFolder tar in lmgc's order:
    [(name, class, member)] with names (train/<class>/<file>) sorted, and
    the class names sorted."""
    items = []
    for m in tf.getmembers():
        parts = m.name.split("/")
        if m.isfile() and len(parts) >= 3 and parts[-3] == "train":
            items.append((m.name, parts[-2], m))
    items.sort(key=lambda t: t[0])
    return items, sorted({c for _, c, _ in items})


def decode_jpeg(b):
    """One image file's bytes as a C,H,W uint8 array, decoded by PIL (libjpeg)."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(b)).convert("RGB")).transpose(2, 0, 1)


def load_cifar(path, cache_dir):
    """The ImageFolder tar.gz as lmgc reads it (cifar_train_members),
    decoded with PIL, cached as .npz."""
    cache = os.path.join(cache_dir, "cifar10-train.npz") if cache_dir else None
    if cache and os.path.exists(cache):
        z = np.load(cache)
        return z["x"], z["y"]
    with tarfile.open(path) as tf:
        items, classes = cifar_train_members(tf)
        x = np.empty((len(items), 3, 32, 32), dtype=np.uint8)
        y = np.empty(len(items), dtype=np.int64)
        for i, (_, c, m) in enumerate(items):
            x[i] = decode_jpeg(tf.extractfile(m).read())
            y[i] = classes.index(c)
    if cache:
        os.makedirs(cache_dir, exist_ok=True)
        np.savez(cache, x=x, y=y)
    return x, y


def load_pixels(path, dataset):
    """The train split as lmgc decodes it: the .npz written by `lmgc collect
    --dataset D --export-data F.npz` (x: N,C,H,W uint8; y: N int64)."""
    z = np.load(path)
    x, y = z["x"], z["y"]
    want = (1, 28, 28) if dataset == "mnist" else (3, 32, 32)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != want or y.shape != (x.shape[0],):
        raise SystemExit("--pixels %s: x %s %s, y %s: not %s images of %s" % (path, x.dtype, x.shape, y.shape, dataset, want))
    return x, y.astype(np.int64)
