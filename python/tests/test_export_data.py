"""`lmgc collect --export-data`: the decoded training images, read by numpy
and compared with an independent decode of the same files (MNIST's IDX
files by numpy, CIFAR-10's JPEGs by PIL). scripts/torchref/torchref.py
--pixels trains PyTorch on such a file."""

import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "scripts" / "torchref"))
from refdata import cifar_train_members, decode_jpeg, mnist_dir, read_idx  # noqa: E402


def test_mnist_pixels_are_the_idx_files(tmp_path, cli):
    out = tmp_path / "mnist.npz"
    cli("collect", "--dataset", "mnist", "--export-data", out)
    z = np.load(out)
    assert sorted(z.files) == ["x", "x_test", "y", "y_test"]
    d = mnist_dir()
    for xk, yk, stem in (("x", "y", "train"), ("x_test", "y_test", "t10k")):
        x, y = z[xk], z[yk]
        assert x.dtype == np.uint8 and y.dtype == np.int64
        np.testing.assert_array_equal(x[:, 0], read_idx(os.path.join(d, stem + "-images-idx3-ubyte.gz")))
        np.testing.assert_array_equal(y, read_idx(os.path.join(d, stem + "-labels-idx1-ubyte.gz")))
    # An existing file is not overwritten without --force.
    with pytest.raises(subprocess.CalledProcessError) as e:
        cli("collect", "--dataset", "mnist", "--export-data", out)
    assert b"already exists" in e.value.stderr


def test_cifar10_pixels_match_pil(tmp_path, cli):
    tar = REPO.parent / "shared" / "datasets" / "cifar10-jpg.tar.gz"
    if not tar.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("%s is missing" % tar)
        pytest.skip("%s is missing (the shared datasets)" % tar)
    pytest.importorskip("PIL.Image")
    out = tmp_path / "cifar.npz"
    cli("collect", "--dataset", str(tar), "--export-data", out)
    z = np.load(out)
    x, y = z["x"], z["y"]
    assert x.shape == (50000, 3, 32, 32) and y.shape == (50000,)
    with tarfile.open(tar) as tf:
        items, classes = cifar_train_members(tf)
        assert len(items) == len(x)
        np.testing.assert_array_equal(y, [classes.index(c) for _, c, _ in items])
        picks = range(0, len(items), 97)
        ref = np.stack([decode_jpeg(tf.extractfile(items[i][2]).read()) for i in picks])
    diff = np.abs(x[list(picks)].astype(np.int16) - ref.astype(np.int16))
    # Go's image/jpeg and libjpeg differ in chroma upsampling and colour
    # conversion (docs/TRAINING.md: mean |d| 1.31 levels over the train
    # split); a wrong layout or image order would differ by tens of levels.
    assert diff.mean() < 2.5, diff.mean()
    assert (diff == 0).mean() > 0.3, (diff == 0).mean()
