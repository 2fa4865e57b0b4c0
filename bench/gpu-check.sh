#!/usr/bin/env bash
# gpu-check: the first run of versus on a machine with an NVIDIA GPU, in one command (about 5 minutes on
# one H100/H200, eight at most; docs/cuda.md). It runs every CUDA test with VERSUS_EXPECT_GPU=1 (a skip is
# a failure), then GEMM in every dtype, STREAM, transfers, latency, attention and llama-7b Q4_0/Q4_K prefill
# and decode with every block and with half of them on the GPU, and the parity of CPU and GPU `generate`
# fingerprints. Every record goes to OUT_DIR/results.jsonl, the tables to OUT_DIR/summary.md. Where PyTorch
# is there, the GEMM and attention rows get a ratio beside torch.matmul and scaled_dot_product_attention,
# timed in the same run; with LLAMA_BENCH=/path/to/llama-bench (a CUDA build), the llm rows beside llama.cpp's.
#
#   bench/gpu-check.sh [BIN_DIR] [OUT_DIR]
#
# BIN_DIR holds versus, versus_tests and the plugin (default: $VERSUS_TEST_BIN_DIR, which the package's
# run.sh sets, else build/release); OUT_DIR gets results.jsonl, summary.md and the logs; the llama-7b files
# go to $VERSUS_MODELS (default /tmp/versus-models). Exit: 0 all passed, 1 a test or a row failed, 3 no
# usable GPU (the reason is printed; a machine without one stops there, before any measurement).
set -uo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-${VERSUS_TEST_BIN_DIR:-build/release}}
OUT=${2:-gpu-check-$(date +%Y%m%d-%H%M%S)}
VERSUS=$BIN/versus
TESTS=$BIN/versus_tests
[[ -x $TESTS ]] || TESTS=$BIN/tests/versus_tests
for f in "$VERSUS" "$TESTS"; do
  [[ -x $f ]] || { echo "gpu-check: $f not found. HINT: build with the CUDA plugin, or pass the package's bin folder" >&2; exit 2; }
done
mkdir -p "$OUT" || exit 2
RESULTS=$OUT/results.jsonl SUMMARY=$OUT/summary.md
: >"$RESULTS"
status=0
t_start=$SECONDS

say() { printf '%s\n' "$@" | tee -a "$SUMMARY"; }
# step NAME CMD...: runs a versus command, its Markdown table into the summary (the context block of the
# first one only), its records into RESULTS.
context=1
step() {
  local name=$1; shift
  local t0=$SECONDS
  echo "== $name" >&2
  { echo; echo "## $name"; echo; } >>"$SUMMARY"
  "$@" -o md -q --out "$RESULTS" 2>>"$OUT/log.txt" | if ((context)); then cat; else sed '/^- \*\*[a-z]*\*\*: /d'; fi >>"$SUMMARY"
  local rc=${PIPESTATUS[0]}
  context=0
  (( rc == 0 )) || { status=1; say "**$name: exit $rc** (see log.txt)"; }
  echo "   $((SECONDS - t0)) s" >&2
}

# ---- the machine, and the first GPU call ----
{
  echo "# versus gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo '```'
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit \
    --format=csv 2>&1
  echo "plugin: $BIN/libversus-cuda-impl.so"
  command -v ldd >/dev/null && ldd "$BIN/libversus-cuda-impl.so" 2>&1 | grep -E "cublas|not found"
  echo '```'
} | tee "$SUMMARY"
probe=$("$VERSUS" probe 2>&1)
echo "$probe" >"$OUT/probe.txt"
cuda_line=$(grep -E '^ *cuda' <<<"$probe" | head -n 3)
echo "$cuda_line" | tee -a "$SUMMARY"
if ! grep -q 'sm_' <<<"$cuda_line"; then
  echo "gpu-check: no usable CUDA device: ${cuda_line:-no cuda line in versus probe}" >&2
  echo "HINT: run on a machine with an NVIDIA GPU and driver; from a package, through its run.sh (docs/cuda.md)" >&2
  exit 3
fi

# ---- the tests: every GPU test runs (a skip is a failure) ----
echo "== tests" >&2
t0=$SECONDS
VERSUS_EXPECT_GPU=1 "$TESTS" --gtest_filter='*Cuda*:Offload*:GpuMeter*' --gtest_brief=1 >"$OUT/tests.txt" 2>&1
rc=$?
{ echo; echo "## Tests (VERSUS_EXPECT_GPU=1, $((SECONDS - t0)) s)"; echo; echo '```'
  grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$OUT/tests.txt" | head -n 60; echo '```'; } >>"$SUMMARY"
(( rc == 0 )) || { status=1; echo "   tests failed (tests.txt)" >&2; }
echo "   $((SECONDS - t0)) s" >&2

# ---- measurements ----
step "GEMM" "$VERSUS" bench gemm -b cuda --dtype f32,tf32,f16,bf16,i8,fp8,f64 --size 4096,8192 --time 0.3
step "STREAM" "$VERSUS" bench membw -b cuda --op copy,triad --size 256M,2G --time 0.3
step "Transfers" "$VERSUS" bench transfer -b cuda --direction h2d,d2h --mode pageable,pinned --size 4K,1M,256M --time 0.2
step "Latency" "$VERSUS" bench latency -b cuda --op dispatch,roundtrip,graph --time 0.2
step "Attention" "$VERSUS" bench attention -b cuda --impl naive,fused --phase prefill,decode --seq 1024,4096 \
  --heads 32 --kv_heads 8 --head_dim 128 --time 0.2

# The 7B files (3.8 GB each) stay out of OUT_DIR, which holds what a run brings back.
MODELS=${VERSUS_MODELS:-${TMPDIR:-/tmp}/versus-models}
mkdir -p "$MODELS"
echo "== llama-7b GGUF files (synthetic weights, the real shape)" >&2
for type in q4_0 q4_k; do
  f=$MODELS/llama-7b-$type.gguf
  if [[ ! -f $f ]]; then
    "$VERSUS" model create --preset llama-7b --type $type -o "$f.part" >>"$OUT/log.txt" 2>&1 && mv "$f.part" "$f" ||
      { status=1; say "**model create $type failed** (see log.txt)"; }
  fi
done
for type in q4_0 q4_k; do
  step "llama-7b $type, every block on the GPU" "$VERSUS" bench llm -b cuda --gguf "$MODELS/llama-7b-$type.gguf" \
    -p 512 -n 128 --gpu-layers 99 -r 3
  step "llama-7b $type, 16 of 32 blocks on the GPU" "$VERSUS" bench llm -b cuda --gguf "$MODELS/llama-7b-$type.gguf" \
    -p 512 -n 128 --gpu-layers 16 -r 2
done

# ---- parity: greedy generation on the CPU and on the GPU from the same token ids ----
echo "== parity" >&2
t0=$SECONDS
gen=("$VERSUS" generate --gguf "$MODELS/llama-7b-q4_0.gguf" --tokens 1,415,2211,338,263,1243,29889 -n 32 -o json)
"${gen[@]}" >"$OUT/generate-cpu.json" 2>>"$OUT/log.txt" && "${gen[@]}" --gpu-layers 99 >"$OUT/generate-cuda.json" \
  2>>"$OUT/log.txt" && { echo; echo "## Parity of generate (CPU first, CUDA second)"; echo;
  "$VERSUS" compare "$OUT/generate-cpu.json" "$OUT/generate-cuda.json" -o md 2>&1 |
    sed -n '/[Pp]arity/,$p'; } >>"$SUMMARY" || { status=1; say "**parity: generate failed** (see log.txt)"; }
echo "   $((SECONDS - t0)) s" >&2

# ---- references in the same run, where they are at hand ----
if command -v python3 >/dev/null && env LD_LIBRARY_PATH="${VERSUS_HOST_LD_LIBRARY_PATH-${LD_LIBRARY_PATH:-}}" \
  python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  echo "== PyTorch reference" >&2
  { echo; echo "## Beside PyTorch (time ratio: > 1 means versus is faster)"; echo; } >>"$SUMMARY"
  env LD_LIBRARY_PATH="${VERSUS_HOST_LD_LIBRARY_PATH-${LD_LIBRARY_PATH:-}}" \
    python3 bench/gpu-reference.py "$RESULTS" >>"$SUMMARY" 2>>"$OUT/log.txt" || say "(PyTorch reference failed: log.txt)"
else
  say "" "(no PyTorch with CUDA here: no reference ratios)"
fi
if [[ -n ${LLAMA_BENCH:-} && -x ${LLAMA_BENCH:-} ]]; then
  echo "== llama.cpp reference" >&2
  { echo; echo "## llama.cpp ($LLAMA_BENCH, every layer on the GPU)"; echo; echo '```'
    for type in q4_0 q4_k; do
      env LD_LIBRARY_PATH="${VERSUS_HOST_LD_LIBRARY_PATH-${LD_LIBRARY_PATH:-}}" "$LLAMA_BENCH" \
        -m "$MODELS/llama-7b-$type.gguf" -p 512 -n 128 -ngl 99 2>&1 | grep -E '^\|'
    done
    echo '```'; } >>"$SUMMARY"
fi

skipped=$(grep -c '"backend":"cuda".*"status":"skipped"' "$RESULTS" || true)
errors=$(grep -c '"status":"error"' "$RESULTS" || true)
(( errors == 0 )) || status=1
say "" "rows: $(wc -l <"$RESULTS") ($errors errors, $skipped CUDA rows skipped); $((SECONDS - t_start)) s in all; exit $status"
echo "gpu-check: $SUMMARY" >&2
exit $status
