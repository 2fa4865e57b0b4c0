#!/usr/bin/env bash
# Data-parallel training under mpirun: on 2 and on 3 ranks (more ranks than cores, Open MPI's oversubscription),
# every rank's weights after a few steps of the `tiny` GPT are bit-identical and within a tight tolerance of one
# process on the concatenated batch (CHECK_BINARY, tests/mpi-data-parallel.cpp); `bench train-gpt --data-parallel`
# gives one ok row per rank with the job's tokens/s, the all-reduce's share and the scaling efficiency; and a rank
# killed mid-row fails the others' row with the reason instead of hanging them. Exit 77 (skipped) without mpirun
# or the MPI plugin.
#   usage: tests/mpi-data-parallel.sh VERSUS_BINARY CHECK_BINARY [MPIRUN]
set -euo pipefail
versus=${1:?usage: mpi-data-parallel.sh VERSUS_BINARY CHECK_BINARY [MPIRUN]}
check=${2:?usage: mpi-data-parallel.sh VERSUS_BINARY CHECK_BINARY [MPIRUN]}
mpirun=${3:-mpirun}
source "$(dirname "$0")/mpi-setup.sh"
# The check binary lives in the tests folder; the plugin beside versus.
export VERSUS_PLUGIN_DIR
VERSUS_PLUGIN_DIR=$(dirname "$versus")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

timeout 120 "$mpirun" -np 2 "$check"
timeout 120 "$mpirun" -np 3 --oversubscribe "$check"

# The workload's rows: one per rank, ok, the same loss on both (the same weights), the figures in range.
timeout 120 "$mpirun" -np 2 "$versus" bench train-gpt --model tiny --batch 2 --seq 16 -t 1 --data-parallel -r 3 -q \
  -o csv --out "$work/dp.jsonl" >/dev/null 2>"$work/dp.err" || { cat "$work/dp.err"; exit 1; }
python3 - "$work/dp.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert sorted(r["rank"] for r in rows) == [0, 1], [(r["rank"], r["key"]) for r in rows]
for r in rows:
    assert r["status"] == "ok", (r["rank"], r["status"], r["reason"])
    assert r["ranks"] == 2 and r["data_parallel"] == "on", r
    assert 0 < r["scaling_efficiency_pct"] and r["one_rank_step_ms"] > 0, r
    assert 0 <= r["allreduce_share_pct"] <= 100, r
    assert abs(r["tokens_per_s"] - 2 * 2 * 16 / (r["median_ns"] * 1e-9)) < 1e-6 * r["tokens_per_s"], r
assert rows[0]["loss_last"] == rows[1]["loss_last"], "the ranks' losses differ"
print(f"bench train-gpt --data-parallel: 2 rows, {rows[0]['tokens_per_s']:.0f} tokens/s, "
      f"scaling efficiency {rows[0]['scaling_efficiency_pct']:.0f}%, all-reduce {rows[0]['allreduce_share_pct']:.0f}% of the step")
PY

# Rank 1 killed while the ranks step together (mpirun keeps rank 0 running): rank 0's all-reduce ends as soon as
# it sees rank 1's process gone, its row `error` with the reason; the job ends long before any timeout.
start=$SECONDS
timeout 60 "$mpirun" --enable-recovery -np 2 "$versus" bench train-gpt --model tiny --batch 2 --seq 16 -t 1 \
  --data-parallel --time 30 -q -o csv --out "$work/killed.jsonl" >/dev/null 2>"$work/killed.err" &
job=$!
victim=""
for _ in $(seq 1 200); do
  for p in $(pgrep -f -- "$versus bench train-gpt" || true); do
    grep -qaz '^OMPI_COMM_WORLD_RANK=1$' "/proc/$p/environ" 2>/dev/null && victim=$p
  done
  [[ -n $victim ]] && break
  sleep 0.05
done
[[ -n $victim ]] || { echo "no rank 1 found"; cat "$work/killed.err"; exit 1; }
sleep 2  # into the measured steps (the row runs for 30 s)
kill -9 "$victim"
rc=0
wait "$job" || rc=$?
[[ $rc -ne 124 ]] || { echo "the job hung after rank 1 was killed"; cat "$work/killed.err"; exit 1; }
python3 - "$work/killed.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
mine = [r for r in rows if r["rank"] == 0]
assert len(mine) == 1 and mine[0]["status"] == "error", [(r["rank"], r["status"], r["reason"]) for r in rows]
assert "rank 1" in mine[0]["reason"], mine[0]["reason"]
print(f"rank 1 killed: rank 0's row failed with the reason ({mine[0]['reason'][:90]})")
PY
echo "killed rank: the job finished $((SECONDS - start)) s after the start"
