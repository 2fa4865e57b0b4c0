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
# Fastest sample of a record, as a rate: amount / (min(samples_ns) / ops_per_sample).
best_rate() {
  local rec=$1 amount=$2
  local ops; ops=$(field ops_per_sample <<<"$rec")
  local min; min=$(sed -n 's/.*"samples_ns":\[\([0-9,]*\)\].*/\1/p' <<<"$rec" | tr ',' '\n' | sort -n | head -n1)
  awk -v a="$amount" -v m="$min" -v o="$ops" 'BEGIN { printf "%.2f", a * 1e9 / (m / o) }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo "threads=$threads rounds=$rounds"
for n in 1024 2048; do
  for ((r = 1; r <= rounds; r++)); do
    rec=$("$build/versus" bench gemm --dtype f32 --size "$n" -t "$threads" -r 20 -q -o jsonl 2>/dev/null)
    v=$(field gflops <<<"$rec")
    vbest=$(best_rate "$rec" "$(awk -v n="$n" 'BEGIN { print 2 * n * n * n / 1e9 }')")
    ref=$(OPENBLAS_NUM_THREADS=$threads "$build/ref-sgemm" "$n" 20)
    best=$(sed -n 's/.*best_gflops=\([0-9.]*\).*/\1/p' <<<"$ref")
    med=$(sed -n 's/.*median_gflops=\([0-9.]*\).*/\1/p' <<<"$ref")
    printf 'gemm f32 n=%s round %s: median %.2f vs OpenBLAS %.2f GFLOP/s (ratio %s); best %s vs %s (ratio %s)\n' \
      "$n" "$r" "$v" "$med" "$(ratio "$v" "$med")" "$vbest" "$best" "$(ratio "$vbest" "$best")"
  done
done
for set in 268435456; do
  for ((r = 1; r <= rounds; r++)); do
    rec=$("$build/versus" bench membw --op triad --size "$set" -t "$threads" -r 20 -q -o jsonl 2>/dev/null)
    v=$(field gbps <<<"$rec")
    vbest=$(best_rate "$rec" "$(awk -v b="$(field bytes <<<"$rec")" 'BEGIN { print b / 1e9 }')")
    ref=$(OMP_NUM_THREADS=$threads "$build/ref-stream" "$set" 20)
    med=$(sed -n 's/.*median_gbps=\([0-9.]*\).*/\1/p' <<<"$ref")
    best=$(sed -n 's/.*best_gbps=\([0-9.]*\).*/\1/p' <<<"$ref")
    printf 'membw triad %s B round %s: median %.2f vs OpenMP STREAM %.2f GB/s (ratio %s); best %s vs %s (ratio %s)\n' \
      "$set" "$r" "$v" "$med" "$(ratio "$v" "$med")" "$vbest" "$best" "$(ratio "$vbest" "$best")"
  done
done
