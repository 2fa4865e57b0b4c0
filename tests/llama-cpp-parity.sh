#!/usr/bin/env bash
# llama.cpp (npm node-llama-cpp, pinned in bench/package.json) loads GGUF files written by versus
# and generates greedily; its tokens must equal versus's. Exit 77 (skipped) when node or the
# package is not installed (scripts/test.sh installs it where the npm registry is reachable).
set -uo pipefail
versus=$1
src=$(cd "$(dirname "$0")/.." && pwd)
command -v node >/dev/null || { echo "skipped: node is not installed"; exit 77; }
[[ -d $src/bench/node_modules/node-llama-cpp ]] || { echo "skipped: node-llama-cpp is not installed in bench/ (npm unreachable?)"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ids="1,415,22,301,7,99"
status=0
for type in f32 f16 q8_0 q4_0 q4_k q5_k q6_k; do
  "$versus" model create --preset tiny --type "$type" --seed 3 -o "$dir/tiny-$type.gguf" 2>/dev/null || { echo "create $type failed"; status=1; continue; }
  ours=$("$versus" generate --gguf "$dir/tiny-$type.gguf" --tokens "$ids" -n 16 -t 1 -o json) || { echo "generate $type failed"; status=1; continue; }
  theirs=$(node "$src/bench/llama-cpp.mjs" greedy "$dir/tiny-$type.gguf" 1 "$ids" 16 2>/dev/null) || { echo "llama.cpp $type failed"; status=1; continue; }
  # Equal tokens, or equal up to a step where versus's top two logits are a near tie (< 0.02 apart),
  # where float rounding may pick either.
  OURS=$ours THEIRS=$theirs TYPE=$type node -e '
    const a = JSON.parse(process.env.OURS), b = JSON.parse(process.env.THEIRS).tokens;
    for (let i = 0; i < a.tokens.length; i++) {
      if (a.tokens[i] === b[i]) continue;
      const top = a.steps[i].top5, theirs = top.find(([id]) => id === b[i]);
      const margin = theirs ? top[0][1] - theirs[1] : Infinity;
      if (margin < 0.02) { console.log(`${process.env.TYPE}: equal for ${i} tokens, then a near tie (margin ${margin.toFixed(4)})`); process.exit(0); }
      console.log(`${process.env.TYPE}: DIFFERENT at step ${i}: versus ${a.tokens} llama.cpp ${b}`); process.exit(1);
    }
    console.log(`${process.env.TYPE}: equal (${a.tokens})`);' || status=1
done
exit $status
