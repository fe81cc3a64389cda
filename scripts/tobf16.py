#!/usr/bin/env python3
"""Rounds float32 .npy gradients to bfloat16 (round to nearest, ties to even,
on the top 16 bits) and writes the bits as raw little-endian uint16 files
(NAME.bf16), for the bfloat16 baseline table of docs/RESULTS.md.

usage: scripts/tobf16.py OUTDIR FILE.npy...
"""
import os
import sys

import numpy as np


def to_bf16(f32):
    u = f32.astype("<f4").view("<u4").astype(np.uint64)
    r = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    nan = np.isnan(f32)
    r[nan] = (u[nan] >> 16) | 0x40  # keep NaNs NaN (quiet bit)
    return r.astype("<u2")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    out = argv[0]
    os.makedirs(out, exist_ok=True)
    for path in argv[1:]:
        a = np.load(path, allow_pickle=False)
        if a.dtype != np.dtype("<f4"):
            sys.exit("%s: dtype %s, want <f4" % (path, a.dtype))
        dst = os.path.join(out, os.path.splitext(os.path.basename(path))[0] + ".bf16")
        to_bf16(a.ravel()).tofile(dst)


if __name__ == "__main__":
    main(sys.argv[1:])
