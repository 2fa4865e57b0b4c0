#!/usr/bin/env bash
# versus's LLM engine against llama.cpp (npm node-llama-cpp, pinned in bench/package.json) on the
# same GGUF file and thread count: prefill (pp) and decode (tg) tokens/s, alternating runs so a
# drifting machine affects both, and the ratio versus / llama.cpp with versus's MBU.
#   bench/bench-llm.sh [PRESET] [TYPES] [THREADS] [N_PROMPT] [N_GEN]
#   defaults: llama-7b "q4_0 q8_0 q4_k" "1 2" 512 128; env ROUNDS (2), REPS (versus samples per row, 2)
#   GPU=cuda: both engines on the GPU, every layer there (GPU_LAYERS=N for fewer: partial offload)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-llama-7b}
types=${2:-q4_0 q8_0 q4_k}
threads=${3:-1 2}
np=${4:-512}
ng=${5:-128}
rounds=${ROUNDS:-2}
reps=${REPS:-2}
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

for type in $types; do
  file="$models/$preset-$type.gguf"
  [[ -f $file ]] || "$build/versus" model create --preset "$preset" --type "$type" --seed 1 -o "$file"
  cat "$file" >/dev/null  # into the page cache, as both engines will read it
  for t in $threads; do
    for ((r = 1; r <= rounds; r++)); do
      out=$("$build/versus" bench llm --gguf "$file" -p "$np" -n "$ng" -t "$t" -r "$reps" "${gpu_args[@]}" -q -o jsonl 2>/dev/null)
      v_pp=$(grep '"phase":"prefill"' <<<"$out" | field tokens_per_s)
      v_tg=$(grep '"phase":"decode"' <<<"$out" | field tokens_per_s)
      mbu=$(grep '"phase":"decode"' <<<"$out" | field mbu_pct)
      ref=$(node bench/llama-cpp.mjs speed "$file" "$t" "$np" "$ng")
      l_pp=$(field pp_tokens_per_s <<<"$ref")
      l_tg=$(field tg_tokens_per_s <<<"$ref")
      printf '%s %s t=%s round %s: pp%s versus %.2f llama.cpp %.2f t/s (x%s) | tg%s versus %.2f llama.cpp %.2f t/s (x%s) MBU %.0f%%\n' \
        "$preset" "$type" "$t" "$r" "$np" "$v_pp" "$l_pp" "$(ratio "$v_pp" "$l_pp")" "$ng" "$v_tg" "$l_tg" \
        "$(ratio "$v_tg" "$l_tg")" "$mbu"
    done
  done
done
