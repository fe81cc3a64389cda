"""Builds the Go lmgc binary into the package when installed from a checkout.

``pip install ./python`` (from an lmgc source checkout, with ``go`` on PATH)
runs ``go build ./cmd/lmgc`` and ships the binary as lmgc/_bin/lmgc, so the
installed package needs no lmgc on PATH. Without Go, or outside a checkout,
the package installs without it and finds the CLI at run time (LMGC_BIN or
PATH; see lmgc.binary).
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _checkout():
    try:
        first = (ROOT / "go.mod").read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return False
    return first == "module github.com/lmgc/lmgc" and (ROOT / "cmd" / "lmgc").is_dir()


BUILD_GO = _checkout() and shutil.which("go") is not None and not os.environ.get("LMGC_NO_GO_BUILD")


class BuildPyWithGo(build_py):
    def run(self):
        super().run()
        if not BUILD_GO:
            return
        out = Path(self.build_lib).resolve() / "lmgc" / "_bin"
        out.mkdir(parents=True, exist_ok=True)
        name = "lmgc.exe" if os.name == "nt" else "lmgc"
        subprocess.check_call(["go", "build", "-trimpath", "-o", str(out / name), "./cmd/lmgc"], cwd=ROOT)


class BinaryDistribution(Distribution):
    """A wheel carrying a native binary is platform-specific."""

    def has_ext_modules(self):
        return BUILD_GO


setup(cmdclass={"build_py": BuildPyWithGo}, distclass=BinaryDistribution)
