#!/usr/bin/env python3
"""Rates (100 x compressed / original) of lmgc's priors and the usual tools
on folders of gradient files, every size checked by decoding.

usage: scripts/priors-ratios.py LMGC SET=DIR[,DIR...] ...

Per set it sums over the set's files: xz -6, zstd -19, byte planes + zstd -19
(the float bytes split into planes, each plane and the rest zstd -19), zpaq
-m5 (Debian zpaq; its decoding checked on the run's first file, ZPAQ_CHECK=0: not), and
lmgc --prior cm, fcm (fast) and fcm2 (strong) (LMGC_ONLY=1: these alone), each
lmgc file written with --verify and decompressed again here. It also sums
the user+system CPU seconds of each lmgc compression and decompression.
Prints one Markdown row per set.
"""
import json, os, resource, struct, subprocess, sys, tempfile

def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"{cmd}: {r.stderr.decode()[-500:]}")
    return r.stdout

def cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime

def floats(path, data):
    """(start, end, width) of the float region(s) of an .npy or .safetensors file."""
    if path.endswith(".npy"):
        n = struct.unpack("<H", data[8:10])[0]
        hdr = data[10:10 + n].decode()
        w = 2 if "'<f2'" in hdr else 4
        return [(10 + n, len(data), w)]
    n = struct.unpack("<Q", data[:8])[0]
    h = json.loads(data[8:8 + n])
    out = []
    for k, v in h.items():
        if k == "__metadata__":
            continue
        w = {"F32": 4, "BF16": 2, "F16": 2}.get(v["dtype"])
        if w:
            s, e = v["data_offsets"]
            out.append((8 + n + s, 8 + n + e, w))
    return out

def zstd(b):
    c = run(["zstd", "-19", "-q", "-c"], input=b)
    assert run(["zstd", "-d", "-q", "-c"], input=c) == b
    return len(c)

def byteplanes(path, data):
    regs = floats(path, data)
    rest, planes = bytearray(), {}
    pos = 0
    for s, e, w in regs:
        rest += data[pos:s]
        for k in range(w):
            planes.setdefault((w, k), bytearray()).extend(data[s + k:e:w])
        pos = e
    rest += data[pos:]
    return zstd(bytes(rest)) + sum(zstd(bytes(p)) for p in planes.values())

def main():
    lmgc = sys.argv[1]
    tmp = tempfile.mkdtemp()
    lmgc_only = os.environ.get("LMGC_ONLY") == "1"  # the lmgc columns alone (tools' columns shown as 0)
    zpaq_checked = os.environ.get("ZPAQ_CHECK") == "0"  # a run that splits the sets checks it once
    cols = ["xz -6", "zstd -19", "planes+zstd", "zpaq -m5", "cm", "fcm", "fcm2"]
    print("| set | files | " + " | ".join(cols) + " | best tool | fcm / best | fcm2 / best | cpu s/MB fcm c/d | cpu s/MB fcm2 c/d |")
    print("|" + "---|" * (len(cols) + 7))
    for arg in sys.argv[2:]:
        name, dirs = arg.split("=", 1)
        files = sorted(os.path.realpath(os.path.join(d, f)) for d in dirs.split(",") for f in os.listdir(d)
                       if f.endswith((".npy", ".safetensors")))  # zpaq skips symbolic links
        tot = {c: 0 for c in cols}
        orig = 0
        t = {p: [0.0, 0.0] for p in ("cm", "fcm", "fcm2")}
        for f in files:
            data = open(f, "rb").read()
            orig += len(data)
            out = os.path.join(tmp, "x")
            for p in ("cm", "fcm", "fcm2"):
                lf = os.path.join(tmp, "x.lmgc")
                c0 = cpu()
                run([lmgc, "compress", "--prior", p, "--threads", "1", "--quiet", "--force", "--verify", "-o", lf, f])
                c1 = cpu()
                run([lmgc, "decompress", "--threads", "1", "--quiet", "--force", "-o", out, lf])
                c2 = cpu()
                assert open(out, "rb").read() == data
                tot[p] += os.path.getsize(lf)
                t[p][0] += c1 - c0
                t[p][1] += c2 - c1
            if lmgc_only:
                continue
            c = run(["xz", "-6", "-c"], input=data)
            assert run(["xz", "-d", "-c"], input=c) == data
            tot["xz -6"] += len(c)
            tot["zstd -19"] += zstd(data)
            tot["planes+zstd"] += byteplanes(f, data)
            arc = os.path.join(tmp, "a.zpaq")
            if os.path.exists(arc):
                os.remove(arc)
            run(["zpaq", "a", arc, os.path.abspath(f), "-m5"], cwd=tmp)
            out = os.path.join(tmp, "x")
            out = os.path.join(tmp, "x")
            if not zpaq_checked:  # zpaq -m5 decodes as slowly as it codes: checked on the run's first file
                zpaq_checked = True
                run(["zpaq", "x", arc, os.path.abspath(f), "-to", out, "-force"], cwd=tmp)
                assert open(out, "rb").read() == data
            tot["zpaq -m5"] += os.path.getsize(arc)
        rate = {c: 100 * tot[c] / orig for c in cols}
        best = min(("xz -6", "zstd -19", "planes+zstd", "zpaq -m5"), key=lambda c: rate[c] or 1e9)
        if lmgc_only:
            rate[best] = 1e-9
        mb = orig / 1e6
        # compress --verify decodes too: its cpu less one decompression is the compression
        fc = lambda p: f"{(t[p][0] - t[p][1]) / mb:.3f} / {t[p][1] / mb:.3f}"
        print(f"| {name} | {len(files)} | " + " | ".join(f"{rate[c]:.2f}" for c in cols) +
              f" | {rate[best]:.2f} ({best}) | {rate['fcm'] / rate[best]:.3f} | {rate['fcm2'] / rate[best]:.3f} | {fc('fcm')} | {fc('fcm2')} |", flush=True)

main()
