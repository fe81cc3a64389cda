#!/usr/bin/env bash
# Submit a sharded lmgc run to Slurm: the job array and the job that
# finishes it, which waits for every task to succeed (afterok).
#
#   submit.sh compress   IN PARTS N OUT.lmgc [lmgc compress flags...]
#   submit.sh decompress IN.lmgc OUT N [lmgc decompress flags...]
#
# Prints "ARRAY_JOB_ID FINAL_JOB_ID". If a task fails, the final job never
# runs (it is cancelled: --kill-on-invalid-dep); submit the failed index
# again alone and a new final job after it, e.g. for compress:
#   job=$(sbatch --parsable --array=2 compress.sbatch IN PARTS N [flags...])
#   sbatch --dependency=afterok:$job merge.sbatch PARTS N OUT.lmgc
# Extra sbatch options (a partition, an account) go in SBATCH_* variables.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() {
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
[[ $# -ge 4 ]] || usage
mode=$1
shift
case $mode in
compress)
	[[ $# -ge 4 ]] || usage
	in=$1 parts=$2 n=$3 out=$4
	shift 4
	mkdir -p "$parts"
	job=$(sbatch --parsable --array=0-$((n - 1)) "$here/compress.sbatch" "$in" "$parts" "$n" "$@")
	final=$(sbatch --parsable --kill-on-invalid-dep=yes --dependency=afterok:"$job" "$here/merge.sbatch" "$parts" "$n" "$out")
	;;
decompress)
	in=$1 out=$2 n=$3
	shift 3
	job=$(sbatch --parsable --array=0-$((n - 1)) "$here/decompress.sbatch" "$in" "$out" "$n" "$@")
	final=$(sbatch --parsable --kill-on-invalid-dep=yes --dependency=afterok:"$job" "$here/verify.sbatch" "$in" "$out")
	;;
*)
	echo "$0: unknown mode $mode (compress or decompress)" >&2
	exit 2
	;;
esac
echo "${job%%;*} ${final%%;*}"
