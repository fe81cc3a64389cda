#!/usr/bin/env bash
# Whole-process speeds of the baseline codecs on one raw file, side by side
# in one run: each codec's own program (or one Python process running
# baseline/pycodecs.py for the Python codecs, start-up and imports
# included) compresses the file and decompresses it again; the output is
# compared with the input. Prints a Markdown table: size, rate, wall and
# CPU (user+sys) seconds and MB/s (10^6 bytes of input per wall second)
# both ways.
#
# usage: scripts/codec-speed.sh FILE [WIDTH]   (WIDTH 4: float32, 2: bf16)
set -euo pipefail
in=$(realpath "$1")
width=${2:-4}
py=${LMGC_PYCODECS_PYTHON:-$HOME/.cache/lmgc/pycodecs/bin/python}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=$(stat -c %s "$in")
floats=$((n / 4))
TIMEFORMAT='%R %U %S'

# measure NAME 'COMPRESS CMD' 'DECOMPRESS CMD': both read $tmp/in or
# $tmp/c and write $tmp/c or $tmp/out.
measure() {
  local name=$1 ct dt
  rm -f "$tmp/c" "$tmp/out"
  ct=$( { time bash -c "$2" >/dev/null 2>&1; } 2>&1 )
  dt=$( { time bash -c "$3" >/dev/null 2>&1; } 2>&1 )
  cmp -s "$tmp/in" "$tmp/out" || { echo "| $name | ROUND TRIP FAILED | | | | |"; return; }
  local c
  c=$(stat -c %s "$tmp/c")
  awk -v name="$name" -v n="$n" -v c="$c" -v ct="$ct" -v dt="$dt" 'BEGIN {
    split(ct, a, " "); split(dt, b, " ");
    printf "| %s | %d | %.2f | %.2f (%.2f cpu) | %.2f (%.2f cpu) | %.2f / %.2f |\n",
      name, c, 100 * c / n, a[1], a[2] + a[3], b[1], b[2] + b[3], n / a[1] / 1e6, n / b[1] / 1e6 }'
}

cp "$in" "$tmp/in"
cd "$tmp"
echo "Input: $(basename "$in"), $n bytes, element width $width. $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)."
echo
echo "| codec | bytes | rate % | compress s | decompress s | MB/s compress / decompress |"
echo "|---|---|---|---|---|---|"
measure "xz -6" "xz -6 -T1 -c in > c" "xz -d -c c > out"
measure "zstd -19" "zstd -19 -q -c in > c" "zstd -d -q -c c > out"
measure "zstd --ultra -22" "zstd --ultra -22 -q -c in > c" "zstd -d -q -c c > out"
measure "zpaq -m5" "rm -f a.zpaq; zpaq a a.zpaq in -m5 -t1 && mv a.zpaq c" "rm -rf x; cp c a.zpaq && zpaq x a.zpaq in -to x -t1 && mv x out"
if [ "$width" = 4 ]; then
  measure "zfp -R" "zfp -q -f -1 $floats -R -i in -z c" "zfp -q -f -1 $floats -R -z c -o out"
fi
for codec in blosc2-shuffle blosc2-bitshuffle pcodec zipnn openzl sz3; do
  [ "$width" = 2 ] && [ "$codec" = sz3 ] && continue
  measure "$codec (python)" "'$py' '$here/baseline/pycodecs.py' compress $codec $width < in > c" \
    "'$py' '$here/baseline/pycodecs.py' decompress $codec $width $n < c > out"
done
measure "python start-up + numpy (reference)" "'$py' -c 'import numpy' && cp in c" "'$py' -c 'import numpy' && cp c out"
