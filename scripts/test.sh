#!/usr/bin/env bash
# The whole test suite: release and ASan+UBSan builds of everything, the Arm kernels built with
# the cross compiler and run under qemu-aarch64, and the parsers' fuzzers for a bounded time. Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test || exit $?
# llama.cpp as the reference for the GGUF compatibility and tokenizer parity tests, and the real tokenizer
# vocabularies (bench/package.json, pinned); without npm those tests are skipped.
if command -v npm >/dev/null && { [[ ! -d bench/node_modules/node-llama-cpp ]] || [[ ! -d bench/node_modules/llama3-tokenizer-js ]]; }; then
  (cd bench && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true timeout 600 npm install --no-audit --no-fund --loglevel=error) ||
    echo "npm packages not installed: the llama.cpp parity tests will be skipped"
fi

jobs=$(nproc 2>/dev/null || echo 2)
passed=0; failed=0; skipped=0; status=0
run_preset() {
  local preset=$1
  echo "=== $preset ==="
  if [[ $preset == fuzz ]]; then
    # The parsers' libFuzzer targets: a standalone clang build, each fuzzer run for a bounded time.
    if ! command -v clang++ >/dev/null; then echo "fuzz: skipped (no clang++)"; skipped=$((skipped+1)); return; fi
    cmake -S tests/fuzz -B build/fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null &&
      cmake --build build/fuzz -j "$jobs" || { echo "build fuzz failed"; status=1; failed=$((failed+1)); return; }
  else
    cmake --preset "$preset" >/dev/null || { echo "configure $preset failed"; status=1; failed=$((failed+1)); return; }
    cmake --build --preset "$preset" -j "$jobs" || { echo "build $preset failed"; status=1; failed=$((failed+1)); return; }
  fi
  local log; log=$(mktemp)
  local rc
  if [[ $preset == fuzz ]]; then
    ctest --test-dir build/fuzz --output-on-failure -j "$jobs" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
  else
    ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
  fi
  # "100% tests passed, 0 tests failed out of 57" and "The following tests did not run:" (skips).
  local total fail skip
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n1)
  fail=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n1)
  skip=$(grep -c '(Skipped)' "$log" || true)
  total=${total:-0}; fail=${fail:-0}
  passed=$((passed + total - fail - skip)); failed=$((failed + fail)); skipped=$((skipped + skip))
  (( rc == 0 )) || status=1
  rm -f "$log"
}

for preset in ${VERSUS_TEST_PRESETS:-release asan arm64 fuzz}; do run_preset "$preset"; done
echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
