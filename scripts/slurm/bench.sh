#!/usr/bin/env bash
# Wall and CPU time of a sharded compress on the running Slurm (SLURM_CONF
# set; cluster.sh start), against one machine's lmgc compress, for 1, 2 and
# 4 tasks (docs/BENCHMARKS.md). Every lmgc run goes through /usr/bin/time.
#
#   LMGC=path/to/lmgc scripts/slurm/bench.sh IN [lmgc compress flags...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
in=$(realpath "$1")
shift
lmgc=$(realpath "${LMGC:-$(command -v lmgc)}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
name=in.${in##*.} # keeps the extension the format may be told by
cp "$in" "$work/$name"
cd "$work"

# The wrapper the jobs run: records "wall user sys argv" per invocation.
cat >timed <<EOF
#!/usr/bin/env bash
exec /usr/bin/time -a -o "$work/times" -f "%e %U %S \$1 \$*" "$lmgc" "\$@"
EOF
chmod +x timed

one() { # one machine, no Slurm
	/usr/bin/time -f "%e %U %S" -o t "$lmgc" compress --quiet --force "$@" "$name" -o one.lmgc
	read -r w u s <t
	printf '| one machine, lmgc compress %s | - | %s | %.2f | - | - |\n' "$*" "$w" "$(echo "$u + $s" | bc)"
}

echo "| run | tasks | wall s (submit to merged) | CPU s, all tasks | CPU s, merge | merged = one machine |"
echo "|---|---|---|---|---|---|"
one --threads 1 "$@"
one --threads 2 "$@"
for n in 1 2 4; do
	rm -rf parts m.lmgc times
	start=$(date +%s.%N)
	read -r job final < <(LMGC=$work/timed "$here/submit.sh" compress "$name" parts "$n" m.lmgc "$@")
	while squeue -h -j "$job,$final" 2>/dev/null | grep -q .; do sleep 0.1; done
	end=$(date +%s.%N)
	tasks=$(awk '$4 == "compress" {c += $2 + $3} END {printf "%.2f", c}' times)
	merge=$(awk '$4 == "merge" {printf "%.2f", $2 + $3}' times)
	same=no
	cmp -s m.lmgc one.lmgc && same=yes
	printf '| Slurm array + merge job | %d | %.2f | %s | %s | %s |\n' "$n" "$(echo "$end - $start" | bc)" "$tasks" "$merge" "$same"
done
