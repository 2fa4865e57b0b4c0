#!/usr/bin/env bash
# versus's LLM engine against llama.cpp (npm node-llama-cpp, pinned in bench/package.json) on the
# same GGUF file and thread count: prefill (pp) and decode (tg) tokens/s at each context depth, alternating
# runs so a drifting machine affects both, then one table: type x threads x test, both engines (median of
# the rounds, with min-max), the ratio versus / llama.cpp, and MBU (decode bytes / triad measured in the
# same versus run; llama.cpp's MBU is versus's scaled by the speed ratio, as both read the same bytes).
#   bench/bench-llm.sh [PRESET] [TYPES] [THREADS] [N_PROMPT] [N_GEN]
#   defaults: llama-7b "q4_0 q8_0 q4_k q6_k f16" "1 2" 512 128
#   env: ROUNDS (2)  REPS (versus samples per row, 2)  DEPTHS ("0"; "0 4096" adds the long-context tests)
#        MODELS (folder of PRESET-TYPE.gguf files, made if missing; default build/models)
#        VERSUS_ISA (versus's rung cap, e.g. avx2 on an AVX-512 machine: docs/design.md)
#        FA ("off on": llama.cpp with flash attention off and on, the better of the two counts; "off" alone
#            halves llama.cpp's time at depth 0, where flash attention changes little)
#   GPU=cuda: both engines on the GPU, every layer there (GPU_LAYERS=N for fewer: partial offload)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-llama-7b}
types=${2:-q4_0 q8_0 q4_k q6_k f16}
threads=${3:-1 2}
np=${4:-512}
ng=${5:-128}
rounds=${ROUNDS:-2}
reps=${REPS:-2}
depths=${DEPTHS:-0}
fa_modes=${FA:-off on}
build=${BUILD:-build/release}
models=${MODELS:-build/models}
[[ -x $build/versus ]] || { echo "[bench-llm] $build/versus missing. HINT: cmake --build --preset release" >&2; exit 2; }
if [[ ! -d bench/node_modules/node-llama-cpp ]]; then
  (cd bench && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-audit --no-fund --loglevel=error) ||
    { echo "[bench-llm] cannot install node-llama-cpp. HINT: needs the npm registry" >&2; exit 2; }
fi
gpu_args=()
if [[ -n ${GPU:-} ]]; then
  gpu_args=(-b "$GPU" --gpu-layers "${GPU_LAYERS:-999}")
  export LLAMA_GPU=$GPU
  [[ -n ${GPU_LAYERS:-} ]] && export LLAMA_GPU_LAYERS=$GPU_LAYERS
fi
mkdir -p "$models"
field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p" | head -n1; }
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

# The machine and the rungs, for the table's ISA line.
isa=$("$build/versus" probe 2>/dev/null | sed -n 's/^isa *: *//p' | head -n1)
rungs=$("$build/tests/kernels/versus_quants_bench" --rungs 2>/dev/null || echo "rungs unknown")
cpu=$("$build/versus" probe 2>/dev/null | sed -n 's/^cpu *: *//p' | head -n1)

for type in $types; do
  file="$models/$preset-$type.gguf"
  if [[ ! -f $file ]]; then
    "$build/versus" model create --preset "$preset" --type "$type" --seed 1 -o "$file.tmp-$$" && mv "$file.tmp-$$" "$file"
  fi
  cat "$file" >/dev/null  # into the page cache, as both engines will read it
  for t in $threads; do
    for d in $depths; do
      for ((r = 1; r <= rounds; r++)); do
        out=$("$build/versus" bench llm --gguf "$file" -p "$np" -n "$ng" -d "$d" -t "$t" -r "$reps" "${gpu_args[@]}" -q -o jsonl 2>/dev/null)
        v_pp=$(grep '"phase":"prefill"' <<<"$out" | field tokens_per_s)
        v_tg=$(grep '"phase":"decode"' <<<"$out" | field tokens_per_s)
        mbu=$(grep '"phase":"decode"' <<<"$out" | field mbu_pct)
        best_pp=0 best_tg=0
        for fa in $fa_modes; do
          ref=$(LLAMA_FLASH_ATTENTION=$fa node bench/llama-cpp.mjs speed "$file" "$t" "$np" "$ng" "$d")
          l_pp=$(field pp_tokens_per_s <<<"$ref")
          l_tg=$(field tg_tokens_per_s <<<"$ref")
          echo "$type $t pp$np@d$d llama-fa-$fa $l_pp" >>"$raw"
          echo "$type $t tg$ng@d$d llama-fa-$fa $l_tg" >>"$raw"
          best_pp=$(awk -v a="$best_pp" -v b="$l_pp" 'BEGIN { print (b > a ? b : a) }')
          best_tg=$(awk -v a="$best_tg" -v b="$l_tg" 'BEGIN { print (b > a ? b : a) }')
        done
        {
          echo "$type $t pp$np@d$d versus $v_pp"
          echo "$type $t tg$ng@d$d versus $v_tg"
          echo "$type $t tg$ng@d$d mbu $mbu"
          echo "$type $t pp$np@d$d llama $best_pp"
          echo "$type $t tg$ng@d$d llama $best_tg"
        } >>"$raw"
        printf '[bench-llm] %s %s t=%s d=%s round %s: pp%s versus %.2f llama.cpp %.2f | tg%s versus %.2f llama.cpp %.2f t/s, MBU %.0f%%\n' \
          "$preset" "$type" "$t" "$d" "$r" "$np" "$v_pp" "$best_pp" "$ng" "$v_tg" "$best_tg" "$mbu" >&2
      done
    done
  done
done

# One table: medians over the rounds (min-max), llama.cpp at its better flash-attention setting per round.
echo "# versus vs llama.cpp (node-llama-cpp 3.21.1), $preset, $rounds rounds, alternating"
echo "cpu: $cpu"
echo "isa: $isa"
echo "versus rungs: $rungs"
echo
echo "| type | threads | test | versus t/s | llama.cpp t/s | ratio | MBU versus | MBU llama.cpp | llama.cpp FA off / on |"
echo "|---|---|---|---|---|---|---|---|---|"
awk '
  function med(key,   n, i, j, tmp, a) {
    n = split(vals[key], a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { tmp = a[i]; a[i] = a[j]; a[j] = tmp }
    lo[key] = a[1]; hi[key] = a[n]
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { key = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4; vals[key] = vals[key] " " $5
    row = $1 SUBSEP $2 SUBSEP $3; if (!(row in seen)) { seen[row] = 1; order[++rows] = row } }
  END {
    for (i = 1; i <= rows; i++) {
      split(order[i], k, SUBSEP)
      v = med(order[i] SUBSEP "versus"); vl = lo[order[i] SUBSEP "versus"]; vh = hi[order[i] SUBSEP "versus"]
      l = med(order[i] SUBSEP "llama"); ll = lo[order[i] SUBSEP "llama"]; lh = hi[order[i] SUBSEP "llama"]
      fo = ((order[i] SUBSEP "llama-fa-off") in vals) ? sprintf("%.2f", med(order[i] SUBSEP "llama-fa-off")) : "-"
      fn = ((order[i] SUBSEP "llama-fa-on") in vals) ? sprintf("%.2f", med(order[i] SUBSEP "llama-fa-on")) : "-"
      mbu = ""; lmbu = ""
      if ((order[i] SUBSEP "mbu") in vals) {
        m = med(order[i] SUBSEP "mbu"); mbu = sprintf("%.0f%%", m); if (v > 0) lmbu = sprintf("%.0f%%", m * l / v)
      }
      test = k[3]; sub(/@d0$/, "", test); sub(/@d/, " @ d", test)
      printf "| %s | %s | %s | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | %s | %s | %s | %s / %s |\n", k[1], k[2], test, v, vl, vh,
        l, ll, lh, (l > 0 ? sprintf("%.2fx", v / l) : "n/a"), mbu, lmbu, fo, fn
    }
  }' "$raw"
