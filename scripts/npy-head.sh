#!/usr/bin/env bash
# npy-head.sh FULL.npy N OUT.npy: writes the first N floats of a flat
# float32 .npy (lmgc collect's grad-NNNNNN.npy, '<f4', C order, version
# 1.0, 128-byte header) as a .npy of shape (N,), with the header lmgc
# collect and numpy write (the dict padded with spaces to 128 bytes). It
# makes the committed slices of the VGG16/ResNet18/ViT sets
# (testdata/gradients/README.md); lmgc does not need it.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 FULL.npy N OUT.npy" >&2; exit 2; }
full=$1 n=$2 out=$3
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "$0: N must be a positive integer, got '$n'" >&2; exit 2; }
head=$(head -c 128 -- "$full" | tr -d '\0')
want="{'descr': '<f4', 'fortran_order': False, 'shape': ("
case $head in
$'\x93NUMPY\x01'v"$want"*) ;;
*) echo "$0: $full is not a version-1.0 '<f4' C-order .npy with a 128-byte header" >&2; exit 1 ;;
esac
have=${head#*\'shape\': (}
have=${have%%,*}
[ "$have" -ge "$n" ] || { echo "$0: $full holds $have floats, fewer than $n" >&2; exit 1; }
dict="$want$n,), }"
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
	printf '\x93NUMPY\x01\x00\x76\x00'
	printf '%-117s\n' "$dict"
	dd if="$full" bs=1M iflag=skip_bytes,count_bytes skip=128 count=$((4 * n)) status=none
} >"$tmp"
[ "$(stat -c %s "$tmp")" -eq $((128 + 4 * n)) ] || { echo "$0: short read from $full" >&2; exit 1; }
chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
