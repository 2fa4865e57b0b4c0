#!/usr/bin/env bash
# Same-run ratios of versus against references: f32 GEMM against OpenBLAS's own cblas_sgemm,
# STREAM triad against a plain OpenMP triad at -O3. Pairs run alternately (A B A B) so a drifting
# machine affects both. Usage: scripts/bench-reference.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
build=${1:-build/release}
rounds=${2:-3}
threads=${THREADS:-$(nproc)}
for b in versus ref-sgemm ref-stream; do
  [[ -x "$build/$b" ]] || { echo "[bench-reference] $build/$b missing. HINT: cmake --build --preset release" >&2; exit 2; }
done
field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p" | head -n1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo "threads=$threads rounds=$rounds"
for n in 1024 2048; do
  for ((r = 1; r <= rounds; r++)); do
    v=$("$build/versus" bench gemm --dtype f32 --size "$n" -t "$threads" --time 2 -q -o jsonl | field gflops)
    ref=$(OPENBLAS_NUM_THREADS=$threads "$build/ref-sgemm" "$n" 20)
    best=$(sed -n 's/.*best_gflops=\([0-9.]*\).*/\1/p' <<<"$ref")
    echo "gemm f32 n=$n round $r: versus median $v GFLOP/s, OpenBLAS best $best -> ratio $(ratio "$v" "$best")"
  done
done
for set in 268435456; do
  for ((r = 1; r <= rounds; r++)); do
    v=$("$build/versus" bench membw --op triad --size "$set" -t "$threads" --time 2 -q -o jsonl | field gbps)
    ref=$(OMP_NUM_THREADS=$threads "$build/ref-stream" "$set" 20)
    med=$(sed -n 's/.*median_gbps=\([0-9.]*\).*/\1/p' <<<"$ref")
    echo "membw triad $set B round $r: versus median $v GB/s, OpenMP STREAM median $med -> ratio $(ratio "$v" "$med")"
  done
done
