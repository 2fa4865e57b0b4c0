#!/usr/bin/env bash
# Benchmark, not a test (timing): this machine's own calibration (`versus calibrate`) predicts its decode speed on a preset it was not
# fitted on within 10%: fitted on `small` (110M parameters) and `tinyllama-1.1b` (1.1B), whose two sizes separate
# the fixed cost per layer from the bandwidth term, and checked on `llama-7b` (6x larger again, 7 GB of memory).
# Exit 77 (skipped) when a measurement is unstable or the bandwidth moved: a busy machine says nothing about
# the model.
set -euo pipefail
bin=${1:-build/release/versus}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export XDG_DATA_HOME=$dir  # results store and calibration of this test only
oneline() { tr -d '\n ' ; }
field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p" | head -n1; }

fit=$("$bin" bench llm --model small --type q8_0 -p 0 -n 32 -t 1 --time 2 -q -o jsonl --out "$dir/versus/results.jsonl")
fit2=$("$bin" bench llm --model tinyllama-1.1b --type q8_0 -p 0 -n 16 -t 1 --time 2 -q -o jsonl --out "$dir/versus/results.jsonl")
"$bin" calibrate >"$dir/calibrate.txt" 2>&1 || { cat "$dir/calibrate.txt"; exit 1; }
check=$("$bin" bench llm --model llama-7b --type q8_0 -p 0 -n 8 -t 1 --time 2 -q -o jsonl)
for row in "$fit" "$fit2" "$check"; do
  mdape=$(field mdape_pct <<<"$row")
  if awk -v m="$mdape" 'BEGIN { exit !(m > 5) }'; then
    echo "skipped: a measurement is unstable (MdAPE ${mdape}%); the machine is busy"
    exit 77
  fi
done
# The prediction rests on the bandwidth measured with the calibration rows: if the machine's own bandwidth
# moved between the two runs (other programs), there is nothing to test.
bw_fit=$(field bandwidth_gbps <<<"$fit")
bw_check=$(field bandwidth_gbps <<<"$check")
if awk -v a="$bw_fit" -v b="$bw_check" 'BEGIN { d = (a - b) / a; if (d < 0) d = -d; exit !(d > 0.10) }'; then
  echo "skipped: the machine's bandwidth moved between the runs ($bw_fit vs $bw_check GB/s); it is busy"
  exit 77
fi
measured=$(field tokens_per_s <<<"$check")
predicted=$("$bin" predict --on local --model llama-7b --type q8_0 -n 8 -o json | oneline |
  sed -n 's/.*"decode_tokens_per_s":{"value":\([0-9.eE+-]*\).*/\1/p')
echo "llama-7b q8_0 tg8, 1 thread: measured $measured t/s, predicted $predicted t/s (calibrated on small and tinyllama-1.1b)"
awk -v m="$measured" -v p="$predicted" 'BEGIN { e = (p - m) / m; if (e < 0) e = -e; printf "error %.1f%%\n", e * 100; exit !(e <= 0.10) }'
