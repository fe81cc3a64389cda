#!/usr/bin/env bash
# Sizes of lmgc --level strong with and without --lowrank, zpaq -m5 and
# xz -9e on tensor files; every lmgc file is decoded (--verify, then
# lmgc decompress + cmp). Usage: scripts/lowrank-bench.sh LMGC FILE...
# Prints: file, original bytes, xz, zpaq -m5, strong, strong+lowrank,
# strong+lowrank / best baseline, CPU s (user+sys) of strong and
# strong+lowrank compression.
set -euo pipefail
lmgc=$1; shift
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' file bytes xz zpaq-m5 strong strong+lowrank ratio cpu-strong cpu-lowrank
for f in "$@"; do
  f=$(realpath "$f")
  b=$(basename "$(dirname "$f")")/$(basename "$f")
  o="$tmp/out.lmgc"
  xzn=$(xz -9e -c "$f" | wc -c)
  (cd "$tmp" && cp "$f" in.bin && zpaq a z.zpaq in.bin -m5 >/dev/null 2>&1); zp=$(stat -c%s "$tmp/z.zpaq"); rm -f "$tmp/z.zpaq" "$tmp/in.bin"
  sizes=(); cpus=()
  for flags in "" "-lowrank"; do
    t0=$( { /usr/bin/time -f '%U %S' "$lmgc" compress -level strong $flags -threads 1 -verify -quiet -force -o "$o" "$f" ; } 2>&1 | tail -1 | awk '{print $1+$2}')
    "$lmgc" decompress -quiet -force -o "$tmp/back" "$o"
    cmp "$tmp/back" "$f"
    sizes+=("$(stat -c%s "$o")"); cpus+=("$t0")
  done
  best=$(( xzn < zp ? xzn : zp ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%.3f\t%s\t%s\n' "$b" "$(stat -c%s "$f")" "$xzn" "$zp" "${sizes[0]}" "${sizes[1]}" "$(echo "${sizes[1]}/$best" | bc -l)" "${cpus[0]}" "${cpus[1]}"
done
