#!/usr/bin/env bash
# versus under mpirun, as people run it: every collective on 2 and on 4 ranks (more ranks than cores, Open MPI's
# oversubscription), each result checked by the workload itself, one results file on rank 0 holding every rank's
# rows; then a rank killed mid-run, with and without mpirun's recovery: its rows end up `error` with the reason,
# the other rank's rows are kept, and the job ends well before any timeout. Exit 77 (skipped) without mpirun or
# the MPI plugin.
#   usage: tests/mpi-ranks.sh VERSUS_BINARY [MPIRUN]
set -euo pipefail
versus=${1:?usage: mpi-ranks.sh VERSUS_BINARY [MPIRUN]}
mpirun=${2:-mpirun}
source "$(dirname "$0")/mpi-setup.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# check FILE RANKS ROWS_PER_RANK: every rank's rows, all ok, each carrying its rank, the world size and the host.
check() {
  python3 - "$@" <<'EOF'
import json, sys
path, ranks, per_rank = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [json.loads(l) for l in open(path)]
by_rank = {}
for r in rows:
    assert r["world_size"] == ranks, r
    assert r["host"], r
    assert r["status"] == "ok", (r["rank"], r["key"], r["status"], r["reason"])
    assert r["busbw_gbps"] > 0 and r["checksum"], r
    by_rank.setdefault(r["rank"], []).append(r)
assert sorted(by_rank) == list(range(ranks)), sorted(by_rank)
for k, v in by_rank.items():
    assert len(v) == per_rank, (k, len(v))
    assert len({r["run_id"] for r in v} | {rows[0]["run_id"]}) == 1, "one run id"
print(f"{path}: {len(rows)} rows from {ranks} ranks, every collective checked")
EOF
}

ops=all_reduce,all_gather,reduce_scatter,broadcast,all_to_all,send_recv
timeout 120 "$mpirun" -np 2 "$versus" bench collective --op $ops --size 64,1M --time 0.02 -q -o csv --out "$work/two.jsonl" >/dev/null 2>"$work/two.err" || { cat "$work/two.err"; exit 1; }
check "$work/two.jsonl" 2 12
timeout 180 "$mpirun" -np 4 --oversubscribe "$versus" bench collective --op $ops --size 256 --time 0.02 -q -o csv \
  --out "$work/four.jsonl" >/dev/null 2>"$work/four.err" || { cat "$work/four.err"; exit 1; }
check "$work/four.jsonl" 4 6

# kill_rank1 NAME MPIRUN_ARGS...: starts a long job, kills rank 1 once rank 0 has written some rows, and checks
# the results file: rank 0's rows kept, rank 1's missing rows `error` with the reason, done within 60 s.
kill_rank1() {
  local name=$1; shift
  local out="$work/$name.jsonl"
  local start=$SECONDS
  timeout 60 "$mpirun" "$@" -np 2 "$versus" bench collective --op $ops --size 64-16K*2 --time 0.1 -q -o csv \
    --out "$out" >/dev/null 2>"$work/$name.err" &
  local job=$!
  local victim=""
  for _ in $(seq 1 400); do
    if [[ -z $victim ]]; then
      for p in $(pgrep -f -- "$versus bench collective" || true); do
        grep -qaz '^OMPI_COMM_WORLD_RANK=1$' "/proc/$p/environ" 2>/dev/null && victim=$p
      done
    fi
    if [[ -n $victim && -s $out && $(wc -l <"$out") -ge 4 ]]; then break; fi
    sleep 0.05
  done
  [[ -n $victim ]] || { echo "no rank 1 found"; cat "$work/$name.err"; exit 1; }
  kill -9 "$victim"
  local rc=0
  wait "$job" || rc=$?
  [[ $rc -ne 124 ]] || { echo "$name: the job hung after a rank was killed"; cat "$work/$name.err"; exit 1; }
  python3 - "$out" "$name" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
planned = 6 * 9  # ops x sizes, per rank
mine = [r for r in rows if r["rank"] == 0]
lost = [r for r in rows if r["rank"] == 1]
assert len(lost) == planned, f"rank 1: {len(lost)} rows of {planned}"
assert any(r["status"] == "ok" for r in mine), "rank 0 kept its rows"
failed = [r for r in lost if r["status"] == "error"]
assert failed and all("rank 1" in r["reason"] or "exited" in r["reason"] for r in failed), failed[:1]
print(f"{sys.argv[2]}: {len(rows)} rows, rank 1 killed: {len(failed)} rows failed with the reason, "
      f"rank 0 kept {sum(r['status'] == 'ok' for r in mine)}")
EOF
  echo "$name: finished $((SECONDS - start)) s after the start"
}
kill_rank1 killed-recovery --enable-recovery
kill_rank1 killed-default
