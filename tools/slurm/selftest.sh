#!/usr/bin/env bash
# Self-test of the local Slurm cluster (tools/slurm/cluster.sh): a 3-task job array, a requeue of
# task 1 while it runs, and completion of every task. Exits 0 only if every check passes.
#
#   tools/slurm/selftest.sh [--down]     --down: stop the cluster afterwards
#
# Takes about a minute: each task sleeps 20 s, the node has `nproc` CPUs, and a requeued task
# waits ~10 s (AuthInfo cred_expire) before it may start again.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
down_after=0
[ "${1:-}" = --down ] && down_after=1

t0=$(date +%s)
step() { printf '[%3ss] %s\n' "$(($(date +%s) - t0))" "$*"; }

step "cluster.sh up"
"$here/cluster.sh" up 2>&1
eval "$("$here/cluster.sh" env)"
step "cluster is up: SLURM_CONF=$SLURM_CONF"

work=$(mktemp -d "$TINYARCH_SLURM_DIR/selftest.XXXXXX")
chmod 755 "$work"

# The job: one line when it starts (with Slurm's restart count), one when done. Slurm sends
# SIGTERM to every process of the job when it is requeued (and, via --signal=B:TERM@30, to the
# batch shell 30 s before the time limit): note it and exit at once instead of waiting for the
# SIGKILL that follows KillWait seconds later. `sleep & wait` so the trap runs immediately.
cat >"$work/job.sh" <<'EOF'
#!/bin/bash
id=$SLURM_ARRAY_TASK_ID
log=$SELFTEST_DIR/task-$id.log
trap 'echo "task $id term" >>"$log"; exit 143' TERM
echo "task $id start ${SLURM_RESTART_COUNT:-0}" >>"$log"
sleep 20 &
wait $!
echo "task $id done" >>"$log"
EOF
chmod 755 "$work/job.sh"

jid=$(sbatch --parsable --array=0-2 --requeue --signal=B:TERM@30 --time=3 \
    --job-name=selftest --chdir="$work" --output="$work/slurm-%A_%a.out" \
    --export=ALL,SELFTEST_DIR="$work" "$work/job.sh")
jid=${jid%%;*}
step "submitted job array $jid (tasks 0-2) from $work"

# Last state seen for each task; squeue -t all keeps finished tasks for MinJobAge seconds.
declare -A state
poll() {
    local k s
    while read -r k s; do
        [[ $k =~ ^[0-9]+$ ]] && state[$k]=$s
    done < <(squeue -h -t all -j "$jid" -o '%K %T' 2>/dev/null || true)
}
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds
    local limit=$1 what=$2
    shift 2
    local deadline=$(($(date +%s) + limit))
    until poll; "$@"; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            step "timed out after ${limit}s waiting for: $what"
            return 1
        fi
        sleep 1
    done
}

task1_running() { [ "${state[1]:-}" = RUNNING ] && grep -q '^task 1 start 0$' "$work/task-1.log" 2>/dev/null; }
terminal() {
    case $1 in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED) return 0 ;; esac
    return 1
}
all_finished() {
    local i
    for i in 0 1 2; do terminal "${state[$i]:-}" || return 1; done
    [ -z "$(squeue -h -j "$jid" 2>/dev/null)" ]
}

fail_now() {
    step "FAILED: $*"
    squeue -t all -j "$jid" || true
    for f in "$work"/task-*.log; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done
    echo "--- logs: $TINYARCH_SLURM_DIR/log/slurmctld.log $TINYARCH_SLURM_DIR/log/slurmd.log"
    exit 1
}

wait_for 60 "task 1 running" task1_running || fail_now "task 1 never started"
step "task 1 is running (task states: 0=${state[0]:-?} 1=${state[1]:-?} 2=${state[2]:-?})"

scontrol requeue "${jid}_1"
requeued_at=$(date +%s)
step "scontrol requeue ${jid}_1"

term_seen() { grep -q '^task 1 term$' "$work/task-1.log"; }
wait_for 30 "task 1 to note SIGTERM" term_seen || fail_now "task 1 did not note SIGTERM"
step "task 1 noted SIGTERM after $(($(date +%s) - requeued_at))s and exited"

restarted() { grep -q '^task 1 start 1$' "$work/task-1.log"; }
wait_for 120 "task 1 to start again" restarted || fail_now "task 1 did not restart"
step "task 1 started again (SLURM_RESTART_COUNT=1)"

wait_for 120 "every task to finish" all_finished || fail_now "array did not finish"
step "array finished: task states 0=${state[0]} 1=${state[1]} 2=${state[2]}"

# Checks.
passed=0
failed=0
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then
        echo "  ok   $what"
        passed=$((passed + 1))
    else
        echo "  FAIL $what"
        failed=$((failed + 1))
    fi
}
count() { grep -c -- "$1" "$work/task-$2.log" 2>/dev/null || true; }
step "checks:"
for i in 0 1 2; do
    check "task $i wrote done" grep -q "^task $i done\$" "$work/task-$i.log"
    check "task $i ended COMPLETED" [ "${state[$i]:-}" = COMPLETED ]
done
check "task 0 started once" [ "$(count '^task 0 start' 0)" = 1 ]
check "task 2 started once" [ "$(count '^task 2 start' 2)" = 1 ]
check "task 1 started twice" [ "$(count '^task 1 start' 1)" = 2 ]
check "task 1 restart counts were 0 then 1" \
    [ "$(grep '^task 1 start' "$work/task-1.log" | tr '\n' ,)" = "task 1 start 0,task 1 start 1," ]
check "scontrol shows Restarts=1 for task 1" \
    grep -q 'Restarts=1 ' <(scontrol show job "${jid}_1" 2>/dev/null)
check "task 1 noted SIGTERM once" [ "$(count '^task 1 term$' 1)" = 1 ]

for i in 0 1 2; do echo "--- task-$i.log"; cat "$work/task-$i.log"; done
if [ "$down_after" = 1 ]; then "$here/cluster.sh" down 2>&1; fi
step "selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
