#!/usr/bin/env bash
# ctx-bench.sh LMGC [OUTDIR]: lmgc's LLM prior next to llama.cpp at lmgc's
# own context lengths (issue #10), side by side in one run.
#
# First (unless MUSTSHOW=0) a real gradient compressed and decompressed from
# the CLI with the SmolLM2-135M q8_0 shape (/usr/bin/time -v, cmp). Then for
# every model and context N (window), ROUNDS times, alternating (round 1:
# lmgc first, round 2: llama.cpp first, ...):
#   LMGC model bench --model M --window N --tokens T --threads THREADS --input GRADIENT
#   engine/llamacpp's TestBenchContext (build tag enginebench) on the same
#   model, N and gradient: llama.cpp prompt processing of N positions at
#   context N (llama_decode calls of 512 and of N tokens) and lock-step
#   decode of lmgc's W windows as W sequences (see bench_ctx_test.go).
# and last a table of positions/s with the ratios lmgc / llama.cpp
# (`$0 --table LOG` makes it again from a log, e.g. a partial one).
#
# LMGC is the lmgc binary to measure (the llama.cpp side is built from this
# checkout). OUTDIR (default /tmp/ctx-bench) gets the generated models,
# ctx-bench.log (everything) and table.md. Environment knobs:
#   ROUNDS=2  THREADS=2  CONTEXTS="512:4096 2048:16384" (N:coded digits, 10 windows each)
#   MODELS="a.gguf b.gguf" (default: SmolLM2-135M shape q8_0 and q4_k_m,
#     generated into OUTDIR with seed 1, and ~/.cache/lmgc/models/SmolLM2-135M-Instruct.Q4_1.gguf)
#   TINYLLAMA=1 adds the TinyLlama-1.1B shape q8_0 (1.2 GB; minutes) at TINY_CONTEXTS (default "512:1024")
#   GRADIENT=testdata/gradients/convnet-cifar10-2ep/grad-000754.npy
#   FLASH=0 (llama.cpp flash attention: 0, 1 or 0,1)
#   LOCKSTEP_MAX_S= (stop llama.cpp's lock step after this many seconds: its
#     speed is then that of the shallower positions, marked * in the table)
#   MUSTSHOW=1  MUSTSHOW_FLOATS=2048 (first floats of GRADIENT for the compress/decompress)
set -euo pipefail
table() { # table LOG: the markdown table of a log
python3 - "$1" <<'EOF'
import collections, statistics, sys
# rows[(model, N)][run]: (value, stopped early) per round; kind 4 is
# positions/s, kind 5 CPU ms per position.
rows = {4: collections.defaultdict(lambda: collections.defaultdict(list)),
        5: collections.defaultdict(lambda: collections.defaultdict(list))}
for line in open(sys.argv[1]):
    if not line.startswith("RESULT\t"):
        continue
    f = line.rstrip("\n").split("\t")
    for k in rows:
        rows[k][(f[1], int(f[2]))][f[3]].append((float(f[k]), f[8] != "full"))
cols = ["lmgc-encode", "lmgc-decode", "prompt512", "promptN", "prompt512all", "lockstep"]
heads = "| model | N | lmgc encode | lmgc decode | llama.cpp prompt, n_batch 512 | llama.cpp prompt, n_batch N | llama.cpp prompt, n_batch 512, logits of every position | llama.cpp W-sequence lock step |"

def table(kind, digits, ratios, titles, note):
    print(heads + "".join(f" {t} |" for t in titles))
    print("|---" * (8 + len(titles)) + "|")
    for (m, n), r in rows[kind].items():
        def cell(k):
            v = r.get(k, [])
            return " / ".join(f"{x:.{digits}f}" + ("*" if cut else "") for x, cut in v) if v else "-"
        def ratio(a, b):
            if not r.get(a) or not r.get(b):
                return "-"
            return f"**{statistics.mean(x for x, _ in r[a]) / statistics.mean(x for x, _ in r[b]):.2f}**"
        print(f"| {m} | {n} | " + " | ".join(cell(k) for k in cols) + " | " + " | ".join(ratio(a, b) for a, b in ratios) + " |")
    print()
    print(note)

table(4, 0, [("lmgc-encode", "prompt512"), ("lmgc-encode", "promptN"), ("lmgc-decode", "lockstep")],
      ["encode / prompt 512", "encode / prompt N", "decode / lock step"],
      "positions/s, wall, one value per round (round 1 / round 2 ...); ratios of the means; * a lock step stopped early (LOCKSTEP_MAX_S): the speed of its shallower positions only.")
print()
table(5, 2, [("prompt512", "lmgc-encode"), ("promptN", "lmgc-encode"), ("lockstep", "lmgc-decode")],
      ["prompt 512 / encode", "prompt N / encode", "lock step / decode"],
      "CPU ms per position (user+system of the process, all its threads; spinning included), one value per round; ratios llama.cpp / lmgc of the means (above 1: lmgc uses less CPU per position).")
EOF
}
if [ "${1:-}" = --table ]; then
	[ $# -eq 2 ] || { echo "usage: $0 --table LOG" >&2; exit 2; }
	table "$2"
	exit
fi
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: $0 LMGC [OUTDIR]" >&2; exit 2; }
lmgc=$(realpath "$1")
out=${2:-/tmp/ctx-bench}
[ -x "$lmgc" ] || { echo "$0: $lmgc is not an executable" >&2; exit 2; }
cd "$(dirname "$0")/.."
root=$PWD
mkdir -p "$out"
out=$(realpath "$out")
rounds=${ROUNDS:-2}
threads=${THREADS:-2}
contexts=${CONTEXTS:-"512:4096 2048:16384"}
gradient=$(realpath "${GRADIENT:-testdata/gradients/convnet-cifar10-2ep/grad-000754.npy}")
flash=${FLASH:-0}
log=$out/ctx-bench.log
: >"$log"
say() { echo "$*" | tee -a "$log"; }

if [ ! -d engine/llamacpp/node_modules/node-llama-cpp ]; then
	say "installing node-llama-cpp (llama.cpp reference)"
	(cd engine/llamacpp && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
go test -c -tags enginebench -o "$out/llamacpp.test" ./engine/llamacpp

gen() { # gen SHAPE TYPE: the path of a generated model (made once)
	local f=$out/$1-$2.gguf
	[ -s "$f" ] || "$lmgc" model gen --shape "$1" --type "$2" --seed 1 -o "$f" >>"$log" 2>&1
	echo "$f"
}
if [ -n "${MODELS:-}" ]; then
	read -r -a models <<<"$MODELS"
else
	models=("$(gen smollm2-135m q8_0)" "$(gen smollm2-135m q4_k_m)")
	real=$HOME/.cache/lmgc/models/SmolLM2-135M-Instruct.Q4_1.gguf
	[ -s "$real" ] && models+=("$real")
fi
cases=()
for m in "${models[@]}"; do
	for c in $contexts; do cases+=("$m@$c"); done
done
if [ "${TINYLLAMA:-0}" = 1 ]; then
	tiny=$(gen tinyllama-1.1b q8_0)
	for c in ${TINY_CONTEXTS:-512:1024}; do cases+=("$tiny@$c"); done
fi

say "ctx-bench $(date -u +%FT%TZ): lmgc $lmgc ($(sha256sum "$lmgc" | cut -c1-12)), checkout $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- engine/llamacpp prior/llm || echo '+changes')"
say "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; threads $threads; gradient $gradient"
say "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

run_lmgc() { # MODEL N DIGITS ROUND
	local o
	say "## round $4: lmgc model bench --model $(basename "$1") --window $2 --tokens $3 --threads $threads (load $(cut -d' ' -f1 /proc/loadavg))"
	o=$("$lmgc" model bench --model "$1" --window "$2" --tokens "$3" --threads "$threads" --input "$gradient" 2>&1) || { echo "$o" >&2; exit 1; }
	echo "$o" >>"$log"
	echo "$o" | awk -v m="$(basename "$1")" -v n="$2" -v r="$4" '
		/ model positions, / { for (i = 1; i <= NF; i++) if ($i == "positions,") { pos = $(i-2) } }
		/^(encode|decode): / { sub(":", "", $1); printf "RESULT\t%s\t%s\tlmgc-%s\t%s\t%s\t%s\t-\tfull\tround%s\n", m, n, $1, $2, $(NF-2), pos, r }' | tee -a "$log"
}
run_llamacpp() { # MODEL N DIGITS ROUND
	local o
	say "## round $4: llama.cpp TestBenchContext --model $(basename "$1") N=$2 digits $3 (load $(cut -d' ' -f1 /proc/loadavg))"
	o=$(cd engine/llamacpp && LMGC_BENCH_MODELS=$1 LMGC_BENCH_CONTEXTS=$2:$3 LMGC_BENCH_THREADS=$threads LMGC_BENCH_FLASH=$flash LMGC_BENCH_LOCKSTEP_MAX_S=${LOCKSTEP_MAX_S:-} \
		LMGC_BENCH_INPUT=$gradient "$out/llamacpp.test" -test.run '^TestBenchContext$' -test.v -test.count=1 -test.timeout 60m 2>&1) ||
		{ echo "$o" >&2; exit 1; }
	echo "$o" | grep -v '^RESULT' >>"$log"
	echo "$o" | awk -v r="$4" '/^RESULT\t/ { print $0 "\tround" r }' | tee -a "$log"
}

if [ "${MUSTSHOW:-1}" = 1 ]; then
	floats=${MUSTSHOW_FLOATS:-2048}
	smol=$(gen smollm2-135m q8_0)
	slice=$out/grad-head-$floats.npy
	bash scripts/npy-head.sh "$gradient" "$floats" "$slice"
	say "## must show: $floats floats of $(basename "$gradient"), $(basename "$smol"), $threads threads (load $(cut -d' ' -f1 /proc/loadavg))"
	rm -f "$slice.lmgc" "$out/back.npy"
	/usr/bin/time -v "$lmgc" compress --prior llm --model "$smol" --threads "$threads" -o "$slice.lmgc" "$slice" >"$out/compress.out" 2>"$out/compress.time"
	/usr/bin/time -v "$lmgc" decompress --model "$smol" --threads "$threads" -o "$out/back.npy" "$slice.lmgc" >"$out/decompress.out" 2>"$out/decompress.time"
	cmp "$slice" "$out/back.npy"
	for what in compress decompress; do
		cat "$out/$what.out" >>"$log"
		say "$what: $(sed -n 's/^\tElapsed (wall clock) time (h:mm:ss or m:ss): /wall /p' "$out/$what.time"), $(sed -n 's/^\tUser time (seconds): /user /p' "$out/$what.time") s, $(sed -n 's/^\tMaximum resident set size (kbytes): /peak RSS /p' "$out/$what.time") kB"
	done
	say "decompressed file identical to the input (cmp): $(stat -c %s "$slice") bytes -> $(stat -c %s "$slice.lmgc") bytes"
fi

for c in "${cases[@]}"; do
	m=${c%@*} nd=${c#*@}
	n=${nd%:*} d=${nd#*:}
	for ((r = 1; r <= rounds; r++)); do
		if ((r % 2 == 1)); then
			run_lmgc "$m" "$n" "$d" "$r"
			run_llamacpp "$m" "$n" "$d" "$r"
		else
			run_llamacpp "$m" "$n" "$d" "$r"
			run_lmgc "$m" "$n" "$d" "$r"
		fi
	done
done
say "load average at the end of the pairs: $(cut -d' ' -f1-3 /proc/loadavg)"


table "$log" >"$out/table.md"
cat "$out/table.md" | tee -a "$log"
