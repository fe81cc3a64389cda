// Package baseline implements the classical lossless compressors that the
// LM-GC paper compares against (PNG, FLAC, GZIP, LZMA, FPZIP) plus stronger
// general-purpose ones (zstd, zstd on byte planes, bzip2, zpaq) and the
// current float codecs (zfp, Blosc2, pcodec, ZipNN, OpenZL, SZ3), and
// measures their compression rate on a byte stream, unchunked or in the
// paper's 512-byte chunks.
//
// Every size this package reports comes from a stream that was decompressed
// again and compared byte for byte with the original: Measure returns an
// error, never a number, when a round trip fails.
//
// # How each codec is run
//
// Pure Go (always available):
//
//   - gzip: compress/gzip at level 9, a real gzip member (10-byte header,
//     no file name, CRC-32 and size trailer) like Python's gzip.compress.
//     Go's deflate at level 9 is not zlib's, so sizes differ slightly
//     from the paper's Python; on incompressible data Go ends each stream
//     with an empty stored block, 5 bytes more than zlib.
//   - png: the bytes as an 8-bit grayscale image of the two closest factors
//     of the length, the smaller one as the width (the paper's
//     _get_the_two_closest_factors feeds PIL's (width, height): a 512-byte
//     chunk is 16 wide and 32 high), written by image/png with
//     png.BestCompression. The paper used PIL with optimize=True (zlib
//     level 9); Go's deflate and filter choice differ, so sizes do too.
//
// External programs from Debian (a codec whose program is missing reports
// an error wrapping ErrUnavailable that names the package to install; it is
// never counted):
//
//   - lzma: "xz --format=xz --check=crc64 -6 -T1", package xz-utils. This
//     is liblzma's preset 6 (LZMA2, 8 MiB dictionary, lc3 lp0 pb2, BT4,
//     nice_len 64) in an xz container with a CRC64 check, and its output
//     is byte-identical to Python's lzma.compress (checked by a test when
//     python3 is present). github.com/ulikunitz/xz is a different encoder
//     and gives other sizes (see the tests and docs/BENCHMARKS.md).
//
//   - flac: Debian's flac program (libFLAC, package flac) with
//     "--best -e -p" (level 8 plus exhaustive model search and
//     quantized-coefficient precision search), the bytes as 8-bit unsigned
//     mono PCM at 16 kHz, no padding and no seek table. The VORBIS_COMMENT
//     block the program always writes (about 44 bytes of vendor string) is
//     removed, so a stream is "fLaC", STREAMINFO and the audio frames: a
//     minimal valid FLAC file. The paper used ffmpeg's encoder at
//     compression level 12 via pydub, which turns 8-bit input into 16-bit
//     samples and writes 8 KiB of padding; see docs/BENCHMARKS.md for the
//     measured difference.
//
//   - fpzip: the fpzip program of package fpzip-utils (LLNL fpzip 1.3.0,
//     the library the paper's Python binding wraps), lossless (full
//     precision), the bytes read as little-endian float32 values of a 1-D
//     array of nx = len/4 values, as the binding does for a 1-D array in C
//     order. The coded values are byte-identical to what libfpzip writes
//     when called as the binding calls it, and so is the size; only the
//     header's precision field differs (the program writes 32, the binding
//     0; both mean full precision). Input whose length is not a multiple
//     of 4 is zero-padded to one; Decompress checks that the padding comes
//     back as zeros, and accepts only the header of the expected array
//     size, so a damaged header cannot make fpzip allocate more.
//
//   - zstd: the zstd program (package zstd) at its strongest level,
//     "--ultra -22", with the content size in the frame header and no
//     frame checksum (the library's ZSTD_compress default).
//
//   - byteplanes: the same zstd setting after splitting every 4-byte float
//     into byte planes (all first bytes, then all second bytes, ...), as
//     ZipNN does for model weights; a tail of len%4 bytes is appended as is.
//
//   - bzip2: the bzip2 program (package bzip2) with -9, which is the
//     libbz2 that Python's bz2.compress uses.
//
//   - zpaq: Debian's zpaq 7.15 (package zpaq), "zpaq a -m5 -t1": method 5,
//     its strongest context-mixing models, on one thread. zpaq only
//     archives files, so the data is written as a file named d (fixed
//     mtime) and the stream is the whole archive, index and the ~1 KB
//     model description it carries included. Decompress lists the archive
//     first and extracts only when it holds the one file d of the expected
//     size.
//
//   - zfp: Debian's zfp 1.0 program (package zfp), "-R" reversible
//     (lossless) mode, the data as a 1-D float32 array, without zfp's
//     optional header (the decoder is given the array size, as every
//     Decompress is given the length). Padded like fpzip.
//
// Python float codecs, in a virtual environment that scripts/setup.sh
// makes in ~/.cache/lmgc/pycodecs with pinned versions (blosc2 4.14.1,
// pcodec 1.1.0, zipnn 0.5.4, openzl 0.3.0, imagecodecs 2026.3.6), or the
// interpreter $LMGC_PYCODECS_PYTHON names. pycodecs.py, embedded in the
// package, runs in up to GOMAXPROCS long-lived helper processes that
// answer framed requests on stdin/stdout, so timings are the libraries'
// own plus a pipe round trip (no Python start-up). Each reads the data as
// little-endian float32 values; its "/16" variant (WithElementWidth 2,
// ByName "pcodec/16") as 16-bit elements, for bfloat16 and float16. A
// len%width tail is stored after the stream as is.
//
//   - blosc2-shuffle, blosc2-bitshuffle: python-blosc2's compress2, one
//     Blosc2 chunk (its header counted), byte or bit shuffle of typesize
//     4 (2), zstd at clevel 9, one thread.
//   - pcodec: pcodec's standalone format at compression level 12 (its
//     maximum), float32 values (16-bit: uint16).
//   - zipnn: ZipNN's byte mode (byte grouping, then Huffman or zstd chosen
//     per chunk, method AUTO), dtype float32 (16-bit: bfloat16), one
//     thread. zipnn 0.5.4 names torch float8 dtypes at import time that
//     Debian's torch 1.13 lacks; the helper defines placeholders, which
//     the byte path never uses.
//   - openzl: OpenZL's generic compress graph on a numeric input of 4-byte
//     (2-byte) elements, newest frame format.
//   - sz3: SZ3 3.3 through imagecodecs, absolute error bound 0 (lossless in
//     practice; like every codec here, each round trip is verified),
//     float32 only.
//
// Why programs and not cgo: the lmgc binary then builds everywhere, with or
// without cgo and the -dev packages, and a missing program only turns its
// codec off. The programs are the libraries' own front ends (liblzma,
// libFLAC, libfpzip, libzstd, libbz2), so the streams are the libraries'
// streams. The price is one process per compressed stream: timings of
// those codecs include process start-up (about 2 ms, 10 ms for xz, whose
// preset 6 sets up large match-finder tables) and are not comparable with
// in-process codecs.
package baseline
