"""Shared fixtures. Under CI=true a missing torch fails the run instead of
skipping (as the Go tests do for missing test data)."""

import os
import subprocess
from pathlib import Path

import pytest

import lmgc

REPO = Path(__file__).resolve().parents[2]
GRADIENTS = REPO / "testdata" / "gradients" / "convnet-mnist-2ep"


def require(module):
    """Imports module, or skips the test (fails under CI=true) without it."""
    if os.environ.get("CI") == "true":
        return __import__(module)
    return pytest.importorskip(module)


@pytest.fixture
def torch():
    return require("torch")


@pytest.fixture
def cli():
    """cli(*args, cwd=None) runs the lmgc binary the package uses; returns
    the CompletedProcess (check=True)."""

    def run(*args, cwd=None):
        return subprocess.run([lmgc.binary()] + [str(a) for a in args], cwd=cwd,
                              capture_output=True, check=True)

    return run


@pytest.fixture
def gradient_file():
    """A real ConvNet/MNIST gradient (safetensors written by lmgc collect)."""
    p = GRADIENTS / "grad-000000.safetensors"
    if not p.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("%s is missing" % p)
        pytest.skip("%s is missing" % p)
    return p


def pytest_report_header(config):
    return "lmgc package: %s; lmgc binary: %s" % (os.path.dirname(lmgc.__file__), lmgc.binary())
