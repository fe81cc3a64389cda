#!/usr/bin/env bash
# The real-LLM LM-GC tables of docs/RESULTS.md (issue 15): every pretrained
# model of the cache (SmolLM2-135M, Gemma 3 270M; Qwen2.5-Coder 0.5B/1.5B
# when LMGC_MODELS_LARGE=1 fetched them) and the random-weight control of
# each (lmgc model gen --like: same metadata, tokenizer and tensor shapes),
# in paper and constrained mode, on the first floats of the first files of
# every gradient set, next to every codec and lmgc's order2/cm on the same
# floats (the "llm-reference" rows); the serialization and window
# ablations with SmolLM2 on the first set. Every size is decoded and
# compared with the original by lmgc bench.
#
#   scripts/bench-real-llm.sh small OUT   # 32 floats, 1 file per set (today's engine)
#   scripts/bench-real-llm.sh full  OUT   # 4096 floats (16 KiB), 3 files per set
#
# DATA (default testdata/gradients) is a folder of gradient-set folders;
# add the VGG16/ResNet18/ViT sets of lmgc collect there for the full run.
# The full table in one process takes days on a slow engine: run it cell
# by cell, resumably, with scripts/real-llm-cells.sh instead.
set -euo pipefail
size=${1:?usage: bench-real-llm.sh small|full OUT}
out=${2:?usage: bench-real-llm.sh small|full OUT}
case $size in
small) floats=32 files=1 windows=64 ;;
full) floats=4096 files=3 windows=256,512,1024,2048 ;;
*) echo "size must be small or full" >&2; exit 2 ;;
esac
data=${DATA:-testdata/gradients}
dir=${LMGC_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/lmgc/models}
lmgc=${LMGC:-lmgc}
mkdir -p "$out"
args=()
for m in SmolLM2-135M-Instruct.Q4_1.gguf gemma-3-270m-q4_k_m.gguf \
	qwen2.5-coder-0.5b-instruct-awq-q4_k_m.gguf qwen2.5-coder-1.5b-instruct-q4_k_m.gguf; do
	[ -f "$dir/$m" ] || { echo "absent, skipped: $dir/$m" >&2; continue; }
	ctl="$out/${m%.gguf}.random.gguf"
	[ -f "$ctl" ] || "$lmgc" model gen --like "$dir/$m" --type q8_0 --seed 1 -q -o "$ctl"
	args+=(--model "$dir/$m" --model "$ctl")
done
[ ${#args[@]} -gt 0 ] || { echo "no model installed: run scripts/models.sh" >&2; exit 1; }
abl=()  # the ablations run on SmolLM2 when it is installed
[ -f "$dir/SmolLM2-135M-Instruct.Q4_1.gguf" ] && abl=(--formats iso,hn,hc,hcs,hsemi --windows "$windows" \
	--ablation-model "$dir/SmolLM2-135M-Instruct.Q4_1.gguf")
nice -n 10 "$lmgc" bench -v --quiet --data "$data" --subsets 1 --per-subset "$files" --seed 1 \
	--max-bytes 16384 --chunks 8 --priors order2,cm "${args[@]}" --modes constrained,paper \
	--llm-floats "$floats" --llm-files "$files" --llm-format hs --llm-window 512 \
	"${abl[@]}" --out "$out"
