#!/usr/bin/env bash
# A sweep on the local Slurm cluster (tools/slurm/cluster.sh), checked against the same sweep run
# as one process:
#   1. `tinyarch sweep --slurm 3` writes the job array; sbatch submits it (3 shards, 2 cells each);
#   2. while task 1 is in the middle of a cell, `scontrol requeue` stops it (SIGTERM: tinyarch
#      finishes its step, writes a checkpoint and exits 143) and Slurm starts it again, going on
#      from the checkpoint; while task 2 is, its
#      job script gets the USR1 that Slurm sends two minutes before a time limit, stops
#      tinyarch the same way and requeues itself;
#   3. once the array is done, the same experiment runs as a single process;
#   4. the two sets of records must be equal, record for record (timings aside), and so must
#      the two reports' tables.
#
#   tools/slurm/sweep-check.sh [--down]   (needs a release build: cargo build --release)
#
# Data: `$TINYARCH_DATA`, or ../shared/corpora beside the repository. About four minutes on two
# cores. Exits 0 only if every check passes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tinyarch=$repo/target/release/tinyarch
data=${TINYARCH_DATA:-$repo/../shared/corpora}
down_after=0
[ "${1:-}" = --down ] && down_after=1
[ -x "$tinyarch" ] || { echo "build first: cargo build --release" >&2; exit 1; }

t0=$(date +%s)
step() { printf '[%3ss] %s\n' "$(($(date +%s) - t0))" "$*"; }

"$here/cluster.sh" up 2>&1
eval "$("$here/cluster.sh" env)"
work=$(mktemp -d "$TINYARCH_SLURM_DIR/sweep-check.XXXXXX")
chmod 755 "$work"
step "cluster is up; work folder $work"

# Six cells: two models at three budgets, a few seconds of training each.
cat >"$work/check.ron" <<EOF
(
    corpus: "tiny-shakespeare",
    models: [(file: "$repo/models/study/linear.model"), (file: "$repo/models/study/mlp.model")],
    budgets: [1e11, 2e11, 3e11],
    seeds: [1],
    settings: (max_eval_batches: 20, eval_interval: 20),
)
EOF

"$tinyarch" sweep "$work/check.ron" --slurm 3 --slurm-cpus 1 --out "$work/array" --data "$data" >"$work/job.sh"
step "job file written by: tinyarch sweep check.ron --slurm 3 --slurm-cpus 1 --out array"
sed 's/^/    /' "$work/job.sh"
jid=$(sbatch --parsable "$work/job.sh")
jid=${jid%%;*}
step "submitted job array $jid"

declare -A state
poll() {
    local k s
    while read -r k s; do [[ $k =~ ^[0-9]+$ ]] && state[$k]=$s; done \
        < <(squeue -h -t all -j "$jid" -o '%K %T' 2>/dev/null || true)
}
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
    local deadline=$(($(date +%s) + $1)) what=$2
    shift 2
    until poll; "$@"; do
        [ "$(date +%s)" -lt "$deadline" ] || { step "timed out waiting for: $what"; return 1; }
        sleep 0.5
    done
}

# Task I runs shard I: cells I and I + 3. mid_cell I: task I is training one of them (its curve
# grows, it has no record yet); sets `cell`.
mid_cell() {
    local c f
    [ "${state[$1]:-}" = RUNNING ] || return 1
    for c in $("$tinyarch" sweep "$work/check.ron" --dry-run --shard "$1/3" | awk 'NR > 1 {print $2}'); do
        f=$work/array/tiny-shakespeare/$c
        if [ -s "$f/curve.jsonl" ] && [ ! -e "$f/results.jsonl" ]; then
            cell=$c
            return 0
        fi
    done
    return 1
}
steps_so_far() { wc -l <"$work/array/tiny-shakespeare/$cell/curve.jsonl"; }
# A requeue by Slurm (as preemption does): TERM to every process of the task.
wait_for 300 "task 1 in the middle of a cell" mid_cell 1
interrupted_cell=$cell
step "task 1 is training $cell ($(steps_so_far) steps so far): scontrol requeue ${jid}_1"
scontrol requeue "${jid}_1"
# The warning before a time limit (`--signal=B:USR1@120`), sent now: the task stops tinyarch and
# requeues itself.
wait_for 300 "task 2 in the middle of a cell" mid_cell 2
step "task 2 is training $cell ($(steps_so_far) steps so far): USR1 to its job script, as before a time limit"
scancel --batch --signal=USR1 "${jid}_2"

terminal() { case $1 in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED) return 0 ;; esac; return 1; }
all_done() {
    local i
    for i in 0 1 2; do terminal "${state[$i]:-}" || return 1; done
    [ -z "$(squeue -h -j "$jid" 2>/dev/null)" ]
}
wait_for 900 "the array to finish" all_done
step "array finished: 0=${state[0]} 1=${state[1]} 2=${state[2]}"

step "the same experiment as one process (one thread, as each array task had)"
RAYON_NUM_THREADS=1 "$tinyarch" sweep "$work/check.ron" --out "$work/single" --data "$data" -q >/dev/null

# A finished sweep prints its records without training; timings differ from run to run.
records() {
    "$tinyarch" sweep "$work/check.ron" --out "$1" --data "$data" --json -q \
        | sed -E 's/"wall_seconds":[^,]*,//; s/"tokens_per_second":[^,]*,//' | sort
}
records "$work/array" >"$work/array.jsonl"
records "$work/single" >"$work/single.jsonl"
"$tinyarch" report "$work/array" >/dev/null
"$tinyarch" report "$work/single" >/dev/null
table() { grep '^|' "$1/report.md"; }

passed=0
failed=0
check() {
    local what=$1
    shift
    if "$@"; then echo "  ok   $what"; passed=$((passed + 1)); else echo "  FAIL $what"; failed=$((failed + 1)); fi
}
log1=$(ls "$work"/array/slurm/"${jid}"_1.out)
step "checks:"
for i in 0 1 2; do check "task $i ended COMPLETED" [ "${state[$i]:-}" = COMPLETED ]; done
check "task 1 was requeued once" grep -q 'Restarts=1 ' <(scontrol show job "${jid}_1")
check "task 2 requeued itself once" grep -q 'Restarts=1 ' <(scontrol show job "${jid}_2")
check "task 2's tinyarch stopped on the warning and kept its finished cells" \
    grep -q 'interrupted: finished cells are kept' "$work/array/slurm/${jid}_2.out"
check "task 1's tinyarch stopped on SIGTERM and kept its finished cells" \
    grep -q 'interrupted: finished cells are kept' "$log1"
check "task 1 went on from the interrupted cell's checkpoint" grep -q 'going on from step' "$log1"
check "the interrupted cell finished" \
    grep -q '"status":"completed"' "$work/array/tiny-shakespeare/$interrupted_cell/results.jsonl"
check "6 records from the array" [ "$(wc -l <"$work/array.jsonl")" = 6 ]
check "the array's records equal the single process's, record for record" \
    diff "$work/array.jsonl" "$work/single.jsonl"
check "the two reports' tables are equal" diff <(table "$work/array") <(table "$work/single")
echo "--- task 1's log"
sed 's/^/    /' "$log1"
echo "--- the report's table"
table "$work/array" | sed 's/^/    /'
if [ "$down_after" = 1 ]; then "$here/cluster.sh" down 2>&1; fi
step "sweep-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
