"""Finding and running the lmgc command-line program.

The Python package does no coding itself: every compression and
decompression runs the Go ``lmgc`` binary, so the files it writes are the
CLI's files, byte for byte. This module finds the binary, runs it, turns a
non-zero exit into :class:`LmgcError` carrying the Go message, and
optionally relays the CLI's progress bar.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

__all__ = ["LmgcError", "binary"]

#: Environment variable naming the lmgc binary to use.
ENV_BIN = "LMGC_BIN"

_PKG_DIR = Path(__file__).resolve().parent
_BUNDLED = _PKG_DIR / "_bin" / ("lmgc.exe" if os.name == "nt" else "lmgc")
_GO_MODULE = "module github.com/lmgc/lmgc"

_lock = threading.Lock()
_cached: Optional[str] = None

Progress = Union[None, bool, Callable[[str, float], None]]


class LmgcError(Exception):
    """An lmgc command failed, or the lmgc binary could not be found or run.

    ``str(err)`` is the Go program's error message (the CLI's last
    ``lmgc <command>: ...`` line on stderr). Attributes:

    - ``message``: that message;
    - ``returncode``: the CLI's exit status (1: bad input or a failed
      operation, 2: bad usage), or None when the CLI did not run;
    - ``stderr``: everything the CLI wrote on stderr, progress bar removed;
    - ``args_``: the command line that was run.
    """

    def __init__(self, message: str, returncode: Optional[int] = None,
                 stderr: str = "", args_: Sequence[str] = ()):
        super().__init__(message)
        self.message = message
        self.returncode = returncode
        self.stderr = stderr
        self.args_ = list(args_)


def _repo_root() -> Optional[Path]:
    """The lmgc source checkout this package sits in (python/lmgc), if any."""
    root = _PKG_DIR.parent.parent
    try:
        with open(root / "go.mod", encoding="utf-8") as f:
            first = f.readline().strip()
    except OSError:
        return None
    if first != _GO_MODULE or not (root / "cmd" / "lmgc").is_dir():
        return None
    return root


def _build_from_repo(root: Path) -> Optional[str]:
    """Builds cmd/lmgc of the checkout with ``go build``; None if Go is absent.

    The binary goes to a per-user, per-checkout cache directory. It is
    rebuilt once per Python process (Go's build cache makes that quick), so
    it always matches the checkout's source.
    """
    go = shutil.which("go")
    if go is None:
        return None
    tag = re.sub(r"[^A-Za-z0-9]+", "_", str(root)).strip("_")[-80:]
    out_dir = None
    for base in (os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                 os.path.join(tempfile.gettempdir(), "lmgc-python-%s" % getattr(os, "getuid", lambda: "")())):
        try:
            out_dir = Path(base) / "lmgc-python" / tag
            out_dir.mkdir(parents=True, exist_ok=True)
            break
        except OSError:
            out_dir = None
    if out_dir is None:
        raise LmgcError("no writable cache directory to build the lmgc binary in (set LMGC_BIN)")
    target = out_dir / _BUNDLED.name
    # Build into a unique name and rename, so concurrent processes never run
    # a half-written binary.
    fd, tmp = tempfile.mkstemp(prefix=".lmgc-build-", dir=out_dir)
    os.close(fd)
    try:
        r = subprocess.run([go, "build", "-o", tmp, "./cmd/lmgc"], cwd=root,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise LmgcError("building the lmgc binary with 'go build ./cmd/lmgc' in %s failed: %s"
                            % (root, r.stderr.strip()), r.returncode, r.stderr)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return str(target)


def binary() -> str:
    """Returns the path of the lmgc binary this package runs.

    It is looked up once per process, in this order:

    1. the ``LMGC_BIN`` environment variable;
    2. when the package sits in an lmgc source checkout (``python/lmgc``)
       and ``go`` is on PATH: ``go build ./cmd/lmgc`` of that checkout, into
       ``~/.cache/lmgc-python/`` (rebuilt once per process, so it matches
       the source);
    3. the binary built into the package when it was installed
       (``pip install ./python`` runs ``go build`` when Go is available);
    4. ``lmgc`` on PATH.

    Raises :class:`LmgcError` when none is found.
    """
    global _cached
    with _lock:
        if _cached is not None:
            return _cached
        env = os.environ.get(ENV_BIN)
        if env:
            path = shutil.which(env) or env
            if not os.path.isfile(path) or not os.access(path, os.X_OK):
                raise LmgcError("%s=%s is not an executable file" % (ENV_BIN, env))
            found = os.path.abspath(path)
        else:
            found = None
            root = _repo_root()
            if root is not None:
                found = _build_from_repo(root)
            if found is None and os.access(_BUNDLED, os.X_OK):
                found = str(_BUNDLED)
            if found is None:
                found = shutil.which("lmgc")
            if found is None:
                raise LmgcError("the lmgc binary was not found: set %s, put lmgc on PATH, "
                                "or install the package from an lmgc checkout with Go available" % ENV_BIN)
        _cached = found
        return found


# The CLI's progress bar: "\r\033[K<label> [====    ]  42.0% ..." on a terminal.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_BAR = re.compile(r"([A-Za-z]+) \[[= ]*\]\s+([0-9.]+)%")


def _clean(text: str) -> str:
    """Removes the progress bar's redraws from captured stderr."""
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = _ANSI.sub("", line.split("\r")[-1]) if "\r" in line else _ANSI.sub("", line)
        lines.append(line)
    return "\n".join(lines).strip("\n")


def _message(stderr: str, returncode: int) -> str:
    """The Go error message: the last 'lmgc ...:' line, else the last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith("lmgc"):
            return ln
    if lines:
        return lines[-1]
    return "lmgc exited with status %d and no message" % returncode


def _run_with_pty(cmd, cwd, progress) -> tuple:
    """Runs cmd with stderr on a pseudo-terminal, so the CLI draws its bar.

    Bar updates go to sys.stderr (progress is True) or to the callback
    progress(stage, fraction). Returns (returncode, stdout, stderr).
    """
    import pty  # POSIX only
    import tty

    master, slave = pty.openpty()
    try:
        tty.setraw(slave)  # no \n -> \r\n translation
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=slave, close_fds=True)
            os.close(slave)
            slave = -1
            chunks = []
            pending = ""
            while True:
                try:
                    b = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    b = b""
                if not b:
                    break
                text = b.decode("utf-8", "replace")
                chunks.append(text)
                if progress is True:
                    sys.stderr.write(text)
                    sys.stderr.flush()
                elif callable(progress):
                    pending += text
                    parts = pending.split("\r")
                    pending = parts[-1]
                    for part in parts[:-1]:
                        m = _BAR.search(_ANSI.sub("", part))
                        if m:
                            progress(m.group(1), min(float(m.group(2)) / 100.0, 1.0))
            if callable(progress):
                m = _BAR.search(_ANSI.sub("", pending))
                if m:
                    progress(m.group(1), min(float(m.group(2)) / 100.0, 1.0))
            rc = proc.wait()
            out.seek(0)
            stdout = out.read().decode("utf-8", "replace")
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    return rc, stdout, "".join(chunks)


def run(args: Sequence[str], cwd: Optional[str] = None, progress: Progress = None) -> dict:
    """Runs ``lmgc ARGS...`` and returns its JSON summary (``{}`` if none).

    Raises LmgcError with the Go message when the CLI exits non-zero.
    """
    cmd = [binary()] + [str(a) for a in args]
    try:
        if progress and os.name == "posix":
            rc, stdout, stderr = _run_with_pty(cmd, cwd, progress)
        else:
            r = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True)
            rc = r.returncode
            stdout = r.stdout.decode("utf-8", "replace")
            stderr = r.stderr.decode("utf-8", "replace")
    except OSError as e:
        raise LmgcError("cannot run %s: %s" % (cmd[0], e), None, "", cmd) from None
    stderr = _clean(stderr)
    if rc != 0:
        raise LmgcError(_message(stderr, rc), rc, stderr, cmd)
    return _summary(stdout, stderr)


def _summary(stdout: str, stderr: str) -> dict:
    """The --json summary: from stdout, or from stderr (where older CLIs
    print it under --quiet)."""
    dec = json.JSONDecoder()
    for text in (stdout, stderr):
        i = text.find("{")
        while i >= 0:
            try:
                v, _ = dec.raw_decode(text, i)
            except ValueError:
                i = text.find("{", i + 1)
                continue
            if isinstance(v, dict):
                return v
            i = text.find("{", i + 1)
    return {}
