# The Python float codecs of lmgc's baseline package (see pycodecs.go).
#
# Run by the Go package as "python -c <this file> serve": a long-lived
# process that reads requests on stdin and answers on stdout, one at a time.
# "python pycodecs.py probe" prints one line per codec: name, tab, "ok" and
# the library versions, or "unavailable" and the reason.
# "python pycodecs.py compress|decompress CODEC WIDTH [LEN] < in > out" runs
# one codec once, for whole-process timings.
#
# Request:  op (1 byte: b"c" compress, b"d" decompress), codec name length
#           (1 byte), codec name, element width (1 byte: 2 or 4), original
#           length (8 bytes, little-endian), payload length (8 bytes), payload.
# Response: status (1 byte: 0 ok, 1 error), length (8 bytes), payload (the
#           result, or a UTF-8 error message).
# The helper writes one byte, "R", once it has imported the libraries.
#
# Every codec reads the data as little-endian elements of WIDTH bytes
# (float32 for 4, bfloat16 bits as uint16 for 2); the len % WIDTH tail bytes
# are appended to the stream unchanged. Nothing here trusts a stream: the Go
# side compares every decoded result with the original.
import struct
import os
import sys

WIDTHS = (2, 4)


def _np():
    import numpy as np
    return np


def _split(src, width):
    np = _np()
    n = len(src) // width
    body = np.frombuffer(src, dtype="<u%d" % width, count=n)
    return body, bytes(src[n * width:])


def _tail_len(original_len, width):
    return original_len % width


def _join(body, tail, original_len):
    out = bytes(body) + tail
    if len(out) != original_len:
        raise ValueError("decoded %d bytes, want %d" % (len(out), original_len))
    return out


def _cut(comp, original_len, width):
    t = _tail_len(original_len, width)
    if len(comp) < t:
        raise ValueError("stream shorter than its tail")
    return comp[: len(comp) - t], comp[len(comp) - t:]


# --- Blosc2: byte shuffle or bit shuffle, then zstd level 9, one chunk ---

def _blosc2_version():
    import blosc2
    return "blosc2 %s (c-blosc2 %s)" % (blosc2.__version__, blosc2.blosclib_version.split()[0])


def _blosc2(filt):
    def enc(src, width):
        import blosc2
        f = blosc2.Filter.SHUFFLE if filt == "shuffle" else blosc2.Filter.BITSHUFFLE
        return blosc2.compress2(src, typesize=width, clevel=9, codec=blosc2.Codec.ZSTD,
                                filters=[f], filters_meta=[0], nthreads=1, splitmode=blosc2.SplitMode.AUTO_SPLIT)

    def dec(comp, original_len, width):
        import blosc2
        if original_len == 0 and comp == b"":
            return b""
        n = blosc2.get_cbuffer_sizes(comp)[0]
        if n != original_len:
            raise ValueError("blosc2 header says %d bytes, want %d" % (n, original_len))
        return bytes(blosc2.decompress2(comp, nthreads=1))
    return enc, dec


# --- pcodec: the values as unsigned integers (float32 bits as float32) ---

def _pcodec_version():
    from importlib.metadata import version
    return "pcodec %s" % version("pcodec")


def _pcodec_enc(src, width):
    np = _np()
    from pcodec import ChunkConfig, standalone
    body, tail = _split(src, width)
    if len(body) == 0:
        return tail
    arr = body.view(np.float32) if width == 4 else body
    return standalone.simple_compress(arr, ChunkConfig(compression_level=12)) + tail


def _pcodec_dec(comp, original_len, width):
    from pcodec import standalone
    body, tail = _cut(comp, original_len, width)
    if original_len < width:
        return _join(b"", tail, original_len)
    arr = standalone.simple_decompress(body)
    if arr.nbytes != original_len - len(tail) or arr.dtype.itemsize != width:
        raise ValueError("pcodec decoded %d bytes of %s" % (arr.nbytes, arr.dtype))
    return _join(arr.tobytes(), tail, original_len)


# --- ZipNN: byte grouping and Huffman/zstd, bytes in and out ---

def _zipnn_import():
    # zipnn 0.5.4 names torch's float8 dtypes at import time, which the
    # Debian torch (1.13) lacks; the byte path used here never touches them.
    import torch
    for name in ("float8_e4m3fn", "float8_e5m2"):
        if not hasattr(torch, name):
            setattr(torch, name, object())
    import zipnn
    return zipnn


def _zipnn_version():
    from importlib.metadata import version
    _zipnn_import()
    return "zipnn %s" % version("zipnn")


def _zipnn_obj(width):
    zipnn = _zipnn_import()
    return zipnn.ZipNN(input_format="byte", bytearray_dtype="float32" if width == 4 else "bfloat16", threads=1)


def _zipnn_enc(src, width):
    body, tail = _split(src, width)
    if len(body) == 0:
        return tail
    return bytes(_zipnn_obj(width).compress(body.tobytes())) + tail


def _zipnn_dec(comp, original_len, width):
    body, tail = _cut(comp, original_len, width)
    if original_len < width:
        return _join(b"", tail, original_len)
    return _join(bytes(_zipnn_obj(width).decompress(body)), tail, original_len)


# --- OpenZL: the values as a numeric input, the generic compress graph ---

def _openzl_version():
    import openzl.ext as zl
    return "openzl %d.%d.%d (format %d)" % (zl.LIBRARY_VERSION_MAJOR, zl.LIBRARY_VERSION_MINOR,
                                           zl.LIBRARY_VERSION_PATCH, zl.MAX_FORMAT_VERSION)


def _openzl_enc(src, width):
    import openzl.ext as zl
    body, tail = _split(src, width)
    if len(body) == 0:
        return tail
    c = zl.Compressor()
    c.select_starting_graph(zl.graphs.Compress()(c))
    cc = zl.CCtx()
    cc.ref_compressor(c)
    cc.set_parameter(zl.CParam.FormatVersion, zl.MAX_FORMAT_VERSION)
    return cc.compress([zl.Input(zl.Type.Numeric, body)]) + tail


def _openzl_dec(comp, original_len, width):
    import openzl.ext as zl
    body, tail = _cut(comp, original_len, width)
    if original_len < width:
        return _join(b"", tail, original_len)
    info = zl.FrameInfo(body)
    if info.num_outputs != 1 or info.output_content_size(0) != original_len - len(tail):
        raise ValueError("openzl frame is not one output of %d bytes" % (original_len - len(tail)))
    outs = zl.DCtx().decompress(body)
    return _join(outs[0].content.as_bytes(), tail, original_len)


# --- imagecodecs: SZ3 with a zero absolute error bound, zfp reversible ---

def _imagecodecs_version(key):
    def v():
        import imagecodecs
        return "imagecodecs %s (%s %s)" % (imagecodecs.__version__, key, imagecodecs.version(dict)[key])
    return v


def _float_body(src, width):
    np = _np()
    if width != 4:
        raise ValueError("float32 only (element width 4)")
    body, tail = _split(src, width)
    return body.view(np.float32), tail


def _sz3_enc(src, width):
    import imagecodecs
    arr, tail = _float_body(src, width)
    if len(arr) == 0:
        return tail
    return bytes(imagecodecs.sz3_encode(arr, mode="abs", abs=0.0)) + tail


def _sz3_dec(comp, original_len, width):
    np = _np()
    import imagecodecs
    body, tail = _cut(comp, original_len, width)
    if original_len < width:
        return _join(b"", tail, original_len)
    n = (original_len - len(tail)) // 4
    arr = imagecodecs.sz3_decode(body, shape=(n,), dtype=np.float32)
    return _join(arr.tobytes(), tail, original_len)


CODECS = {
    "blosc2-shuffle": (_blosc2("shuffle") + (_blosc2_version,)),
    "blosc2-bitshuffle": (_blosc2("bitshuffle") + (_blosc2_version,)),
    "pcodec": (_pcodec_enc, _pcodec_dec, _pcodec_version),
    "zipnn": (_zipnn_enc, _zipnn_dec, _zipnn_version),
    "openzl": (_openzl_enc, _openzl_dec, _openzl_version),
    "sz3": (_sz3_enc, _sz3_dec, _imagecodecs_version("sz3")),
}


def run(op, name, width, original_len, payload):
    if name not in CODECS:
        raise ValueError("unknown codec %r" % name)
    if width not in WIDTHS:
        raise ValueError("element width %d, want 2 or 4" % width)
    enc, dec, _ = CODECS[name]
    if op == b"c":
        return enc(payload, width)
    if op == b"d":
        return dec(payload, original_len, width)
    raise ValueError("unknown op %r" % op)


def _read(f, n):
    b = f.read(n)
    if len(b) != n:
        raise EOFError
    return b


def serve():
    fin = sys.stdin.buffer
    # The protocol gets its own copy of fd 1; fd 1 itself (and sys.stdout)
    # then go to stderr, so that whatever a codec library prints, from
    # Python or from C, cannot corrupt the framed stream.
    fout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    # Import every codec's library now, so that no request's time includes
    # an import; the ready byte tells the caller so.
    for _, _, version in CODECS.values():
        try:
            version()
        except Exception:
            pass  # reported by probe; its requests fail with the reason
    fout.write(b"R")
    fout.flush()
    while True:
        try:
            op = fin.read(1)
            if not op:
                return
            name = _read(fin, _read(fin, 1)[0]).decode()
            width = _read(fin, 1)[0]
            original_len, n = struct.unpack("<QQ", _read(fin, 16))
            payload = _read(fin, n)
        except EOFError:
            return
        try:
            out, status = run(op, name, width, original_len, payload), 0
        except Exception as e:  # reported to the caller, which fails the round trip
            out, status = ("%s: %s" % (type(e).__name__, e)).encode(), 1
        fout.write(struct.pack("<BQ", status, len(out)))
        fout.write(out)
        fout.flush()


def probe():
    for name, (_, _, version) in CODECS.items():
        try:
            print("%s\tok\t%s" % (name, version()))
        except Exception as e:
            print("%s\tunavailable\t%s: %s" % (name, type(e).__name__, str(e).replace("\n", " ")))
    sys.stdout.flush()


def main(argv):
    if argv[:1] == ["serve"]:
        serve()
    elif argv[:1] == ["probe"]:
        probe()
    elif len(argv) >= 3 and argv[0] in ("compress", "decompress"):
        data = sys.stdin.buffer.read()
        n = int(argv[3]) if len(argv) > 3 else len(data)
        out = run(argv[0][:1].encode(), argv[1], int(argv[2]), n, data)
        sys.stdout.buffer.write(out)
    else:
        sys.stderr.write(__doc__ or "usage: pycodecs.py serve | probe | compress|decompress CODEC WIDTH [LEN]\n")
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
