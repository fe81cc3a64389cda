#!/usr/bin/env bash
# Peak memory of the streaming CLI on a large file (issue #12): generates a
# deterministic float32 file (default 4 GiB), compresses and decompresses it
# with the default prior under /usr/bin/time -v, and checks the round trip.
# Not part of CI (it takes long); results go to docs/BENCHMARKS.md.
#   scripts/stream-rss.sh [DIR] [FLOATS]
set -euo pipefail
dir=${1:-/tmp/lmgc-rss}
n=${2:-1073741824} # 4 GiB of float32
cd "$(dirname "$0")/.."
mkdir -p "$dir"
go build -o "$dir/lmgc" ./cmd/lmgc
go build -o "$dir/genf32" ./scripts/genf32
[ -f "$dir/big.f32" ] || "$dir/genf32" -o "$dir/big.f32" -n "$n"
rm -f "$dir/big.f32.lmgc" "$dir/big.out.f32"
/usr/bin/time -v "$dir/lmgc" compress "$dir/big.f32" -o "$dir/big.f32.lmgc" 2>"$dir/compress.time" | tee "$dir/compress.out"
/usr/bin/time -v "$dir/lmgc" decompress "$dir/big.f32.lmgc" -o "$dir/big.out.f32" 2>"$dir/decompress.time" | tee "$dir/decompress.out"
cmp "$dir/big.f32" "$dir/big.out.f32" && echo "round trip identical"
grep -E "Maximum resident|Elapsed|User time|System time" "$dir/compress.time" "$dir/decompress.time"
ls -l "$dir/big.f32" "$dir/big.f32.lmgc"
