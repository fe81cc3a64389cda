#!/usr/bin/env bash
# The full real-LLM table of issue 15, one cell at a time, resumable across
# sessions. A cell is one `lmgc bench` run: one model (a real GGUF file or
# its random-weight control) x one mode x one gradient file x floats x
# serialization x window, with every codec and order2/cm on the same floats
# (the llm-reference rows). Its results.json is renamed into
# docs/results/real-llm/<cell>.json only when the run finished (every size
# decoded and checked by lmgc bench), so a killed cell leaves nothing, and a
# present cell is never run again. A cell whose input the mode refuses
# (paper mode: the tokens do not decode back to the text) is recorded as
# <cell>.refused with the error, listed as refused, and not run again. The name holds only inputs that decide
# the sizes (model sha256, mode, set, file, floats, format, window): sizes
# are bit-identical across kernel paths, so a cell from any binary counts;
# the lmgc commit that ran it is recorded in its .json ("command").
#
#   scripts/real-llm-cells.sh plan          # every planned cell, best first
#   scripts/real-llm-cells.sh status        # cells done / planned, the missing and refused listed
#   scripts/real-llm-cells.sh run [UNTIL]   # run missing cells (UNTIL, a `date -d` time:
#                                           # interrupt the running cell then, start no more)
#   scripts/real-llm-cells.sh render        # status, then the present cells merged
#                                           # (lmgc bench --from a.json b.json ...)
#
# Env: LMGC (binary, default lmgc), LMGC_COMMIT (the commit it was built
# from, default HEAD), DATA (default testdata/gradients),
# LMGC_MODELS (model cache), CELLS (default docs/results/real-llm),
# THREADS (default 2), FLOATS (default 4096 = 16 KiB), ONLY (an extended
# regular expression: run only the cells whose name matches, in plan order).
set -euo pipefail
cd "$(dirname "$0")/.."
lmgc=${LMGC:-lmgc}
data=${DATA:-testdata/gradients}
dir=${LMGC_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/lmgc/models}
cells=${CELLS:-docs/results/real-llm}
threads=${THREADS:-2}
floats=${FLOATS:-4096}
ctldir=${CTLDIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lmgc/random-controls}

# Sets in table order; the last three are committed as slices (the first
# 65,536 floats of three steps each of the Run E VGG16/ResNet18/ViT runs,
# testdata/gradients/README.md); a set whose folder is absent from DATA
# is still planned, its cells listed missing (data absent).
sets="convnet-mnist-2ep convnet-cifar10-2ep convnet-mnist-lr0.1 convnet-cifar10-lr0.1 vgg16 resnet18 vit"
smol=SmolLM2-135M-Instruct.Q4_1.gguf
gemma=gemma-3-270m-q4_k_m.gguf
qwen05=qwen2.5-coder-0.5b-instruct-awq-q4_k_m.gguf
qwen15=qwen2.5-coder-1.5b-instruct-q4_k_m.gguf

sha() { awk -v n="$1" '$1 == n { print substr($2, 1, 12) }' internal/models/models.txt; }

# files SET: the first three .npy files of SET, completed to three with
# the placeholders file2, file3 (planned, listed missing: data absent).
files() {
	local have=() n
	[ -d "$data/$1" ] && mapfile -t have < <(cd "$data/$1" && ls -- *.npy 2>/dev/null | sort | sed 's/\.npy$//')
	for n in 1 2 3; do echo "${have[n - 1]:-file$n}"; done
}

# plan prints one line per cell: name model control(0|1) mode set file
# format window offset (floats skipped at the start of the file: 0, or
# the start of a tensor, named ".oOFFSET" after the floats).
cell() { # model control mode set file format window [offset]
	local tag off=${8:-0} at=
	tag="$(sha "$1")"
	[ "$2" = 1 ] && tag="$tag-random"
	[ "$off" = 0 ] || at=".o$off"
	echo "${1%.gguf}-$tag.$3.$4.$5.f$floats$at.$6.w$7 $1 $2 $3 $4 $5 $6 $7 $off"
}
main_cells() { # model control mode: every set, file 1 of each set first
	local n s f
	for n in 1 2 3; do
		for s in $sets; do
			f=$(files "$s" | sed -n "${n}p")
			[ -n "$f" ] && cell "$1" "$2" "$3" "$s" "$f" hs 512
		done
	done
}
plan() {
	main_cells $smol 0 constrained
	main_cells $smol 1 constrained
	main_cells $smol 0 paper
	main_cells $smol 1 paper
	main_cells $gemma 0 constrained
	main_cells $gemma 1 constrained
	main_cells $gemma 0 paper
	main_cells $gemma 1 paper
	local s=${sets%% *} f fm w
	for f in $(files "$s"); do
		for fm in iso hn hc hcs hsemi; do cell $smol 0 paper "$s" "$f" "$fm" 512; done
		for w in 256 1024 2048; do cell $smol 0 paper "$s" "$f" hs "$w"; done
	done
	for m in $qwen05 $qwen15; do
		main_cells $m 0 constrained
		main_cells $m 1 constrained
		main_cells $m 0 paper
		main_cells $m 1 paper
	done
	# The paper's regime where it has its zeros: the conv3 weight of the
	# lr-0.1 MNIST ConvNet (float 149,376 on: conv1 1,152 + its bias 128 +
	# norm1 256 + conv2 147,456 + 128 + norm2 256; 72-84 % exact zeros at
	# step 200), where the first 4096 floats (conv1) have none.
	for f in $(files convnet-mnist-lr0.1); do
		cell $smol 0 constrained convnet-mnist-lr0.1 "$f" hs 512 149376
		cell $smol 1 constrained convnet-mnist-lr0.1 "$f" hs 512 149376
		cell $smol 0 paper convnet-mnist-lr0.1 "$f" hs 512 149376
		cell $gemma 0 constrained convnet-mnist-lr0.1 "$f" hs 512 149376
	done
}

# why NAME MODEL SET FILE: empty when the cell can run here, else the reason.
why() {
	[ -f "$dir/$2" ] || { echo "model absent ($2: scripts/models.sh)"; return; }
	[ -f "$data/$3/$4.npy" ] || echo "data absent ($data/$3/$4.npy: lmgc collect)"
}

status() {
	local done=0 refused=0 total=0 r name model ctl mode set file fm w
	while read -r name model ctl mode set file fm w off; do
		total=$((total + 1))
		if [ -f "$cells/$name.json" ]; then
			done=$((done + 1))
		elif [ -f "$cells/$name.refused" ]; then
			refused=$((refused + 1))
			echo "refused: $name: $(cat "$cells/$name.refused")"
		else
			r=$(why "$name" "$model" "$set" "$file")
			echo "missing: $name${r:+ ($r)}"
		fi
	done < <(plan)
	echo "cells done: $done / planned: $total (refused by the mode, never to be done: $refused)"
}

runcell() { # name model control mode set file format window offset
	local name=$1 model=$dir/$2 tmp at=
	[ "$9" = 0 ] || at="+o$9"
	if [ "$3" = 1 ]; then
		mkdir -p "$ctldir"
		local ctl=$ctldir/${2%.gguf}.random.gguf
		[ -f "$ctl" ] || "$lmgc" model gen --like "$model" --type q8_0 --seed 1 -q -o "$ctl"
		model=$ctl
	fi
	tmp=$(mktemp -d)
	# A set folder holding only this file: the cell's set is "SET@FILE"
	# ("SET@FILE+oOFFSET" for a cell at an offset).
	mkdir "$tmp/$5@$6$at"
	ln -s "$(realpath "$data/$5/$6.npy")" "$tmp/$5@$6$at/$6.npy"
	# With UNTIL, a cell still running then gets SIGINT (lmgc bench exits
	# non-zero, the cell is not published).
	local stop=()
	[ -n "${until:-}" ] && stop=(timeout -s INT -k 60 $(($(date -u -d "$until" +%s) - $(date -u +%s))))
	if "${stop[@]}" nice -n 19 "$lmgc" bench --quiet --data "$tmp/$5@$6$at" --subsets 1 --per-subset 1 --seed 1 \
		--max-bytes $((floats * 4)) --chunks 1 --threads "$threads" --priors order2,cm \
		--model "$model" --modes "$4" --llm-floats "$floats" --llm-offset "$9" --llm-files 1 \
		--llm-format "$7" --llm-window "$8" --out "$tmp/out" >/dev/null; then
		# Record the binary that ran it, then publish atomically.
		local commit
		commit=${LMGC_COMMIT:-$(git rev-parse --short HEAD)}
		sed "s|\"command\": \"lmgc bench|\"command\": \"lmgc@$commit bench|" "$tmp/out/results.json" >"$cells/.$name.tmp"
		mv "$cells/.$name.tmp" "$cells/$name.json"
		echo "done: $name"
	elif [ -f "$tmp/out/results.json" ] &&
		refusal=$(grep -o '"error": "[^"]*use constrained mode[^"]*"' "$tmp/out/results.json" | head -1) && [ -n "$refusal" ]; then
		# Paper mode refused this input (its tokens do not decode back to
		# it): a property of the input and tokenizer, the same on every
		# run. Recorded, so that status lists it as refused and run skips it.
		echo "${refusal#\"error\": }" >"$cells/$name.refused"
		echo "refused: $name" >&2
	else
		echo "failed or interrupted: $name" >&2
	fi
	rm -rf "$tmp"
}

case ${1:-} in
plan) plan ;;
status) status ;;
run)
	until=${2:-}
	mkdir -p "$cells"
	plan | while read -r name model ctl mode set file fm w off; do
		[ -f "$cells/$name.json" ] || [ -f "$cells/$name.refused" ] && continue
		[ -n "${ONLY:-}" ] && ! grep -Eq -- "$ONLY" <<<"$name" && continue
		[ -n "$(why "$name" "$model" "$set" "$file")" ] && continue
		if [ -n "$until" ] && [ "$(date -u +%s)" -ge "$(date -u -d "$until" +%s)" ]; then
			echo "stopping: $until reached"
			break
		fi
		t0=$(date +%s)
		runcell "$name" "$model" "$ctl" "$mode" "$set" "$file" "$fm" "$w" "$off"
		echo "  $(($(date +%s) - t0)) s"
	done
	;;
render)
	# The count and every missing cell first, then the present cells merged.
	shopt -s nullglob
	js=("$cells"/*.json)
	status
	[ ${#js[@]} -eq 0 ] || { echo; "$lmgc" bench --from "${js[@]}"; }
	;;
*) echo "usage: real-llm-cells.sh plan|status|run [UNTIL]|render" >&2; exit 2 ;;
esac
